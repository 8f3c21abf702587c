//! the WebSocket API's $default: answers the socket's Bayeux messages
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_event(app, "socket-message", shared::socket::message).await
}
