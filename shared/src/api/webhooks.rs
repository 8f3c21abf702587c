//! Webhooks, in two delivery modes (docs/events.md). `direct`: the webhook-dispatcher POSTs
//! each event, signed with the webhook's own secret, and retries for days; the API keeps
//! its delivery log and replays a time range. `sns`: an SNS subscription of the events
//! topic (http or https by the URL's scheme), filtered on `event` and `format`, with raw
//! message delivery and a redrive policy to the dead-letter queue; the subscriber
//! confirms through SNS's SubscriptionConfirmation.

use serde::Deserialize;
use serde_json::json;

use crate::app::App;
use crate::domain::model::{DeliveryMode, Format, Webhook};
use crate::domain::{validate, webhooks};
use crate::error::ApiError;
use crate::http::{HandlerResult, Request, Response};
use crate::queue::{self, Target};
use crate::time;
use crate::topic::{self, TopicError};

const MAX_URL_CHARS: usize = 2048;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(extend("allOf" = Format::events_schema()))]
pub struct AddWebhook {
    /// The receiver: http or https, at a public address (not this network's).
    #[schemars(length(max = MAX_URL_CHARS), regex(pattern = URL_PATTERN), extend("format" = "uri"))]
    url: String,
    /// One to fifty of the format's event names.
    #[schemars(length(min = 1, max = 50))]
    events: Vec<String>,
    format: Format,
    /// `direct` (the default: signed deliveries) or `sns` (unsigned raw SNS deliveries).
    #[serde(default)]
    mode: Option<DeliveryMode>,
}

/// A rotation keeps the old secret signing beside the new one this long.
const PREVIOUS_SECRET_SECS: i64 = 24 * 3600;
/// At most this many events per replay call; `more` says a narrower range is needed.
const MAX_REPLAY: usize = 1000;
/// Replay calls per webhook and minute: each may queue MAX_REPLAY deliveries to a receiver.
const REPLAYS_PER_MINUTE: u32 = 5;

/// A new `whsec_` secret from the system's CSPRNG.
fn new_secret() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ApiError::internal())?;
    Ok(webhooks::secret_from(&bytes))
}

/// A `direct` webhook that exists (404, or 409 for an `sns` one).
async fn direct_webhook(app: &App, req: &Request) -> Result<Webhook, ApiError> {
    let id = req.param("webhookId")?;
    validate::id("webhookId", id)?;
    let hook = app.db.webhook(id).await?.ok_or_else(|| ApiError::not_found("no such webhook"))?;
    if hook.mode != DeliveryMode::Direct {
        return Err(ApiError::conflict("an sns webhook's deliveries are SNS's: use mode direct"));
    }
    Ok(hook)
}

/// A subscriber URL: http or https, with a host, no spaces or control characters.
/// What [`check_url`] takes, as a JSON Schema pattern: http or https, a host with no user
/// part that does not start with a port, no white space or control characters anywhere.
const URL_PATTERN: &str =
    r"^https?://[^/?#@:\s\x00-\x1f\x7f-\x9f][^/?#@\s\x00-\x1f\x7f-\x9f]*([/?#][^\s\x00-\x1f\x7f-\x9f]*)?$";

pub fn check_url(url: &str) -> Result<&'static str, ApiError> {
    let bad = || ApiError::bad_request("url must be an http:// or https:// URL");
    if url.chars().count() > MAX_URL_CHARS || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (protocol, rest) = if let Some(rest) = url.strip_prefix("https://") {
        ("https", rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        ("http", rest)
    } else {
        return Err(bad());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') || host.contains('@') {
        return Err(bad());
    }
    Ok(protocol)
}

impl From<TopicError> for ApiError {
    fn from(e: TopicError) -> Self {
        match e {
            TopicError::NoTopic => ApiError::new(503, "unavailable", "no events topic is configured"),
            TopicError::Unavailable => ApiError::unavailable(),
        }
    }
}

