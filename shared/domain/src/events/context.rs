//! What a change is and what it is read against: the stream record's entities, the
//! context the publisher gathers, the view a socket sees, and what is published.

use super::*;
use crate::model::ChatterActive;

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
    /// How far a chatter has read (a read receipt).
    ReadMark(ReadMark),
    /// A message left for a channel while nobody was online.
    OfflineMessage(crate::model::OfflineMessage),
    /// A customer's erasure (its receipt).
    Erasure(crate::erasure::Erasure),
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
    let agent = |a: &Option<crate::model::Chatter>| {
        a.iter().filter(|a| a.chatter_type == ChatterType::User).map(|a| a.chatter_id.clone()).collect::<Vec<_>>()
    };
    match (&change.old, &change.new) {
        // CHAT_STARTED's agent; OPERATOR_TRANSFER's, who handed the chat back.
        (Some(Entity::Chat(old)), Some(Entity::Chat(new)))
            if old.status == ChatStatus::Request && new.status == ChatStatus::Active =>
        {
            let mut ids = agent(&new.updated_by);
            if old.previous_status == Some(ChatStatus::Active) {
                ids.extend(agent(&old.updated_by));
            }
            ids
        }
        // An invited client joining: its chat's start, with the inviting agent's status.
        (Some(Entity::Participant(old)), Some(Entity::Participant(p)))
            if old.chatter_active == ChatterActive::Pending && p.chatter_active == ChatterActive::Active =>
        {
            agent(&p.invited_by)
        }
        _ => Vec::new(),
    }
}

impl Context {
    /// RPC's STATUS of an agent, as the publisher found it (offline if it has none).
    pub(super) fn status(&self, user_id: &str) -> String {
        rpc_status(self.statuses.get(user_id).copied().unwrap_or(Availability::Offline)).to_string()
    }

    pub(super) fn owner(&self) -> Option<&Participant> {
        self.participants
            .iter()
            .find(|p| p.is_owner())
            .or_else(|| self.participants.iter().find(|p| p.chatter_type == ChatterType::User))
    }

    /// How customers see this chat's chatters (MaskAgentName).
    pub(super) fn masking(&self) -> Masking<'_> {
        Masking::for_customers(self.mask.as_deref(), &self.participants)
    }

    /// How the notification vocabulary's viewer sees them.
    pub(super) fn view_masking(&self) -> Masking<'_> {
        match self.view {
            View::Customer => self.masking(),
            View::Agent(_) => Masking::new(None, true, &self.participants),
        }
    }

    /// What the viewer may do in `chat` now (the chat resource's `capabilities`).
    pub(super) fn capabilities(&self, chat: &Chat) -> &'static [&'static str] {
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
    pub(super) fn transcript_text(&self) -> String {
        let masking = self.masking();
        let lines: Vec<String> = self
            .transcript
            .iter()
            .filter(|m| {
                !m.internal
                    && !m.deleted
                    && m.kind != MessageType::Notice
                    && !m.hidden_by_filter()
                    && masking.shows_message(m)
            })
            .map(|m| masking.message(m))
            .map(|m| format!("{}: {}", m.chatter_name, m.text))
            .collect();
        let kept = lines.get(..lines_that_fit(&lines, MAX_CHAT_BYTES)).unwrap_or_default();
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
