//! `GET /webhooks` (webhooks and their status)
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_http(app, const { shared::routes::of("webhook-list") }).await
}
