//! `POST /chats/{chatId}/files`: Announce a file: a presigned PUT of exactly its size and type (sendFile)
//! `POST /chats/{chatId}/files/{fileId}`: Post an uploaded file as a File message (sendFile)
//! `GET /chats/{chatId}/files/{fileId}`: A presigned download of a posted file (downloadFile)
//!
//! Generated from shared/src/routes/table.rs by `make generate`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_http(app, const { shared::routes::of("chat-files") }).await
}
