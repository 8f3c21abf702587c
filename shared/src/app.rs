//! The state a function builds once per cold start and every request shares.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;

use crate::config::{Config, ConfigError};
use crate::store::Db;
use crate::time::Clock;

pub struct App {
    pub config: Config,
    pub db: Db,
    /// Shared with `db`: a test that moves it moves both.
    pub clock: Clock,
    /// Used by the event publisher and the webhook functions only.
    pub sns: aws_sdk_sns::Client,
    /// The webhook queue: the dispatcher and the replay only.
    pub sqs: aws_sdk_sqs::Client,
    /// The WebSocket API's `@connections`: the socket push only.
    pub sockets: aws_sdk_apigatewaymanagement::Client,
}

impl App {
    pub fn new(config: Config, client: aws_sdk_dynamodb::Client, messaging: Messaging) -> Self {
        Self::with_clock(config, client, messaging, Clock::default())
    }

    pub fn with_clock(config: Config, client: aws_sdk_dynamodb::Client, messaging: Messaging, clock: Clock) -> Self {
        let db = Db::new(client, config.table_name.clone(), clock.clone());
        App { config, db, clock, sns: messaging.sns, sqs: messaging.sqs, sockets: messaging.sockets }
    }

    /// The app's SNS and SQS clients (for another app over the same topic and queue).
    pub fn messaging(&self) -> Messaging {
        Messaging { sns: self.sns.clone(), sqs: self.sqs.clone(), sockets: self.sockets.clone() }
    }

    /// Reads the configuration and builds the DynamoDB client. `DYNAMODB_ENDPOINT`
    /// points it at DynamoDB Local.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let dynamodb = dynamodb_client(&sdk, std::env::var("DYNAMODB_ENDPOINT").ok());
        // The local emulator serves SNS and SQS on one endpoint.
        let mut messaging = messaging(&sdk, std::env::var("SNS_ENDPOINT").ok());
        messaging.sockets = socket_client(&sdk, std::env::var("SOCKET_ENDPOINT").ok());
        Ok(App::new(config, dynamodb, messaging))
    }
}

/// The clients of the event fan-out: the topic (SNS), the webhook queue (SQS) and the
/// WebSocket API's connections.
#[derive(Clone)]
pub struct Messaging {
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sockets: aws_sdk_apigatewaymanagement::Client,
}

/// The SNS and SQS clients at `endpoint` when given (the local emulator); the sockets'
/// client has no endpoint until [`socket_client`] gives it one.
pub fn messaging(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> Messaging {
    Messaging {
        sns: sns_client(sdk, endpoint.clone()),
        sqs: sqs_client(sdk, endpoint),
        sockets: socket_client(sdk, None),
    }
}

/// The `@connections` client of the WebSocket API at `endpoint`: its stage's URL
/// (`https://<api>.execute-api.<region>.amazonaws.com/<stage>`), which it has no default for.
pub fn socket_client(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> aws_sdk_apigatewaymanagement::Client {
    let mut builder = aws_sdk_apigatewaymanagement::config::Builder::from(sdk).timeout_config(messaging_timeouts());
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    aws_sdk_apigatewaymanagement::Client::from_conf(builder.build())
}

fn messaging_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build()
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

/// The SNS client; `SNS_ENDPOINT` points it at the local emulator.
pub fn sns_client(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> aws_sdk_sns::Client {
    let mut builder = aws_sdk_sns::config::Builder::from(sdk).timeout_config(messaging_timeouts());
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    aws_sdk_sns::Client::from_conf(builder.build())
}

/// The SQS client of the webhook queue.
pub fn sqs_client(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> aws_sdk_sqs::Client {
    let mut builder = aws_sdk_sqs::config::Builder::from(sdk).timeout_config(messaging_timeouts());
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    aws_sdk_sqs::Client::from_conf(builder.build())
}
