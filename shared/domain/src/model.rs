//! The entities, as stored (with serde_dynamo) and as shown in the API (JSON, camelCase).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `entityType` of every item.
pub mod entity {
    pub const CHAT: &str = "Chat";
    pub const PARTICIPANT: &str = "Participant";
    pub const MESSAGE: &str = "Message";
    pub const TYPING: &str = "Typing";
    pub const IDEMPOTENCY: &str = "Idempotency";
    pub const PRESENCE: &str = "Presence";
    pub const CHANNEL_AGENT: &str = "ChannelAgent";
    pub const CHANNEL_COUNT: &str = "ChannelCount";
    pub const FLAG: &str = "Flag";
    pub const WEBHOOK: &str = "Webhook";
    pub const RATE_WINDOW: &str = "RateWindow";
    pub const WEBHOOK_DELIVERY: &str = "WebhookDelivery";
    pub const LOGGED_EVENT: &str = "LoggedEvent";
    pub const CONNECTION: &str = "Connection";
    pub const FILE: &str = "File";
    pub const FILE_COUNT: &str = "FileCount";
    pub const READ_MARK: &str = "ReadMark";
    pub const QUEUE_WAIT: &str = "QueueWait";
    pub const OFFLINE_MESSAGE: &str = "OfflineMessage";
    pub const ERASURE: &str = "Erasure";
    pub const REVISION: &str = "Revision";
}

string_enum!(ChatStatus { Request => "request", Active => "active", Closed => "closed" });
string_enum!(
    /// Who is chatting: an agent (`User`), a known customer, or an anonymous visitor; and
    /// `System`, the author of what the service itself does (the cleanup closing a request
    /// nobody answered), which is never a participant.
    ChatterType { User => "User", Customer => "Customer", Public => "Public", System => "System" }
);
string_enum!(TargetType { User => "User", Customer => "Customer" });
string_enum!(PermissionLevel { Owner => "Owner", Participant => "Participant", Observer => "Observer" });
string_enum!(
    /// An agent's availability, in the seed's order: 0 offline, 1 unavailable, 2 away, 3 online.
    Availability { Offline => "offline", Unavailable => "unavailable", Away => "away", Online => "online" }
);
string_enum!(
    /// What a system message reports (a message's `event`). A message keeps it as text, so
    /// a kind this version does not know still reads.
    SystemEvent {
        Joined => "joined",
        Left => "left",
        Declined => "declined",
        Inactive => "inactive",
        Closed => "closed",
        Expired => "expired",
        Requeued => "requeued",
        Removed => "removed",
        Invited => "invited",
        InvitationRemoved => "invitationRemoved",
        Permission => "permission",
        Verified => "verified",
        Monitoring => "monitoring",
        Transferred => "transferred",
        UserDataUpdated => "userDataUpdated",
    }
);
string_enum!(MessageType { Text => "Text", Notice => "Notice", System => "System", File => "File" });

impl ChatterType {
    /// The types a participant can have.
    pub const CHATTERS: &'static [ChatterType] = &[ChatterType::User, ChatterType::Customer, ChatterType::Public];

    /// A participant's type from its name (never `System`).
    pub fn parse_chatter(s: &str) -> Option<Self> {
        Self::parse(s).filter(|t| *t != ChatterType::System)
    }

    /// The service itself, as the author of a message.
    pub fn system_actor() -> Chatter {
        Chatter {
            chatter_type: ChatterType::System,
            chatter_id: "system".into(),
            chatter_name: "System".into(),
            number: None,
            unverified: false,
        }
    }

    pub fn is_customer(self) -> bool {
        matches!(self, ChatterType::Customer | ChatterType::Public)
    }
}

