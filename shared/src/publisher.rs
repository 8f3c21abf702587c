//! event-publisher: turns the table's stream records into events (see [`crate::domain::events`])
//! and publishes them to the SNS topic with PublishBatch. Request handlers never call SNS:
//! a change is committed first and announced after, even if SNS was down meanwhile.
//! A failure is reported at the first record it stops (`ReportBatchItemFailures`): Lambda
//! (or the local stream reader) retries from there, and the records before it are not
//! announced again. The stable `eventId` lets subscribers drop the duplicates a retry of a
//! partly published record may still cause.

use std::collections::HashMap;

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use serde_json::{json, Value};

use crate::app::App;
use crate::domain::events::{self, Change, Context, Entity, Outgoing};
use crate::domain::model::{Availability, ChatStatus, ChatterActive, Message};
use crate::store::StoreError;
use crate::stream::{self, chat_context, chat_id_of, NotAStream};

/// Why a batch was not published; Lambda (or the local stream reader) retries it whole.
#[derive(Debug)]
pub enum PublishError {
    NotAStream(NotAStream),
    Store(StoreError),
    /// SNS refused or did not answer.
    Sns,
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishError::NotAStream(e) => write!(f, "{e}"),
            PublishError::Store(e) => write!(f, "{e}"),
            PublishError::Sns => write!(f, "events not published"),
        }
    }
}

impl std::error::Error for PublishError {}

impl From<StoreError> for PublishError {
    fn from(e: StoreError) -> Self {
        PublishError::Store(e)
    }
}

/// The most messages read for a transcript; events::MAX_CHAT_BYTES then cuts it by size.
const MAX_TRANSCRIPT_MESSAGES: usize = 1000;

/// SNS's limit on one message, and on a PublishBatch's messages together: 262,144 bytes,
/// the message and its attributes' names, types and values counted.
pub const SNS_MAX_BYTES: usize = 262_144;

/// An event's size as SNS counts it.
fn sns_size(o: &Outgoing) -> usize {
    let attributes = [
        ("event", o.event),
        ("format", o.format.as_str()),
        ("chatId", o.chat_id.as_deref().unwrap_or_default()),
        ("channelId", o.channel_id.as_deref().unwrap_or_default()),
        ("eventId", o.event_id.as_str()),
        ("time", o.time.as_str()),
    ];
    crate::batch::message_size(&o.body, attributes)
}

/// Whether the events of `change` carry the transcript (OPERATOR_STOPED_CHAT and
/// VISITOR_LEFT_CHAT's CHAT). What happened, and who did it, is in the record itself.
fn needs_transcript(change: &Change) -> bool {
    match (&change.old, &change.new) {
        (Some(Entity::Chat(o)), Some(Entity::Chat(n))) => o.status != n.status && n.status == ChatStatus::Closed,
        (Some(Entity::Participant(o)), Some(Entity::Participant(p))) => {
            p.chatter_active == ChatterActive::Left && o.chatter_active == ChatterActive::Active
        }
        _ => false,
    }
}

