//! `DELETE /chats/{chatId}/participants/{chatterType}/{chatterId}`: Remove one participant (ChatParticipantRemove)
//! `DELETE /chats/{chatId}/participants`: Remove participants of a type, or all but the requester (ChatParticipantRemove)
//!
//! Generated from shared/src/routes/table.rs by `make generate`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_http(app, const { shared::routes::of("participant-remove") }).await
}
