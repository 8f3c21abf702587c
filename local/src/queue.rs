//! The local stand-in for the webhook queue's Lambda trigger: a queue on the emulator,
//! subscribed to the events topic as template.yaml's `WebhookQueueSubscription` is, and a
//! poller that hands its messages, in the event shape Lambda uses, to the very dispatcher
//! handler the webhook-dispatcher function runs. What the handler reports as failed stays
//! on the queue and comes again after the visibility timeout, as it does under Lambda.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, QueueAttributeName};
use serde_json::{json, Value};
use shared::app::Messaging;
use shared::App;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The webhook queue and its dead-letter queue.
#[derive(Debug, Clone)]
pub struct Queues {
    pub url: String,
    pub dead_letter_url: String,
}

/// How long a message the dispatcher reported as failed stays hidden (180 s in AWS).
const VISIBILITY_SECS: &str = "5";

/// Creates a queue (or finds it): its URL.
pub async fn create(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<String, BoxError> {
    let out = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, VISIBILITY_SECS)
        .send()
        .await?;
    Ok(out.queue_url().ok_or("no queue url")?.to_string())
}

/// Creates the queues (or finds them) and subscribes the queue to `topic_arn`.
pub async fn ensure_queues(messaging: &Messaging, topic_arn: &str, name: &str) -> Result<Queues, BoxError> {
    let url = create(&messaging.sqs, name).await?;
    let dead_letter_url = create(&messaging.sqs, &format!("{name}-dlq")).await?;
    let attributes = messaging
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?;
    let arn = attributes.attributes().and_then(|a| a.get(&QueueAttributeName::QueueArn)).ok_or("no queue arn")?;
    messaging
        .sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await?;
    Ok(Queues { url, dead_letter_url })
}

/// Messages as Lambda's SQS event carries them.
pub fn lambda_event(messages: &[Message]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, Value> = m
                .message_attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| {
                            (k.clone(), json!({ "stringValue": v.string_value(), "dataType": v.data_type() }))
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "messageAttributes": attributes,
                "eventSource": "aws:sqs",
            })
        })
        .collect();
    json!({ "Records": records })
}

/// Polls `queue_url` for as long as the task lives; no failed call stops it.
pub async fn run(app: Arc<App>, queue_url: String) {
    loop {
        let received = app
            .sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %aws_smithy_types::error::display::DisplayErrorContext(&e), "receive failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        tracing::debug!(queue = queue_url, received = messages.len(), "received");
        let failed: Vec<String> = match shared::dispatcher::handle(&app, lambda_event(&messages)).await {
            Ok(answer) => answer["batchItemFailures"]
                .as_array()
                .map(|f| f.iter().filter_map(|i| i["itemIdentifier"].as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "dispatch failed");
                messages.iter().filter_map(|m| m.message_id().map(str::to_string)).collect()
            }
        };
        let done: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.message_id().is_some_and(|id| failed.iter().any(|f| f == id)))
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(format!("d{i}"))
                    .set_receipt_handle(m.receipt_handle().map(str::to_string))
                    .build()
                    .ok()
            })
            .collect();
        if !done.is_empty() {
            if let Err(e) = app.sqs.delete_message_batch().queue_url(&queue_url).set_entries(Some(done)).send().await {
                tracing::warn!(error = %aws_smithy_types::error::display::DisplayErrorContext(&e), "delete failed");
            }
        }
    }
}
