//! The `notification` vocabulary's shapes (Genesys Chat API v2) and the seed's timestamps.

use super::*;

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
