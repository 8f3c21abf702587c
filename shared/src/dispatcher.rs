//! webhook-dispatcher: POSTs each event from the webhook queue to every `direct` webhook
//! that takes it, signed (Standard Webhooks), with the format's content type and no
//! handshake. A failed attempt is queued again after the configured delay; the last one
//! goes to the dead-letter queue; a `410 Gone` disables the webhook. Every attempt is kept
//! in the delivery log, and every event a webhook takes in the event log (for replays).
//!
//! A record whose bookkeeping failed (DynamoDB or SQS down) is reported back to Lambda as
//! a batch item failure and comes again: receivers drop what they already have by its
//! `webhook-id`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde_json::{json, Value};

use crate::app::App;
use crate::domain::model::{DeliveryMode, DeliveryOutcome, LoggedEvent, Webhook, WebhookDelivery};
use crate::domain::webhooks;
use crate::queue::{self, Target};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("not an SQS event: {0}")]
    NotAQueue(String),
}

/// One client per process: its connection pool outlives an invocation. Its resolver
/// drops every address the egress policy refuses (crate::egress).
fn client(allow_loopback: bool) -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            // A receiver answers; it does not send the delivery elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(crate::egress::Resolver::shared(allow_loopback))
            .no_proxy()
            .user_agent("livechat-webhooks/1")
            .build()
            .unwrap_or_default()
    })
}

/// One attempt to make: an event for a webhook.
struct Send<'a> {
    record: &'a str,
    hook: &'a Webhook,
    event: &'a LoggedEvent,
    attempt: u32,
    replay: bool,
}

/// The Lambda handler for the webhook queue (SQS, with ReportBatchItemFailures).
pub async fn handle(app: &App, event: Value) -> Result<Value, DispatchError> {
    let batch: SqsEvent = serde_json::from_value(event).map_err(|e| DispatchError::NotAQueue(e.to_string()))?;
    let now = app.clock.stamp();
    let hooks = match app.db.webhooks().await {
        Ok(hooks) => hooks,
        Err(_) => return Ok(failures(batch.records.iter().map(message_id))),
    };
    let direct: Vec<&Webhook> = hooks.iter().filter(|h| h.mode == DeliveryMode::Direct).collect();
    let mut failed: Vec<&str> = Vec::new();
    let queued: Vec<(&str, queue::Queued)> = batch
        .records
        .iter()
        .filter_map(|r| match queue::queued(r, &now) {
            Some(q) => Some((message_id(r), q)),
            None => {
                tracing::warn!(message = message_id(r), "not a queued event: dropped");
                None
            }
        })
        .collect();
    let mut to_log: Vec<(&str, &LoggedEvent)> = Vec::new();
    let mut sends: Vec<Send> = Vec::new();
    for (record, q) in &queued {
        match &q.target {
            Some(target) if target.not_before > app.clock.epoch_secs() => {
                // Still early (a wait longer than SQS holds a message): back to the queue.
                let wait = u64::try_from(target.not_before - app.clock.epoch_secs()).unwrap_or(0);
                if queue::send(&app.sqs, queue_url(app), &[(&q.event, target.clone())], wait).await.is_err() {
                    failed.push(record);
                }
            }
            Some(target) => {
                // A deleted or disabled webhook's jobs are dropped.
                if let Some(hook) =
                    direct.iter().find(|h| h.webhook_id == target.webhook_id && h.disabled_time.is_none())
                {
                    sends.push(Send { record, hook, event: &q.event, attempt: target.attempt, replay: target.replay });
                }
            }
            None => {
                let takers: Vec<&&Webhook> =
                    direct.iter().filter(|h| h.wants(q.event.format, &q.event.event)).collect();
                if !takers.is_empty() {
                    to_log.push((record, &q.event));
                }
                for hook in takers.into_iter().filter(|h| h.disabled_time.is_none()) {
                    sends.push(Send { record, hook, event: &q.event, attempt: 1, replay: false });
                }
            }
        }
    }
    if !to_log.is_empty() {
        let events: Vec<LoggedEvent> = to_log.iter().map(|(_, e)| (*e).clone()).collect();
        let expires = app.clock.epoch_secs() + app.config.events.webhooks.log_days * 86_400;
        if app.db.log_events(&events, expires).await.is_err() {
            // Not sent before it is logged: the whole record comes again.
            failed.extend(to_log.iter().map(|(r, _)| *r));
        }
    }
    sends.retain(|s| !failed.contains(&s.record));
    let results = futures_util::future::join_all(sends.iter().map(|s| attempt(app, s))).await;
    for (send, result) in sends.iter().zip(results) {
        if result.is_err() {
            failed.push(send.record);
        }
    }
    let replays = sends.iter().filter(|s| s.replay).count();
    tracing::info!(records = batch.records.len(), attempts = sends.len(), replays, failed = failed.len(), "dispatched");
    Ok(failures(failed.into_iter()))
}

