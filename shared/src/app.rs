//! The state a function builds once per cold start and every request shares.

use std::sync::OnceLock;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;

use crate::config::{Config, ConfigError};
use crate::files::{Files, FilesError};
use crate::store::{Db, StoreError};
use crate::time::Clock;

pub struct App {
    pub config: Config,
    pub db: Db,
    /// Shared with `db`: a test that moves it moves both.
    pub clock: Clock,
    /// Used by the event publisher and the webhook functions only.
    pub sns: Lazy<aws_sdk_sns::Client>,
    /// The webhook queue: the dispatcher and the replay only.
    pub sqs: Lazy<aws_sdk_sqs::Client>,
    /// The WebSocket API's `@connections`: the socket push only.
    pub sockets: Lazy<aws_sdk_apigatewaymanagement::Client>,
    /// The files' bucket: the file routes and whatever deletes chats.
    pub s3: Lazy<aws_sdk_s3::Client>,
    /// The token keys' secrets, read at cold start by the functions that need a key.
    pub secrets: Lazy<aws_sdk_secretsmanager::Client>,
}

/// A client built on its first use. Most functions call DynamoDB only, and building the
/// other clients at every cold start took about 0.9 ms (docs/performance.md). The build is
/// generic ([`BuildClient`]), so a function's binary links only the clients it uses.
pub struct Lazy<T> {
    cell: OnceLock<T>,
    sdk: aws_config::SdkConfig,
    endpoint: Option<String>,
}

/// How a [`Lazy`] client is built from the SDK's configuration and an endpoint override.
pub trait BuildClient {
    fn build(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> Self;
}

impl<T> Lazy<T> {
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> Self {
        Lazy { cell: OnceLock::new(), sdk: sdk.clone(), endpoint }
    }
}

/// A client made elsewhere (tests, the local server's shared clients).
impl<T> From<T> for Lazy<T> {
    fn from(client: T) -> Self {
        Lazy { cell: OnceLock::from(client), sdk: aws_config::SdkConfig::builder().build(), endpoint: None }
    }
}

impl<T: Clone> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        Lazy { cell: self.cell.clone(), sdk: self.sdk.clone(), endpoint: self.endpoint.clone() }
    }
}

impl<T: BuildClient> std::ops::Deref for Lazy<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.cell.get_or_init(|| T::build(&self.sdk, self.endpoint.clone()))
    }
}

impl App {
    pub fn new(config: Config, client: aws_sdk_dynamodb::Client, messaging: Messaging) -> Self {
        Self::with_clock(config, client, messaging, Clock::default())
    }

    pub fn with_clock(config: Config, client: aws_sdk_dynamodb::Client, messaging: Messaging, clock: Clock) -> Self {
        let db = Db::new(client, config.table_name.clone(), clock.clone());
        let Messaging { sns, sqs, sockets, s3, secrets } = messaging;
        App { config, db, clock, sns, sqs, sockets, s3, secrets }
    }

    /// The app's clients besides DynamoDB (for another app over the same topic and queue).
    pub fn messaging(&self) -> Messaging {
        Messaging {
            sns: self.sns.clone(),
            sqs: self.sqs.clone(),
            sockets: self.sockets.clone(),
            s3: self.s3.clone(),
            secrets: self.secrets.clone(),
        }
    }

    /// The chat files' bucket.
    pub fn files(&self) -> Files<'_> {
        Files { client: &self.s3, config: &self.config.files, now_secs: self.clock.epoch_secs() }
    }

    /// Deletes a chat for good: its files first, then its items (the chat record last), so
    /// that a run cut off midway leaves a chat the next run still finds.
    pub async fn purge_chat(&self, chat_id: &str) -> Result<usize, PurgeError> {
        let files = self.files().delete_chat(chat_id).await.map_err(PurgeError::Files)?;
        let items = self.db.purge_chat(chat_id).await.map_err(PurgeError::Store)?;
        Ok(files + items)
    }

    /// Reads the configuration and builds the DynamoDB client. `DYNAMODB_ENDPOINT`
    /// points it at DynamoDB Local.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let sdk = sdk_config();
        let dynamodb = dynamodb_client(&sdk, std::env::var("DYNAMODB_ENDPOINT").ok());
        // The local emulator serves SNS, SQS and S3 on one endpoint.
        let mut messaging = messaging(&sdk, std::env::var("SNS_ENDPOINT").ok());
        messaging.sockets = Lazy::new(&sdk, std::env::var("SOCKET_ENDPOINT").ok());
        messaging.secrets = Lazy::new(&sdk, std::env::var("SECRETS_ENDPOINT").ok());
        Ok(App::new(config, dynamodb, messaging))
    }
}

/// Why a chat could not be purged (it stays marked deleted; the next run tries again).
#[derive(Debug)]
pub enum PurgeError {
    Files(FilesError),
    Store(StoreError),
}

