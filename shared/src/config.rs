//! Configuration, read once per cold start from the environment. Missing required
//! settings fail the start, not a request. The sections only some functions use are read
//! on their own, and a bad value stops only those: the files settings leave the file
//! routes unavailable (`FilesConfig::problem`), the cleanup settings the cleanup
//! (`CleanupConfig::problem`); template.yaml gives the cleanup's to its function alone.

use crate::domain::files::{base_type, FileLimits};
use std::collections::BTreeMap;

/// Seconds between a socket's heartbeats unless `SOCKET_HEARTBEAT_SECONDS` says otherwise.
pub const DEFAULT_HEARTBEAT_SECS: u32 = 300;

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub auth: AuthConfig,
    /// Requests older than this are outdated (ChatList's `Outdated`).
    pub request_decay_secs: i64,
    /// Channel id → name. Empty means any channel id is accepted and named after itself.
    pub channels: BTreeMap<String, String>,
    /// MaskAgentName: customers see "<default name> <n>" instead of agents' names.
    pub mask_agent_names: bool,
    pub default_agent_name: String,
    /// How long an agent's availability lasts unless refreshed.
    pub presence_ttl_secs: i64,
    /// A customer's or visitor's messages per minute, per chat token (0: no limit).
    pub customer_messages_per_minute: u32,
    /// New chats per minute from one client address (0: no limit).
    pub chats_per_minute_per_address: u32,
    /// How long after sending its author may edit or delete a message (0: any time while
    /// the chat is open).
    pub message_edit_secs: i64,
    pub cleanup: CleanupConfig,
    pub events: EventsConfig,
    pub files: FilesConfig,
}

/// Where files go and what is accepted.
#[derive(Debug, Clone)]
pub struct FilesConfig {
    /// The bucket of every chat's files (`FILES_BUCKET`); without one, the file routes
    /// answer 503.
    pub bucket: Option<String>,
    pub limits: FileLimits,
    /// How long a presigned upload or download URL works.
    pub url_secs: u64,
    /// A `FILES_*` setting that could not be read: the file routes answer 503 and log it,
    /// while every other function starts and works (a purge still deletes a chat's files).
    pub problem: Option<String>,
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig { bucket: None, limits: FileLimits::default(), url_secs: 300, problem: None }
    }
}

impl FilesConfig {
    /// The `FILES_*` settings, read on their own from `get` (the environment): only the
    /// functions that serve files use them, so a bad one must not stop the others.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<FilesConfig, ConfigError> {
        let var = |name: &str| clean(get(name));
        let count = |name: &str, default: u32| parse_count(name, var(name), default);
        let default_max = u32::try_from(crate::domain::files::DEFAULT_MAX_BYTES).unwrap_or(u32::MAX);
        Ok(FilesConfig {
            bucket: var("FILES_BUCKET"),
            limits: FileLimits {
                max_bytes: u64::from(count("FILES_MAX_BYTES", default_max)?),
                max_per_chat: count("FILES_MAX_PER_CHAT", 20)?,
                allowed_types: match var("FILES_ALLOWED_TYPES") {
                    None => FileLimits::default().allowed_types,
                    Some(list) => list.split(',').map(base_type).filter(|t| !t.is_empty()).collect(),
                },
            },
            url_secs: u64::from(count("FILES_URL_SECONDS", 300)?.clamp(10, 3600)),
            problem: None,
        })
    }
}

/// Where events go.
#[derive(Debug, Clone, Default)]
pub struct EventsConfig {
    /// The SNS topic every event is published to.
    pub topic_arn: Option<String>,
    /// LICENCE of the RPC events: this installation's id.
    pub licence: String,
    /// The SQS queue that undeliverable webhook messages are redriven to.
    pub dead_letter_arn: Option<String>,
    /// Where the publisher puts an event SNS refuses for good (too large, invalid), with
    /// its content, so that it holds up no other event (`EVENTS_FAILURE_QUEUE_URL`).
    pub failure_queue_url: Option<String>,
    /// This API's public base URL (no trailing slash): the notification vocabulary's `uri`
    /// and `chatUri` are absolute, as the seed's are. The stream's functions are given it;
    /// an HTTP function is not (naming the HTTP API in its own environment would make a
    /// cycle in the template), and uses the URL its request came by: see [`Self::api_url`].
    pub api_url: Option<String>,
    pub webhooks: WebhookConfig,
    /// The interval a socket's heartbeat (its next `/meta/connect`) is advised to keep.
    pub heartbeat_secs: u64,
    /// How many sockets one token (a chatter of a chat, or an agent) may have subscribed at
    /// once: each is one more post per change.
    pub sockets_per_viewer: usize,
    /// Writers push their own new messages to the sockets at once (the WebSocket API's
    /// endpoint, `SOCKET_ENDPOINT`, is known): see `push::fast`.
    pub fast_push: bool,
}

