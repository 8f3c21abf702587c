//! The events topic's subscriptions: the SNS calls of `sns` webhooks (subscribe, find,
//! check, unsubscribe). The publisher's PublishBatch is the only other SNS call.

use serde_json::json;

use crate::app::App;
use crate::domain::model::{Format, Webhook};

/// Why SNS was not asked or did not answer.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("no events topic is configured")]
    NoTopic,
    #[error("SNS did not answer")]
    Unavailable,
}

fn unavailable<E: std::error::Error + 'static>(e: aws_sdk_sns::error::SdkError<E>) -> TopicError {
    tracing::warn!(error = %aws_smithy_types::error::display::DisplayErrorContext(&e), "sns call failed");
    TopicError::Unavailable
}

fn topic(app: &App) -> Result<&str, TopicError> {
    app.config.events.topic_arn.as_deref().ok_or(TopicError::NoTopic)
}

/// Subscribes `webhook` (an `sns` one) to the topic, filtered on its events and format,
/// raw; JSON vocabularies ask SNS for their content type. Its ARN, or SNS's "pending
/// confirmation".
pub async fn subscribe(app: &App, webhook: &Webhook, protocol: &str) -> Result<String, TopicError> {
    let filter = json!({ "event": webhook.events, "format": [webhook.format.as_str()] });
    let mut subscribe = app
        .sns
        .subscribe()
        .topic_arn(topic(app)?)
        .protocol(protocol)
        .endpoint(&webhook.url)
        .return_subscription_arn(true)
        .attributes("FilterPolicy", filter.to_string())
        .attributes("RawMessageDelivery", "true");
    if webhook.format != Format::Rpc {
        // SNS's content types do not include a form; `direct` mode sends one.
        let policy = json!({ "requestPolicy": { "headerContentType": "application/json" } });
        subscribe = subscribe.attributes("DeliveryPolicy", policy.to_string());
    }
    if let Some(dlq) = &app.config.events.dead_letter_arn {
        subscribe = subscribe.attributes("RedrivePolicy", json!({ "deadLetterTargetArn": dlq }).to_string());
    }
    let out = subscribe.send().await.map_err(unavailable)?;
    Ok(out.subscription_arn().unwrap_or_default().to_string())
}

/// The subscription's ARN: as stored, or, where SNS answered "pending confirmation" at
/// subscribe time, found by endpoint among the topic's subscriptions once confirmed.
async fn subscription_arn(app: &App, hook: &Webhook) -> Result<Option<String>, TopicError> {
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
            .map_err(unavailable)?;
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

/// The subscription's state as SNS reports it: `pendingConfirmation`, `confirmed`,
/// `deleted`, or `unknown` when SNS does not answer.
pub async fn status(app: &App, hook: &Webhook) -> &'static str {
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

/// Unsubscribes the webhook. One still pending confirmation cannot be: SNS drops it in
/// three days. One already gone is no error.
pub async fn unsubscribe(app: &App, hook: &Webhook) -> Result<(), TopicError> {
    let Some(arn) = subscription_arn(app, hook).await? else { return Ok(()) };
    match app.sns.unsubscribe().subscription_arn(arn).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found_exception()) => Ok(()),
        Err(e) => Err(unavailable(e)),
    }
}