/// `POST /webhooks` `{"url", "events", "format", "mode"}`, for admins.
pub async fn add(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let body: AddWebhook = req.json()?;
    check_url(&body.url)?;
    let protocol = crate::egress::check(&body.url, app.config.events.webhooks.allow_loopback)
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if body.events.is_empty() || body.events.len() > 50 {
        return Err(ApiError::bad_request("events: give one to fifty event names"));
    }
    if let Some(unknown) = body.events.iter().find(|e| !body.format.events().contains(&e.as_str())) {
        return Err(ApiError::bad_request(format!("unknown {} event {unknown}", body.format.as_str())));
    }
    // Direct unless asked: its deliveries are signed; raw SNS deliveries are not.
    let mode = body.mode.unwrap_or(DeliveryMode::Direct);
    let mut webhook = Webhook {
        webhook_id: uuid::Uuid::new_v4().to_string(),
        url: body.url,
        events: body.events,
        format: body.format,
        mode,
        subscription_arn: String::new(),
        created_by: ident.chatter_id().to_string(),
        create_time: app.clock.stamp(),
        disabled_time: None,
        secret: String::new(),
        previous_secret: None,
        previous_secret_until: None,
    };
    if mode == DeliveryMode::Direct {
        // The secret is shown this once; the dispatcher signs every delivery with it.
        webhook.secret = new_secret()?;
        app.db.put_webhook(&webhook).await?;
        return Ok(Response::created(&json!({
            "webhookId": webhook.webhook_id, "status": "active", "secret": webhook.secret, "webhook": webhook.shown(),
        })));
    }
    webhook.subscription_arn = topic::subscribe(app, &webhook, protocol).await?;
    app.db.put_webhook(&webhook).await?;
    Ok(Response::created(
        &json!({ "webhookId": webhook.webhook_id, "status": "pendingConfirmation", "webhook": webhook.shown() }),
    ))
}

/// The webhook's state: `active` or `disabled` (direct); as SNS reports it (sns).
async fn status(app: &App, hook: &Webhook) -> &'static str {
    if hook.mode == DeliveryMode::Direct {
        return if hook.disabled_time.is_some() { "disabled" } else { "active" };
    }
    topic::status(app, hook).await
}

/// `GET /webhooks`: every webhook with its status (never its secret).
pub async fn list(app: &App, _req: Request) -> HandlerResult {
    let hooks = app.db.webhooks().await?;
    let mut listed = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let status = status(app, &hook).await;
        listed.push(json!({ "webhookId": hook.webhook_id, "status": status, "webhook": hook.shown() }));
    }
    Ok(Response::ok(&json!({ "webhooks": listed })))
}

/// `DELETE /webhooks/{webhookId}`: unsubscribes; a direct webhook's queued retries are dropped.
pub async fn delete(app: &App, req: Request) -> HandlerResult {
    let id = req.param("webhookId")?;
    validate::id("webhookId", id)?;
    let hook = app.db.webhook(id).await?.ok_or_else(|| ApiError::not_found("no such webhook"))?;
    if hook.mode == DeliveryMode::Sns {
        topic::unsubscribe(app, &hook).await?;
    }
    app.db.delete_webhook(id).await?;
    Ok(Response::no_content())
}

/// `GET /webhooks/{webhookId}/deliveries?limit=`: the last attempts, newest first.
pub async fn deliveries(app: &App, req: Request) -> HandlerResult {
    let limit = match req.query("limit") {
        None => 50,
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ApiError::bad_request("limit must be a whole number from 1 to 100"))?,
    };
    let hook = direct_webhook(app, &req).await?;
    let deliveries = app.db.deliveries(&hook.webhook_id, limit).await?;
    Ok(Response::ok(&json!({ "webhookId": hook.webhook_id, "deliveries": deliveries })))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// RFC 3339; events at or after this time. The log keeps `EventLogDays`: an earlier
    /// `from` replays from the log's start (the answer's `from`).
    #[schemars(extend("format" = "date-time"))]
    from: String,
    /// RFC 3339; events before this time (none if it is not after `from`).
    #[schemars(extend("format" = "date-time"))]
    to: String,
}

