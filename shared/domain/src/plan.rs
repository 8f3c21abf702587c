//! What a planned change does, in the domain's terms: the items it writes ([`Write`]) and
//! the messages it appends to the transcript ([`NewMessage`]). Planners (see
//! [`crate::transitions`]) produce a [`Plan`]; the store alone turns it into
//! DynamoDB requests and commits it atomically.

use serde_json::{Map, Value};

use crate::error::DomainError;
use crate::masking::system_text;
use crate::model::{
    ChannelAgent, Chat, ChatState, Chatter, ChatterType, FileRef, FileUpload, Flag, IdempotencyRecord, MessageType,
    Participant, Presence, ReadMark, SystemEvent, Typing,
};

/// The time a plan is made at, read once from the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moment {
    /// RFC 3339 with milliseconds, as items store it.
    pub stamp: String,
    pub epoch_secs: i64,
}

/// One item a plan writes, and the condition that keeps the write safe under concurrency.
// A plan holds a handful of writes: boxing the chat records would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// A chat that must not exist yet.
    NewChat(Chat),
    /// The chat record from `before` to `after`, if its status and channel are still `before`'s.
    Chat { before: Chat, after: Chat },
    /// The chat's `userData` replaced (the chat must exist).
    UserData { chat_id: String, user_data: Map<String, Value>, update_time: String, reference_id: Option<String> },
    /// Marks a request outdated, if it still is a request.
    Outdated { chat_id: String },
    /// A participant as it now is: new (`existed` false: it must not exist yet) or replacing
    /// the one read. `chat_open`: listed among the online customers while active.
    Participant { participant: Participant, existed: bool, chat_open: bool },
    /// A participant taken out of its chat (it must exist).
    RemoveParticipant { chat_id: String, chatter_type: ChatterType, chatter_id: String },
    /// A `clientMessageId` remembered (it must not be yet).
    Idempotency { chat_id: String, chatter: Chatter, client_message_id: String, record: IdempotencyRecord },
    /// An agent's presence, if it is still the one read (`seen`: its updateTime; None: none was).
    Presence { presence: Presence, seen: Option<String> },
    /// Adds `delta` to a channel's count of externally available agents.
    ChannelCount { channel_id: String, delta: i64 },
    /// Lists an agent as online in a channel.
    ChannelAgent(ChannelAgent),
    /// Takes an agent's listing out of a channel.
    RemoveChannelAgent { channel_id: String, user_id: String },
    /// One more request in a rate window (`subject`: whose, `window`: its start, in epoch
    /// seconds), refused when `limit` are already counted there.
    RateCount { subject: String, window: i64, limit: u32, expires_at: i64 },
    /// A flag (with [`Write::ChatExists`], so no flag outlives its chat).
    Flag(Flag),
    /// Writes nothing; fails unless the chat exists.
    ChatExists { chat_id: String },
    /// One more upload counted in a chat, refused when `limit` are already counted.
    FileCount { chat_id: String, limit: u32 },
    /// An upload handed out (it must not exist yet).
    NewFile(FileUpload),
    /// Marks an upload posted, if it exists and is not yet.
    FilePosted { chat_id: String, file_id: String },
    /// A chatter's typing notice (it lapses by itself).
    Typing { chat_id: String, typing: Typing },
    /// How far a chatter has read, if that is further than its mark says (it never moves back).
    ReadMark(ReadMark),
    /// One more first accept in a channel's wait bucket, after `wait_secs` in the queue
    /// (added up, never read first: the queue's estimated wait).
    QueueWait { channel_id: String, bucket: i64, wait_secs: i64 },
    /// A message's new text (`text`) or its withdrawal (`text` None), its old text kept as a
    /// version; if it still has `versions` versions and is not withdrawn.
    MessageChange {
        chat_id: String,
        index: u64,
        text: Option<String>,
        previous: String,
        versions: usize,
        at: String,
        by: String,
    },
    /// One more edit or deletion counted in a chat (added up, never read first).
    Revised { chat_id: String },
    /// An erased customer's message: no text, no versions, no file, the erased name.
    EraseMessage { chat_id: String, index: u64 },
    /// A chat record without an erased customer: if it started the chat (`requester`), its
    /// name, form fields and userData; if it made the last change (`updater`), its name there.
    EraseChat { chat_id: String, requester: bool, updater: bool },
    /// An erasure's receipt.
    Erasure(crate::erasure::Erasure),
    /// A message left for a channel while nobody was online (it must not exist yet).
    OfflineMessage(crate::model::OfflineMessage),
}

/// At most `limit` requests per `window_secs` (0: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u32,
    pub window_secs: i64,
}

/// A write and what to answer if its condition fails.
#[derive(Debug, Clone, PartialEq)]
pub struct Guarded {
    pub write: Write,
    pub on_conflict: DomainError,
}