/// The id ReportBatchItemFailures names a message by (SQS always gives one).
fn message_id(message: &SqsMessage) -> &str {
    message.message_id.as_deref().unwrap_or_default()
}

/// ReportBatchItemFailures' answer: the records to deliver again.
fn failures<'a>(ids: impl Iterator<Item = &'a str>) -> Value {
    let mut ids: Vec<&str> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    json!({ "batchItemFailures": ids.iter().map(|id| json!({ "itemIdentifier": id })).collect::<Vec<_>>() })
}

fn queue_url(app: &App) -> Option<&str> {
    app.config.events.webhooks.queue_url.as_deref()
}

/// POSTs one event to one webhook and does what its answer calls for.
async fn attempt(app: &App, send: &Send<'_>) -> Result<(), StoreError> {
    let config = &app.config.events.webhooks;
    let (hook, event) = (send.hook, send.event);
    let timestamp = app.clock.epoch_secs();
    let mut secrets = vec![hook.secret.as_str()];
    if let (Some(previous), Some(until)) = (&hook.previous_secret, hook.previous_secret_until) {
        if until > timestamp {
            secrets.push(previous);
        }
    }
    let started = Instant::now();
    let answer = if !crate::egress::literal_allowed(&hook.url, config.allow_loopback) {
        Err(None)
    } else {
        client(config.allow_loopback)
            .post(&hook.url)
            .timeout(Duration::from_secs(config.timeout_secs))
            .header("content-type", webhooks::content_type(event.format))
            .header("webhook-id", &event.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", webhooks::signature_header(&secrets, &event.event_id, timestamp, &event.body))
            .body(event.body.clone())
            .send()
            .await
            .map_err(Some)
    };
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (status, error) = match answer {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(None) => (None, Some("refused by the egress policy".to_string())),
        Err(Some(e)) if e.is_timeout() => (None, Some(format!("no answer within {} s", config.timeout_secs))),
        Err(Some(e)) if e.is_connect() => (None, Some("connection failed".to_string())),
        Err(Some(_)) => (None, Some("request failed".to_string())),
    };
    let outcome = webhooks::outcome(status, send.attempt, &config.retry_delays);
    let next =
        |attempt, not_before| Target { webhook_id: hook.webhook_id.clone(), attempt, not_before, replay: send.replay };
    match outcome {
        DeliveryOutcome::Delivered => {}
        DeliveryOutcome::Retrying => {
            let delay = webhooks::retry_delay(send.attempt, &config.retry_delays).unwrap_or(0);
            let job = next(send.attempt + 1, timestamp + i64::try_from(delay).unwrap_or(0));
            queue::send(&app.sqs, queue_url(app), &[(event, job)], delay).await.map_err(|_| StoreError::Unavailable)?;
        }
        DeliveryOutcome::DeadLettered => {
            let job = next(send.attempt, 0);
            match config.dead_letter_url.as_deref() {
                Some(dlq) => {
                    queue::send(&app.sqs, Some(dlq), &[(event, job)], 0).await.map_err(|_| StoreError::Unavailable)?
                }
                None => tracing::warn!(webhook = hook.webhook_id, event = event.event_id, "undeliverable; no DLQ"),
            }
        }
        DeliveryOutcome::Disabled => app.db.set_webhook_disabled(&hook.webhook_id, Some(&app.clock.stamp())).await?,
    }
    let delivery = WebhookDelivery {
        webhook_id: hook.webhook_id.clone(),
        event_id: event.event_id.clone(),
        event: event.event.clone(),
        attempt: send.attempt,
        time: app.clock.stamp(),
        status,
        latency_ms,
        error,
        outcome,
        replay: send.replay,
    };
    app.db.put_delivery(&delivery, timestamp + config.log_days * 86_400).await
}