/// An RFC 3339 time in the stored form (UTC, milliseconds), so it compares as a string.
fn stored_time(name: &str, value: &str) -> Result<String, ApiError> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| time::format(t.with_timezone(&chrono::Utc)))
        .map_err(|_| ApiError::bad_request(format!("{name} must be an RFC 3339 time")))
}

/// `POST /webhooks/{webhookId}/replay` `{"from", "to"}`: sends the logged events of that
/// range that the webhook takes again, with their own ids. A disabled webhook is enabled
/// again: a replay is how a receiver that answered 410 is taken back.
pub async fn replay(app: &App, req: Request) -> HandlerResult {
    let body: Replay = req.json()?;
    let (from, to) = (stored_time("from", &body.from)?, stored_time("to", &body.to)?);
    // What the log holds of the range: the last EventLogDays, up to now (its reads go hour
    // by hour); an empty or backwards range holds nothing. The answer says which range.
    let from = from.max(app.clock.ago(app.config.events.webhooks.log_days * 86_400));
    let to = to.min(app.clock.ago(-1));
    let hook = direct_webhook(app, &req).await?;
    let mut plan = crate::domain::plan::Plan::default();
    let rate = crate::domain::plan::RateLimit { limit: REPLAYS_PER_MINUTE, window_secs: 60 };
    plan.rate(format!("replay#{}", hook.webhook_id), rate, &app.clock.moment());
    app.db.commit_writes(&plan.writes).await?;
    let (logged, more) =
        if from < to { app.db.logged_events(&from, &to, MAX_REPLAY).await? } else { (Vec::new(), false) };
    let jobs: Vec<_> = logged
        .iter()
        .filter(|e| hook.wants(e.format, &e.event))
        .map(|e| (e, Target { webhook_id: hook.webhook_id.clone(), attempt: 1, not_before: 0, replay: true }))
        .collect();
    if hook.disabled_time.is_some() {
        app.db.set_webhook_disabled(&hook.webhook_id, None).await?;
    }
    queue::send(&app.sqs, app.config.events.webhooks.queue_url.as_deref(), &jobs, 0).await.map_err(|e| {
        tracing::warn!(error = %e, "replay not queued");
        ApiError::unavailable()
    })?;
    Ok(Response::ok(
        &json!({ "webhookId": hook.webhook_id, "from": from, "to": to, "queued": jobs.len(), "more": more }),
    ))
}

/// `POST /webhooks/{webhookId}/secret`: a new signing secret, shown once. The old one signs
/// beside it for a day, so receivers can switch without refusing a delivery.
pub async fn rotate_secret(app: &App, req: Request) -> HandlerResult {
    let hook = direct_webhook(app, &req).await?;
    let secret = new_secret()?;
    let until = app.clock.epoch_secs() + PREVIOUS_SECRET_SECS;
    app.db.rotate_webhook_secret(&hook.webhook_id, &secret, &hook.secret, until).await?;
    let until = chrono::DateTime::from_timestamp(until, 0).map(time::format);
    Ok(Response::ok(&json!({ "webhookId": hook.webhook_id, "secret": secret, "previousSecretValidUntil": until })))
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn subscriber_urls_are_http_or_https_with_a_host() {
        assert_eq!(check_url("https://hooks.example.com/chat").unwrap(), "https");
        assert_eq!(check_url("http://127.0.0.1:9000/x?y=1").unwrap(), "http");
        for bad in [
            "ftp://x",
            "https://",
            "http:///x",
            "https://a b",
            "javascript:alert(1)",
            "https://user@host/",
            "http://:80/",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
            assert!(!documented(bad), "the schema refuses {bad}");
        }
        for good in ["https://hooks.example.com/chat", "http://127.0.0.1:9000/x?y=1", "https://h#f", "http://h"] {
            assert!(check_url(good).is_ok() && documented(good), "{good}");
        }
    }

    /// Whether the OpenAPI document's pattern takes `url`.
    fn documented(url: &str) -> bool {
        fancy_regex::Regex::new(super::URL_PATTERN).unwrap().is_match(url).unwrap()
    }
}