impl EventsConfig {
    /// The base URL events link to: the configured one, else the one the request came by
    /// (`reached`: API Gateway's domain and stage), else `make run`'s default address.
    pub fn api_url(&self, reached: Option<&str>) -> String {
        self.api_url.as_deref().or(reached).unwrap_or("http://127.0.0.1:3000").to_string()
    }
}

/// `direct` webhooks: the dispatcher's queue, its schedule and its logs.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The queue the topic feeds; retries and replays are queued on it too.
    pub queue_url: Option<String>,
    /// Where an event goes after its last failed attempt.
    pub dead_letter_url: Option<String>,
    /// Seconds before each retry; the number of retries is their count.
    pub retry_delays: Vec<u64>,
    /// A receiver has this long to answer.
    pub timeout_secs: u64,
    /// How long events (for replays) and delivery attempts are kept.
    pub log_days: i64,
    /// Loopback receivers (and plain http to them) allowed: a local stack's own test
    /// receivers. `WEBHOOK_ALLOW_LOOPBACK`; template.yaml never sets it.
    pub allow_loopback: bool,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            queue_url: None,
            dead_letter_url: None,
            retry_delays: crate::domain::webhooks::DEFAULT_RETRY_DELAYS.to_vec(),
            timeout_secs: 10,
            log_days: 3,
            allow_loopback: false,
        }
    }
}

/// ChatCleanup's limits, in seconds.
#[derive(Debug, Clone)]
pub struct CleanupConfig {
    /// A request this old is closed with a system message (after being outdated).
    pub request_close_secs: i64,
    /// A closed chat is removed this long after it closed (its transcript stays readable
    /// meanwhile, for the customer and for the events that carry it).
    pub closed_retention_secs: i64,
    /// `Cleanup: Old`: a chat without activity for this long is removed.
    pub chat_retention_secs: i64,
    /// How long one run may work before it leaves the rest to the next run.
    pub budget_secs: i64,
    /// A cleanup setting that could not be read: the cleanup refuses to run (it would
    /// close or remove chats on a wrong schedule), and every other function works.
    pub problem: Option<String>,
}

impl Default for CleanupConfig {
    fn default() -> Self {
        CleanupConfig {
            request_close_secs: 3600,
            closed_retention_secs: 3600,
            chat_retention_secs: 30 * 24 * 3600,
            budget_secs: 240,
            problem: None,
        }
    }
}

