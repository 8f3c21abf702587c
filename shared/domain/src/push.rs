//! Live push over the WebSocket API: the Bayeux (CometD) protocol the sockets speak, and
//! which agents are told of a change.
//!
//! Every socket speaks Bayeux 1.0 over the websocket transport, as the Genesys seed's
//! `/v2/me/chats` topic does: an agent's socket gets the agent view of the chats it takes
//! part in, a chat token's socket the customer view of its one chat. No function holds a
//! request open: `/meta/connect` is answered at once, with advice telling the client to
//! send the next one after `interval` (its heartbeat, which also keeps API Gateway's
//! 10-minute idle timeout away).

use serde_json::{json, Map, Value};

use crate::connections::Viewer;
use crate::model::{ChatterActive, ChatterType, Participant};

/// The one channel: the caller's chats.
pub const CHATS_CHANNEL: &str = "/v2/me/chats";

/// What a socket's frame asks for: the replies, and whether its subscription changes.
#[derive(Debug, Default, PartialEq)]
pub struct Answer {
    pub replies: Vec<Value>,
    /// `Some(true)` subscribe, `Some(false)` unsubscribe (or disconnect).
    pub subscribe: Option<bool>,
}

/// The advice every handshake and connect reply carries: reconnect at once, with the next
/// `/meta/connect` (the heartbeat) after `interval_ms`.
fn advice(interval_ms: u64) -> Value {
    json!({ "reconnect": "retry", "interval": interval_ms, "timeout": 0 })
}

/// Answers one frame of Bayeux messages (an array, or one object) from the socket whose
/// Bayeux client id is `client_id` (its connection id: the socket was authenticated when
/// it opened, so the handshake needs no state of its own).
pub fn answer(client_id: &str, frame: &str, interval_ms: u64) -> Answer {
    let messages = match serde_json::from_str::<Value>(frame) {
        Ok(Value::Array(messages)) => messages,
        Ok(message @ Value::Object(_)) => vec![message],
        _ => {
            return Answer {
                replies: vec![
                    json!({ "successful": false, "error": "400::a frame is a JSON array of Bayeux messages" }),
                ],
                subscribe: None,
            }
        }
    };
    let mut out = Answer::default();
    for message in &messages {
        let channel = message.get("channel").and_then(Value::as_str).unwrap_or_default();
        let mut reply = Map::new();
        reply.insert("channel".into(), json!(channel));
        if let Some(id) = message.get("id") {
            reply.insert("id".into(), id.clone());
        }
        let known = message.get("clientId").and_then(Value::as_str) == Some(client_id);
        let fields: Value = match channel {
            "/meta/handshake" => {
                let websocket = message
                    .get("supportedConnectionTypes")
                    .and_then(Value::as_array)
                    .is_none_or(|types| types.iter().any(|t| t == "websocket"));
                if websocket {
                    json!({
                        "successful": true, "version": "1.0", "clientId": client_id,
                        "supportedConnectionTypes": ["websocket"], "advice": advice(interval_ms),
                    })
                } else {
                    json!({
                        "successful": false, "version": "1.0", "supportedConnectionTypes": ["websocket"],
                        "error": "400::this socket speaks the websocket connection type only",
                        "advice": { "reconnect": "none" },
                    })
                }
            }
            _ if channel.starts_with("/meta/") && !known => json!({
                "successful": false, "error": "402::Unknown client",
                "advice": { "reconnect": "handshake", "interval": 0 },
            }),
            "/meta/connect" => json!({ "successful": true, "clientId": client_id, "advice": advice(interval_ms) }),
            "/meta/subscribe" | "/meta/unsubscribe" => {
                let subscription = message.get("subscription").and_then(Value::as_str).unwrap_or_default();
                if subscription == CHATS_CHANNEL {
                    out.subscribe = Some(channel == "/meta/subscribe");
                    json!({ "successful": true, "clientId": client_id, "subscription": subscription })
                } else {
                    json!({
                        "successful": false, "clientId": client_id, "subscription": subscription,
                        "error": format!("403:{subscription}:only {CHATS_CHANNEL} can be subscribed"),
                    })
                }
            }
            "/meta/disconnect" => {
                out.subscribe = Some(false);
                json!({ "successful": true, "clientId": client_id })
            }
            _ => json!({ "successful": false, "error": format!("403:{channel}:publishing is not allowed") }),
        };
        if let Value::Object(fields) = fields {
            reply.extend(fields);
        }
        out.replies.push(Value::Object(reply));
    }
    out
}

/// What a push carries: one Bayeux message on the chats channel.
pub fn delivery(data: Value) -> Value {
    json!([{ "channel": CHATS_CHANNEL, "data": data }])
}

/// Whether agent participant `p` is told of a change made by `actor`: an active agent
/// (any permission) of everything; an agent who monitors without taking part (OTRS's
/// Monitoring) of all activity (2) or of the customer's only (1); never one who left.
pub fn agent_is_told(p: &Participant, actor: Option<ChatterType>) -> bool {
    if p.chatter_type != ChatterType::User || p.chatter_active == ChatterActive::Left {
        return false;
    }
    p.is_active() || p.monitoring >= 2 || (p.monitoring == 1 && actor.is_some_and(ChatterType::is_customer))
}

