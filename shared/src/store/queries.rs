//! The listings callers ask for, in domain terms: each becomes the index queries (one per
//! shard of a sharded key) that read it. No key string or index name leaves the store.

use super::*;
use crate::domain::model::{ChatterActive, TargetType};

/// Which chats of a listing: any, those in a status, or the requests made before a moment
/// (ChatList's `Outdated`).
#[derive(Debug, Clone)]
pub enum ChatRange {
    Any,
    Status(ChatStatus),
    RequestsBefore(String),
    /// The requests made at or after a moment (the queue behind a chat that left or joined it).
    RequestsFrom(String),
}

impl ChatRange {
    /// On the channel and type indexes, whose sort keys begin with the status.
    fn by_status_first(&self) -> SortKey {
        match self {
            ChatRange::RequestsBefore(cut) => SortKey::Between(
                keys::chat_status_prefix(ChatStatus::Request, None),
                keys::chat_status_prefix(ChatStatus::Request, Some(cut)),
            ),
            ChatRange::RequestsFrom(cut) => SortKey::Between(
                keys::chat_status_prefix(ChatStatus::Request, Some(cut)),
                keys::chat_status_prefix(ChatStatus::Request, Some("~")),
            ),
            ChatRange::Status(s) => SortKey::BeginsWith(keys::chat_status_prefix(*s, None)),
            ChatRange::Any => SortKey::Any,
        }
    }
}

impl IndexQuery {
    /// A channel's chats (GSI2), shard by shard.
    pub fn chats_in_channel(channel_id: &str, range: &ChatRange) -> Vec<IndexQuery> {
        keys::channel_chats_pks(channel_id)
            .into_iter()
            .map(|pk| IndexQuery { index: keys::GSI2, pk, sk: range.by_status_first() })
            .collect()
    }

    /// Chats of one requester type and target type (GSI3), shard by shard.
    pub fn chats_of_types(requester: ChatterType, target: TargetType, range: &ChatRange) -> Vec<IndexQuery> {
        keys::type_pks(requester, target)
            .into_iter()
            .map(|pk| IndexQuery { index: keys::GSI3, pk, sk: range.by_status_first() })
            .collect()
    }

    /// The chats in a status (GSI1), shard by shard; with `before`, only those whose sort
    /// key (their last change) is earlier.
    pub fn chats_in_status(status: ChatStatus, before: Option<&str>) -> Vec<IndexQuery> {
        Self::before(keys::status_pks(status), before)
    }

    /// Chats marked deleted, waiting for their purge (GSI1), shard by shard.
    pub fn deleted_chats(before: Option<&str>) -> Vec<IndexQuery> {
        Self::before(keys::deleted_pks(), before)
    }

    fn before(pks: Vec<String>, before: Option<&str>) -> Vec<IndexQuery> {
        let sk = before.map_or(SortKey::Any, |cut| SortKey::Before(cut.to_string()));
        pks.into_iter().map(|pk| IndexQuery { index: keys::GSI1, pk, sk: sk.clone() }).collect()
    }

    /// A chatter's participations (GSI1): all, those of one activity, or its pending
    /// invitations.
    pub fn participations(
        chatter_type: ChatterType,
        chatter_id: &str,
        active: Option<ChatterActive>,
        pending: bool,
    ) -> IndexQuery {
        let sk = match (active, pending) {
            (_, true) => SortKey::BeginsWith(keys::chatter_state_prefix(ChatterActive::Pending, true)),
            (Some(a), false) => SortKey::BeginsWith(keys::chatter_state_prefix(a, false)),
            (None, false) => SortKey::Any,
        };
        IndexQuery { index: keys::GSI1, pk: keys::chatter_pk(chatter_type, chatter_id), sk }
    }
}
