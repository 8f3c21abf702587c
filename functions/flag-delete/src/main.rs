//! `DELETE /chats/{chatId}/flags/{key}`: Delete a flag (ChatFlagDelete)
//! `DELETE /chats/{chatId}/flags`: Delete every flag of a chat, for all users (ChatFlagDelete with AllUsers and no Key)
//!
//! Generated from shared/src/routes/table.rs by `make generate`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_http(app, const { shared::routes::of("flag-delete") }).await
}
