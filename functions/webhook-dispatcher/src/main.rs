//! POSTs the webhook queue's events to the direct webhooks: signed, retried, logged
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_event(app, "webhook-dispatcher", shared::dispatcher::handle).await
}
