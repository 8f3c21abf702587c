//! The `native` vocabulary: the seeds' own event names, each as one JSON envelope
//! (`eventId`, `event`, `occurredAt`, `chatId`, `channelId`, `actor`, `data`).

use serde_json::{json, Value};

use super::Change;
use crate::model::Chat;

/// An event's body.
pub(super) fn body(
    change: &Change,
    event: &str,
    chat: Option<&Chat>,
    channel: Option<&str>,
    actor: Option<&str>,
    data: Value,
) -> String {
    json!({
        "eventId": format!("{}:native:{}", change.id, event),
        "event": event,
        "occurredAt": change.at,
        "chatId": chat.map(|c| &c.chat_id),
        "channelId": chat.map(|c| c.channel_id.as_str()).or(channel),
        "actor": actor,
        "data": data,
    })
    .to_string()
}
