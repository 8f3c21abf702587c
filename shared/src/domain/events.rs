//! What each committed change announces, in three vocabularies (docs/events.md):
//! `native` (the seed's event names), `rpc` (LIVECHAT's RPC events and parameters) and
//! `notification` (Genesys Chat API v2 notification shapes).
//!
//! The mapping is pure: the publisher reads the stream record and whatever context the
//! change needs (the chat's participants, its transcript, a channel's agents), and this
//! module turns them into the events to publish.

use std::collections::BTreeMap;

use chrono::DateTime;

use serde_json::{json, Value};

use crate::domain::masking::Masking;
use crate::domain::model::{
    Availability, ChannelCount, Chat, ChatStatus, ChatterType, Format, Message, MessageType, Participant,
    PermissionLevel, Presence, Typing,
};

/// One message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Stable across redeliveries of the same stream record, so subscribers can drop duplicates.
    pub event_id: String,
    pub event: &'static str,
    pub format: Format,
    pub chat_id: Option<String>,
    pub channel_id: Option<String>,
    /// When the change happened (the stream record's time).
    pub time: String,
    pub body: String,
}

/// An item of a stream record, by its entity type.
#[derive(Debug, Clone, PartialEq)]
// A batch holds a hundred of these at most, briefly: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Entity {
    Chat(Chat),
    Participant(Participant),
    Message(Message),
    Presence(Presence),
    ChannelCount(ChannelCount),
    /// A chatter's typing notice, in the chat whose id comes first (socket pushes only).
    Typing(String, Typing),
}

/// A committed change, as the table's stream reported it.
#[derive(Debug, Clone)]
pub struct Change {
    /// The stream record's id.
    pub id: String,
    pub old: Option<Entity>,
    pub new: Option<Entity>,
    pub at: String,
}

/// What the publisher read to describe a change.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The chat as it is now, and its participants (absent once deleted).
    pub chat: Option<Chat>,
    pub participants: Vec<Participant>,
    /// The transcript, for the events that carry it.
    pub transcript: Vec<Message>,
    /// Whether `transcript` was cut at the publisher's limit (then `CHAT` says so).
    pub transcript_cut: bool,
    /// The availability of the agents whose STATUS the events carry (see [`status_needed`]).
    pub statuses: BTreeMap<String, Availability>,
    /// The installation id (LICENCE) and the agent-name masking of customer-facing shapes.
    pub licence: String,
    pub mask: Option<String>,
    /// This API's base URL, for the notification vocabulary's absolute `uri` and `chatUri`.
    pub api_url: String,
    /// Whose view the notification vocabulary takes.
    pub view: View,
}

/// Whose view the notification vocabulary (Genesys's `/v2/me/chats`) takes: a customer's,
/// for what leaves the service and for a chat token's socket; or one agent's, for that
/// agent's socket (internal messages, everyone unmasked, its own capabilities).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum View {
    #[default]
    Customer,
    Agent(String),
}

/// The agents whose availability this change's events report (RPC's STATUS in
/// CHAT_STARTED and OPERATOR_TRANSFER): the publisher reads them, as it reads a transcript.
pub fn status_needed(change: &Change) -> Vec<String> {
    match (&change.old, &change.new) {
        (Some(Entity::Chat(old)), Some(Entity::Chat(new)))
            if old.channel_id != new.channel_id
                || (old.status == ChatStatus::Request && new.status == ChatStatus::Active) =>
        {
            new.updated_by
                .iter()
                .filter(|a| a.chatter_type == ChatterType::User)
                .map(|a| a.chatter_id.clone())
                .collect()
        }
        (None, Some(Entity::Participant(p))) if p.invitation && p.chatter_active == 0 => {
            p.invited_by.iter().map(|a| a.chatter_id.clone()).collect()
        }
        _ => Vec::new(),
    }
}

struct Out<'a> {
    change: &'a Change,
    ctx: &'a Context,
    list: Vec<Outgoing>,
    /// The notification vocabulary's `data`, as the view sees it (what a socket is pushed).
    notes: Vec<Value>,
}

impl Out<'_> {
    fn push(&mut self, format: Format, event: &'static str, chat: Option<&Chat>, channel: Option<&str>, body: String) {
        self.list.push(Outgoing {
            event_id: format!("{}:{}:{}", self.change.id, format.as_str(), event),
            event,
            format,
            chat_id: chat.map(|c| c.chat_id.clone()),
            channel_id: chat.map(|c| c.channel_id.clone()).or(channel.map(str::to_string)),
            time: self.change.at.clone(),
            body,
        });
    }

    fn native(
        &mut self,
        event: &'static str,
        chat: Option<&Chat>,
        channel: Option<&str>,
        actor: Option<&str>,
        data: Value,
    ) {
        let body = json!({
            "eventId": format!("{}:native:{}", self.change.id, event),
            "event": event,
            "occurredAt": self.change.at,
            "chatId": chat.map(|c| &c.chat_id),
            "channelId": chat.map(|c| c.channel_id.as_str()).or(channel),
            "actor": actor,
            "data": data,
        });
        self.push(Format::Native, event, chat, channel, body.to_string());
    }

    fn rpc(&mut self, event: &'static str, chat: Option<&Chat>, channel: Option<&str>, params: &[(&str, String)]) {
        let mut all: Vec<(&str, String)> = vec![
            ("EVENT", event.to_string()),
            ("LICENCE", self.ctx.licence.clone()),
            ("EVENT_ID", format!("{}:rpc:{}", self.change.id, event)),
        ];
        all.extend(params.iter().cloned());
        self.push(Format::Rpc, event, chat, channel, form_encode(&all));
    }

    fn notification(&mut self, event: &'static str, chat: &Chat, data: Value) {
        let body = json!({ "eventId": format!("{}:notification:{}", self.change.id, event), "data": data, "channel": "/v2/me/chats" });
        self.push(Format::Notification, event, Some(chat), None, body.to_string());
        self.notes.push(data);
    }
}

