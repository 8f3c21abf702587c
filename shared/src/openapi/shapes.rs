//! The response shapes the operations' documentation is built from: JSON Schema from the
//! API's own types (schemars) where there is one, written out where a handler answers a
//! literal.

use schemars::generate::SchemaGenerator;
use schemars::{json_schema, JsonSchema, Schema};
use serde_json::{json, Map, Value};

use crate::api::{chats, messages, participants};
use crate::domain::model::{ChatStatus, ChatterType, FileRef, Flag, Participant, Webhook, WebhookDelivery};
use crate::domain::validate;
use crate::files::Presigned;

pub(crate) type Gen = SchemaGenerator;
pub(crate) type Make = fn(&mut Gen) -> Schema;

pub(crate) fn of<T: JsonSchema>(g: &mut Gen) -> Schema {
    g.subschema_for::<T>()
}

pub(crate) fn object(props: &[(&str, Schema)], required: &[&str]) -> Schema {
    let properties: Map<String, Value> = props.iter().map(|(k, v)| (k.to_string(), v.clone().to_value())).collect();
    json_schema!({ "type": "object", "properties": properties, "required": required })
}

pub(crate) fn array(item: Schema) -> Schema {
    json_schema!({ "type": "array", "items": item })
}

pub(crate) fn string() -> Schema {
    json_schema!({ "type": "string" })
}

pub(crate) fn nullable(t: &str) -> Schema {
    json_schema!({ "type": [t, "null"] })
}

pub(crate) fn integer() -> Schema {
    json_schema!({ "type": "integer" })
}

pub(crate) fn boolean() -> Schema {
    json_schema!({ "type": "boolean" })
}

pub(crate) fn any_object() -> Schema {
    json_schema!({ "type": "object" })
}

pub(crate) fn chat(g: &mut Gen) -> Schema {
    object(&[("chat", of::<chats::ChatView>(g))], &["chat"])
}

pub(crate) fn chat_added(g: &mut Gen) -> Schema {
    object(&[("chat", of::<chats::ChatView>(g)), ("token", nullable("string"))], &["chat", "token"])
}

pub(crate) fn chat_list(g: &mut Gen) -> Schema {
    object(&[("chats", array(of::<chats::ChatView>(g))), ("nextCursor", nullable("string"))], &["chats", "nextCursor"])
}

pub(crate) fn participant(g: &mut Gen) -> Schema {
    object(&[("participant", of::<participants::ParticipantView>(g))], &["participant"])
}

/// A participant added; for a customer, its chat token (a way in to hand over).
pub(crate) fn participant_added(g: &mut Gen) -> Schema {
    object(&[("participant", of::<Participant>(g)), ("token", nullable("string"))], &["participant", "token"])
}

pub(crate) fn participant_list(g: &mut Gen) -> Schema {
    object(&[("participants", array(of::<participants::ParticipantView>(g)))], &["participants"])
}

pub(crate) fn invitation_list(_: &mut Gen) -> Schema {
    let invitation = object(
        &[("chatId", string()), ("invitationChatId", nullable("string")), ("createTime", string())],
        &["chatId", "createTime"],
    );
    object(&[("invitations", array(invitation)), ("nextCursor", nullable("string"))], &["invitations", "nextCursor"])
}

pub(crate) fn presence_view(g: &mut Gen) -> Schema {
    object(
        &[
            ("userId", string()),
            ("availability", of::<crate::domain::model::Availability>(g)),
            ("code", integer()),
            ("channels", array(string())),
            ("external", boolean()),
            ("expiresAt", integer()),
        ],
        &["userId", "availability", "code", "channels", "external", "expiresAt"],
    )
}

pub(crate) fn agents_available(_: &mut Gen) -> Schema {
    json_schema!({ "type": "object", "additionalProperties": { "type": "array", "items": { "type": "string" } } })
}

pub(crate) fn users_online(_: &mut Gen) -> Schema {
    object(&[("users", array(any_object()))], &["users"])
}

pub(crate) fn customer_availability(_: &mut Gen) -> Schema {
    object(
        &[("customerId", string()), ("availability", integer()), ("chats", integer())],
        &["customerId", "availability", "chats"],
    )
}

