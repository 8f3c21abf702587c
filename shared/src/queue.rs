//! The webhook queue (SQS): events as the topic delivers them, and the dispatcher's own
//! jobs (a retry or a replay for one webhook). The only SQS code; the Lambda event shape
//! of a queue batch is read here too.

use aws_lambda_events::event::sqs::SqsMessage;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

use crate::domain::model::{Format, LoggedEvent};

/// SQS holds a message back for at most 15 minutes; a longer wait is queued again.
pub const MAX_DELAY_SECS: u64 = 900;

/// A job for one webhook: which attempt, and not before when.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub webhook_id: String,
    pub attempt: u32,
    /// Epoch seconds.
    pub not_before: i64,
    pub replay: bool,
}

/// A queued event, with its job when it is one webhook's retry or replay (an event from
/// the topic goes to every `direct` webhook that takes it).
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub event: LoggedEvent,
    pub target: Option<Target>,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("no webhook queue is configured")]
    NotConfigured,
    #[error("sqs refused or did not answer")]
    Sqs,
}

/// The queued event an SQS message of Lambda's event carries; `None` for a message this
/// product did not queue.
pub fn queued(message: &SqsMessage, now: &str) -> Option<Queued> {
    let attribute = |name: &str| message.message_attributes.get(name)?.string_value.as_deref();
    let format = Format::parse(attribute("format")?)?;
    let event = LoggedEvent {
        event_id: attribute("eventId")?.to_string(),
        event: attribute("event")?.to_string(),
        format,
        time: attribute("time").unwrap_or(now).to_string(),
        chat_id: attribute("chatId").map(str::to_string),
        channel_id: attribute("channelId").map(str::to_string),
        body: message.body.clone().unwrap_or_default(),
    };
    let target = match attribute("webhookId") {
        None => None,
        Some(id) => Some(Target {
            webhook_id: id.to_string(),
            attempt: attribute("attempt")?.parse().ok()?,
            not_before: attribute("notBefore").and_then(|n| n.parse().ok()).unwrap_or(0),
            replay: attribute("replay") == Some("true"),
        }),
    };
    Some(Queued { event, target })
}

fn attributes(event: &LoggedEvent, target: &Target) -> Vec<(&'static str, String)> {
    let mut list = vec![
        ("eventId", event.event_id.clone()),
        ("event", event.event.clone()),
        ("format", event.format.as_str().to_string()),
        ("time", event.time.clone()),
        ("webhookId", target.webhook_id.clone()),
        ("attempt", target.attempt.to_string()),
        ("notBefore", target.not_before.to_string()),
        ("replay", target.replay.to_string()),
    ];
    list.extend(event.chat_id.clone().map(|c| ("chatId", c)));
    list.extend(event.channel_id.clone().map(|c| ("channelId", c)));
    list
}

fn sqs_error<E: std::error::Error + 'static>(e: aws_sdk_sqs::error::SdkError<E>) -> QueueError {
    tracing::warn!(error = %aws_smithy_types::error::display::DisplayErrorContext(&e), "sqs call failed");
    QueueError::Sqs
}

fn string(value: String) -> Result<MessageAttributeValue, QueueError> {
    MessageAttributeValue::builder().data_type("String").string_value(value).build().map_err(|_| QueueError::Sqs)
}

/// SQS's limit on one message (a queue's MaximumMessageSize: its default and its most), and
/// on a SendMessageBatch's messages together: 1 MiB. Ten logged events of up to SNS's
/// 256 KB each would be more.
pub const SQS_MAX_BYTES: usize = 1_048_576;

/// A job's size as SQS counts it.
fn sqs_size(event: &LoggedEvent, target: &Target) -> usize {
    let attributes = attributes(event, target);
    crate::batch::message_size(&event.body, attributes.iter().map(|(name, value)| (*name, value.as_str())))
}

/// The SendMessageBatch calls for `jobs`, in order: ten at most, SQS_MAX_BYTES together.
fn batches<'a, 'e>(jobs: &'a [(&'e LoggedEvent, Target)]) -> Vec<&'a [(&'e LoggedEvent, Target)]> {
    crate::batch::runs(jobs, 10, SQS_MAX_BYTES, |(event, target)| sqs_size(event, target))
}

/// Queues jobs on `queue_url`, each held back `delay` seconds (at most [`MAX_DELAY_SECS`]),
/// ten per call and SQS_MAX_BYTES at most.
pub async fn send(
    sqs: &aws_sdk_sqs::Client,
    queue_url: Option<&str>,
    jobs: &[(&LoggedEvent, Target)],
    delay: u64,
) -> Result<(), QueueError> {
    if jobs.is_empty() {
        return Ok(());
    }
    let queue_url = queue_url.ok_or(QueueError::NotConfigured)?;
    let delay = i32::try_from(delay.min(MAX_DELAY_SECS)).unwrap_or(0);
    for chunk in batches(jobs) {
        let mut entries = Vec::with_capacity(chunk.len());
        for (i, (event, target)) in chunk.iter().enumerate() {
            let mut entry = SendMessageBatchRequestEntry::builder()
                .id(format!("j{i}"))
                .message_body(&event.body)
                .delay_seconds(delay);
            for (name, value) in attributes(event, target) {
                entry = entry.message_attributes(name, string(value)?);
            }
            entries.push(entry.build().map_err(|_| QueueError::Sqs)?);
        }
        let out =
            sqs.send_message_batch().queue_url(queue_url).set_entries(Some(entries)).send().await.map_err(sqs_error)?;
        if !out.failed().is_empty() {
            tracing::warn!(failed = out.failed().len(), "jobs not queued");
            return Err(QueueError::Sqs);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::Format;

    /// A replay of ten close events of 200 KB each goes in calls SQS takes: none over 1 MiB.
    #[test]
    fn a_batch_of_large_events_is_split_under_sqs_s_limit() {
        let events: Vec<LoggedEvent> = (0..10)
            .map(|i| LoggedEvent {
                event_id: format!("r{i}:rpc:VISITOR_LEFT_CHAT"),
                event: "VISITOR_LEFT_CHAT".into(),
                format: Format::Rpc,
                time: "2026-12-06T10:00:00.000Z".into(),
                chat_id: Some(format!("chat-{i}")),
                channel_id: Some("sales".into()),
                body: "x".repeat(200_000),
            })
            .collect();
        let target = Target { webhook_id: "w1".into(), attempt: 1, not_before: 0, replay: true };
        let jobs: Vec<(&LoggedEvent, Target)> = events.iter().map(|e| (e, target.clone())).collect();
        let runs = batches(&jobs);
        assert!(runs.iter().all(|r| r.iter().map(|(e, t)| sqs_size(e, t)).sum::<usize>() <= SQS_MAX_BYTES));
        assert_eq!(runs.iter().map(|r| r.len()).sum::<usize>(), 10);
        assert_eq!(runs.len(), 2, "five of 200 KB to a call");
    }
}
