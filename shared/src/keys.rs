//! Every key string of the table is built here. See docs/data-model.md.
//!
//! Client-supplied components are escaped (`%` → `%25`, `#` → `%23`) so that a component
//! never contains the separator and distinct tuples never build the same key.

use std::borrow::Cow;

use crate::domain::model::{ChatStatus, ChatterActive, ChatterType, TargetType};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI2: &str = "GSI2";
pub const GSI3: &str = "GSI3";

/// Sort key of the chat record. It sorts after participants (`P#`) and before typing (`T#`).
pub const CHAT_SK: &str = "R";
/// Sort key of the chat's revision count (edits and deletions of its messages), read with
/// its state so that a poll sees a change to a message it already has.
pub const REVISION_SK: &str = "U";
/// Everything after the messages: participants, the chat record, read marks, typing
/// entries, the revision count.
pub const AFTER_MESSAGES: &str = "M#~";
pub const MESSAGE_PREFIX: &str = "M#";
pub const PARTICIPANT_PREFIX: &str = "P#";

/// Escapes the separator so a component can never split into two.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '#']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Inverse of [`escape`]; `None` for a string `escape` cannot have produced.
pub fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find(['%', '#']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if tail.starts_with("%25") {
            out.push('%');
        } else if tail.starts_with("%23") {
            out.push('#');
        } else {
            return None;
        }
        rest = &tail[3..];
    }
    out.push_str(rest);
    Some(out)
}

pub fn chat_pk(chat_id: &str) -> String {
    format!("CHAT#{}", escape(chat_id))
}

/// The chat id of a chat partition's key (`None` for another key).
pub fn chat_id_of_pk(pk: &str) -> Option<String> {
    unescape(pk.strip_prefix("CHAT#")?)
}

pub fn participant_sk(chatter_type: ChatterType, chatter_id: &str) -> String {
    format!("P#{}#{}", chatter_type.as_str(), escape(chatter_id))
}

pub fn message_sk(index: u64) -> String {
    format!("M#{index:010}")
}

pub fn typing_sk(chatter_type: ChatterType, chatter_id: &str) -> String {
    format!("T#{}#{}", chatter_type.as_str(), escape(chatter_id))
}

/// A chatter's read mark: in the chat's partition, above the messages, so the one Query
/// that reads a chat's state reads how far each party has read too.
pub fn read_mark_sk(chatter_type: ChatterType, chatter_id: &str) -> String {
    format!("S#{}#{}", chatter_type.as_str(), escape(chatter_id))
}

pub fn idempotency_sk(chatter_type: ChatterType, chatter_id: &str, client_id: &str) -> String {
    format!("I#{}#{}#{}", chatter_type.as_str(), escape(chatter_id), escape(client_id))
}

/// An upload in its chat's partition (before the messages, so the state read skips it).
pub fn file_sk(file_id: &str) -> String {
    format!("FILE#{}", escape(file_id))
}

/// The chat's count of uploads handed out.
pub const FILE_COUNT_SK: &str = "FILES";

/// Object keys of a chat's files: one prefix per chat, which its deletion empties. `/` is
/// escaped too, so that no chat's prefix is inside another's.
pub fn chat_files_prefix(chat_id: &str) -> String {
    format!("chats/{}/", escape(chat_id).replace('/', "%2F"))
}

pub fn file_object_key(chat_id: &str, file_id: &str) -> String {
    format!("{}{}", chat_files_prefix(chat_id), escape(file_id).replace('/', "%2F"))
}

pub const FLAG_PREFIX: &str = "F#";

pub fn flag_sk(user_id: &str, key: &str) -> String {
    format!("F#{}#{}", escape(user_id), escape(key))
}

/// The flags of one user in a chat's partition.
pub fn flag_user_prefix(user_id: &str) -> String {
    format!("F#{}#", escape(user_id))
}

/// A rate window's counter: one partition per subject, one item per window.
pub fn rate_pk(subject: &str) -> String {
    format!("RATE#{}", escape(subject))
}

pub fn rate_sk(window: i64) -> String {
    format!("W#{window}")
}