impl ChatStatus {
    /// The transitions of ChatUpdate: request → active → closed, request → closed, and
    /// active → request (back to the queue). Nothing leaves closed.
    pub fn can_become(self, next: ChatStatus) -> bool {
        matches!(
            (self, next),
            (ChatStatus::Request, ChatStatus::Active)
                | (ChatStatus::Request, ChatStatus::Closed)
                | (ChatStatus::Active, ChatStatus::Closed)
                | (ChatStatus::Active, ChatStatus::Request)
        )
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Chat {
    pub chat_id: String,
    pub status: ChatStatus,
    /// The status before the last change, so ChatUpdate and ChatRequestUpdate can be told apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<ChatStatus>,
    pub requester_id: String,
    pub requester_name: String,
    pub requester_type: ChatterType,
    pub target_type: TargetType,
    pub channel_id: String,
    /// The channel before the last move (ChatChannelUpdate), for the transfer event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_channel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firstname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lastname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<Map<String, Value>>,
    /// The highest agent number handed out in this chat (masking), so a removed agent's
    /// number is never given to another.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub agent_numbers: u32,
    /// Who made the last change to the record (accepted, moved, closed it): its events
    /// name this actor, read from the change itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<Chatter>,
    /// ChatDelete marked it: it answers 404 from then on, and its items are removed once
    /// its events are published (see docs/events.md).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// Set by the cleanup on a request that passed the decay time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outdated: bool,
    /// The client's reference for the request that made the last change, if it sent one
    /// (the notification vocabulary's `referenceId`); every other change clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    pub create_time: String,
    pub update_time: String,
}

impl Chat {
    /// IsChatAgentToAgent: an agent's private request to other agents.
    pub fn is_agent_to_agent(&self) -> bool {
        self.requester_type == ChatterType::User && self.target_type == TargetType::User
    }

    /// A new chat in the queue, by `requester`, with none of the optional fields.
    pub fn request(
        chat_id: String,
        requester: &Chatter,
        target_type: TargetType,
        channel_id: String,
        now: &str,
    ) -> Chat {
        Chat {
            chat_id,
            status: ChatStatus::Request,
            previous_status: None,
            requester_id: requester.chatter_id.clone(),
            requester_name: requester.chatter_name.clone(),
            requester_type: requester.chatter_type,
            target_type,
            channel_id,
            previous_channel_id: None,
            ticket_id: None,
            subject: None,
            email: None,
            firstname: None,
            lastname: None,
            nickname: None,
            user_data: None,
            agent_numbers: 0,
            updated_by: None,
            deleted: false,
            outdated: false,
            reference_id: None,
            create_time: now.into(),
            update_time: now.into(),
        }
    }
}

/// Where a chatter stands in a chat: the seeds' ChatterActive, written as its number (-1,
/// 0, 1) in the API, the events and the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "i8", try_from = "i8")]
pub enum ChatterActive {
    /// -1: left, declined or removed.
    Left,
    /// 0: invited and not yet in, waiting, or set inactive by the Owner.
    #[default]
    Pending,
    /// 1: in the chat.
    Active,
}

impl From<ChatterActive> for i8 {
    fn from(a: ChatterActive) -> i8 {
        match a {
            ChatterActive::Left => -1,
            ChatterActive::Pending => 0,
            ChatterActive::Active => 1,
        }
    }
}

impl TryFrom<i8> for ChatterActive {
    type Error = String;
    fn try_from(n: i8) -> Result<Self, String> {
        match n {
            -1 => Ok(ChatterActive::Left),
            0 => Ok(ChatterActive::Pending),
            1 => Ok(ChatterActive::Active),
            _ => Err(format!("chatterActive is -1, 0 or 1, not {n}")),
        }
    }
}

impl JsonSchema for ChatterActive {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ChatterActive".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "integer", "enum": [-1, 0, 1], "description": "-1 left or declined, 0 invited or inactive, 1 active" })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub chat_id: String,
    pub chatter_id: String,
    pub chatter_type: ChatterType,
    pub chatter_name: String,
    pub chatter_active: ChatterActive,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_level: Option<PermissionLevel>,
    #[serde(default)]
    pub invitation: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_chat_id: Option<String>,
    /// 0 none, 1 customer activity, 2 all activity.
    #[serde(default)]
    pub monitoring: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leave_time: Option<String>,
    pub create_time: String,
    /// An agent's number in this chat: where names are masked, customers see `agent-<n>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_number: Option<u32>,
    /// Who invited this chatter (the invitation's events name them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_by: Option<Chatter>,
    /// The client's reference for the request that last wrote this participant, if it sent
    /// one (ParticipantsUpdated's `referenceId`); every other write clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    /// A customer an agent added (ChatParticipantAdd): no site vouched for it, so it is not
    /// trusted as that customer (not online, not available, marked in events and to agents)
    /// until it confirms with its own identity token (docs/security.md).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unverified: bool,
}

impl Participant {
    pub fn is_active(&self) -> bool {
        self.chatter_active == ChatterActive::Active
    }

    /// An active agent who may post (ContributorsCount counts these).
    pub fn is_contributor(&self) -> bool {
        self.is_active()
            && self.chatter_type == ChatterType::User
            && matches!(self.permission_level, Some(PermissionLevel::Owner | PermissionLevel::Participant))
    }

    pub fn is_owner(&self) -> bool {
        self.is_active() && self.permission_level == Some(PermissionLevel::Owner)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// `<chatId>-<index>`: globally unique, and it locates the item without an index.
    pub message_id: String,
    pub chat_id: String,
    pub index: u64,
    #[serde(rename = "type")]
    pub kind: MessageType,
    pub text: String,
    pub chatter_id: String,
    pub chatter_type: ChatterType,
    pub chatter_name: String,
    /// The author's agent number, when the author is an agent (masking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chatter_number: Option<u32>,
    /// The author is a customer no site vouched for (see [`Participant::unverified`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub chatter_unverified: bool,
    /// Whom a system message is about, besides its author ("Ann removed Bob": Bob).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<Chatter>,
    #[serde(default)]
    pub system_generated: bool,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub customer: bool,
    /// What a system message announces (`joined`, `left`, `closed`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// sendFilteredMessage's regular expression: where it matches, the message is hidden
    /// from customers (agents see it; see [`Message::hidden_by_filter`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Whether `filter` matched the text, evaluated once when the message was posted: no
    /// read compiles a customer's pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filtered: Option<bool>,
    /// A reference the author's client sent with the request (the notification
    /// vocabulary's `referenceId` echoes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    /// A `File` message's file (its text is the file's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileRef>,
    /// Its author changed its text (`PATCH`): the text is the latest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub edited: bool,
    /// Withdrawn by its author, or by an Owner moderating: a tombstone at its index, its
    /// text empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// The texts it had before, oldest first, each with when it was replaced: the audit
    /// trail agents read with `?history=1`; customers never see it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<MessageVersion>,
    pub create_time: String,
}

/// A text a message had, until `until`, when `by` (a chatter id) replaced or withdrew it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageVersion {
    pub text: String,
    pub until: String,
    pub by: String,
}

/// A file as a message shows it; its bytes are in object storage, never in the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileRef {
    pub file_id: String,
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Its media type, without parameters.
    #[serde(rename = "type")]
    pub content_type: String,
}

/// An upload handed out in a chat: the file, who may post it, and whether it was posted
/// (only a posted file can be downloaded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileUpload {
    pub chat_id: String,
    pub file: FileRef,
    pub chatter_type: ChatterType,
    pub chatter_id: String,
    pub create_time: String,
    #[serde(default)]
    pub posted: bool,
}

