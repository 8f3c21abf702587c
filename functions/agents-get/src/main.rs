//! `GET /chats/{chatId}/agents`: Agents of the chat (getAgents)
//!
//! Generated from shared/src/routes/table.rs by `make generate`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_http(app, const { shared::routes::of("agents-get") }).await
}
