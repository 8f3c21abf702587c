//! The OpenAPI 3.1 document of the HTTP API, generated from the route table (paths,
//! methods, access rules) and the request and response types themselves (JSON Schema by
//! schemars). docs/openapi.json is this document; a test keeps the two equal.

use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

use crate::api::{chats, files, flags, messages, participants, presence, webhooks};
use crate::routes::{Access, ROUTES};

mod shapes;
use shapes::*;

/// What the route table does not say about a route.
struct Doc {
    summary: &'static str,
    query: &'static [(&'static str, &'static str, &'static str)],
    body: Option<Make>,
    status: u16,
    response: Option<Make>,
}

fn doc(function: &str) -> Option<Doc> {
    let d = |summary, query, body, status, response| Some(Doc { summary, query, body, status, response });
    match function {
        "chat-add" => d(
            "Start a chat (ChatAdd, startChat); customers get a chat token",
            &[],
            Some(of::<chats::AddChat>),
            201,
            Some(chat_added),
        ),
        "chat-list" => d(
            "List chats (ChatList)",
            &[
                ("status", "enum:request|active|closed", "request, active or closed"),
                ("requesterType", "list:User|Customer|Public", "User, Customer, Public (comma list)"),
                ("targetType", "enum:User|Customer", "User or Customer"),
                ("channelIds", "ids", "comma list, at most 20"),
                ("outdated", "flag", "1: requests past the decay time"),
                ("chatterId", "id", "chats of this chatter (with chatterType)"),
                ("chatterType", "enum:User|Customer|Public", "User, Customer or Public (with chatterId)"),
                ("chatterActive", "enum:-1|0|1", "-1, 0 or 1 (with chatterId)"),
                ("invitationPending", "flag", "1: pending invitations of chatterId"),
                PAGE,
                CURSOR,
            ],
            None,
            200,
            Some(chat_list),
        ),
        "chat-get" => d("Get a chat (ChatGet)", &[], None, 200, Some(chat)),
        "chat-update" => d(
            "Change status or channel (ChatUpdate, ChatChannelUpdate)",
            &[],
            Some(of::<chats::UpdateChat>),
            200,
            Some(chat),
        ),
        "chat-delete" => d("Delete a chat and everything in it (ChatDelete)", &[], None, 204, None),
        "participant-add" => d(
            "Add a participant (ChatParticipantAdd)",
            &[],
            Some(of::<participants::AddParticipant>),
            201,
            Some(participant_added),
        ),
        "participant-list" => d("List participants (ChatParticipantList)", &[], None, 200, Some(participant_list)),
        "participant-get" => d(
            "Check a participant (ChatParticipantCheck)",
            &[("active", "flag", "1: only an active chatter (without the seed's NoActive)")],
            None,
            200,
            Some(participant),
        ),
        "participant-update" => d(
            "Confirm, decline, leave; permission and monitoring (ChatParticipantUpdate, AgentPermissionsUpdate)",
            &[],
            Some(of::<participants::UpdateBody>),
            200,
            Some(participant),
        ),
        "participant-remove" => d("Remove one participant (ChatParticipantRemove)", &[], None, 204, None),
        "participants-remove" => d(
            "Remove participants of a type, or all but the requester (ChatParticipantRemove)",
            &[("chatterType", "enum:User|Customer|Public", "User, Customer or Public: every participant of this type")],
            None,
            204,
            None,
        ),
        "invitation-add" => {
            d("Invite an agent (ChatInvite)", &[], Some(of::<participants::Invite>), 201, Some(participant))
        }
        "invitation-list" => d(
            "Pending invitations of the caller (ChatInvitesGet)",
            &[
                ("chatId", "id", "only this chat"),
                ("invitationChatId", "id", "only via this chat"),
                PAGE,
                CURSOR,
            ],
            None,
            200,
            Some(invitation_list),
        ),
        "invitations-remove" => d(
            "Remove one's pending invitations through a chat (ChatInviteRemove by InvitationChatID)",
            &[("invitationChatId", "!id", "the chat the invitations came through")],
            None,
            204,
            None,
        ),
        "invitation-remove" => d("Remove an invitation (ChatInviteRemove)", &[], None, 204, None),
        "chat-decline" => {
            d("Decline an agent-to-agent chat (ChatDecline)", &[], Some(of::<participants::Decline>), 204, None)
        }
        "availability-set" => d(
            "Set one's availability and channels",
            &[],
            Some(of::<presence::SetAvailability>),
            200,
            Some(presence_view),
        ),
        "availability-get" => d(
            "An agent's availability (AgentAvailabilityGet)",
            &[("external", "flag", "1 (default): for external chats; 0: for internal ones")],
            None,
            200,
            Some(presence_view),
        ),
        "agents-available" => d(
            "Online agents and their channels (AvailableUsersGet)",
            &[("key", "!enum:ExternalChannels|InternalChannels", "ExternalChannels or InternalChannels")],
            None,
            200,
            Some(agents_available),
        ),
        "users-online" => d(
            "Online users (OnlineUserList)",
            &[
                ("userType", "enum:User|Customer", "User or Customer (either, when only userId is given)"),
                ("userId", "id", "only this user; alone, an agent or a customer"),
                ("external", "flag", "1 (default): only agents who take external chats"),
            ],
            None,
            200,
            Some(users_online),
        ),
        "customer-availability" => {
            d("A customer's availability (CustomerAvailabilityGet)", &[], None, 200, Some(customer_availability))
        }
        "channel-availability" => {
            d("Whether an agent is online in a channel", &[], None, 200, Some(channel_availability))
        }
        "customer-export" => d(
            "Everything stored about a customer (admins): chats, transcripts with versions, flags, files, offline messages",
            &[],
            None,
            200,
            Some(|_| {
                object(
                    &[
                        ("customerId", string()),
                        ("exportedAt", string()),
                        ("chats", array(any_object())),
                        ("offlineMessages", array(any_object())),
                    ],
                    &["customerId", "exportedAt", "chats", "offlineMessages"],
                )
            }),
        ),
        "customer-erase" => d(
            "Erase a customer (admins): its words, names, form fields, userData, files and offline messages",
            &[],
            None,
            200,
            Some(|g| object(&[("erasure", of::<crate::domain::erasure::Erasure>(g))], &["erasure"])),
        ),
        "offline-message-add" => d(
            "Leave a message while nobody is online in a channel (open; counted per address)",
            &[],
            Some(of::<crate::domain::offline::LeaveMessage>),
            201,
            Some(|g| {
                object(&[("offlineMessage", of::<crate::domain::offline::OfflineMessage>(g))], &["offlineMessage"])
            }),
        ),
        "offline-message-list" => d(
            "A channel's offline messages, newest first",
            &[("channelId", "!id", "the channel"), PAGE, CURSOR],
            None,
            200,
            Some(|g| {
                object(
                    &[
                        ("offlineMessages", array(of::<crate::domain::offline::OfflineMessage>(g))),
                        ("nextCursor", nullable("string")),
                    ],
                    &["offlineMessages", "nextCursor"],
                )
            }),
        ),
        "message-add" => {
            d("Send a message (ChatMessageAdd, sendMessage)", &[], Some(of::<messages::AddMessage>), 201, Some(message))
        }
        "message-list" => d(
            "Messages: poll (after), history (before), first or last (ChatMessageList)",
            &[
                ("after", "index", "only messages after this index (the poll)"),
                ("lastKnownChatMessageId", "string", "only messages after this message id (LastKnownChatMessageID)"),
                ("before", "index", "only messages before this index (history; with after, those between)"),
                ("first", "flag", "1: the first text message (after the known one, if given)"),
                ("last", "flag", "1: the last text message (after the known one, if given)"),
                ("excludeInternal", "flag", "1: no internal messages"),
                ("excludeCustomer", "flag", "1: no customer-only messages"),
                ("limit", "int:1..1000", "1 to 1000 (100 by default)"),
                ("place", "flag", "1: a waiting customer's place in the queue and the wait (queuePosition)"),
            ],
            None,
            200,
            Some(message_list),
        ),
        "message-get" => d(
            "Get a message (ChatMessageGet)",
            &[("history", "flag", "1: with its earlier texts (`versions`; agents only)")],
            None,
            200,
            Some(message),
        ),
        "message-update" => d(
            "Edit a message: its author, within MESSAGE_EDIT_SECONDS",
            &[],
            Some(of::<messages::EditMessage>),
            200,
            Some(message),
        ),
        "message-delete" => {
            d("Withdraw a message, leaving a tombstone: its author in time, or the chat's Owner", &[], None, 204, None)
        }
        "notice-add" => {
            d("Send a custom notice (sendCustomNotice)", &[], Some(of::<messages::AddNotice>), 201, Some(message))
        }
        "typing-set" => d("Typing on or off (sendTyping)", &[], Some(of::<messages::SetTyping>), 204, None),
        "read-mark" => d(
            "Mark the transcript read up to a message (a read receipt; never moves backwards)",
            &[],
            Some(of::<messages::MarkRead>),
            200,
            Some(|_| object(&[("lastReadIndex", integer())], &["lastReadIndex"])),
        ),
        "transcript-get" => d(
            "The transcript in pages (getTranscript)",
            &[
                ("pageSize", "int:1..1000", "1 to 1000 (100 by default)"),
                ("cursor", "index", "nextCursor of the previous page"),
            ],
            None,
            200,
            Some(message_list),
        ),
        "chat-leave" => d("Leave the chat (endChat)", &[], None, 200, Some(participant)),
        "user-data-update" => d("Merge userData (updateUserData)", &[], Some(user_data_patch), 200, Some(user_data)),
        "agents-get" => d("Agents of the chat (getAgents)", &[], None, 200, Some(agents)),
        "stats-get" => d("Chat statistics (getStats)", &[], None, 200, Some(stats)),
        "session-get" => {
            d("The widget's session (getSessionData, verifySession, restore)", &[], None, 200, Some(session))
        }
        "file-upload" => d(
            "Announce a file: a presigned PUT of exactly its size and type (sendFile)",
            &[],
            Some(of::<files::NewUpload>),
            201,
            Some(file_upload),
        ),
        "file-post" => d("Post an uploaded file as a File message (sendFile)", &[], None, 201, Some(message)),
        "file-download" => {
            d("A presigned download of a posted file (downloadFile)", &[], None, 200, Some(file_download))
        }
        "flag-set" => d("Set one's flag (ChatFlagSet)", &[], Some(of::<flags::SetFlag>), 200, Some(flag)),
        "flag-delete" => d(
            "Delete a flag (ChatFlagDelete)",
            &[
                ("userId", "id", "the caller (default)"),
                ("allUsers", "flag", "1: this key for every user of the chat"),
            ],
            None,
            204,
            None,
        ),
        "flags-delete" => d(
            "Delete every flag of a chat, for all users (ChatFlagDelete with AllUsers and no Key)",
            &[("allUsers", "!enum:1", "1: every flag of the chat, of every user")],
            None,
            204,
            None,
        ),
        "flag-get" => d(
            "Find flags (ChatFlagGet); at least one filter",
            &[
                ("chatId", "id", ""),
                ("userId", "id", ""),
                ("key", "id", ""),
                ("keyNot", "id", ""),
                ("value", "string", ""),
                ("valueNot", "string", ""),
            ],
            None,
            200,
            Some(flag_list),
        ),
        "webhook-add" => d(
            "Add a webhook (direct: signed, retried; sns: an SNS subscription); a direct one's secret is shown once",
            &[],
            Some(of::<webhooks::AddWebhook>),
            201,
            Some(webhook_added),
        ),
        "webhook-list" => d("Webhooks and their status", &[], None, 200, Some(webhook_list)),
        "webhook-delete" => d("Remove a webhook", &[], None, 204, None),
        "webhook-deliveries" => d(
            "A direct webhook's last delivery attempts, newest first",
            &[("limit", "int:1..100", "1 to 100 (default 50)")],
            None,
            200,
            Some(webhook_deliveries),
        ),
        "webhook-replay" => d(
            "Send a direct webhook the logged events of a time range again (enables a disabled one)",
            &[],
            Some(of::<webhooks::Replay>),
            200,
            Some(webhook_replayed),
        ),
        "webhook-secret" => d(
            "Rotate a direct webhook's signing secret; the old one signs beside it for a day",
            &[],
            None,
            200,
            Some(webhook_secret),
        ),
        _ => None,
    }
}

