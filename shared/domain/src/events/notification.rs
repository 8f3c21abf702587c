//! The `notification` vocabulary (Genesys Chat API v2): the envelope a webhook gets, the
//! chat resource, and the MessageLogUpdated entries a socket is pushed, with the seed's
//! timestamps.

use super::*;

/// An event's body for a webhook: the envelope around what a socket is pushed (`data`).
pub(super) fn body(change: &Change, event: &str, data: &Value) -> String {
    json!({ "eventId": format!("{}:notification:{}", change.id, event), "data": data, "channel": "/v2/me/chats" })
        .to_string()
}

/// A MessageLogUpdated notification of one entry.
pub(super) fn log_updated(ctx: &Context, chat: &Chat, entry: Value) -> Value {
    json!({
        "messageType": "MessageLogUpdated",
        "notificationType": "NewMessages",
        "messages": [entry],
        "chatUri": format!("{}/chats/{}", ctx.api_url, chat.chat_id),
    })
}

/// Who an entry is from, as the view shows it.
fn from(nickname: &str, chatter_type: ChatterType, participant_id: &str) -> Value {
    let kind = match chatter_type {
        ChatterType::User => "Agent",
        ChatterType::System => "System",
        _ => "Customer",
    };
    json!({ "nickname": nickname, "type": kind, "participantId": participant_id })
}

/// A new message (`shown`: as the view may see it).
pub(super) fn message_entry(m: &Message, shown: &Message) -> Value {
    let kind = match (m.kind, m.event.as_deref().and_then(SystemEvent::parse)) {
        (MessageType::System, Some(SystemEvent::Joined)) => "ParticipantJoined",
        (MessageType::System, Some(SystemEvent::Left | SystemEvent::Declined | SystemEvent::Removed)) => {
            "ParticipantLeft"
        }
        (MessageType::Text, _) => "Text",
        // Not in the seed's list: the file's name is the text, the file rides along.
        (MessageType::File, _) => "FileUploaded",
        _ => "Notice",
    };
    let mut entry = json!({
        "index": m.index,
        "from": from(&shown.chatter_name, m.chatter_type, &shown.chatter_id),
        "text": shown.text,
        "visibility": if m.internal { "Agents" } else { "All" },
        "timestamp": seed_timestamp(&m.create_time),
        "type": kind,
        // The seed's name, the seed's unit: milliseconds.
        "timestampSeconds": millis(&m.create_time),
    });
    if let (Some(file), Some(map)) = (&m.file, entry.as_object_mut()) {
        map.insert("file".into(), json!(file));
    }
    entry
}

/// An edit (`MessageEdited`, with the new text) or a withdrawal (`MessageDeleted`), naming
/// the message by `messageIndex` (not `index`: clients drop an entry whose index they have).
pub(super) fn change_entry(new: &Message, shown: &Message, kind: &str, at: &str) -> Value {
    let mut entry = json!({
        "type": kind,
        "messageIndex": new.index,
        "from": { "nickname": shown.chatter_name, "participantId": shown.chatter_id },
        "timestamp": seed_timestamp(at),
        "timestampSeconds": millis(at),
    });
    if let (false, Some(map)) = (new.deleted, entry.as_object_mut()) {
        map.insert("text".into(), json!(shown.text));
    }
    entry
}

/// TypingStarted or TypingStopped, from the chatter as shown, with its preview if given.
pub(super) fn typing_entry(
    t: &Typing,
    (nickname, participant_id): (&str, &str),
    preview: Option<&str>,
    at: &str,
) -> Value {
    let mut entry = json!({
        "from": from(nickname, t.chatter_type, participant_id),
        "type": if t.typing { "TypingStarted" } else { "TypingStopped" },
        "visibility": "All",
        "timestamp": seed_timestamp(at),
        "timestampSeconds": millis(at),
    });
    if let (Some(text), Some(map)) = (preview, entry.as_object_mut()) {
        map.insert("text".into(), json!(text));
    }
    entry
}

/// A read receipt (`MessagesRead`), from the reader as shown. Not `index`: clients drop an
/// entry whose index they have (a message pushed twice).
pub(super) fn read_entry(m: &ReadMark, shown: &Participant) -> Value {
    json!({
        "from": from(&shown.chatter_name, m.chatter_type, &shown.chatter_id),
        "type": "MessagesRead",
        "lastReadIndex": m.last_read_index,
        "visibility": "All",
        "timestamp": seed_timestamp(&m.read_time),
        "timestampSeconds": millis(&m.read_time),
    })
}

/// The seed's timestamp format: `2014-01-09 11:58:12.035+0200` (ours are UTC).
pub(super) fn seed_timestamp(t: &str) -> String {
    DateTime::parse_from_rfc3339(t).map(|d| d.format("%Y-%m-%d %H:%M:%S%.3f%z").to_string()).unwrap_or_default()
}

pub(super) fn millis(t: &str) -> i64 {
    DateTime::parse_from_rfc3339(t).map(|d| d.timestamp_millis()).unwrap_or(0)
}

/// The Genesys v2 chat resource, as customers may see it.
pub(super) fn notification_chat(chat: &Chat, ctx: &Context) -> Value {
    let state = match chat.status {
        ChatStatus::Request => "WaitingForAgent",
        ChatStatus::Active => "Chatting",
        ChatStatus::Closed => "Disconnected",
    };
    let capabilities = ctx.capabilities(chat);
    let masking = ctx.view_masking();
    let participants: Vec<Value> = ctx
        .participants
        .iter()
        .filter(|p| p.is_active() && masking.shows(p.chatter_type, &p.chatter_id))
        .map(|p| masking.participant(p))
        .map(|p| {
            json!({
                "nickname": p.chatter_name,
                "type": if p.chatter_type == ChatterType::User { "Agent" } else { "Customer" },
                "participantId": p.chatter_id,
            })
        })
        .collect();
    json!({
        "id": chat.chat_id,
        "state": state,
        "participants": participants,
        "userData": chat.user_data.clone().unwrap_or_default(),
        "capabilities": capabilities,
        "uri": format!("{}/chats/{}", ctx.api_url, chat.chat_id),
    })
}

pub(super) fn state_change(kind: &str, chat: &Chat, ctx: &Context) -> Value {
    let mut data = serde_json::Map::new();
    data.insert("messageType".into(), json!("ChatStateChangeMessage"));
    data.insert("notificationType".into(), json!(kind));
    data.insert("chat".into(), notification_chat(chat, ctx));
    Value::Object(data)
}

/// The same, for a change of the chat record itself: it carries the reference the client
/// sent with the request that made it, if any.
pub(super) fn record_change(kind: &str, chat: &Chat, ctx: &Context) -> Value {
    referenced(state_change(kind, chat, ctx), chat.reference_id.as_deref())
}

/// `data` with the client's reference, if the change had one.
pub(super) fn referenced(mut data: Value, reference: Option<&str>) -> Value {
    if let (Some(reference), Some(map)) = (reference, data.as_object_mut()) {
        map.insert("referenceId".into(), json!(reference));
    }
    data
}
