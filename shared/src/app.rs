//! The state a function builds once per cold start and every request shares.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;

use crate::config::{Config, ConfigError};
use crate::store::Db;

pub struct App {
    pub config: Config,
    pub db: Db,
}

impl App {
    pub fn new(config: Config, client: aws_sdk_dynamodb::Client) -> Self {
        let db = Db::new(client, config.table_name.clone());
        App { config, db }
    }

    /// Reads the configuration and builds the DynamoDB client. `DYNAMODB_ENDPOINT`
    /// points it at DynamoDB Local.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Ok(App::new(config, dynamodb_client(&sdk, std::env::var("DYNAMODB_ENDPOINT").ok())))
    }
}

/// A DynamoDB client whose calls give up well within a function's timeout, so a request
/// answers 503 rather than hanging when DynamoDB cannot be reached.
pub fn dynamodb_client(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(dynamodb_config(sdk, endpoint).build())
}

/// The client's configuration, to which tests and benchmarks add a [`Meter`](crate::metrics::Meter).
pub fn dynamodb_config(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> aws_sdk_dynamodb::config::Builder {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build();
    let mut builder = aws_sdk_dynamodb::config::Builder::from(sdk).timeout_config(timeouts);
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    builder
}
