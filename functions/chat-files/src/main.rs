//! `POST /chats/{chatId}/files`
//! `GET /chats/{chatId}/files/{fileId}` (sendFile, downloadFile: 501 until object storage exists)
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_http(app, const { shared::routes::of("chat-files") }).await
}
