//! `GET /chats/{chatId}/messages` (ChatMessageList, the widget's poll, fetchHistory)
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_http(app, const { shared::routes::of("message-list") }).await
}
