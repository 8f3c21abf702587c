//! A waiting customer's place in its channel's queue, and the wait to expect.
//!
//! The position is the number of requests of the channel that arrived before the chat,
//! plus one: the store counts them on the channel's index (status, then arrival), reading
//! only the requests ahead. The wait is the channel's recent mean wait (over the accepts of
//! this hour and the last, counted as each request is first accepted) less what this one
//! has waited already: an estimate that needs no read of the queue and no clock of its own.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{json, Value};

use crate::model::{Chat, ChatStatus};

/// How long a channel's accepts count towards its recent wait: this hour and the last.
pub const WAIT_BUCKET_SECS: i64 = 3600;

/// The first hour of a bucket that holds the accept at `epoch_secs`.
pub fn wait_bucket(epoch_secs: i64) -> i64 {
    epoch_secs - epoch_secs.rem_euclid(WAIT_BUCKET_SECS)
}

/// The accepts of a channel's recent buckets, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecentWaits {
    pub accepts: u64,
    pub wait_seconds: u64,
}

/// What a request may still wait, in whole seconds: the recent mean less `waited`, never
/// below zero; unknown (None) when nothing was accepted recently.
pub fn estimated_wait(recent: RecentWaits, waited_secs: i64) -> Option<u64> {
    let mean = recent.wait_seconds.checked_div(recent.accepts)?;
    Some(mean.saturating_sub(u64::try_from(waited_secs.max(0)).unwrap_or(0)))
}

/// What a visitor may expect of a channel before it starts a chat there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueOutlook {
    pub channel_id: String,
    /// The requests waiting in the channel now.
    pub waiting: u64,
    /// The channel's recent mean wait, in seconds; null when nothing was accepted lately.
    pub estimated_wait_seconds: Option<u64>,
}

/// A channel's outlook from its queue's length and its recent waits: a new request would
/// wait what recent ones waited.
pub fn outlook(channel_id: &str, waiting: u64, recent: RecentWaits) -> QueueOutlook {
    QueueOutlook { channel_id: channel_id.to_string(), waiting, estimated_wait_seconds: estimated_wait(recent, 0) }
}

/// How long `chat` has waited by `now_secs` (its arrival from its creation time).
pub fn waited(chat: &Chat, now_secs: i64) -> i64 {
    chrono::DateTime::parse_from_rfc3339(&chat.create_time).map_or(0, |t| (now_secs - t.timestamp()).max(0))
}

/// The queues a change of a chat record reorders, as (channel, arrival time): those it
/// left or joined while a request (accepted, closed, deleted, requeued, moved). The
/// requests that arrived after it are the ones whose place changed. A new request joins
/// at the back and moves nobody: its widget reads its own place when it starts.
pub fn reordered(old: Option<&Chat>, new: Option<&Chat>) -> Vec<(String, String)> {
    fn queued(c: Option<&Chat>) -> Option<&Chat> {
        c.filter(|c| c.status == ChatStatus::Request && !c.deleted)
    }
    if old.is_none() {
        return vec![];
    }
    let (before, after) = (queued(old), queued(new));
    let key = |c: &Chat| (c.channel_id.clone(), c.create_time.clone());
    match (before, after) {
        (Some(b), Some(a)) if b.channel_id == a.channel_id => vec![],
        (b, a) => b.into_iter().chain(a).map(key).collect(),
    }
}

/// The push a waiting customer gets when its place changes (LiveChat's
/// `queue_position_updated`; Genesys has none, and its clients skip a type they do not know).
pub fn position_note(chat_uri: &str, position: u64, estimate: Option<u64>) -> Value {
    json!({
        "messageType": "QueuePositionUpdated",
        "chatUri": chat_uri,
        "queuePosition": position,
        "estimatedWaitSeconds": estimate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Chatter, ChatterType, TargetType};

    fn chat(status: ChatStatus, channel: &str) -> Chat {
        let who = Chatter {
            chatter_type: ChatterType::Public,
            chatter_id: "v".into(),
            chatter_name: "V".into(),
            number: None,
            unverified: false,
        };
        let chat = Chat::request("c1".into(), &who, TargetType::User, channel.into(), "2026-01-01T00:00:00.000Z");
        Chat { status, ..chat }
    }

    #[test]
    fn a_channels_outlook_is_its_queue_and_its_recent_mean_wait() {
        let none = outlook("sales", 0, RecentWaits::default());
        assert_eq!((none.waiting, none.estimated_wait_seconds), (0, None), "nothing accepted lately: no estimate");
        let busy = outlook("sales", 3, RecentWaits { accepts: 2, wait_seconds: 360 });
        assert_eq!((busy.waiting, busy.estimated_wait_seconds), (3, Some(180)));
        let shown = serde_json::to_value(&busy).unwrap();
        assert_eq!(shown, json!({"channelId": "sales", "waiting": 3, "estimatedWaitSeconds": 180}));
    }

    #[test]
    fn the_wait_is_the_recent_mean_less_what_was_waited_and_unknown_without_accepts() {
        let recent = RecentWaits { accepts: 4, wait_seconds: 400 };
        assert_eq!(estimated_wait(recent, 30), Some(70));
        assert_eq!(estimated_wait(recent, 500), Some(0), "overdue: any moment now");
        assert_eq!(estimated_wait(RecentWaits::default(), 0), None);
        assert_eq!(waited(&chat(ChatStatus::Request, "s"), 1_767_225_690), 90);
        assert_eq!(wait_bucket(7199), 3600);
    }

    #[test]
    fn a_queue_is_reordered_when_a_request_leaves_or_joins_it() {
        let (req, active) = (chat(ChatStatus::Request, "sales"), chat(ChatStatus::Active, "sales"));
        let sales = vec![("sales".to_string(), req.create_time.clone())];
        assert_eq!(reordered(Some(&req), Some(&active)), sales, "accepted");
        assert_eq!(reordered(Some(&active), Some(&req)), sales, "handed back");
        assert!(reordered(None, Some(&req)).is_empty(), "arrived at the back: nobody moved");
        assert_eq!(reordered(Some(&req), None), sales, "removed");
        let deleted = Chat { deleted: true, ..req.clone() };
        assert_eq!(reordered(Some(&req), Some(&deleted)), sales, "deleted");
        let moved = chat(ChatStatus::Request, "support");
        assert_eq!(reordered(Some(&req), Some(&moved)).len(), 2, "both queues");
        assert!(reordered(Some(&req), Some(&req)).is_empty(), "its userData changed: no place did");
        assert!(reordered(Some(&active), Some(&active)).is_empty());
    }
}