pub const PRESENCE_SK: &str = "PRESENCE";
/// Sort key of a channel's [`ChannelCount`](crate::domain::model::ChannelCount), in the channel's partition.
pub const CHANNEL_COUNT_SK: &str = "COUNT";

pub fn user_pk(user_id: &str) -> String {
    format!("USER#{}", escape(user_id))
}

/// Items of the agents online in a channel live in the channel's own partition.
pub fn channel_agent_sk(user_id: &str) -> String {
    format!("AGENT#{}", escape(user_id))
}

pub const CHANNEL_AGENT_PREFIX: &str = "AGENT#";

/// GSI2 sort key of an online customer in a chat.
pub fn online_customer_sk(customer_id: &str, chat_id: &str) -> String {
    format!("{}#{}", escape(customer_id), escape(chat_id))
}

/// The online-customer entries of one customer.
pub fn online_customer_prefix(customer_id: &str) -> String {
    format!("{}#", escape(customer_id))
}

/// GSI1 (users) / GSI2 (customers) partition of who is online.
pub fn online_pk(user_type: ChatterType) -> String {
    format!("ONLINE#{}", user_type.as_str())
}

/// Shards of the online customers (GSI2), by customer: one customer's chats are on one.
pub const ONLINE_CUSTOMER_SHARDS: u32 = 4;

/// GSI2 partition of one customer's entries among the online customers.
pub fn online_customer_pk(customer_id: &str) -> String {
    sharded(&online_pk(ChatterType::Customer), customer_id, ONLINE_CUSTOMER_SHARDS)
}

/// Every shard of the online customers.
pub fn online_customer_pks() -> Vec<String> {
    all_shards(&online_pk(ChatterType::Customer), ONLINE_CUSTOMER_SHARDS)
}

pub const CONNECTION_SK: &str = "CONN";

/// A WebSocket connection's own partition, found by the id API Gateway hands every route.
pub fn connection_pk(connection_id: &str) -> String {
    format!("CONN#{}", escape(connection_id))
}

/// GSI1 partition of the subscribed connections that watch one chat (its customer side)
/// or one agent (all its chats).
pub fn watchers_pk(watched: &crate::domain::connections::Watched) -> String {
    use crate::domain::connections::Watched;
    match watched {
        Watched::Agent(user_id) => format!("WATCH#AGENT#{}", escape(user_id)),
        Watched::Chat(chat_id) => format!("WATCH#CHAT#{}", escape(chat_id)),
    }
}

pub const WEBHOOK_SK: &str = "WEBHOOK";
/// GSI1 partition of all webhooks.
pub const WEBHOOKS_PK: &str = "WEBHOOKS";

pub fn webhook_pk(webhook_id: &str) -> String {
    format!("WEBHOOK#{}", escape(webhook_id))
}

/// A webhook's delivery attempts, newest last, in the webhook's partition.
pub fn delivery_sk(time: &str, event_id: &str, attempt: u32) -> String {
    format!("D#{time}#{}#{attempt:03}", escape(event_id))
}

pub const DELIVERY_PREFIX: &str = "D#";

/// The event log is split by hour (a replay reads only the hours it asks for) and, within
/// an hour, over this many partitions, so a burst of events is not one hot key.
pub const EVENT_LOG_SHARDS: u32 = 4;

/// Partition of the events logged in `hour` (`YYYY-MM-DDTHH`) on `shard`.
pub fn event_log_pk(hour: &str, shard: u32) -> String {
    format!("EVENTS#{hour}#{shard}")
}

/// The shard an event is logged on, from its id.
pub fn event_log_shard(event_id: &str) -> u32 {
    shard_of(event_id, EVENT_LOG_SHARDS)
}

/// A stable shard in `0..shards` for an id (a string hash: the same id, the same shard).
fn shard_of(id: &str, shards: u32) -> u32 {
    id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % shards
}

/// `base` on the shard of `id`.
fn sharded(base: &str, id: &str, shards: u32) -> String {
    format!("{base}#{}", shard_of(id, shards))
}

/// Every shard of `base`, for a reader that queries them all.
fn all_shards(base: &str, shards: u32) -> Vec<String> {
    (0..shards).map(|n| format!("{base}#{n}")).collect()
}

