//! ChatCleanup, on a schedule
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_event(app, "cleanup-cron", shared::cleanup::handle).await
}
