//! pushes the table's stream to the sockets that watch each change
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_event(app, "socket-push", shared::push::handle).await
}