/// Events sort by time within their hour.
pub fn event_log_sk(time: &str, event_id: &str) -> String {
    format!("{time}#{}", escape(event_id))
}

/// GSI1 partition of one user's flags across chats.
pub fn flag_user_pk(user_id: &str) -> String {
    format!("FLAGUSER#{}", escape(user_id))
}

/// GSI1 sort key of a flag: by key, then chat.
pub fn flag_user_sk(key: &str, chat_id: &str) -> String {
    format!("{}#{}", escape(key), escape(chat_id))
}

/// A user's flags of one key, across chats.
pub fn flag_user_key_prefix(key: &str) -> String {
    format!("{}#", escape(key))
}

/// Shards of each status key (and of the purge queue): one index partition takes about
/// 1,000 writes a second, and a chat writes its status key several times in its life
/// (docs/data-model.md, "Hot keys"). Lists read the shards at once and merge them.
pub const STATUS_SHARDS: u32 = 4;

/// GSI1 partition of the chats in one status on the shard of `chat_id`.
pub fn status_pk(status: ChatStatus, chat_id: &str) -> String {
    sharded(&format!("STATUS#{}", status.as_str()), chat_id, STATUS_SHARDS)
}

/// Every shard of one status's GSI1 partition.
pub fn status_pks(status: ChatStatus) -> Vec<String> {
    all_shards(&format!("STATUS#{}", status.as_str()), STATUS_SHARDS)
}

/// GSI1 partition of deleted chats waiting to be purged (by closing time), on the shard of
/// `chat_id`.
pub fn deleted_pk(chat_id: &str) -> String {
    sharded("DELETED", chat_id, STATUS_SHARDS)
}

/// Every shard of the purge queue.
pub fn deleted_pks() -> Vec<String> {
    all_shards("DELETED", STATUS_SHARDS)
}

/// A channel's first accepts in one wait bucket (the queue's estimated wait), beside its count.
pub fn queue_wait_sk(bucket: i64) -> String {
    format!("WAIT#{bucket:012}")
}

/// The messages left for a channel while nobody was online, newest last. One partition per
/// channel: each address may leave a few a minute (the chat-start rate), far below what a
/// partition takes.
pub fn offline_pk(channel_id: &str) -> String {
    format!("OFFLINE#{}", escape(channel_id))
}

pub fn offline_sk(create_time: &str, id: &str) -> String {
    format!("{create_time}#{}", escape(id))
}

/// A customer's erasure receipts (its id only, and what was erased when).
pub fn erasure_pk(customer_id: &str) -> String {
    format!("ERASURE#{}", escape(customer_id))
}

/// GSI2 partition of chats in one channel.
pub fn channel_pk(channel_id: &str) -> String {
    format!("CHANNEL#{}", escape(channel_id))
}

/// Shards of each channel's and each requester/target pair's chat lists (GSI2, GSI3): every
/// change of a chat record writes both, so they saturate first (docs/data-model.md).
pub const LIST_SHARDS: u32 = 8;

/// GSI2 partition of the chats of one channel on the shard of `chat_id`.
pub fn channel_chats_pk(channel_id: &str, chat_id: &str) -> String {
    sharded(&channel_pk(channel_id), chat_id, LIST_SHARDS)
}

/// Every shard of one channel's chats.
pub fn channel_chats_pks(channel_id: &str) -> Vec<String> {
    all_shards(&channel_pk(channel_id), LIST_SHARDS)
}

/// GSI3 partition of chats by requester and target type, on the shard of `chat_id`.
pub fn type_pk(requester: ChatterType, target: TargetType, chat_id: &str) -> String {
    sharded(&type_base(requester, target), chat_id, LIST_SHARDS)
}

/// Every shard of one requester/target pair.
pub fn type_pks(requester: ChatterType, target: TargetType) -> Vec<String> {
    all_shards(&type_base(requester, target), LIST_SHARDS)
}

fn type_base(requester: ChatterType, target: TargetType) -> String {
    format!("TYPE#{}#{}", requester.as_str(), target.as_str())
}

/// GSI1 sort key of a chat: creation order within a status.
pub fn chat_time_sk(create_time: &str, chat_id: &str) -> String {
    format!("{create_time}#{}", escape(chat_id))
}