/// `application/x-www-form-urlencoded`, as LIVECHAT's RPC requests carry their parameters.
pub fn form_encode(params: &[(&str, String)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    params.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// The most a transcript (CHAT) takes of an event, form-encoded: the rest of the event and
/// its attributes stay far inside SNS's 262,144 bytes.
pub const MAX_CHAT_BYTES: usize = 200 * 1024;

/// The length of `s` once form-encoded (`enc` in [`form_encode`]): one byte for an
/// unreserved character or a space, three for every other byte.
fn form_encoded_len(s: &str) -> usize {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b" -_.~".contains(&b) { 1 } else { 3 }).sum()
}

/// RPC's STATUS codes for an agent's availability (0 online, 1 away, 2 offline, 5 invisible).
pub fn rpc_status(a: Availability) -> u8 {
    match a {
        Availability::Online => 0,
        Availability::Away => 1,
        Availability::Offline => 2,
        Availability::Unavailable => 5,
    }
}

/// The seed's timestamp format: `2014-01-09 11:58:12.035+0200` (ours are UTC).
fn seed_timestamp(t: &str) -> String {
    DateTime::parse_from_rfc3339(t).map(|d| d.format("%Y-%m-%d %H:%M:%S%.3f%z").to_string()).unwrap_or_default()
}

fn millis(t: &str) -> i64 {
    DateTime::parse_from_rfc3339(t).map(|d| d.timestamp_millis()).unwrap_or(0)
}

impl Context {
    /// RPC's STATUS of an agent, as the publisher found it (offline if it has none).
    fn status(&self, user_id: &str) -> String {
        rpc_status(self.statuses.get(user_id).copied().unwrap_or(Availability::Offline)).to_string()
    }

    fn owner(&self) -> Option<&Participant> {
        self.participants
            .iter()
            .find(|p| p.is_owner())
            .or_else(|| self.participants.iter().find(|p| p.chatter_type == ChatterType::User))
    }

    /// How customers see this chat's chatters (MaskAgentName).
    fn masking(&self) -> Masking<'_> {
        Masking::for_customers(self.mask.as_deref(), &self.participants)
    }

    /// How the notification vocabulary's viewer sees them.
    fn view_masking(&self) -> Masking<'_> {
        match self.view {
            View::Customer => self.masking(),
            View::Agent(_) => Masking::new(None, true, &self.participants),
        }
    }

    /// What the viewer may do in `chat` now (the chat resource's `capabilities`).
    fn capabilities(&self, chat: &Chat) -> &'static [&'static str] {
        const TYPING: [&str; 2] = ["SendStartTypingNotification", "SendStopTypingNotification"];
        if chat.status == ChatStatus::Closed {
            return &[];
        }
        let user_id = match &self.view {
            View::Customer => return &["SendMessage", TYPING[0], TYPING[1], "Leave", "UpdateUserData"],
            View::Agent(user_id) => user_id,
        };
        let own = self.participants.iter().find(|p| p.chatter_type == ChatterType::User && p.chatter_id == *user_id);
        match own.filter(|p| p.is_active()).and_then(|p| p.permission_level) {
            Some(PermissionLevel::Owner) => {
                &["SendMessage", TYPING[0], TYPING[1], "Leave", "Transfer", "Invite", "UpdateUserData", "Complete"]
            }
            // A Participant invites other agents (ChatInvite), as the Owner does.
            Some(PermissionLevel::Participant) => {
                &["SendMessage", TYPING[0], TYPING[1], "Leave", "Invite", "UpdateUserData"]
            }
            Some(PermissionLevel::Observer) => &["Leave"],
            None => &[],
        }
    }

    /// The transcript as LIVECHAT's CHAT parameter carries it: what the customer saw
    /// (no internal messages, no notices, no filtered texts; agents masked), cut where its
    /// form-encoded size would pass [`MAX_CHAT_BYTES`] or where the publisher stopped
    /// reading, with a line that says so: the event always fits SNS's 256 KB.
    fn transcript_text(&self) -> String {
        let masking = self.masking();
        let lines: Vec<String> = self
            .transcript
            .iter()
            .filter(|m| {
                !m.internal && m.kind != MessageType::Notice && !m.hidden_by_filter() && masking.shows_message(m)
            })
            .map(|m| masking.message(m))
            .map(|m| format!("{}: {}", m.chatter_name, m.text))
            .collect();
        let mut size = 0;
        let mut kept = Vec::with_capacity(lines.len());
        for line in &lines {
            size += form_encoded_len(line) + 3;
            if size > MAX_CHAT_BYTES {
                break;
            }
            kept.push(line.as_str());
        }
        let cut = if kept.len() < lines.len() {
            Some(format!(
                "[The transcript is cut here: {} more messages do not fit in one event.]",
                lines.len() - kept.len()
            ))
        } else {
            self.transcript_cut
                .then(|| format!("[The transcript is cut here: it is longer than {} messages.]", self.transcript.len()))
        };
        let mut text = kept.join("\n");
        if let Some(cut) = cut {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&cut);
        }
        text
    }
}