impl CleanupConfig {
    /// The cleanup's settings, read on their own from `get` (the environment).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<CleanupConfig, ConfigError> {
        let number = |name: &str, default: i64| parse_number(name, clean(get(name)), default);
        let d = CleanupConfig::default();
        Ok(CleanupConfig {
            request_close_secs: number("REQUEST_CLOSE_SECONDS", d.request_close_secs)?,
            closed_retention_secs: number("CLOSED_RETENTION_SECONDS", d.closed_retention_secs)?,
            chat_retention_secs: number("CHAT_RETENTION_SECONDS", d.chat_retention_secs)?,
            budget_secs: number("CLEANUP_BUDGET_SECONDS", d.budget_secs)?,
            problem: None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// HS256 secrets for agent tokens; any of them verifies (rotation).
    pub agent_secrets: Vec<String>,
    pub agent_issuer: String,
    pub agent_audience: String,
    /// The identity provider's public keys (`AGENT_JWKS_URL`), for RS256 and ES256 agent
    /// tokens. Shared by the clones of a configuration: one cache per process.
    pub agent_keys: std::sync::Arc<crate::agent_keys::AgentKeys>,
    /// HS256 secrets for chat tokens; the first signs, any verifies.
    pub chat_secrets: Vec<String>,
    pub chat_token_ttl_secs: i64,
    /// HS256 secrets the site's own backend signs customer identity tokens with (any
    /// verifies); none: no customer can be verified, every requester is a Public visitor.
    pub identity_secrets: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// A setting as given, trimmed; empty is unset.
fn clean(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn var(name: &str) -> Option<String> {
    clean(std::env::var(name).ok())
}

fn required(name: &str) -> Result<String, ConfigError> {
    var(name).ok_or_else(|| ConfigError(format!("{name} is not set")))
}

fn parse_number(name: &str, value: Option<String>, default: i64) -> Result<i64, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ConfigError(format!("{name} must be a whole number"))),
    }
}

fn parse_count(name: &str, value: Option<String>, default: u32) -> Result<u32, ConfigError> {
    u32::try_from(parse_number(name, value, i64::from(default))?)
        .map_err(|_| ConfigError(format!("{name} must be a whole number from 0")))
}

fn number(name: &str, default: i64) -> Result<i64, ConfigError> {
    parse_number(name, var(name), default)
}

fn count(name: &str, default: u32) -> Result<u32, ConfigError> {
    parse_count(name, var(name), default)
}

/// Token keys, comma-separated (the first signs, all verify), each of 32 characters or more.
pub fn parse_keys(name: &str, value: &str) -> Result<Vec<String>, ConfigError> {
    let list: Vec<String> = value.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    if list.iter().any(|s| s.len() < 32) {
        return Err(ConfigError(format!("{name}: each secret needs at least 32 characters")));
    }
    Ok(list)
}

/// Keys given in the environment itself (locally); in AWS they come from Secrets Manager
/// ([`crate::secrets`]), and a function without a key verifies no token of that kind.
fn keys(name: &str) -> Result<Vec<String>, ConfigError> {
    var(name).map(|v| parse_keys(name, &v)).transpose().map(Option::unwrap_or_default)
}

/// `5,300,1800` → [5, 300, 1800]: seconds before each retry.
fn parse_delays(list: &str) -> Result<Vec<u64>, ConfigError> {
    list.split(',')
        .map(|d| d.trim().parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|_| ConfigError("WEBHOOK_RETRY_DELAYS: seconds, comma-separated".into()))
}

/// `1:Support,2:Sales` → {1: Support, 2: Sales}.
pub fn parse_channels(spec: &str) -> BTreeMap<String, String> {
    spec.split(',')
        .filter_map(|pair| {
            let (id, name) = pair.split_once(':').unwrap_or((pair, pair));
            let id = id.trim();
            (!id.is_empty()).then(|| (id.to_string(), name.trim().to_string()))
        })
        .collect()
}

impl Config {
    /// The generic agent name customers see when MaskAgentName is on.
    pub fn agent_mask(&self) -> Option<&str> {
        self.mask_agent_names.then_some(self.default_agent_name.as_str())
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Config {
            table_name: required("TABLE_NAME")?,
            auth: AuthConfig {
                agent_secrets: keys("AGENT_TOKEN_SECRET")?,
                agent_issuer: var("AGENT_TOKEN_ISSUER").unwrap_or_else(|| "livechat-agents".into()),
                agent_audience: var("AGENT_TOKEN_AUDIENCE").unwrap_or_else(|| "livechat".into()),
                agent_keys: std::sync::Arc::new(crate::agent_keys::AgentKeys::new(var("AGENT_JWKS_URL"))),
                chat_secrets: keys("CHAT_TOKEN_SECRET")?,
                chat_token_ttl_secs: number("CHAT_TOKEN_TTL_SECONDS", 24 * 3600)?,
                identity_secrets: keys("CUSTOMER_IDENTITY_SECRET")?,
            },
            request_decay_secs: number("REQUEST_DECAY_SECONDS", 10 * 60)?,
            channels: var("CHANNELS").map(|s| parse_channels(&s)).unwrap_or_default(),
            mask_agent_names: matches!(var("MASK_AGENT_NAME").as_deref(), Some("1" | "true")),
            default_agent_name: var("DEFAULT_AGENT_NAME").unwrap_or_else(|| "Support Agent".into()),
            presence_ttl_secs: number("PRESENCE_TTL_SECONDS", 120)?,
            customer_messages_per_minute: count("CUSTOMER_MESSAGES_PER_MINUTE", 30)?,
            chats_per_minute_per_address: count("CHATS_PER_MINUTE_PER_ADDRESS", 10)?,
            message_edit_secs: number("MESSAGE_EDIT_SECONDS", 15 * 60)?,
            cleanup: CleanupConfig::from_vars(|name| std::env::var(name).ok())
                .unwrap_or_else(|e| CleanupConfig { problem: Some(e.0), ..CleanupConfig::default() }),
            events: EventsConfig {
                topic_arn: var("EVENTS_TOPIC_ARN"),
                licence: var("LICENCE").unwrap_or_else(|| "0".into()),
                dead_letter_arn: var("WEBHOOK_DLQ_ARN"),
                failure_queue_url: var("EVENTS_FAILURE_QUEUE_URL"),
                api_url: var("API_URL").map(|url| url.trim_end_matches('/').to_string()),
                webhooks: WebhookConfig {
                    queue_url: var("WEBHOOK_QUEUE_URL"),
                    dead_letter_url: var("WEBHOOK_DLQ_URL"),
                    retry_delays: match var("WEBHOOK_RETRY_DELAYS") {
                        None => crate::domain::webhooks::DEFAULT_RETRY_DELAYS.to_vec(),
                        Some(list) => parse_delays(&list)?,
                    },
                    timeout_secs: u64::from(count("WEBHOOK_TIMEOUT_SECONDS", 10)?),
                    log_days: number("EVENT_LOG_DAYS", 3)?,
                    allow_loopback: matches!(var("WEBHOOK_ALLOW_LOOPBACK").as_deref(), Some("1" | "true")),
                },
                // Every heartbeat is an invocation and two paid messages, so they are
                // minutes apart, inside API Gateway's 10-minute idle limit. A socket that
                // dropped silently is found by a heartbeat's missing reply, which the
                // widget also sends when its page comes back online or into view.
                heartbeat_secs: u64::from(count("SOCKET_HEARTBEAT_SECONDS", DEFAULT_HEARTBEAT_SECS)?.clamp(1, 540)),
                sockets_per_viewer: count("SOCKETS_PER_VIEWER", 5)?.max(1) as usize,
                fast_push: var("SOCKET_ENDPOINT").is_some(),
            },
            files: FilesConfig::from_vars(|name| std::env::var(name).ok())
                // The bucket stays known: a purged chat's files are still deleted.
                .unwrap_or_else(|e| FilesConfig {
                    bucket: var("FILES_BUCKET"),
                    problem: Some(e.0),
                    ..FilesConfig::default()
                }),
        })
    }