/// Whether a customer-side socket of `viewer` is still told of its chat, now that
/// `participants` are as they are: its chatter is in the chat and has not left. Checked on
/// every push, so a socket never outlives its chatter's access (it was checked at
/// `$connect` too). `subject` is the chatter this very change is about: it hears of its
/// own leaving or removal, once.
pub fn chatter_is_told(viewer: &Viewer, participants: &[Participant], subject: Option<(ChatterType, &str)>) -> bool {
    let Viewer::Chatter { chatter_type, chatter_id, .. } = viewer else { return false };
    subject == Some((*chatter_type, chatter_id.as_str()))
        || participants.iter().any(|p| {
            p.chatter_type == *chatter_type && p.chatter_id == *chatter_id && p.chatter_active != ChatterActive::Left
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PermissionLevel;

    const ID: &str = "conn-1";

    fn one(frame: Value) -> (Value, Option<bool>) {
        let answer = answer(ID, &frame.to_string(), 240_000);
        assert_eq!(answer.replies.len(), 1, "{answer:?}");
        (answer.replies[0].clone(), answer.subscribe)
    }

    #[test]
    fn a_handshake_gets_the_connection_as_its_client_and_heartbeat_advice() {
        let (reply, sub) = one(json!([{ "channel": "/meta/handshake", "id": "1", "version": "1.0",
            "supportedConnectionTypes": ["websocket", "long-polling"] }]));
        assert_eq!(reply["successful"], true);
        assert_eq!(reply["clientId"], ID);
        assert_eq!(reply["id"], "1");
        assert_eq!(reply["advice"], json!({ "reconnect": "retry", "interval": 240000, "timeout": 0 }));
        assert_eq!(sub, None);
        let (refused, _) = one(json!({ "channel": "/meta/handshake", "supportedConnectionTypes": ["long-polling"] }));
        assert_eq!(refused["successful"], false);
    }

    #[test]
    fn connect_is_answered_at_once_and_only_the_chats_channel_is_subscribed() {
        let (connect, _) = one(json!([{ "channel": "/meta/connect", "clientId": ID, "connectionType": "websocket" }]));
        assert_eq!((connect["successful"].clone(), connect["advice"]["timeout"].clone()), (json!(true), json!(0)));
        let (sub, change) =
            one(json!([{ "channel": "/meta/subscribe", "clientId": ID, "subscription": CHATS_CHANNEL }]));
        assert_eq!((sub["successful"].clone(), change), (json!(true), Some(true)));
        let (other, change) = one(json!([{ "channel": "/meta/subscribe", "clientId": ID, "subscription": "/v2/all" }]));
        assert_eq!((other["successful"].clone(), change), (json!(false), None));
        assert!(other["error"].as_str().unwrap().starts_with("403:"));
        let (unsub, change) =
            one(json!([{ "channel": "/meta/unsubscribe", "clientId": ID, "subscription": CHATS_CHANNEL }]));
        assert_eq!((unsub["successful"].clone(), change), (json!(true), Some(false)));
    }

    #[test]
    fn another_client_id_is_told_to_handshake_and_publishing_is_refused() {
        let (reply, change) =
            one(json!([{ "channel": "/meta/subscribe", "clientId": "other", "subscription": CHATS_CHANNEL }]));
        assert_eq!(reply["error"], "402::Unknown client");
        assert_eq!(reply["advice"]["reconnect"], "handshake");
        assert_eq!(change, None);
        let (publish, _) = one(json!([{ "channel": "/v2/me/chats", "clientId": ID, "data": {} }]));
        assert_eq!(publish["successful"], false);
        let (garbage, _) = one(json!("not bayeux"));
        assert_eq!(garbage["successful"], false);
    }

    fn agent(active: i8, monitoring: u8) -> Participant {
        Participant {
            chat_id: "c".into(),
            chatter_id: "ann".into(),
            chatter_type: ChatterType::User,
            chatter_name: "Ann".into(),
            chatter_active: ChatterActive::try_from(active).unwrap(),
            permission_level: Some(PermissionLevel::Observer),
            invitation: false,
            invitation_chat_id: None,
            monitoring,
            join_time: None,
            leave_time: None,
            create_time: String::new(),
            agent_number: None,
            invited_by: None,
            unverified: false,
            reference_id: None,
        }
    }

    #[test]
    fn monitoring_tells_an_agent_of_the_customers_activity_or_of_all() {
        let (customer, agent_act) = (Some(ChatterType::Customer), Some(ChatterType::User));
        assert!(agent_is_told(&agent(1, 0), agent_act), "active: everything");
        assert!(!agent_is_told(&agent(0, 0), customer), "not active, not monitoring");
        assert!(agent_is_told(&agent(0, 1), customer) && !agent_is_told(&agent(0, 1), agent_act), "1: customer's");
        assert!(agent_is_told(&agent(0, 2), agent_act), "2: all activity");
        assert!(!agent_is_told(&agent(-1, 2), agent_act), "one who left hears nothing more");
    }
}