/// GSI2/GSI3 sort key of a chat: status, then creation order.
pub fn chat_status_time_sk(status: ChatStatus, create_time: &str, chat_id: &str) -> String {
    format!("{}#{create_time}#{}", status.as_str(), escape(chat_id))
}

/// The start of [`chat_status_time_sk`] for one status, or for one status before a time.
pub fn chat_status_prefix(status: ChatStatus, before: Option<&str>) -> String {
    format!("{}#{}", status.as_str(), before.unwrap_or_default())
}

/// GSI1 partition of the chats one chatter takes part in.
pub fn chatter_pk(chatter_type: ChatterType, chatter_id: &str) -> String {
    format!("CHATTER#{}#{}", chatter_type.as_str(), escape(chatter_id))
}

/// Prefix of [`chatter_sk`] for a `chatterActive` value, and for pending invitations.
pub fn chatter_state_prefix(chatter_active: ChatterActive, pending_only: bool) -> String {
    let state = match chatter_active {
        ChatterActive::Active => "A",
        ChatterActive::Pending => "I",
        ChatterActive::Left => "L",
    };
    if pending_only {
        format!("{state}#1#")
    } else {
        format!("{state}#")
    }
}

pub fn chatter_sk(chatter_active: ChatterActive, pending: bool, create_time: &str, chat_id: &str) -> String {
    format!("{}{}#{create_time}#{}", chatter_state_prefix(chatter_active, false), u8::from(pending), escape(chat_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn escape_round_trips(s in any::<String>()) {
            prop_assert_eq!(unescape(&escape(&s)), Some(s.clone()));
            prop_assert!(!escape(&s).contains('#'));
        }

        #[test]
        fn distinct_components_never_share_a_key(a in any::<String>(), b in any::<String>(), c in any::<String>(), d in any::<String>()) {
            prop_assume!((a.as_str(), b.as_str()) != (c.as_str(), d.as_str()));
            prop_assert_ne!(flag_sk(&a, &b), flag_sk(&c, &d));
            prop_assert_ne!(
                idempotency_sk(ChatterType::Customer, &a, &b),
                idempotency_sk(ChatterType::Customer, &c, &d)
            );
        }

        #[test]
        fn a_user_prefix_never_reaches_another_users_items(a in "[a-z#%]{1,6}", b in "[a-z#%]{1,6}", key in any::<String>()) {
            prop_assume!(a != b);
            let prefix = flag_user_prefix(&a);
            prop_assert!(!flag_sk(&b, &key).starts_with(&prefix));
        }

        #[test]
        fn chat_keys_stay_in_their_partition(id in any::<String>(), other in any::<String>()) {
            prop_assume!(id != other);
            prop_assert_ne!(chat_pk(&id), chat_pk(&other));
        }

        #[test]
        fn no_chat_s_files_are_under_another_chat_s_prefix(id in any::<String>(), other in any::<String>(), file in any::<String>()) {
            prop_assume!(id != other);
            prop_assert!(!file_object_key(&other, &file).starts_with(&chat_files_prefix(&id)));
        }
    }

    #[test]
    fn sort_key_layout_puts_state_after_messages() {
        let msg = message_sk(9_999_999_999);
        let part = participant_sk(ChatterType::User, "zz");
        let typing = typing_sk(ChatterType::Customer, "a");
        assert!(msg.as_str() < AFTER_MESSAGES);
        assert!(
            file_sk("z").as_str() < MESSAGE_PREFIX && FILE_COUNT_SK < MESSAGE_PREFIX,
            "the state read skips uploads"
        );
        assert!(AFTER_MESSAGES < part.as_str());
        assert!(part.as_str() < CHAT_SK);
        assert!(CHAT_SK < typing.as_str());
        assert!(flag_sk("u", "k") < message_sk(0));
        assert!(idempotency_sk(ChatterType::User, "u", "c") < message_sk(0));
    }

    #[test]
    fn unescape_rejects_what_escape_cannot_produce() {
        assert_eq!(unescape("a#b"), None);
        assert_eq!(unescape("50%"), None);
        assert_eq!(unescape("a%23b%25"), Some("a#b%".into()));
    }
}