/// What a change does, planned from one state: all of it is committed, or none.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub writes: Vec<Guarded>,
    pub messages: Vec<NewMessage>,
    /// Counters added to once the change is committed, each alone (a channel's accepted
    /// waits): they keep no condition, and a counter many changes share would make them
    /// conflict in one transaction. Best effort: a lost one skews an estimate, nothing else.
    pub tallies: Vec<Write>,
}

/// A participant write carries no client reference unless [`Plan::referenced`] gives it one.
fn unreferenced(mut write: Write) -> Write {
    if let Write::Participant { participant, .. } = &mut write {
        participant.reference_id = None;
    }
    write
}

impl Plan {
    /// Adds a write that answers a conflict with `message` if its condition fails.
    pub fn write(&mut self, write: Write, message: &str) {
        self.guarded(write, DomainError::conflict(message));
    }

    /// The same, first: the write whose condition a racing change fails first.
    pub fn write_first(&mut self, write: Write, message: &str) {
        self.writes.insert(0, Guarded { write: unreferenced(write), on_conflict: DomainError::conflict(message) });
    }

    /// Puts the client's reference (`X-Reference-Id`) on every participant the plan writes,
    /// so the ParticipantsUpdated they announce echo it.
    pub fn referenced(mut self, reference: Option<&str>) -> Self {
        for guarded in &mut self.writes {
            if let Write::Participant { participant, .. } = &mut guarded.write {
                participant.reference_id = reference.map(str::to_string);
            }
        }
        self
    }

    /// Counts one request of `subject` against `rate`: past the limit, the whole plan is
    /// refused until the window ends (a fixed window: simple, and one write).
    pub fn rate(&mut self, subject: String, rate: RateLimit, now: &Moment) {
        if rate.limit == 0 || rate.window_secs <= 0 {
            return;
        }
        let window = now.epoch_secs - now.epoch_secs.rem_euclid(rate.window_secs);
        let retry_after = window + rate.window_secs - now.epoch_secs;
        let write = Write::RateCount { subject, window, limit: rate.limit, expires_at: window + 2 * rate.window_secs };
        self.guarded(write, DomainError::rate_limited("too many requests: slow down", retry_after));
    }

    pub fn guarded(&mut self, write: Write, on_conflict: DomainError) {
        self.writes.push(Guarded { write: unreferenced(write), on_conflict });
    }
}

/// A message to append at the transcript's head.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub kind: MessageType,
    pub text: String,
    pub author: Chatter,
    pub subjects: Vec<Chatter>,
    pub system_generated: bool,
    pub internal: bool,
    pub customer: bool,
    pub event: Option<SystemEvent>,
    pub filter: Option<String>,
    /// Whether `filter` matched the text (evaluated once, when planned).
    pub filtered: Option<bool>,
    /// The client's reference for the request that posts it.
    pub reference_id: Option<String>,
    /// A `File` message's file.
    pub file: Option<FileRef>,
}

impl NewMessage {
    /// A system message: `event` by `author` about `subjects`, its text rendered from them
    /// (so masking can render it again with other names).
    pub fn system(author: Chatter, event: SystemEvent, subjects: Vec<Chatter>) -> Self {
        let names: Vec<String> = subjects.iter().map(|s| s.chatter_name.clone()).collect();
        let text =
            system_text(event, author.chatter_type, &author.chatter_name, &names).unwrap_or_else(|| event.to_string());
        Self::system_with_text(author, event, subjects, text)
    }

    /// A system message whose text is free (a decline's own message).
    pub fn system_with_text(author: Chatter, event: SystemEvent, subjects: Vec<Chatter>, text: String) -> Self {
        NewMessage {
            kind: MessageType::System,
            text,
            author,
            subjects,
            system_generated: true,
            internal: false,
            customer: false,
            event: Some(event),
            filter: None,
            filtered: None,
            reference_id: None,
            file: None,
        }
    }

    /// The same, for agents only.
    pub fn internal(mut self) -> Self {
        self.internal = true;
        self
    }
}

impl ChatState {
    /// A chatter as a message names it, with its agent number if it is an agent here.
    pub fn chatter(&self, chatter_type: ChatterType, chatter_id: &str, name: &str) -> Chatter {
        Chatter {
            chatter_type,
            chatter_id: chatter_id.into(),
            chatter_name: name.into(),
            number: self.participant(chatter_type, chatter_id).and_then(|p| p.agent_number),
            unverified: self.participant(chatter_type, chatter_id).is_some_and(|p| p.unverified),
        }
    }

    /// The number a new agent of this chat gets: one past every number handed out so far.
    pub fn next_agent_number(&self) -> u32 {
        let agents: Vec<&Participant> =
            self.participants.iter().filter(|p| p.chatter_type == ChatterType::User).collect();
        let stored = agents.iter().filter_map(|p| p.agent_number).max().unwrap_or(0);
        let counted = u32::try_from(agents.len()).unwrap_or(u32::MAX);
        stored.max(counted).max(self.chat.agent_numbers).saturating_add(1)
    }
}
