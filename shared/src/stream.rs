//! The table's stream as Lambda delivers it (`aws_lambda_events`' DynamoDB event), read
//! into domain changes. Its two consumers, the event publisher and socket-push, both read
//! it here; each keeps its own error type.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use serde_json::{json, Value};

use crate::app::App;
use crate::domain::events::{Change, Context, Entity};
use crate::domain::model::{Chat, Participant};
use crate::store::{self, StoreError};
use crate::time;

/// An event that is not a DynamoDB stream event.
#[derive(Debug, thiserror::Error)]
#[error("not a DynamoDB stream event: {0}")]
pub struct NotAStream(String);

/// A stream event's records, in order.
pub fn records(event: Value) -> Result<Vec<EventRecord>, NotAStream> {
    let event: Event = serde_json::from_value(event).map_err(|e| NotAStream(e.to_string()))?;
    Ok(event.records)
}

/// The change a record reports, stamped with the record's time (now, if it has none).
pub fn change(record: EventRecord, app: &App) -> Result<Change, StoreError> {
    let created = record.change.approximate_creation_date_time;
    Ok(Change {
        old: store::entity_of(Some(record.change.old_image))?,
        new: store::entity_of(Some(record.change.new_image))?,
        at: if created.timestamp() > 0 { time::format(created) } else { app.clock.stamp() },
        id: record.event_id,
    })
}

/// `ReportBatchItemFailures`' answer that retries from the record `sequence`; a record
/// without one cannot be named, so the whole batch fails with `error` instead.
pub fn retry_from<E: std::fmt::Display>(sequence: Option<String>, error: E) -> Result<Vec<Value>, E> {
    let Some(sequence) = sequence else { return Err(error) };
    tracing::warn!(error = %error, sequence, "stopped at a record; it is retried");
    Ok(vec![json!({ "itemIdentifier": sequence })])
}

/// The chat a change belongs to.
pub fn chat_id_of(change: &Change) -> Option<String> {
    match change.new.as_ref().or(change.old.as_ref())? {
        Entity::Chat(c) => Some(c.chat_id.clone()),
        Entity::Participant(p) => Some(p.chat_id.clone()),
        Entity::Message(m) => Some(m.chat_id.clone()),
        Entity::Typing(chat_id, _) => Some(chat_id.clone()),
        Entity::ReadMark(m) => Some(m.chat_id.clone()),
        _ => None,
    }
}

/// What every vocabulary reads about a chat: the chat and its participants as they are now
/// (none once purged), with this deployment's settings ([`context`]).
pub async fn chat_context(app: &App, chat_id: &str) -> Result<Context, StoreError> {
    let state = app.db.load_any_state(chat_id, false).await?;
    let (chat, participants) = state.map(|s| (Some(s.chat), s.participants)).unwrap_or_default();
    Ok(context(app, chat, participants, None))
}

/// A chat and its participants (none for a change of no chat) with this deployment's
/// licence, API URL (`reached`: the one a writer's request came by, see
/// `EventsConfig::api_url`) and agent-name masking: the one place events read those from.
pub fn context(app: &App, chat: Option<Chat>, participants: Vec<Participant>, reached: Option<&str>) -> Context {
    Context {
        chat,
        participants,
        licence: app.config.events.licence.clone(),
        api_url: app.config.events.api_url(reached),
        mask: app.config.agent_mask().map(str::to_string),
        ..Default::default()
    }
}
