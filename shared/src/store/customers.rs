//! A customer's data across chats, for its export and its erasure: its participations (by
//! the chatter index), whole transcripts, and the offline messages its e-mail addresses
//! left. Admin-only and rare: each read is bounded by the customer's own chats, or by one
//! channel's offline messages.

use super::*;
use crate::domain::model::OfflineMessage;

impl Db {
    /// Every participation of `customer_id`, as a known customer or as a visitor.
    pub async fn customer_participations(&self, customer_id: &str) -> StoreResult<Vec<Participant>> {
        let mut all = Vec::new();
        for chatter_type in [ChatterType::Customer, ChatterType::Public] {
            all.extend(self.query_all(&IndexQuery::participations(chatter_type, customer_id, None, false)).await?);
        }
        Ok(all)
    }

    /// A chat's transcript after message `after` (0: whole), in order, a page of 1,000 at a time.
    pub async fn transcript(&self, chat_id: &str, after: u64) -> StoreResult<Vec<Message>> {
        let mut all: Vec<Message> = Vec::new();
        loop {
            let from = all.last().map_or(after + 1, |m| m.index + 1);
            let (page, more) = self.messages(chat_id, from, u64::MAX / 2, 1000, false).await?;
            all.extend(page);
            if !more {
                return Ok(all);
            }
        }
    }

    /// The offline messages left for `channel_id` from `email` (a filter on the channel's
    /// partition: every page of it is read).
    pub async fn offline_messages_from(&self, channel_id: &str, email: &str) -> StoreResult<Vec<OfflineMessage>> {
        let items = self
            .all_pages(|| {
                self.client
                    .query()
                    .key_condition_expression("PK = :pk")
                    .filter_expression("email = :e")
                    .expression_attribute_values(":pk", s(keys::offline_pk(channel_id)))
                    .expression_attribute_values(":e", s(email))
            })
            .await?;
        items.into_iter().map(from_item).collect()
    }

    /// Deletes offline messages (an erasure's), a BatchWriteItem of 25 at a time.
    pub async fn delete_offline_messages(&self, messages: &[OfflineMessage]) -> StoreResult<()> {
        let keys: Vec<Item> = messages
            .iter()
            .map(|m| {
                HashMap::from([
                    (keys::PK.to_string(), s(keys::offline_pk(&m.channel_id))),
                    (keys::SK.to_string(), s(keys::offline_sk(&m.create_time, &m.offline_message_id))),
                ])
            })
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        self.batch_delete(keys).await
    }
}