impl Message {
    pub fn id(chat_id: &str, index: u64) -> String {
        format!("{chat_id}-{index}")
    }

    /// The index a message id of `chat_id` names, if it is one of that chat's ids.
    pub fn index_of(chat_id: &str, message_id: &str) -> Option<u64> {
        message_id
            .strip_prefix(chat_id)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|n| *n < 10_000_000_000)
    }

    /// Whether the message is by or about an agent (whose name masking may hide).
    pub fn mentions_agents(&self) -> bool {
        self.chatter_type == ChatterType::User || self.subjects.iter().any(|s| s.chatter_type == ChatterType::User)
    }
}

/// A chatter named in a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Chatter {
    pub chatter_type: ChatterType,
    pub chatter_id: String,
    pub chatter_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
    /// A customer no site vouched for (see [`Participant::unverified`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unverified: bool,
}

impl From<&Participant> for Chatter {
    fn from(p: &Participant) -> Self {
        Chatter {
            chatter_type: p.chatter_type,
            chatter_id: p.chatter_id.clone(),
            chatter_name: p.chatter_name.clone(),
            number: p.agent_number,
            unverified: p.unverified,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Typing {
    pub chatter_id: String,
    pub chatter_type: ChatterType,
    pub chatter_name: String,
    pub typing: bool,
    pub expires_at: i64,
    /// What the chatter has typed so far (sendTyping's preview): agents see it, customers never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// How far one party of a chat has read its transcript (a read receipt): the index of the
/// last message it has seen. It never moves backwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadMark {
    pub chat_id: String,
    pub chatter_id: String,
    pub chatter_type: ChatterType,
    pub last_read_index: u64,
    pub read_time: String,
}

/// Records which message a client's `clientMessageId` produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecord {
    pub index: u64,
    pub expires_at: i64,
}

impl Availability {
    /// AgentAvailabilityGet's number.
    pub fn code(self) -> u8 {
        match self {
            Availability::Offline => 0,
            Availability::Unavailable => 1,
            Availability::Away => 2,
            Availability::Online => 3,
        }
    }
}

/// An agent's availability, refreshed by the agent's console like a session; it lapses
/// when not refreshed (at `available_until`; the cleanup then takes it out of its
/// channels' counts, and DynamoDB's TTL deletes the item a day later).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Presence {
    pub user_id: String,
    pub name: String,
    pub availability: Availability,
    pub channels: Vec<String>,
    /// The channels for internal (agent-to-agent) chats, where they differ from `channels`
    /// (AvailableUsersGet's `InternalChannels`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_channels: Option<Vec<String>>,
    /// Available for external (customer) chats, not only for agent-to-agent ones.
    pub external: bool,
    pub update_time: String,
    /// When it lapses unless refreshed.
    #[serde(rename = "availableUntil", default)]
    pub expires_at: i64,
    /// The channels whose [`ChannelCount`] counts this presence now.
    #[serde(default)]
    pub counted: Vec<String>,
}

impl Presence {
    /// What it is now: a lapsed presence is offline, whatever the cleanup has not yet swept.
    pub fn current(mut self, now: i64) -> Self {
        if self.expires_at <= now {
            self.availability = Availability::Offline;
        }
        self
    }

