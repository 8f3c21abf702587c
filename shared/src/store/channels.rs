//! What belongs to a channel: its queue (a request's place in it, the requests waiting in
//! it), its recent waits, and the messages left for it while nobody was online. The queue
//! is the channel's chat list (GSI2, sharded), whose sort key begins with the status and
//! then the arrival: every read here touches one channel only, never the rest of the table.

use super::*;
use crate::domain::queue::{RecentWaits, WAIT_BUCKET_SECS};

impl Db {
    /// `chat`'s place in its channel's queue, 1 = next: its channel's requests that
    /// arrived before it, plus one (its own entry: the range ends at it, inclusive).
    pub async fn queue_position(&self, chat: &Chat) -> StoreResult<u64> {
        let upto = format!("{}#{}", chat.create_time, keys::escape(&chat.chat_id));
        Ok(self.requests_before_key(&chat.channel_id, upto).await?.max(1))
    }

    /// How many requests of a channel arrived before `time` (those of that very moment not
    /// counted).
    pub async fn requests_before(&self, channel_id: &str, time: &str) -> StoreResult<u64> {
        self.requests_before_key(channel_id, time.to_string()).await
    }

    /// The requests of a channel up to `cut` (arrival time, then chat id): one COUNT Query
    /// per shard, at once, over the requests ahead only (a handful in a normal queue).
    async fn requests_before_key(&self, channel_id: &str, cut: String) -> StoreResult<u64> {
        let shards = IndexQuery::chats_in_channel(channel_id, &ChatRange::RequestsBefore(cut));
        let counts = futures_util::future::try_join_all(shards.iter().map(|q| self.count_index(q))).await?;
        Ok(counts.iter().sum())
    }

    /// How many requests wait in a channel's queue: one COUNT Query per shard, at once.
    pub async fn requests_waiting(&self, channel_id: &str) -> StoreResult<u64> {
        self.requests_before_key(channel_id, "~".to_string()).await
    }

    /// The requests of a channel that arrived at `time` or later, in order of arrival (at
    /// most `limit`).
    pub async fn requests_from(&self, channel_id: &str, time: &str, limit: usize) -> StoreResult<Vec<Chat>> {
        let shards = IndexQuery::chats_in_channel(channel_id, &ChatRange::RequestsFrom(time.to_string()));
        let (chats, _) = self.list_chats(&[shards], limit, None, |c| !c.deleted).await?;
        Ok(chats)
    }

    /// The messages left for a channel while nobody was online, newest first, `limit` at a
    /// time: one Query of the channel's partition per page.
    pub async fn offline_messages(
        &self,
        channel_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> StoreResult<(Vec<crate::domain::model::OfflineMessage>, Option<String>)> {
        let start = cursor
            .map(decode_cursor)
            .transpose()?
            .map(|c| c.k.into_iter().map(|(k, v)| (k, s(v))).collect::<Item>())
            .filter(|k| k.get(keys::PK) == Some(&s(keys::offline_pk(channel_id))));
        if cursor.is_some() && start.is_none() {
            return Err(StoreError::Refused(DomainError::invalid("invalid cursor")));
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(keys::offline_pk(channel_id)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(100))
            .set_exclusive_start_key(start)
            .send()
            .await?;
        let next = out.last_evaluated_key.as_ref().and_then(|k| encode_cursor(0, k));
        let messages = out.items.unwrap_or_default().into_iter().map(from_item).collect::<StoreResult<_>>()?;
        Ok((messages, next))
    }

    /// A channel's first accepts over this wait bucket and the last: one Query on the
    /// channel's own partition (two small items).
    pub async fn recent_waits(&self, channel_id: &str, now_secs: i64) -> StoreResult<RecentWaits> {
        let bucket = crate::domain::queue::wait_bucket(now_secs);
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :a AND :b")
            .expression_attribute_values(":pk", s(keys::channel_pk(channel_id)))
            .expression_attribute_values(":a", s(keys::queue_wait_sk(bucket - WAIT_BUCKET_SECS)))
            .expression_attribute_values(":b", s(keys::queue_wait_sk(bucket)))
            .send()
            .await?;
        let number = |item: &Item, name: &str| {
            item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0)
        };
        Ok(out.items().iter().fold(RecentWaits::default(), |sum, item| RecentWaits {
            accepts: sum.accepts + number(item, "accepts"),
            wait_seconds: sum.wait_seconds + number(item, "waitSeconds"),
        }))
    }
}
