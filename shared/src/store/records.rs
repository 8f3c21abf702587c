//! Single records: files, flags, presence, messages, idempotency.

use super::*;

impl Db {
    /// An upload handed out in a chat (one GetItem).
    pub async fn file(&self, chat_id: &str, file_id: &str) -> StoreResult<Option<FileUpload>> {
        self.get(keys::chat_pk(chat_id), &keys::file_sk(file_id), true).await
    }

    /// Flags of a chat, by (user, key) (those that exist).
    pub async fn delete_flags(&self, chat_id: &str, flags: &[(String, String)]) -> StoreResult<()> {
        let keys_to_delete = flags.iter().map(|(u, k)| key(keys::chat_pk(chat_id), keys::flag_sk(u, k))).collect();
        self.batch_delete(keys_to_delete).await
    }

    /// The flags of a chat: all, one user's, or one user's under one key (one Query on
    /// the chat's partition, by sort key prefix).
    pub async fn chat_flags(&self, chat_id: &str, user_id: Option<&str>, key: Option<&str>) -> StoreResult<Vec<Flag>> {
        let prefix = match (user_id, key) {
            (Some(u), Some(k)) => keys::flag_sk(u, k),
            (Some(u), None) => keys::flag_user_prefix(u),
            _ => keys::FLAG_PREFIX.to_string(),
        };
        self.query_prefix(keys::chat_pk(chat_id), &prefix).await
    }

    /// The agents listed as online in a channel.
    pub async fn channel_agents(&self, channel_id: &str) -> StoreResult<Vec<ChannelAgent>> {
        self.query_prefix(keys::channel_pk(channel_id), keys::CHANNEL_AGENT_PREFIX).await
    }

    /// The presences listed as online (lapsed ones too, until the cleanup sweeps them).
    pub async fn online_agents(&self) -> StoreResult<Vec<Presence>> {
        self.query_all(&IndexQuery { index: keys::GSI1, pk: keys::online_pk(ChatterType::User), sk: SortKey::Any })
            .await
    }

    /// The customers active in open chats (one entry per chat), all or one customer's.
    pub async fn online_customers(&self, customer_id: Option<&str>) -> StoreResult<Vec<Participant>> {
        let (pks, sk) = match customer_id {
            Some(id) => (vec![keys::online_customer_pk(id)], SortKey::BeginsWith(keys::online_customer_prefix(id))),
            None => (keys::online_customer_pks(), SortKey::Any),
        };
        let queries: Vec<IndexQuery> =
            pks.into_iter().map(|pk| IndexQuery { index: keys::GSI2, pk, sk: sk.clone() }).collect();
        let shards = futures_util::future::try_join_all(queries.iter().map(|q| self.query_all(q))).await?;
        Ok(shards.into_iter().flatten().collect())
    }

    /// A user's flags across chats, of one key if given.
    pub async fn user_flags(&self, user_id: &str, flag_key: Option<&str>) -> StoreResult<Vec<Flag>> {
        let sk = flag_key.map_or(SortKey::Any, |k| SortKey::BeginsWith(keys::flag_user_key_prefix(k)));
        self.query_all(&IndexQuery { index: keys::GSI1, pk: keys::flag_user_pk(user_id), sk }).await
    }

    /// An agent's presence, if it ever set one.
    pub async fn presence(&self, user_id: &str, consistent: bool) -> StoreResult<Option<Presence>> {
        self.get(keys::user_pk(user_id), keys::PRESENCE_SK, consistent).await
    }

    /// The message of a chat at `index`.
    pub async fn message(&self, chat_id: &str, index: u64, consistent: bool) -> StoreResult<Option<Message>> {
        self.get(keys::chat_pk(chat_id), &keys::message_sk(index), consistent).await
    }

    /// The record a `clientMessageId` left: the index of the message it posted.
    pub async fn idempotency_record(
        &self,
        chat_id: &str,
        chatter_type: ChatterType,
        chatter_id: &str,
        client_message_id: &str,
    ) -> StoreResult<Option<crate::domain::model::IdempotencyRecord>> {
        let sk = keys::idempotency_sk(chatter_type, chatter_id, client_message_id);
        self.get(keys::chat_pk(chat_id), &sk, true).await
    }
}