pub(crate) fn channel_availability(_: &mut Gen) -> Schema {
    object(&[("channelId", string()), ("online", boolean()), ("agents", integer())], &["channelId", "online", "agents"])
}

/// A file and the request its client makes to object storage (`upload` or `download`).
pub(crate) fn file_and(request: &'static str) -> impl Fn(&mut Gen) -> Schema {
    move |g| object(&[("file", of::<FileRef>(g)), (request, of::<Presigned>(g))], &["file", request])
}

pub(crate) fn file_upload(g: &mut Gen) -> Schema {
    file_and("upload")(g)
}

pub(crate) fn file_download(g: &mut Gen) -> Schema {
    file_and("download")(g)
}

pub(crate) fn message(g: &mut Gen) -> Schema {
    object(&[("message", of::<messages::MessageView>(g))], &["message"])
}

pub(crate) fn message_list(g: &mut Gen) -> Schema {
    let typing =
        object(&[("chatterType", of::<ChatterType>(g)), ("chatterName", string())], &["chatterType", "chatterName"]);
    // How far each other party has read (its read receipt).
    let read_mark = object(
        &[
            ("chatterType", of::<ChatterType>(g)),
            ("chatterId", string()),
            ("chatterName", string()),
            ("lastReadIndex", integer()),
        ],
        &["chatterType", "chatterId", "chatterName", "lastReadIndex"],
    );
    object(
        &[
            ("messages", array(of::<messages::MessageView>(g))),
            ("lastIndex", integer()),
            ("nextCursor", nullable("string")),
            ("chatStatus", of::<ChatStatus>(g)),
            ("typing", array(typing)),
            ("readMarks", array(read_mark)),
            // Edits and deletions so far: when it grows, messages already read have changed.
            ("revision", integer()),
            // A waiting customer's place in the queue (1 = next) and the wait to expect.
            ("queuePosition", nullable("integer")),
            ("estimatedWaitSeconds", nullable("integer")),
        ],
        &[
            "messages",
            "lastIndex",
            "nextCursor",
            "chatStatus",
            "typing",
            "readMarks",
            "revision",
            "queuePosition",
            "estimatedWaitSeconds",
        ],
    )
}

pub(crate) fn user_data(_: &mut Gen) -> Schema {
    object(&[("userData", any_object())], &["userData"])
}

pub(crate) fn agent_list() -> Schema {
    let agent = object(
        &[
            ("name", string()),
            ("connected", boolean()),
            ("supervisor", boolean()),
            ("connectedTime", nullable("integer")),
            ("disconnectedTime", nullable("integer")),
        ],
        &["name", "connected", "supervisor", "connectedTime", "disconnectedTime"],
    );
    array(agent)
}

pub(crate) fn agents(_: &mut Gen) -> Schema {
    object(&[("agents", agent_list())], &["agents"])
}

pub(crate) fn stats(_: &mut Gen) -> Schema {
    object(
        &[
            ("agents", agent_list()),
            ("startTime", nullable("integer")),
            ("endTime", nullable("integer")),
            ("duration", nullable("integer")),
        ],
        &["agents", "startTime", "endTime", "duration"],
    )
}

pub(crate) fn session(g: &mut Gen) -> Schema {
    object(
        &[
            ("sessionActive", boolean()),
            ("chatId", string()),
            ("participantId", string()),
            ("chatterType", of::<ChatterType>(g)),
            ("status", json_schema!({ "anyOf": [of::<ChatStatus>(g), { "type": "null" }] })),
            ("lastIndex", integer()),
            // While the chat waits in its queue: its place (1 = next) and the wait to expect.
            ("queuePosition", nullable("integer")),
            ("estimatedWaitSeconds", nullable("integer")),
        ],
        &[
            "sessionActive",
            "chatId",
            "participantId",
            "chatterType",
            "status",
            "lastIndex",
            "queuePosition",
            "estimatedWaitSeconds",
        ],
    )
}

pub(crate) fn flag(g: &mut Gen) -> Schema {
    object(&[("flag", of::<Flag>(g))], &["flag"])
}