impl std::fmt::Display for PurgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PurgeError::Files(e) => e.fmt(f),
            PurgeError::Store(e) => e.fmt(f),
        }
    }
}

/// The clients besides DynamoDB: the event fan-out's topic (SNS), the webhook queue (SQS),
/// the WebSocket API's connections, the files' bucket (S3) and the token keys' secrets.
#[derive(Clone)]
pub struct Messaging {
    pub sns: Lazy<aws_sdk_sns::Client>,
    pub sqs: Lazy<aws_sdk_sqs::Client>,
    pub sockets: Lazy<aws_sdk_apigatewaymanagement::Client>,
    pub s3: Lazy<aws_sdk_s3::Client>,
    pub secrets: Lazy<aws_sdk_secretsmanager::Client>,
}

/// The SNS, SQS and S3 clients at `endpoint` when given (the local emulator), each built on
/// first use; the sockets' and the secrets' clients are at AWS's until told otherwise.
pub fn messaging(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> Messaging {
    Messaging {
        sns: Lazy::new(sdk, endpoint.clone()),
        sqs: Lazy::new(sdk, endpoint.clone()),
        sockets: Lazy::new(sdk, None),
        s3: Lazy::new(sdk, endpoint),
        secrets: Lazy::new(sdk, None),
    }
}

/// Each client's [`BuildClient`] is its builder function below.
macro_rules! build_client {
    ($($client:ty => $build:path),* $(,)?) => {$(
        impl BuildClient for $client {
            fn build(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> Self {
                $build(sdk, endpoint)
            }
        }
    )*};
}

build_client!(
    aws_sdk_sns::Client => sns_client,
    aws_sdk_sqs::Client => sqs_client,
    aws_sdk_apigatewaymanagement::Client => socket_client,
    aws_sdk_s3::Client => s3_client,
    aws_sdk_secretsmanager::Client => crate::secrets::client,
);

/// Amazon Trust Services' roots, and the Starfield root that cross-signs them: every AWS
/// endpoint these functions call chains to one of them. The SDK's default client reads and
/// parses the system's whole store instead (about 140 roots, 300 files on Debian) at each
/// cold start: measured, that was most of the init time above a hello-world function.
const AWS_ROOTS: &[u8] = include_bytes!("../certs/aws-roots.pem");

/// The SDK's shared configuration, from what Lambda sets in every function's environment:
/// the region, the role's credentials and, where an emulator runs the functions,
/// `AWS_ENDPOINT_URL`; and an HTTPS client that trusts [`AWS_ROOTS`] only, or the bundle
/// `AWS_CA_BUNDLE` names instead (the variable the AWS CLI and the other SDKs read: an
/// emulator or a proxy behind TLS). aws-config's default chain (profile files, SSO,
/// container and instance metadata, web identity through STS) is not loaded: it reads files
/// at each cold start, and leaving it out took 1.1 MB off each binary (docs/performance.md).
pub fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_from(|name| std::env::var(name).ok())
}

/// [`sdk_config`] from the variables `env` gives (the credentials still from the process's).
pub fn sdk_config_from(env: impl Fn(&str) -> Option<String>) -> aws_config::SdkConfig {
    let env = |name: &str| env(name).filter(|v| !v.is_empty());
    let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
    let mut builder = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")).map(aws_config::Region::new))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials))
        .retry_config(aws_config::retry::RetryConfig::standard());
    builder.set_endpoint_url(env("AWS_ENDPOINT_URL"));
    let bundle = env("AWS_CA_BUNDLE");
    match aws_https_client(bundle.as_deref()) {
        Ok(client) => builder = builder.http_client(client),
        // The AWS roots are fixed, so only a bundle that cannot be read gets here; the SDK's
        // default client (the system's store) then answers, and a TLS error names the host.
        Err(e) => tracing::warn!(error = %e, bundle, "the trusted roots did not load: the system's store is used"),
    }
    builder.build()
}

fn aws_https_client(
    bundle: Option<&str>,
) -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, Box<dyn std::error::Error>> {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let roots = match bundle {
        Some(path) => std::borrow::Cow::Owned(std::fs::read(path)?),
        None => std::borrow::Cow::Borrowed(AWS_ROOTS),
    };
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(roots);
    let context = TlsContext::builder().with_trust_store(trust).build()?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

/// The S3 client; at an emulator's `endpoint`, with path-style URLs (no bucket subdomain).
/// Checksums only where S3 requires them: a presigned PUT must not carry the checksum of
/// an empty body.
pub fn s3_client(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(sdk)
        .timeout_config(messaging_timeouts())
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired);
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aws_trust_store_is_amazons_four_roots_and_starfields() {
        let pem = std::str::from_utf8(AWS_ROOTS).unwrap();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        assert!(aws_https_client(None).is_ok());
        assert!(aws_https_client(Some("/nonexistent/ca.pem")).is_err());
    }
}
