//! `POST /chats/{chatId}/files`
//! `POST /chats/{chatId}/files/{fileId}`, `GET /chats/{chatId}/files/{fileId}` (sendFile, downloadFile:
//! presigned S3 uploads and downloads; 503 where no bucket is configured)
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_http(app, const { shared::routes::of("chat-files") }).await
}
