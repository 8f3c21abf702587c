//! `GET /customers/{customerId}/export`: Everything stored about a customer (admins): chats, transcripts with versions, flags, files, offline messages; in pages under Lambda's 6 MB
//!
//! Generated from shared/src/routes/table.rs by `make generate`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_http(app, const { shared::routes::of("customer-export") }).await
}
