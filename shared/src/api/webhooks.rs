//! Webhook subscriptions: each is an SNS subscription of the events topic (http or https
//! by the URL's scheme), filtered on `event` and `format`, with raw message delivery and
//! a redrive policy to the dead-letter queue. The subscriber confirms through SNS's
//! SubscriptionConfirmation as usual.

use serde::Deserialize;
use serde_json::json;

use crate::app::App;
use crate::domain::model::Format;
use crate::domain::model::Webhook;
use crate::domain::validate;
use crate::error::ApiError;
use crate::http::{HandlerResult, Request, Response};

const MAX_URL_CHARS: usize = 2048;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AddWebhook {
    url: String,
    events: Vec<String>,
    format: Format,
}

/// A subscriber URL: http or https, with a host, no spaces or control characters.
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

fn sns_error<E: std::error::Error + 'static>(e: aws_sdk_sns::error::SdkError<E>) -> ApiError {
    tracing::warn!(error = %aws_smithy_types::error::display::DisplayErrorContext(&e), "sns call failed");
    ApiError::unavailable()
}

fn topic(app: &App) -> Result<&str, ApiError> {
    app.config
        .events
        .topic_arn
        .as_deref()
        .ok_or_else(|| ApiError::new(503, "unavailable", "no events topic is configured"))
}

/// `POST /webhooks` `{"url", "events", "format"}`, for agents.
pub async fn add(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let body: AddWebhook = req.json()?;
    let protocol = check_url(&body.url)?;
    if body.events.is_empty() || body.events.len() > 50 {
        return Err(ApiError::bad_request("events: give one to fifty event names"));
    }
    if let Some(unknown) = body.events.iter().find(|e| !body.format.events().contains(&e.as_str())) {
        return Err(ApiError::bad_request(format!("unknown {} event {unknown}", body.format.as_str())));
    }
    let topic = topic(app)?;
    let filter = json!({ "event": body.events, "format": [body.format.as_str()] });
    let mut subscribe = app
        .sns
        .subscribe()
        .topic_arn(topic)
        .protocol(protocol)
        .endpoint(&body.url)
        .return_subscription_arn(true)
        .attributes("FilterPolicy", filter.to_string())
        .attributes("RawMessageDelivery", "true");
    if let Some(dlq) = &app.config.events.dead_letter_arn {
        subscribe = subscribe.attributes("RedrivePolicy", json!({ "deadLetterTargetArn": dlq }).to_string());
    }
    let out = subscribe.send().await.map_err(sns_error)?;
    let webhook = Webhook {
        webhook_id: uuid::Uuid::new_v4().to_string(),
        url: body.url,
        events: body.events,
        format: body.format,
        subscription_arn: out.subscription_arn().unwrap_or_default().to_string(),
        created_by: ident.chatter_id().to_string(),
        create_time: app.clock.stamp(),
    };
    app.db.put_webhook(&webhook).await?;
    Ok(Response::created(
        &json!({ "webhookId": webhook.webhook_id, "status": "pendingConfirmation", "webhook": webhook }),
    ))
}

/// The subscription's ARN: as stored, or, where SNS answered "pending confirmation" at
/// subscribe time, found by endpoint among the topic's subscriptions once confirmed.
async fn subscription_arn(app: &App, hook: &Webhook) -> Result<Option<String>, ApiError> {
    if hook.subscription_arn.starts_with("arn:") {
        return Ok(Some(hook.subscription_arn.clone()));
    }
    let topic = topic(app)?;
    let mut next = None;
    loop {
        let out = app
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .set_next_token(next)
            .send()
            .await
            .map_err(sns_error)?;
        if let Some(found) = out
            .subscriptions()
            .iter()
            .filter(|s| s.endpoint() == Some(hook.url.as_str()))
            .find_map(|s| s.subscription_arn().filter(|a| a.starts_with("arn:")))
        {
            return Ok(Some(found.to_string()));
        }
        next = out.next_token().map(str::to_string);
        if next.is_none() {
            return Ok(None);
        }
    }
}

/// The subscription's state as SNS reports it.
async fn status(app: &App, hook: &Webhook) -> &'static str {
    let Ok(Some(arn)) = subscription_arn(app, hook).await else { return "pendingConfirmation" };
    match app.sns.get_subscription_attributes().subscription_arn(arn).send().await {
        Ok(out) => match out.attributes().and_then(|a| a.get("PendingConfirmation")).map(String::as_str) {
            Some("true") => "pendingConfirmation",
            _ => "confirmed",
        },
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found_exception()) => "deleted",
        Err(_) => "unknown",
    }
}

/// `GET /webhooks`: every subscription with its status.
pub async fn list(app: &App, _req: Request) -> HandlerResult {
    let hooks = app.db.webhooks().await?;
    let mut listed = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let status = status(app, &hook).await;
        listed.push(json!({ "webhookId": hook.webhook_id, "status": status, "webhook": hook }));
    }
    Ok(Response::ok(&json!({ "webhooks": listed })))
}

/// `DELETE /webhooks/{webhookId}`: unsubscribes.
pub async fn delete(app: &App, req: Request) -> HandlerResult {
    let id = req.param("webhookId")?;
    validate::id("webhookId", id)?;
    let hook = app.db.webhook(id).await?.ok_or_else(|| ApiError::not_found("no such webhook"))?;
    // A subscription still pending confirmation cannot be unsubscribed; SNS drops it in 3 days.
    if let Some(arn) = subscription_arn(app, &hook).await? {
        match app.sns.unsubscribe().subscription_arn(arn).send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found_exception()) => {}
            Err(e) => return Err(sns_error(e)),
        }
    }
    app.db.delete_webhook(id).await?;
    Ok(Response::no_content())
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
        }
    }
}