/// The Genesys v2 chat resource, as customers may see it.
fn notification_chat(chat: &Chat, ctx: &Context) -> Value {
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

fn state_change(kind: &str, chat: &Chat, ctx: &Context) -> Value {
    let mut data = serde_json::Map::new();
    data.insert("messageType".into(), json!("ChatStateChangeMessage"));
    data.insert("notificationType".into(), json!(kind));
    data.insert("chat".into(), notification_chat(chat, ctx));
    Value::Object(data)
}

/// The same, for a change of the chat record itself: it carries the reference the client
/// sent with the request that made it, if any.
fn record_change(kind: &str, chat: &Chat, ctx: &Context) -> Value {
    referenced(state_change(kind, chat, ctx), chat.reference_id.as_deref())
}

/// `data` with the client's reference, if the change had one.
fn referenced(mut data: Value, reference: Option<&str>) -> Value {
    if let (Some(reference), Some(map)) = (reference, data.as_object_mut()) {
        map.insert("referenceId".into(), json!(reference));
    }
    data
}

/// Everything `change` announces.
pub fn describe(change: &Change, ctx: &Context) -> Vec<Outgoing> {
    describe_all(change, ctx).list
}

/// What `change` pushes to a socket of `ctx.view`: the notification vocabulary's `data`.
pub fn notifications(change: &Change, ctx: &Context) -> Vec<Value> {
    describe_all(change, ctx).notes
}

fn describe_all<'a>(change: &'a Change, ctx: &'a Context) -> Out<'a> {
    let mut out = Out { change, ctx, list: Vec::new(), notes: Vec::new() };
    // A deleted chat's items go with its purge: only its record's last change is news.
    let is_chat_record = matches!(change.new.as_ref().or(change.old.as_ref()), Some(Entity::Chat(_)));
    if !is_chat_record && ctx.chat.as_ref().is_some_and(|c| c.deleted) {
        return out;
    }
    match (&change.old, &change.new) {
        (None, Some(Entity::Chat(chat))) => chat_added(&mut out, chat),
        (Some(Entity::Chat(old)), Some(Entity::Chat(new))) => {
            chat_updated(&mut out, old, new);
            if new.deleted && !old.deleted {
                let actor = new.updated_by.as_ref().map(|a| a.chatter_id.as_str());
                out.native("ChatDelete", Some(new), None, actor, json!({ "chat": new }));
            }
        }
        // The purge of a chat already announced as deleted says nothing new.
        (Some(Entity::Chat(old)), None) if old.deleted => {}
        (Some(Entity::Chat(old)), None) => out.native("ChatDelete", Some(old), None, None, json!({ "chat": old })),
        (old, Some(Entity::Participant(p))) => {
            let old = match old {
                Some(Entity::Participant(o)) => Some(o),
                _ => None,
            };
            participant_changed(&mut out, old, p)
        }
        (Some(Entity::Participant(p)), None) => {
            if let Some(chat) = &ctx.chat {
                out.native("ChatParticipantRemove", Some(chat), None, Some(&p.chatter_id), json!({ "participant": p }));
                out.notification("ParticipantsUpdated", chat, state_change("ParticipantsUpdated", chat, ctx));
            }
        }
        (None, Some(Entity::Message(m))) => message_added(&mut out, m),
        (_, Some(Entity::Typing(_, t))) => typing_changed(&mut out, t),
        (_, Some(Entity::Presence(p))) => presence_changed(&mut out, p, change),
        (Some(Entity::Presence(p)), None) => {
            let offline = Presence { availability: Availability::Offline, ..p.clone() };
            presence_changed(&mut out, &offline, change)
        }
        (old, Some(Entity::ChannelCount(count))) => {
            let before = match old {
                Some(Entity::ChannelCount(o)) => o.available,
                _ => 0,
            };
            channel_changed(&mut out, before, count);
        }
        _ => {}
    }
    out
}

fn chat_added(out: &mut Out, chat: &Chat) {
    let ctx = out.ctx;
    out.native("ChatAdd", Some(chat), None, Some(&chat.requester_id), json!({ "chat": chat }));
    out.notification("StatusChange", chat, state_change("StatusChange", chat, ctx));
    if chat.is_agent_to_agent() {
        out.rpc(
            "PRIVATE_CHAT_STATUS",
            Some(chat),
            None,
            &[("OPERATOR_ID", chat.requester_id.clone()), ("STATUS", "start".into()), ("GROUP", chat.chat_id.clone())],
        );
    }
}

fn chat_updated(out: &mut Out, old: &Chat, new: &Chat) {
    let ctx = out.ctx;
    // The actor of this very change, from the record: never from state read later.
    let actor = new.updated_by.as_ref();
    let actor_id = actor.map(|a| a.chatter_id.as_str());
    let operator = actor.filter(|a| a.chatter_type == ChatterType::User).map(|a| a.chatter_id.clone());
    let status_changed = old.status != new.status;
    let moved = old.channel_id != new.channel_id;
    let data = json!({ "chat": new, "previousStatus": old.status, "previousChannelId": old.channel_id });
    if status_changed {
        out.native("ChatUpdate", Some(new), None, actor_id, data.clone());
        if old.status == ChatStatus::Request {
            out.native("ChatRequestUpdate", Some(new), None, actor_id, data.clone());
        }
        out.notification("StatusChange", new, record_change("StatusChange", new, ctx));
    }
    if moved {
        out.native("ChatChannelUpdate", Some(new), None, actor_id, data);
        // A transfer to a channel: no new agent yet (NEW_OPERATOR_ID empty); CHANNEL says where.
        out.rpc(
            "OPERATOR_TRANSFER",
            Some(new),
            None,
            &[
                ("CLIENT_ID", new.requester_id.clone()),
                ("NEW_OPERATOR_ID", String::new()),
                ("OPERATOR_ID", operator.clone().unwrap_or_default()),
                ("STATUS", ctx.status(operator.as_deref().unwrap_or_default())),
                ("CHANNEL", new.channel_id.clone()),
            ],
        );
    }
    if old.user_data != new.user_data {
        out.notification("PropertiesUpdated", new, record_change("PropertiesUpdated", new, ctx));
    }
    if old.status == ChatStatus::Request && new.status == ChatStatus::Active && !new.is_agent_to_agent() {
        let operator_id = operator.clone().unwrap_or_default();
        // INVITING_OP: the agent who invited the one who took the chat, if one did.
        let inviting = ctx
            .participants
            .iter()
            .find(|p| p.chatter_type == ChatterType::User && p.chatter_id == operator_id)
            .and_then(|p| p.invited_by.as_ref())
            .map(|by| by.chatter_id.clone());
        let mut params = vec![("CLIENT_ID", new.requester_id.clone())];
        params.extend(inviting.map(|i| ("INVITING_OP", i)));
        params.push(("OPERATOR_ID", operator_id.clone()));
        params.push(("STATUS", ctx.status(&operator_id)));
        out.rpc("CHAT_STARTED", Some(new), None, &params);
    }
    if new.status == ChatStatus::Closed && old.status != ChatStatus::Closed {
        if new.is_agent_to_agent() {
            // The agent who closed or declined it.
            out.rpc(
                "PRIVATE_CHAT_STATUS",
                Some(new),
                None,
                &[
                    ("OPERATOR_ID", operator.unwrap_or_default()),
                    ("STATUS", "stop".into()),
                    ("GROUP", new.chat_id.clone()),
                ],
            );
            return;
        }
        // An agent's stop; a customer leaving is VISITOR_LEFT_CHAT, the cleanup's close neither.
        if let Some(operator) = operator {
            out.rpc(
                "OPERATOR_STOPED_CHAT",
                Some(new),
                None,
                &[
                    ("OPERATOR_ID", operator),
                    ("CLIENT_ID", new.requester_id.clone()),
                    ("GROUP", new.chat_id.clone()),
                    ("CHANNEL", new.channel_id.clone()),
                    ("CHAT", ctx.transcript_text()),
                ],
            );
        }
    }
}

fn participant_changed(out: &mut Out, old: Option<&Participant>, p: &Participant) {
    let ctx = out.ctx;
    let Some(chat) = ctx.chat.as_ref() else { return };
    let name = if old.is_some() { "ChatParticipantUpdate" } else { "ChatParticipantAdd" };
    out.native(name, Some(chat), None, Some(&p.chatter_id), json!({ "participant": p, "previous": old }));
    // A request to join: a chatter added inactive (invited, or to confirm). An agent who
    // joined and later went inactive is no new request.
    let requested = p.chatter_active == 0 && old.is_none();
    if requested {
        let request = if p.chatter_type == ChatterType::User { "ChatRequestUser" } else { "ChatRequestCustomer" };
        out.native(request, Some(chat), None, Some(&p.chatter_id), json!({ "participant": p }));
        if p.invitation {
            out.native(
                "ChatInvite",
                Some(chat),
                None,
                Some(&p.chatter_id),
                json!({ "participant": p, "invitationChatId": p.invitation_chat_id }),
            );
            if p.chatter_type == ChatterType::User && !chat.is_agent_to_agent() {
                let inviter = p.invited_by.as_ref().map(|by| by.chatter_id.clone());
                out.rpc(
                    "OPERATOR_TRANSFER",
                    Some(chat),
                    None,
                    &[
                        ("CLIENT_ID", chat.requester_id.clone()),
                        ("NEW_OPERATOR_ID", p.chatter_id.clone()),
                        ("OPERATOR_ID", inviter.clone().unwrap_or_default()),
                        ("STATUS", ctx.status(inviter.as_deref().unwrap_or_default())),
                    ],
                );
            }
        }
        if p.chatter_type.is_customer() {
            let operator = ctx.owner().map(|o| o.chatter_id.clone()).unwrap_or_default();
            out.rpc(
                "CLIENT_INVITED",
                Some(chat),
                None,
                &[("OPERATOR_ID", operator), ("CLIENT_ID", p.chatter_id.clone())],
            );
        }
    }
    let left = p.chatter_active == -1 && old.is_some_and(|o| o.chatter_active == 1);
    if left && p.chatter_type.is_customer() {
        let operator = ctx.owner().map(|o| o.chatter_id.clone()).unwrap_or_default();
        out.rpc(
            "VISITOR_LEFT_CHAT",
            Some(chat),
            None,
            &[
                ("OPERATOR_ID", operator),
                ("CLIENT_ID", p.chatter_id.clone()),
                ("GROUP", chat.chat_id.clone()),
                ("CHANNEL", chat.channel_id.clone()),
                ("CHAT", ctx.transcript_text()),
            ],
        );
    }
    // A permission change shows too: an agent who becomes an Observer leaves the customer's
    // list of participants.
    let visible = old.is_none_or(|o| {
        o.chatter_active != p.chatter_active
            || o.chatter_name != p.chatter_name
            || o.permission_level != p.permission_level
    });
    if visible {
        let data = referenced(state_change("ParticipantsUpdated", chat, ctx), p.reference_id.as_deref());
        out.notification("ParticipantsUpdated", chat, data);
    }
}

fn message_added(out: &mut Out, m: &Message) {
    let ctx = out.ctx;
    let Some(chat) = ctx.chat.as_ref() else { return };
    out.native("ChatMessageAdd", Some(chat), None, Some(&m.chatter_id), json!({ "message": m }));
    // Customer-facing: never internal messages, nor filtered ones; agents under their generic
    // name. Agent-facing: never a customer-only message (the seed's `Customer`: "not
    // presented to the agent"), as the API hides it from agents too.
    let customer = ctx.view == View::Customer;
    if (customer && (m.internal || m.hidden_by_filter()))
        || (!customer && m.customer)
        || !ctx.view_masking().shows_message(m)
    {
        return;
    }
    let kind = match (m.kind, m.event.as_deref()) {
        (MessageType::System, Some("joined")) => "ParticipantJoined",
        (MessageType::System, Some("left" | "declined" | "removed")) => "ParticipantLeft",
        (MessageType::Text, _) => "Text",
        // Not in the seed's list: the file's name is the text, the file rides along.
        (MessageType::File, _) => "FileUploaded",
        _ => "Notice",
    };
    let shown = ctx.view_masking().message(m);
    let message = json!({
        "index": m.index,
        "from": {
            "nickname": shown.chatter_name,
            "type": match m.chatter_type {
                ChatterType::User => "Agent",
                ChatterType::System => "System",
                _ => "Customer",
            },
            "participantId": shown.chatter_id,
        },
        "text": shown.text,
        "visibility": if m.internal { "Agents" } else { "All" },
        "timestamp": seed_timestamp(&m.create_time),
        "type": kind,
        // The seed's name, the seed's unit: milliseconds.
        "timestampSeconds": millis(&m.create_time),
    });
    let mut message = message;
    if let (Some(file), Some(entry)) = (&m.file, message.as_object_mut()) {
        entry.insert("file".into(), json!(file));
    }
    let chat_uri = format!("{}/chats/{}", ctx.api_url, chat.chat_id);
    let mut data = serde_json::Map::new();
    data.insert("messageType".into(), json!("MessageLogUpdated"));
    data.insert("notificationType".into(), json!("NewMessages"));
    data.insert("messages".into(), json!([message]));
    data.insert("chatUri".into(), json!(chat_uri));
    if let Some(reference) = &m.reference_id {
        data.insert("referenceId".into(), json!(reference));
    }
    let data = Value::Object(data);
    out.notification("NewMessages", chat, data);
}

/// Typing started or stopped: pushed to the other side's sockets only (Genesys's
/// TypingStarted and TypingStopped in MessageLogUpdated); no webhook vocabulary carries it.
fn typing_changed(out: &mut Out, t: &Typing) {
    let ctx = out.ctx;
    let Some(chat) = ctx.chat.as_ref() else { return };
    let own_side = match &ctx.view {
        View::Customer => t.chatter_type.is_customer(),
        View::Agent(user_id) => t.chatter_type == ChatterType::User && t.chatter_id == *user_id,
    };
    let masking = ctx.view_masking();
    if own_side || !masking.shows(t.chatter_type, &t.chatter_id) {
        return;
    }
    let shown = ctx
        .participants
        .iter()
        .find(|p| p.chatter_type == t.chatter_type && p.chatter_id == t.chatter_id)
        .map(|p| masking.participant(p));
    let (nickname, participant_id) =
        shown.map(|p| (p.chatter_name, p.chatter_id)).unwrap_or_else(|| (t.chatter_name.clone(), t.chatter_id.clone()));
    let kind = if t.typing { "TypingStarted" } else { "TypingStopped" };
    let mut message = json!({
        "from": {
            "nickname": nickname,
            "type": if t.chatter_type == ChatterType::User { "Agent" } else { "Customer" },
            "participantId": participant_id,
        },
        "type": kind,
        "visibility": "All",
        "timestamp": seed_timestamp(&out.change.at),
        "timestampSeconds": millis(&out.change.at),
    });
    // The typing preview: for agents only.
    if let (View::Agent(_), Some(text), Some(map)) = (&ctx.view, &t.text, message.as_object_mut()) {
        map.insert("text".into(), json!(text));
    }
    out.notes.push(json!({
        "messageType": "MessageLogUpdated",
        "notificationType": "NewMessages",
        "messages": [message],
        "chatUri": format!("{}/chats/{}", ctx.api_url, chat.chat_id),
    }));
}

fn presence_changed(out: &mut Out, p: &Presence, change: &Change) {
    let before = match &change.old {
        Some(Entity::Presence(o)) => Some(o.availability),
        _ => None,
    };
    if before == Some(p.availability) {
        return;
    }
    out.native(
        "AgentAvailabilityUpdate",
        None,
        None,
        Some(&p.user_id),
        json!({ "userId": p.user_id, "availability": p.availability, "code": p.availability.code(), "channels": p.channels }),
    );
    out.rpc(
        "OPERATOR_STATUS",
        None,
        None,
        &[("OPERATOR_ID", p.user_id.clone()), ("STATUS", rpc_status(p.availability).to_string())],
    );
}

/// BUTTON_STATUS: a channel got its first, or lost its last, available agent. The count
/// changes atomically, so exactly one record makes each transition.
fn channel_changed(out: &mut Out, before: i64, count: &ChannelCount) {
    let status = match (before > 0, count.available > 0) {
        (false, true) => "online",
        (true, false) => "offline",
        _ => return,
    };
    let channel = count.channel_id.as_str();
    out.native(
        "ChannelAvailabilityUpdate",
        None,
        Some(channel),
        None,
        json!({ "channelId": channel, "online": status == "online", "agents": count.available.max(0) }),
    );
    out.rpc("BUTTON_STATUS", None, Some(channel), &[("STATUS", status.into()), ("CHANNEL", channel.to_string())]);
}

/// The catalogue, by format (for docs and validation).
pub fn catalogue() -> BTreeMap<&'static str, &'static [&'static str]> {
    [Format::Native, Format::Rpc, Format::Notification].into_iter().map(|f| (f.as_str(), f.events())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{Chatter, PermissionLevel, TargetType};

    fn chat(status: ChatStatus, channel: &str, requester: ChatterType) -> Chat {
        let id = if requester == ChatterType::User { "ann" } else { "visitor-1" };
        let who = Chatter {
            chatter_type: requester,
            chatter_id: id.into(),
            chatter_name: "Vic".into(),
            number: None,
            unverified: false,
        };
        let chat = Chat::request("c1".into(), &who, TargetType::User, channel.into(), "2026-11-21T10:00:00.000Z");
        Chat { status, ..chat }
    }

    fn participant(id: &str, t: ChatterType, active: i8, invitation: bool) -> Participant {
        Participant {
            chat_id: "c1".into(),
            chatter_id: id.into(),
            chatter_type: t,
            chatter_name: id.to_uppercase(),
            chatter_active: active,
            permission_level: (t == ChatterType::User).then_some(PermissionLevel::Owner),
            invitation,
            invitation_chat_id: None,
            monitoring: 0,
            join_time: None,
            leave_time: None,
            create_time: "2026-11-21T10:00:00.000Z".into(),
            agent_number: (t == ChatterType::User).then_some(1),
            invited_by: None,
            unverified: false,
            reference_id: None,
        }
    }

    fn message(index: u64, who: &str, t: ChatterType, text: &str, event: Option<&str>, internal: bool) -> Message {
        Message {
            message_id: format!("c1-{index}"),
            chat_id: "c1".into(),
            index,
            kind: if event.is_some() { MessageType::System } else { MessageType::Text },
            text: text.into(),
            chatter_id: who.into(),
            chatter_type: t,
            chatter_name: who.to_uppercase(),
            chatter_number: (t == ChatterType::User).then_some(1),
            chatter_unverified: false,
            subjects: Vec::new(),
            system_generated: event.is_some(),
            internal,
            customer: false,
            event: event.map(str::to_string),
            filter: None,
            filtered: None,
            reference_id: None,
            file: None,
            create_time: "2026-11-21T10:01:00.000Z".into(),
        }
    }

    fn presence(a: Availability) -> Presence {
        Presence {
            user_id: "ann".into(),
            name: "Ann".into(),
            availability: a,
            channels: vec!["sales".into()],
            external: true,
            update_time: String::new(),
            expires_at: 0,
            counted: Vec::new(),
        }
    }

    /// A change for every event of the catalogue, with its context.
    fn scenario() -> Vec<(Change, Context)> {
        let agent = participant("ann", ChatterType::User, 1, false);
        let customer = participant("visitor-1", ChatterType::Public, 1, false);
        let transcript = vec![
            message(1, "ann", ChatterType::User, "ANN joined the chat.", Some("joined"), false),
            message(2, "visitor-1", ChatterType::Public, "hello", None, false),
            message(3, "ann", ChatterType::User, "note", None, true),
            message(4, "ann", ChatterType::User, "ANN moved the chat.", Some("transferred"), true),
            message(5, "ann", ChatterType::User, "ANN invited BOB.", Some("invited"), true),
            message(6, "ann", ChatterType::User, "ANN closed the chat.", Some("closed"), false),
        ];
        let ctx = |c: Chat| Context {
            chat: Some(c),
            participants: vec![agent.clone(), customer.clone()],
            transcript: transcript.clone(),
            statuses: BTreeMap::from([("ann".to_string(), Availability::Away)]),
            licence: "1234".into(),
            api_url: "https://chat.example.com".into(),
            ..Default::default()
        };
        // Each change records its actor: Ann accepted, moved and closed.
        let by_ann = |c: Chat| Chat { updated_by: Some(Chatter::from(&agent)), ..c };
        let request = chat(ChatStatus::Request, "sales", ChatterType::Public);
        let active = by_ann(chat(ChatStatus::Active, "sales", ChatterType::Public));
        let moved = by_ann(chat(ChatStatus::Active, "support", ChatterType::Public));
        let closed = by_ann(chat(ChatStatus::Closed, "support", ChatterType::Public));
        let a2a = chat(ChatStatus::Request, "internal", ChatterType::User);
        let a2a_closed = by_ann(chat(ChatStatus::Closed, "internal", ChatterType::User));
        let invited =
            Participant { invited_by: Some(Chatter::from(&agent)), ..participant("bob", ChatterType::User, 0, true) };
        let mut with_data = active.clone();
        with_data.user_data = Some(serde_json::Map::from_iter([("orderId".to_string(), json!("A1"))]));
        let change = |id: &str, old: Option<Entity>, new: Option<Entity>| Change {
            id: id.into(),
            old,
            new,
            at: "2026-11-21T10:02:00.000Z".into(),
        };
        let count = |n| ChannelCount { channel_id: "sales".into(), available: n };
        vec![
            (change("r1", None, Some(Entity::Chat(request.clone()))), ctx(request.clone())),
            (
                change("r2", Some(Entity::Chat(request.clone())), Some(Entity::Chat(active.clone()))),
                ctx(active.clone()),
            ),
            (change("r3", Some(Entity::Chat(active.clone())), Some(Entity::Chat(moved.clone()))), ctx(moved.clone())),
            (change("r4", Some(Entity::Chat(active.clone())), Some(Entity::Chat(with_data.clone()))), ctx(with_data)),
            (change("r5", Some(Entity::Chat(moved.clone())), Some(Entity::Chat(closed.clone()))), ctx(closed.clone())),
            (
                change("r6", Some(Entity::Chat(closed.clone())), None),
                Context { licence: "1234".into(), ..Default::default() },
            ),
            (change("r7", None, Some(Entity::Participant(invited))), ctx(active.clone())),
            (
                change("r8", None, Some(Entity::Participant(participant("jdoe", ChatterType::Customer, 0, false)))),
                ctx(active.clone()),
            ),
            (
                change(
                    "r9",
                    Some(Entity::Participant(customer.clone())),
                    Some(Entity::Participant(Participant { chatter_active: -1, ..customer.clone() })),
                ),
                ctx(active.clone()),
            ),
            (change("r10", Some(Entity::Participant(agent.clone())), None), ctx(active.clone())),
            (change("r11", None, Some(Entity::Message(transcript[1].clone()))), ctx(active.clone())),
            (change("r12", None, Some(Entity::Message(transcript[2].clone()))), ctx(active.clone())),
            (
                change(
                    "r13",
                    Some(Entity::Presence(presence(Availability::Offline))),
                    Some(Entity::Presence(presence(Availability::Online))),
                ),
                Context::default(),
            ),
            (change("r14", None, Some(Entity::ChannelCount(count(1)))), Context::default()),
            (
                change("r15", Some(Entity::ChannelCount(count(1))), Some(Entity::ChannelCount(count(0)))),
                Context::default(),
            ),
            (change("r16", None, Some(Entity::Chat(a2a.clone()))), ctx(a2a.clone())),
            (change("r17", Some(Entity::Chat(a2a.clone())), Some(Entity::Chat(a2a_closed.clone()))), ctx(a2a_closed)),
        ]
    }

    fn all_events() -> Vec<Outgoing> {
        scenario().iter().flat_map(|(c, ctx)| describe(c, ctx)).collect()
    }

    #[test]
    fn every_event_of_the_catalogue_is_produced() {
        let produced = all_events();
        for (format, names) in catalogue() {
            for name in names {
                assert!(
                    produced.iter().any(|o| o.format.as_str() == format && o.event == *name),
                    "{format} {name} is never produced"
                );
            }
        }
    }

    #[test]
    fn event_ids_are_stable_and_unique() {
        let first: Vec<String> = all_events().into_iter().map(|o| o.event_id).collect();
        let again: Vec<String> = all_events().into_iter().map(|o| o.event_id).collect();
        assert_eq!(first, again, "the same records give the same ids");
        let unique: std::collections::BTreeSet<&String> = first.iter().collect();
        assert_eq!(unique.len(), first.len());
    }

    #[test]
    fn each_agent_sees_its_own_capabilities_and_the_agent_view() {
        let mut ctx =
            Context { chat: Some(chat(ChatStatus::Active, "sales", ChatterType::Public)), ..Default::default() };
        for (user, level) in
            [("own", PermissionLevel::Owner), ("par", PermissionLevel::Participant), ("obs", PermissionLevel::Observer)]
        {
            let mut p = participant(user, ChatterType::User, 1, false);
            p.permission_level = Some(level);
            ctx.participants.push(p);
        }
        let note = message(5, "own", ChatterType::User, "a note", None, true);
        let change = Change {
            id: "r1".into(),
            old: None,
            new: Some(Entity::Message(note)),
            at: "2026-11-21T10:02:00.000Z".into(),
        };
        assert!(notifications(&change, &ctx).is_empty(), "a customer never gets a note");
        let chat_state = Change {
            id: "r2".into(),
            old: Some(Entity::Chat(chat(ChatStatus::Request, "sales", ChatterType::Public))),
            new: Some(Entity::Chat(chat(ChatStatus::Active, "sales", ChatterType::Public))),
            at: "2026-11-21T10:02:00.000Z".into(),
        };
        let capabilities = |ctx: &Context| -> Vec<String> {
            let notes = notifications(&chat_state, ctx);
            let state = notes.iter().find(|n| n["messageType"] == "ChatStateChangeMessage").expect("a state change");
            state["chat"]["capabilities"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect()
        };
        for (user, expected) in [
            (
                "own",
                vec![
                    "SendMessage",
                    "SendStartTypingNotification",
                    "SendStopTypingNotification",
                    "Leave",
                    "Transfer",
                    "Invite",
                    "UpdateUserData",
                    "Complete",
                ],
            ),
            (
                "par",
                vec![
                    "SendMessage",
                    "SendStartTypingNotification",
                    "SendStopTypingNotification",
                    "Leave",
                    "Invite",
                    "UpdateUserData",
                ],
            ),
            ("obs", vec!["Leave"]),
            ("stranger", vec![]),
        ] {
            ctx.view = View::Agent(user.into());
            assert_eq!(capabilities(&ctx), expected, "{user}");
        }
        ctx.view = View::Agent("par".into());
        let notes = notifications(&change, &ctx);
        assert_eq!(notes[0]["messages"][0]["visibility"], "Agents");
        assert_eq!(notes[0]["messages"][0]["text"], "a note");
    }

    #[test]
    fn a_customer_only_message_never_reaches_an_agents_socket_and_a_permission_change_is_announced() {
        let agent = participant("ann", ChatterType::User, 1, false);
        let mut ctx = Context {
            chat: Some(chat(ChatStatus::Active, "sales", ChatterType::Public)),
            participants: vec![agent.clone()],
            ..Default::default()
        };
        let mut only = message(5, "ann", ChatterType::User, "for the customer only", None, false);
        only.customer = true;
        let change = |id: &str, old, new| Change { id: id.into(), old, new, at: "2026-11-21T10:02:00.000Z".into() };
        let posted = change("r1", None, Some(Entity::Message(only)));
        assert_eq!(notifications(&posted, &ctx).len(), 1, "the customer sees it");
        ctx.view = View::Agent("ann".into());
        assert!(notifications(&posted, &ctx).is_empty(), "no agent is pushed it");
        let observer = Participant { permission_level: Some(PermissionLevel::Observer), ..agent.clone() };
        let demoted = change("r2", Some(Entity::Participant(agent)), Some(Entity::Participant(observer)));
        ctx.view = View::Customer;
        let notes = notifications(&demoted, &ctx);
        assert!(notes.iter().any(|n| n["notificationType"] == "ParticipantsUpdated"), "{notes:?}");
    }

    #[test]
    fn a_file_is_a_new_message_with_its_file() {
        let ctx = Context { chat: Some(chat(ChatStatus::Active, "sales", ChatterType::Public)), ..Default::default() };
        let file = crate::domain::model::FileRef {
            file_id: "f1".into(),
            name: "receipt.pdf".into(),
            size: 42,
            content_type: "application/pdf".into(),
        };
        let mut posted = message(6, "v1", ChatterType::Public, "receipt.pdf", None, false);
        posted.kind = MessageType::File;
        posted.file = Some(file);
        let change = Change {
            id: "r1".into(),
            old: None,
            new: Some(Entity::Message(posted)),
            at: "2026-11-21T10:02:00.000Z".into(),
        };
        let notes = notifications(&change, &ctx);
        assert_eq!(notes[0]["notificationType"], "NewMessages");
        let m = &notes[0]["messages"][0];
        assert_eq!((m["type"].as_str(), m["text"].as_str()), (Some("FileUploaded"), Some("receipt.pdf")));
        assert_eq!(m["file"], json!({"fileId": "f1", "name": "receipt.pdf", "size": 42, "type": "application/pdf"}));
    }

    #[test]
    fn internal_messages_never_reach_customer_vocabularies() {
        for o in all_events().iter().filter(|o| o.format != Format::Native) {
            assert!(!o.body.contains("note"), "{} {}: {}", o.format.as_str(), o.event, o.body);
        }
    }

    #[test]
    fn a_long_transcript_is_cut_by_size_so_the_close_always_fits_an_sns_message() {
        let agent = participant("ann", ChatterType::User, 1, false);
        let customer = participant("visitor-1", ChatterType::Public, 1, false);
        let long = "😀".repeat(3800);
        let transcript: Vec<Message> =
            (1..=8).map(|i| message(i, "visitor-1", ChatterType::Public, &long, None, false)).collect();
        let active = chat(ChatStatus::Active, "sales", ChatterType::Public);
        let ctx = Context {
            chat: Some(active.clone()),
            participants: vec![agent.clone(), customer.clone()],
            transcript,
            ..Default::default()
        };
        let left = Change {
            id: "r1".into(),
            old: Some(Entity::Participant(customer.clone())),
            new: Some(Entity::Participant(Participant { chatter_active: -1, ..customer })),
            at: "2026-11-21T10:02:00.000Z".into(),
        };
        let closed = Chat { status: ChatStatus::Closed, updated_by: Some(Chatter::from(&agent)), ..active.clone() };
        let stopped = Change {
            id: "r2".into(),
            old: Some(Entity::Chat(active)),
            new: Some(Entity::Chat(closed)),
            at: "2026-11-21T10:02:00.000Z".into(),
        };
        for (change, event) in [(left, "VISITOR_LEFT_CHAT"), (stopped, "OPERATOR_STOPED_CHAT")] {
            let all = describe(&change, &ctx);
            let o = all.iter().find(|o| o.event == event).unwrap_or_else(|| panic!("no {event}"));
            assert!(o.body.len() <= MAX_CHAT_BYTES + 1024, "{event}: {} bytes", o.body.len());
            let chat = o.body.split('&').find_map(|p| p.strip_prefix("CHAT=")).unwrap();
            assert!(chat.starts_with("VISITOR-1%3A+%F0%9F%98%80"), "what fits is there");
            assert!(chat.ends_with("more+messages+do+not+fit+in+one+event.%5D"), "{}", &chat[chat.len() - 80..]);
        }
    }

    #[test]
    fn rpc_events_carry_the_seeds_parameters() {
        let rpc: Vec<Outgoing> = all_events().into_iter().filter(|o| o.format == Format::Rpc).collect();
        let params = |event: &str| rpc.iter().find(|o| o.event == event).map(|o| o.body.clone()).unwrap_or_default();
        assert!(params("CHAT_STARTED").contains("EVENT=CHAT_STARTED&LICENCE=1234"));
        // Every parameter the seed lists for each chat-related event (INVITING_OP is
        // optional there: the scenario's accepting agent was not invited).
        for (event, names) in [
            ("CHAT_STARTED", &["CLIENT_ID", "OPERATOR_ID", "STATUS"][..]),
            ("OPERATOR_TRANSFER", &["CLIENT_ID", "NEW_OPERATOR_ID", "OPERATOR_ID", "STATUS"]),
            ("OPERATOR_STATUS", &["OPERATOR_ID", "STATUS"]),
            ("BUTTON_STATUS", &["STATUS"]),
            ("CLIENT_INVITED", &["OPERATOR_ID", "CLIENT_ID"]),
            ("OPERATOR_STOPED_CHAT", &["OPERATOR_ID", "CLIENT_ID", "GROUP", "CHAT"]),
            ("VISITOR_LEFT_CHAT", &["OPERATOR_ID", "CLIENT_ID", "GROUP", "CHAT"]),
            ("PRIVATE_CHAT_STATUS", &["OPERATOR_ID", "STATUS", "GROUP"]),
        ] {
            for o in rpc.iter().filter(|o| o.event == event) {
                for name in names {
                    assert!(o.body.contains(&format!("&{name}=")), "{event} lacks {name}: {}", o.body);
                }
            }
        }
        // GROUP is the conference (the chat) wherever it appears; the channel is CHANNEL.
        for o in rpc.iter().filter(|o| o.body.contains("&GROUP=")) {
            assert!(o.body.contains("&GROUP=c1"), "{}", o.body);
        }
        // STATUS is the agent's own: ann is away in the scenario.
        assert!(params("CHAT_STARTED").contains("&STATUS=1"), "{}", params("CHAT_STARTED"));
        let invited = rpc.iter().find(|o| o.event == "OPERATOR_TRANSFER" && o.body.contains("NEW_OPERATOR_ID=bob"));
        assert!(invited.is_some_and(|o| o.body.contains("&OPERATOR_ID=ann&STATUS=1")), "{invited:?}");
        assert!(params("OPERATOR_STATUS").contains("STATUS=0"), "online is STATUS_ONLINE");
        assert!(rpc.iter().any(|o| o.event == "BUTTON_STATUS" && o.body.contains("STATUS=offline")));
    }

    /// The docs' examples come from here: `cargo test -p shared print_event_examples -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn print_event_examples() {
        let produced = all_events();
        for (format, names) in catalogue() {
            println!("\n### `{format}`\n");
            for name in names {
                if let Some(o) = produced.iter().find(|o| o.format.as_str() == format && o.event == *name) {
                    let body = serde_json::from_str::<Value>(&o.body)
                        .map(|v| serde_json::to_string_pretty(&v).unwrap_or_default())
                        .unwrap_or(o.body.clone());
                    let lang = if format == "rpc" { "text" } else { "json" };
                    println!("#### {name}\n\n```{lang}\n{body}\n```\n");
                }
            }
        }
    }

    #[test]
    fn docs_show_every_event() {
        let docs =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/events.md")).unwrap_or_default();
        for names in catalogue().values() {
            for name in *names {
                assert!(docs.contains(&format!("#### {name}")), "docs/events.md has no example of {name}");
            }
        }
    }
}
