//! Items: what each entity's item carries beside its fields (its index keys), and the
//! chat state gathered from a partition's items.

use super::*;
use crate::domain::model::ChatterActive;

/// Index keys of a chat record, derived from its fields (so they never drift).
pub fn chat_index_keys(chat: &Chat) -> Vec<(&'static str, String)> {
    if chat.deleted {
        // Listed nowhere but in the purge queue.
        return vec![
            ("GSI1PK", keys::deleted_pk(&chat.chat_id)),
            ("GSI1SK", keys::chat_time_sk(&chat.update_time, &chat.chat_id)),
        ];
    }
    vec![
        ("GSI1PK", keys::status_pk(chat.status, &chat.chat_id)),
        // Open chats by creation (the queue's order); closed ones by closing time, for cleanup.
        (
            "GSI1SK",
            keys::chat_time_sk(
                if chat.status == ChatStatus::Closed { &chat.update_time } else { &chat.create_time },
                &chat.chat_id,
            ),
        ),
        ("GSI2PK", keys::channel_chats_pk(&chat.channel_id, &chat.chat_id)),
        ("GSI2SK", keys::chat_status_time_sk(chat.status, &chat.create_time, &chat.chat_id)),
        ("GSI3PK", keys::type_pk(chat.requester_type, chat.target_type, &chat.chat_id)),
        ("GSI3SK", keys::chat_status_time_sk(chat.status, &chat.create_time, &chat.chat_id)),
    ]
}

/// Index keys of a participant: the chats of a chatter, and, while its chat is open and it
/// is active in it, the online customers.
pub fn participant_index_keys(p: &Participant, chat_open: bool) -> Vec<(&'static str, String)> {
    let pending = p.invitation && p.chatter_active == ChatterActive::Pending;
    let mut keys = vec![
        ("GSI1PK", keys::chatter_pk(p.chatter_type, &p.chatter_id)),
        ("GSI1SK", keys::chatter_sk(p.chatter_active, pending, &p.create_time, &p.chat_id)),
    ];
    // Known customers only: a Public visitor is nobody's online customer.
    if chat_open && p.chatter_type == ChatterType::Customer && p.is_active() && !p.unverified {
        keys.push(("GSI2PK", keys::online_customer_pk(&p.chatter_id)));
        keys.push(("GSI2SK", keys::online_customer_sk(&p.chatter_id, &p.chat_id)));
    }
    keys
}

pub fn chat_item(chat: &Chat) -> StoreResult<Item> {
    to_item(keys::chat_pk(&chat.chat_id), keys::CHAT_SK.into(), entity::CHAT, &chat_index_keys(chat), chat)
}

pub fn message_item(m: &Message) -> StoreResult<Item> {
    to_item(keys::chat_pk(&m.chat_id), keys::message_sk(m.index), entity::MESSAGE, &[], m)
}

pub fn participant_item(p: &Participant, chat_open: bool) -> StoreResult<Item> {
    to_item(
        keys::chat_pk(&p.chat_id),
        keys::participant_sk(p.chatter_type, &p.chatter_id),
        entity::PARTICIPANT,
        &participant_index_keys(p, chat_open),
        p,
    )
}

/// The state items of a chat partition, gathered from whichever query read them.
#[derive(Default)]
pub(super) struct StateParts {
    pub(super) chat: Option<Chat>,
    pub(super) participants: Vec<Participant>,
    pub(super) typing: Vec<Typing>,
    pub(super) read_marks: Vec<ReadMark>,
    pub(super) last_index: u64,
    pub(super) last_message_time: Option<String>,
    pub(super) revision: u64,
}

impl StateParts {
    /// Takes a chat record, participant or typing item; anything else is not state.
    pub(super) fn add(&mut self, item: Item) -> StoreResult<()> {
        match entity_type(&item) {
            Some(entity::CHAT) => self.chat = Some(from_item(item)?),
            Some(entity::PARTICIPANT) => self.participants.push(from_item(item)?),
            Some(entity::TYPING) => self.typing.push(from_item(item)?),
            Some(entity::READ_MARK) => self.read_marks.push(from_item(item)?),
            Some(entity::REVISION) => {
                self.revision =
                    item.get("revision").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0)
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn into_state(self) -> Option<ChatState> {
        let StateParts { chat, participants, typing, read_marks, last_index, last_message_time, revision } = self;
        chat.map(|chat| ChatState { chat, participants, typing, read_marks, last_index, last_message_time, revision })
    }
}