fn security(access: Access) -> Value {
    match access {
        Access::Open => json!([{}, { "agentToken": [] }, { "chatToken": [] }]),
        Access::Agent
        | Access::OwnUser
        | Access::ChatAgent
        | Access::ChatReadAgent
        | Access::Admin
        | Access::ChatManage
        | Access::ChatContribute
        | Access::AgentSelf => {
            json!([{ "agentToken": [] }])
        }
        Access::ChatToken => json!([{ "chatToken": [] }]),
        Access::ChatRead | Access::ChatPost | Access::ChatSelf => json!([{ "agentToken": [] }, { "chatToken": [] }]),
    }
}

/// Statuses every route may answer with the error body.
const ERRORS: &[(u16, &str)] = &[
    (400, "Bad input: malformed JSON, a missing or invalid field, a bad query parameter"),
    (401, "No token, or an invalid or expired one"),
    (403, "The token does not cover this object"),
    (404, "No such object"),
    (409, "The object's state does not allow this"),
    (413, "The body (or userData) is too large"),
    (429, "Too many requests (a customer's messages, chat starts from one address); retry after Retry-After seconds"),
    (500, "Internal error (no internals are disclosed)"),
    (503, "DynamoDB or SNS briefly unavailable; retry after Retry-After seconds"),
];