    /// The channel's display name, or `None` when channels are configured and this is not one.
    pub fn channel_name(&self, channel_id: &str) -> Option<String> {
        if self.channels.is_empty() {
            Some(channel_id.to_string())
        } else {
            self.channels.get(channel_id).cloned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The files settings are read on their own: a bad one fails them alone, and
    /// `Config::from_env` keeps it as the files' problem (their routes answer 503) rather
    /// than failing every function's start.
    #[test]
    fn the_files_settings_are_read_on_their_own() {
        let with = |value: &'static str| move |name: &str| (name == "FILES_MAX_BYTES").then(|| value.to_string());
        assert_eq!(FilesConfig::from_vars(with(" 1000 ")).unwrap().limits.max_bytes, 1000);
        let bad = FilesConfig::from_vars(with("ten")).unwrap_err();
        assert!(bad.0.contains("FILES_MAX_BYTES"), "{bad}");
        let unset = FilesConfig::from_vars(|_| None).unwrap();
        assert_eq!((unset.limits.max_bytes, unset.bucket), (crate::domain::files::DEFAULT_MAX_BYTES, None));
    }

    /// Events link to the configured API URL; a writer, which template.yaml cannot tell
    /// it, links to the one its request came by.
    #[test]
    fn events_link_to_the_configured_api_url_else_the_one_the_request_reached() {
        let configured = EventsConfig { api_url: Some("https://api.example".into()), ..Default::default() };
        assert_eq!(configured.api_url(Some("https://abc.execute-api.example")), "https://api.example");
        let unset = EventsConfig::default();
        assert_eq!(unset.api_url(Some("https://abc.execute-api.example")), "https://abc.execute-api.example");
        assert_eq!(unset.api_url(None), "http://127.0.0.1:3000");
    }

    /// So are the cleanup's: only cleanup-cron reads them (template.yaml gives them to it
    /// alone), and a bad one stops only the cleanup.
    #[test]
    fn the_cleanup_settings_are_read_on_their_own() {
        let with = |value: &'static str| move |name: &str| (name == "REQUEST_CLOSE_SECONDS").then(|| value.to_string());
        assert_eq!(CleanupConfig::from_vars(with("600")).unwrap().request_close_secs, 600);
        let bad = CleanupConfig::from_vars(with("an hour")).unwrap_err();
        assert!(bad.0.contains("REQUEST_CLOSE_SECONDS"), "{bad}");
        assert_eq!(CleanupConfig::from_vars(|_| None).unwrap().chat_retention_secs, 30 * 24 * 3600);
    }
}
