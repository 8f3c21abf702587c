//! the WebSocket API's $connect: authenticates the socket and keeps its item
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_event(app, "socket-connect", shared::socket::connect).await
}