/// The OpenAPI 3.1 document.
pub fn document() -> Value {
    let settings = |s: SchemaSettings| {
        s.with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
    };
    let mut responses_gen = settings(SchemaSettings::draft2020_12()).for_serialize().into_generator();
    let mut requests_gen = settings(SchemaSettings::draft2020_12()).for_deserialize().into_generator();
    let error =
        object(&[("error", object(&[("code", string()), ("message", string())], &["code", "message"]))], &["error"]);

    let mut paths = Map::new();
    for route in ROUTES {
        let Some(d) = doc(route.operation).or_else(|| doc(route.function)) else { continue };
        let mut parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                param("path", name, if name == "chatterType" { "!enum:User|Customer|Public" } else { "!id" }, "")
            })
            .collect();
        parameters.extend(d.query.iter().map(|(name, spec, description)| param("query", name, spec, description)));
        let mut responses = Map::new();
        let ok = match d.response {
            Some(make) => {
                json!({ "description": "OK", "content": { "application/json": { "schema": make(&mut responses_gen) } } })
            }
            None if d.status >= 400 => {
                json!({ "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
            }
            None => json!({ "description": "Done" }),
        };
        responses.insert(d.status.to_string(), ok);
        for (status, description) in ERRORS {
            responses.entry(status.to_string()).or_insert_with(|| {
                json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
            });
        }
        let mut operation = json!({
            "operationId": route.operation,
            "summary": d.summary,
            "tags": [route.function.split('-').next().unwrap_or("chat")],
            "security": security(route.access),
            // Who, among the holders of those tokens, may call (shared::routes::Access):
            // for generators and for `make fuzz`, which picks a caller the route lets through.
            "x-access": format!("{:?}", route.access),
            "parameters": parameters,
            "responses": responses,
        });
        if let (Some(make), Some(op)) = (d.body, operation.as_object_mut()) {
            let body =
                json!({ "required": true, "content": { "application/json": { "schema": make(&mut requests_gen) } } });
            op.insert("requestBody".into(), body);
        }
        if let Some(entry) = paths.entry(route.path.to_string()).or_insert_with(|| json!({})).as_object_mut() {
            entry.insert(route.method.to_lowercase(), operation);
        }
    }
    let mut schemas = requests_gen.take_definitions(true);
    schemas.extend(responses_gen.take_definitions(true));
    schemas.insert("Error".into(), error.to_value());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "livechat",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Serverless live chat: widgets and agents over HTTP, one Lambda function per operation, one DynamoDB table, events through SNS.",
        },
        "servers": [{ "url": "http://127.0.0.1:3000", "description": "make run" }],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "agentToken": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "An agent's token from the organisation's issuer (locally: POST /dev/tokens)" },
                "chatToken": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "The chat token POST /chats returned to a customer or visitor" },
            },
        },
    })
}

/// Routes the document has no documentation for (must be none).
pub fn undocumented() -> Vec<&'static str> {
    ROUTES.iter().filter(|r| doc(r.operation).or_else(|| doc(r.function)).is_none()).map(|r| r.operation).collect()
}
