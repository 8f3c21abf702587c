//! `GET /channels/{channelId}/queue`: A channel's queue before a chat starts: the requests waiting and the wait to expect
//!
//! Generated from shared/src/routes/table.rs by `make generate`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_http(app, const { shared::routes::of("channel-queue") }).await
}