/// The Lambda handler for the table's stream: `{"batchItemFailures": [...]}` names the
/// record to retry from, if one failed.
pub async fn handle(app: &App, event: Value) -> Result<Value, PublishError> {
    let records = stream::records(event).map_err(PublishError::NotAStream)?;
    let sequences: Vec<Option<String>> = records.iter().map(|r| r.change.sequence_number.clone()).collect();
    // Each record's events (and the chat it deletes), up to the first record that fails.
    let mut described: Vec<(Vec<Outgoing>, Option<String>)> = Vec::new();
    let mut failure = None;
    let mut chats: HashMap<String, Context> = HashMap::new();
    let mut statuses: HashMap<String, Availability> = HashMap::new();
    for record in records {
        match describe_record(app, record, &mut chats, &mut statuses).await {
            Ok(out) => described.push(out),
            Err(e) => {
                failure = Some((described.len(), e));
                break;
            }
        }
    }
    // Published in order, ten at a time; a failed call stops at its chunk's first record.
    let outgoing: Vec<(usize, &Outgoing)> =
        described.iter().enumerate().flat_map(|(i, (events, _))| events.iter().map(move |o| (i, o))).collect();
    let mut published = 0;
    for chunk in outgoing.chunks(10) {
        let events: Vec<&Outgoing> = chunk.iter().map(|(_, o)| *o).collect();
        if let Err(e) = publish(app, &events).await {
            let first = chunk.first().map_or(0, |(i, _)| *i);
            failure = Some((first.min(failure.as_ref().map_or(usize::MAX, |(i, _)| *i)), e));
            break;
        }
        published += chunk.len();
    }
    let done = failure.as_ref().map_or(described.len(), |(i, _)| *i);
    // Deleted chats are purged only now that their close and deletion are out: their
    // transcript was read above.
    let mut purged = 0;
    for chat_id in described.iter().take(done).filter_map(|(_, purge)| purge.as_deref()) {
        if let Err(e) = app.purge_chat(chat_id).await {
            // Published already: purged by the cleanup if not by a retry.
            tracing::warn!(error = %e, chat_id, "purge failed");
            continue;
        }
        purged += 1;
    }
    let failures = match failure {
        None => Vec::new(),
        Some((index, e)) => stream::retry_from(sequences.get(index).cloned().flatten(), e)?,
    };
    Ok(json!({ "published": published, "purged": purged, "batchItemFailures": failures }))
}

/// One record's events, and the chat to purge after them (a deletion).
async fn describe_record(
    app: &App,
    record: EventRecord,
    chats: &mut HashMap<String, Context>,
    statuses: &mut HashMap<String, Availability>,
) -> Result<(Vec<Outgoing>, Option<String>), PublishError> {
    let change = stream::change(record, app)?;
    if change.old.is_none() && change.new.is_none() {
        return Ok((Vec::new(), None));
    }
    let purge = match (&change.old, &change.new) {
        (Some(Entity::Chat(old)), Some(Entity::Chat(new))) if new.deleted && !old.deleted => Some(new.chat_id.clone()),
        _ => None,
    };
    let mut ctx = match chat_id_of(&change) {
        Some(chat_id) => {
            if !chats.contains_key(&chat_id) {
                chats.insert(chat_id.clone(), chat_context(app, &chat_id).await?);
            }
            let ctx = chats.get_mut(&chat_id).ok_or(PublishError::Store(StoreError::Internal))?;
            if needs_transcript(&change) && ctx.transcript.is_empty() {
                (ctx.transcript, ctx.transcript_cut) = transcript(app, &chat_id).await?;
            }
            ctx.clone()
        }
        None => stream::context(app, None, Vec::new(), None),
    };
    // RPC's STATUS: the agent's availability now (one read per agent and batch).
    for user_id in events::status_needed(&change) {
        if !statuses.contains_key(&user_id) {
            let now = app.clock.epoch_secs();
            let found = app.db.presence(&user_id, false).await?.map(|p| p.current(now).availability);
            statuses.insert(user_id.clone(), found.unwrap_or(Availability::Offline));
        }
        if let Some(a) = statuses.get(&user_id) {
            ctx.statuses.insert(user_id, *a);
        }
    }
    Ok((events::describe(&change, &ctx), purge))
}

/// The transcript, up to MAX_TRANSCRIPT_MESSAGES, and whether it was cut there.
async fn transcript(app: &App, chat_id: &str) -> Result<(Vec<Message>, bool), StoreError> {
    let mut all = Vec::new();
    let mut from = 1;
    loop {
        let (page, more) = app.db.messages(chat_id, from, 9_999_999_999, 100, false).await?;
        let Some(last) = page.last().map(|m| m.index) else { break };
        all.extend(page);
        if !more {
            break;
        }
        if all.len() >= MAX_TRANSCRIPT_MESSAGES {
            all.truncate(MAX_TRANSCRIPT_MESSAGES);
            return Ok((all, true));
        }
        from = last + 1;
    }
    Ok((all, false))
}

