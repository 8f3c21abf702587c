//! turns the table's stream into events on the SNS topic
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_event(app, "event-publisher", shared::publisher::handle).await
}