pub(crate) fn flag_list(g: &mut Gen) -> Schema {
    object(&[("flags", array(of::<Flag>(g)))], &["flags"])
}

pub(crate) fn webhook_added(g: &mut Gen) -> Schema {
    object(
        &[("webhookId", string()), ("status", string()), ("secret", string()), ("webhook", of::<Webhook>(g))],
        &["webhookId", "status", "webhook"],
    )
}

pub(crate) fn webhook_deliveries(g: &mut Gen) -> Schema {
    object(&[("webhookId", string()), ("deliveries", array(of::<WebhookDelivery>(g)))], &["webhookId", "deliveries"])
}

pub(crate) fn webhook_replayed(_: &mut Gen) -> Schema {
    object(
        &[("webhookId", string()), ("from", string()), ("to", string()), ("queued", integer()), ("more", boolean())],
        &["webhookId", "from", "to", "queued", "more"],
    )
}

pub(crate) fn webhook_secret(_: &mut Gen) -> Schema {
    object(
        &[("webhookId", string()), ("secret", string()), ("previousSecretValidUntil", string())],
        &["webhookId", "secret", "previousSecretValidUntil"],
    )
}

pub(crate) fn webhook_list(g: &mut Gen) -> Schema {
    let item = object(
        &[("webhookId", string()), ("status", string()), ("webhook", of::<Webhook>(g))],
        &["webhookId", "status", "webhook"],
    );
    object(&[("webhooks", array(item))], &["webhooks"])
}

pub(crate) fn user_data_patch(_: &mut Gen) -> Schema {
    json_schema!({ "type": "object", "description": "keys to merge into userData; null removes a key" })
}

pub(crate) const PAGE: (&str, &str, &str) = ("limit", "int:1..100", "1 to 100 (default 100)");
pub(crate) const CURSOR: (&str, &str, &str) = ("cursor", "string", "nextCursor of the previous page");

/// A parameter (`place`: query or path), from its spec as the doc table writes it: `!` first for a required
/// one, then `string`, `integer`, `id` (what `validate::id` accepts), `ids` (a comma list of them), `flag` (1 or 0, as
/// `Request::query_flag` reads it), `index` (a message index), `int:A..B`, `enum:A|B` or
/// `list:A|B` (a comma list of those). The handlers check the same; the fuzz run reports
/// any case the schema allows and a handler refuses.
pub(crate) fn param(place: &str, name: &str, spec: &str, description: &str) -> Value {
    let (required, spec) = match spec.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, spec),
    };
    let alternatives = |list: &str| list.split('|').map(str::to_string).collect::<Vec<_>>();
    let schema = match spec.split_once(':') {
        Some(("int", range)) => {
            let (min, max) = range.split_once("..").unwrap_or((range, range));
            json!({ "type": "integer", "minimum": min.parse::<i64>().unwrap_or(0), "maximum": max.parse::<i64>().unwrap_or(0) })
        }
        Some(("enum", list)) => json!({ "type": "string", "enum": alternatives(list) }),
        Some(("list", list)) => json!({ "type": "string", "pattern": format!("^({list})(,({list}))*$") }),
        _ => match spec {
            "id" => json!({
                "type": "string", "minLength": 1, "maxLength": validate::MAX_ID_CHARS, "pattern": validate::ID_PATTERN,
            }),
            // A comma list of ids (chat-list's channelIds: at most 20).
            "ids" => {
                let one = r"[^,\x00-\x1f\x7f-\x9f]*[^,\s\x00-\x1f\x7f-\x9f][^,\x00-\x1f\x7f-\x9f]*";
                json!({ "type": "string", "pattern": format!("^{one}(,{one}){{0,19}}$") })
            }
            "flag" => json!({ "type": "string", "enum": ["1", "0"] }),
            "index" => json!({ "type": "integer", "minimum": 0, "maximum": 9_999_999_999_u64 }),
            other => json!({ "type": other }),
        },
    };
    let mut param = Map::new();
    param.insert("name".into(), json!(name));
    param.insert("in".into(), json!(place));
    param.insert("required".into(), json!(required));
    if !description.is_empty() {
        param.insert("description".into(), json!(description));
    }
    param.insert("schema".into(), schema);
    Value::Object(param)
}