    /// The channels in which this presence makes an agent available to customers.
    /// AgentAvailabilityGet's `External`: for external (customer) chats, an agent who
    /// takes only internal ones is unavailable; for internal chats, its availability.
    pub fn availability_for(&self, external: bool) -> Availability {
        if external && !self.external && self.availability != Availability::Offline {
            Availability::Unavailable
        } else {
            self.availability
        }
    }

    pub fn counts_in(&self, now: i64) -> Vec<String> {
        let available = self.availability == Availability::Online && self.external && self.expires_at > now;
        if available {
            self.channels.clone()
        } else {
            Vec::new()
        }
    }
}

/// How each channel's count changes when a presence goes from counting in `was` to `now`.
pub fn count_changes(was: &[String], now: &[String]) -> Vec<(String, i64)> {
    let arrived = now.iter().filter(|c| !was.contains(c)).map(|c| (c.clone(), 1));
    let left = was.iter().filter(|c| !now.contains(c)).map(|c| (c.clone(), -1));
    arrived.chain(left).collect()
}

/// How many agents are available to customers in a channel. Every presence change adds to
/// it atomically, so its stream record alone says when a channel goes from none to some
/// and back: BUTTON_STATUS, exactly once per transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelCount {
    pub channel_id: String,
    pub available: i64,
}

/// An online agent in one channel (AvailableUsersGet by channel, the widget's "is anyone there").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelAgent {
    pub channel_id: String,
    pub user_id: String,
    pub external: bool,
    pub expires_at: i64,
}

/// A message left for a channel while nobody was online.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfflineMessage {
    pub offline_message_id: String,
    pub channel_id: String,
    pub name: String,
    pub email: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<Map<String, Value>>,
    pub create_time: String,
}

/// An agent's per-chat state (ChatFlagSet): `Seen`, `NotificationNewChatSeen`, ...
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Flag {
    pub chat_id: String,
    pub user_id: String,
    pub key: String,
    pub value: String,
    pub update_time: String,
}

pub use super::subscriptions::{DeliveryMode, DeliveryOutcome, Format, LoggedEvent, Webhook, WebhookDelivery};

/// CustomerAvailabilityGet's codes: 0 off-line (in no open chat), 2 away (in an open chat,
/// with no widget connected live to it: the page is closed, or only polls), 3 on-line (a
/// widget of theirs is subscribed to one of their open chats).
pub fn customer_availability(open_chats: usize, connected: bool) -> u8 {
    match (open_chats, connected) {
        (0, _) => 0,
        (_, false) => 2,
        (_, true) => 3,
    }
}

/// Everything a write needs to know about a chat, from one Query: the record, the
/// participants, the typing entries and the transcript's head.
#[derive(Debug, Clone)]
pub struct ChatState {
    pub chat: Chat,
    pub participants: Vec<Participant>,
    pub typing: Vec<Typing>,
    /// How far each party has read (absent: nothing marked yet).
    pub read_marks: Vec<ReadMark>,
    pub last_index: u64,
    /// When the newest message was written, if there is one.
    pub last_message_time: Option<String>,
    /// How many times a message of the chat was edited or deleted: a poll that sees it grow
    /// reads again the messages it already has.
    pub revision: u64,
}

impl Message {
    /// sendFilteredMessage: its filter matched when it was posted, so customers never see
    /// it (the seed: "hide it from the client"; codes and tokens for the agent only). A
    /// filter without a stored outcome hides (fail closed).
    pub fn hidden_by_filter(&self) -> bool {
        self.filter.is_some() && self.filtered != Some(false)
    }
}

impl ChatState {
    /// The last time anything happened in the chat.
    pub fn last_activity(&self) -> &str {
        match &self.last_message_time {
            Some(t) if *t > self.chat.update_time => t,
            _ => &self.chat.update_time,
        }
    }

    pub fn participant(&self, chatter_type: ChatterType, chatter_id: &str) -> Option<&Participant> {
        self.participants.iter().find(|p| p.chatter_type == chatter_type && p.chatter_id == chatter_id)
    }

    /// How far a chatter has read (None: it has marked nothing).
    pub fn last_read(&self, chatter_type: ChatterType, chatter_id: &str) -> Option<u64> {
        self.read_marks
            .iter()
            .find(|m| m.chatter_type == chatter_type && m.chatter_id == chatter_id)
            .map(|m| m.last_read_index)
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