fn attribute(value: &str) -> Option<MessageAttributeValue> {
    (!value.is_empty())
        .then(|| MessageAttributeValue::builder().data_type("String").string_value(value).build().ok())
        .flatten()
}

/// What the failure queue keeps of an event: its fields and its content, the content cut
/// to fit SQS (and `bodyCut` true) where even that is too large, so that it is always kept.
fn kept(o: &Outgoing, reason: &str) -> String {
    let with = |body: &str, cut: bool| {
        json!({
            "reason": reason,
            "eventId": o.event_id, "event": o.event, "format": o.format.as_str(),
            "chatId": o.chat_id, "channelId": o.channel_id, "time": o.time, "body": body, "bodyCut": cut,
        })
        .to_string()
    };
    let whole = with(&o.body, false);
    if whole.len() <= crate::queue::SQS_MAX_BYTES {
        return whole;
    }
    // Escaping makes the body longer in JSON than in itself: shorten until it fits.
    let mut end = o.body.len().min(crate::queue::SQS_MAX_BYTES);
    loop {
        while !o.body.is_char_boundary(end) {
            end -= 1;
        }
        let cut = with(&o.body[..end], true);
        if cut.len() <= crate::queue::SQS_MAX_BYTES || end == 0 {
            return cut;
        }
        end = end.saturating_sub((cut.len() - crate::queue::SQS_MAX_BYTES).max(end / 16));
    }
}

/// Puts an event SNS will never take on the failure queue, with its content: it is kept
/// (14 days) and holds up no other event. Fails (to be retried) when it cannot be kept.
async fn set_aside(app: &App, o: &Outgoing, reason: &str) -> Result<(), PublishError> {
    let Some(queue) = app.config.events.failure_queue_url.as_deref() else {
        tracing::error!(event_id = o.event_id, reason, "an event SNS refuses, and no failure queue: retried");
        return Err(PublishError::Sns);
    };
    app.sqs.send_message().queue_url(queue).message_body(kept(o, reason)).send().await.map_err(|e| {
        tracing::warn!(error = %aws_smithy_types::error::display::DisplayErrorContext(&e), "failure queue unreachable");
        PublishError::Sns
    })?;
    tracing::error!(event_id = o.event_id, reason, "an event SNS refuses is on the failure queue");
    Ok(())
}

