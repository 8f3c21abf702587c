//! `POST /channels/{channelId}/offline-messages`: Leave a message while nobody is online in a channel (open; counted per address)
//!
//! Generated from shared/src/routes/table.rs by `make generate`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_http(app, const { shared::routes::of("offline-message-add") }).await
}
