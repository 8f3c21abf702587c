//! `PATCH /chats/{chatId}/messages/{messageId}`: Edit a message: its author, within MESSAGE_EDIT_SECONDS
//!
//! Generated from shared/src/routes/table.rs by `make generate`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_http(app, const { shared::routes::of("message-update") }).await
}