/// Publishes to the topic, ten at a time and 256 KB at most per call; a failure stops
/// there (to be retried). An event SNS refuses for good (over its size, or invalid) goes to
/// the failure queue instead, with its content.
pub async fn publish(app: &App, outgoing: &[&Outgoing]) -> Result<(), PublishError> {
    if outgoing.is_empty() {
        return Ok(());
    }
    let Some(topic) = app.config.events.topic_arn.as_deref() else {
        tracing::warn!(events = outgoing.len(), "EVENTS_TOPIC_ARN is not set: events dropped");
        return Ok(());
    };
    let mut fitting = Vec::with_capacity(outgoing.len());
    for o in outgoing {
        if sns_size(o) > SNS_MAX_BYTES {
            set_aside(app, o, "larger than SNS's 256 KB").await?;
        } else {
            fitting.push(*o);
        }
    }
    for chunk in crate::batch::runs(&fitting, 10, SNS_MAX_BYTES, |o| sns_size(o)) {
        let mut entries = Vec::with_capacity(chunk.len());
        for (i, o) in chunk.iter().enumerate() {
            let mut entry = PublishBatchRequestEntry::builder().id(format!("e{i}")).message(o.body.clone());
            // The webhook dispatcher reads the same attributes from its queue.
            for (name, value) in [
                ("event", Some(o.event)),
                ("format", Some(o.format.as_str())),
                ("chatId", o.chat_id.as_deref()),
                ("channelId", o.channel_id.as_deref()),
                ("eventId", Some(o.event_id.as_str())),
                ("time", Some(o.time.as_str())),
            ] {
                if let Some(attr) = value.and_then(attribute) {
                    entry = entry.message_attributes(name, attr);
                }
            }
            entries.push(entry.build().map_err(|_| PublishError::Sns)?);
        }
        let out = app
            .sns
            .publish_batch()
            .topic_arn(topic)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(error = %aws_smithy_types::error::display::DisplayErrorContext(&e), "publish failed");
                PublishError::Sns
            })?;
        for failed in out.failed() {
            let event = failed.id().strip_prefix('e').and_then(|i| i.parse::<usize>().ok()).and_then(|i| chunk.get(i));
            match event {
                // The sender's fault never goes away: set aside, not retried.
                Some(o) if failed.sender_fault() => {
                    set_aside(app, o, failed.message().unwrap_or(failed.code())).await?;
                }
                _ => {
                    tracing::warn!(code = failed.code(), "an event was not published");
                    return Err(PublishError::Sns);
                }
            }
        }
    }
    tracing::info!(events = outgoing.len(), "published");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::Format;

    fn event(i: usize, bytes: usize) -> Outgoing {
        Outgoing {
            event_id: format!("r{i}:rpc:VISITOR_LEFT_CHAT"),
            event: "VISITOR_LEFT_CHAT",
            format: Format::Rpc,
            chat_id: Some(format!("chat-{i}")),
            channel_id: Some("sales".into()),
            time: "2026-12-05T10:00:00.000Z".into(),
            body: "x".repeat(bytes),
        }
    }

    #[test]
    fn batches_hold_ten_events_and_256_kb_at_most_in_order() {
        let events: Vec<Outgoing> = (0..25).map(|i| event(i, if i % 3 == 0 { 200_000 } else { 1_000 })).collect();
        let refs: Vec<&Outgoing> = events.iter().collect();
        let batches = crate::batch::runs(&refs, 10, SNS_MAX_BYTES, |o| sns_size(o));
        for batch in &batches {
            assert!(batch.len() <= 10);
            assert!(batch.iter().map(|o| sns_size(o)).sum::<usize>() <= SNS_MAX_BYTES);
        }
        let order: Vec<&str> = batches.iter().flat_map(|b| b.iter()).map(|o| o.event_id.as_str()).collect();
        assert_eq!(order, events.iter().map(|o| o.event_id.as_str()).collect::<Vec<_>>());
        assert!(batches.len() >= 9, "each 200 KB event needs a call of its own: {}", batches.len());
    }

    /// An event set aside keeps its content; past SQS's 1 MiB (escaping counted), the
    /// content is cut to fit and says so.
    #[test]
    fn an_event_set_aside_fits_sqs_and_keeps_what_fits() {
        let small = kept(&event(1, 300_000), "larger than SNS's 256 KB");
        let read: serde_json::Value = serde_json::from_str(&small).unwrap();
        assert_eq!((read["body"].as_str().map(str::len), &read["bodyCut"]), (Some(300_000), &json!(false)));
        let mut large = event(2, 0);
        large.body = "\"é\n".repeat(400_000);
        let kept = kept(&large, "larger than SNS's 256 KB");
        assert!(kept.len() <= crate::queue::SQS_MAX_BYTES, "{}", kept.len());
        let read: serde_json::Value = serde_json::from_str(&kept).unwrap();
        let body = read["body"].as_str().unwrap();
        assert!(large.body.starts_with(body) && body.len() > crate::queue::SQS_MAX_BYTES / 3, "{}", body.len());
        assert_eq!((&read["bodyCut"], &read["eventId"]), (&json!(true), &json!(large.event_id)));
    }
}
