//! `GET /customers/{customerId}/export` (everything stored about a customer, for admins)
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_http(app, const { shared::routes::of("customer-export") }).await
}
