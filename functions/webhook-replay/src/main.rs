//! `POST /webhooks/{webhookId}/replay`: Send a direct webhook the logged events of a time range again (enables a disabled one)
//!
//! Generated from shared/src/routes/table.rs by `make generate`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_http(app, const { shared::routes::of("webhook-replay") }).await
}
