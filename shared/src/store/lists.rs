//! Chat lists and index queries, and the batched writes of purges.

use super::*;

impl Db {
    /// Chats from one or more sources, in order, `limit` at a time; a source is the shards
    /// of one key, read at once and merged by their sort key. The cursor says which source
    /// to resume and the last item read there (every shard resumes after its sort key).
    /// Only chats that `keep` accepts count towards `limit`: a page is short only when it
    /// is the last.
    pub async fn list_chats(
        &self,
        sources: &[Vec<IndexQuery>],
        limit: usize,
        cursor: Option<&str>,
        keep: impl Fn(&Chat) -> bool,
    ) -> StoreResult<(Vec<Chat>, Option<String>)> {
        let (mut q, mut after) = match cursor {
            Some(c) => {
                let c = decode_cursor(c)?;
                // No key: the source's first page.
                (c.q, Some(c.k.into_iter().map(|(k, v)| (k, s(v))).collect::<Item>()).filter(|k| !k.is_empty()))
            }
            None => (0, None),
        };
        let mut chats = Vec::new();
        while let Some(shards) = sources.get(q).filter(|_| chats.len() < limit) {
            let want = limit - chats.len();
            let starts: Vec<Option<Item>> = shards
                .iter()
                .map(|query| after.as_ref().map(|key| start_in(query, key)).transpose())
                .collect::<StoreResult<_>>()?;
            let pages = futures_util::future::try_join_all(
                shards.iter().zip(starts).map(|(query, start)| self.query_index(query, want, start)),
            )
            .await?;
            let (merged, horizon) = merge_shards(pages, shards.first().map_or("", |query| query.index));
            let mut full = false;
            for item in merged {
                after = Some(item.key);
                let chat = from_item::<Chat>(item.item)?;
                if keep(&chat) {
                    chats.push(chat);
                    if chats.len() == limit {
                        full = true;
                        break;
                    }
                }
            }
            if !full {
                match horizon {
                    // A shard has more: go on from where it stopped (every shard is read up
                    // to there).
                    Some(key) => after = Some(key),
                    None => {
                        q += 1;
                        after = None;
                    }
                }
            }
        }
        let next = (q < sources.len()).then(|| encode_cursor(q, &after.unwrap_or_default()).unwrap_or_default());
        Ok((chats, next))
    }

    pub(super) async fn query_index(
        &self,
        query: &IndexQuery,
        limit: usize,
        start: Option<Item>,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        let request = self
            .index_request(query)
            .limit(i32::try_from(limit).unwrap_or(100))
            .set_exclusive_start_key(start.filter(|k| !k.is_empty()));
        let out = request.send().await.map_err(|e| {
            // A cursor that names another partition is the client's mistake.
            if service_code(&e) == Some("ValidationException") {
                StoreError::Refused(DomainError::invalid("invalid cursor"))
            } else {
                StoreError::from(e)
            }
        })?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// How many index entries `query` finds (COUNT, every page): read units for what is
    /// counted, no items sent back.
    pub(super) async fn count_index(&self, query: &IndexQuery) -> StoreResult<u64> {
        let mut count = 0;
        let mut start = None;
        loop {
            let out = self
                .index_request(query)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            count += u64::try_from(out.count).unwrap_or(0);
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(count);
            }
        }
    }

    /// A Query of `query`'s index partition under its sort-key condition.
    fn index_request(&self, query: &IndexQuery) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let pk_name = format!("{}PK", query.index);
        let sk_name = format!("{}SK", query.index);
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(query.index)
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", s(query.pk.clone()));
        match &query.sk {
            SortKey::Any => request.key_condition_expression("#pk = :pk"),
            SortKey::BeginsWith(p) => request
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :a)")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":a", s(p.clone())),
            SortKey::Before(b) => request
                .key_condition_expression("#pk = :pk AND #sk < :b")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":b", s(b.clone())),
            SortKey::Between(a, b) => request
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :a AND :b")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":a", s(a.clone()))
                .expression_attribute_values(":b", s(b.clone())),
        }
    }

    /// Participants of one chatter across chats (GSI1), one page of those `keep` accepts
    /// (a page is short only when it is the last).
    pub async fn chatter_participations(
        &self,
        query: &IndexQuery,
        limit: usize,
        cursor: Option<&str>,
        keep: impl Fn(&Participant) -> bool,
    ) -> StoreResult<(Vec<Participant>, Option<String>)> {
        let mut start = match cursor {
            Some(c) => Some(decode_cursor(c)?.k.into_iter().map(|(k, v)| (k, s(v))).collect::<Item>()),
            None => None,
        };
        let mut participants = Vec::new();
        loop {
            let (items, last) = self.query_index(query, limit - participants.len(), start).await?;
            for item in items {
                let p: Participant = from_item(item)?;
                if keep(&p) {
                    participants.push(p);
                }
            }
            start = last;
            if participants.len() >= limit || start.is_none() {
                return Ok((participants, start.and_then(|k| encode_cursor(0, &k))));
            }
        }
    }

    /// Chat records by id, one BatchGetItem per 100 (unprocessed keys retried).
    pub async fn get_chats(&self, chat_ids: &[String]) -> StoreResult<Vec<Chat>> {
        let mut chats: Vec<Chat> = Vec::new();
        for chunk in chat_ids.chunks(100) {
            let mut pending: Vec<Item> = chunk
                .iter()
                .map(|id| {
                    HashMap::from([
                        (keys::PK.to_string(), s(keys::chat_pk(id))),
                        (keys::SK.to_string(), s(keys::CHAT_SK)),
                    ])
                })
                .collect();
            for attempt in 0..8u32 {
                if pending.is_empty() {
                    break;
                }
                let request = KeysAndAttributes::builder().set_keys(Some(pending)).build().map_err(build_error)?;
                let out = self.client.batch_get_item().request_items(&self.table, request).send().await?;
                for item in out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                    let chat: Chat = from_item(item)?;
                    if !chat.deleted {
                        chats.push(chat);
                    }
                }
                pending =
                    out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)).map(|k| k.keys).unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(Duration::from_millis(10 << attempt)).await;
                }
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable);
            }
        }
        let order: HashMap<&str, usize> = chat_ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
        chats.sort_by_key(|c| order.get(c.chat_id.as_str()).copied().unwrap_or(usize::MAX));
        Ok(chats)
    }

    /// Deletes every item of a chat, the chat record last, so a run cut off midway leaves
    /// a chat that the next run (or a repeated delete) still finds and finishes.
    pub async fn purge_chat(&self, chat_id: &str) -> StoreResult<usize> {
        let keys_to_delete = self
            .all_pages(|| {
                self.client
                    .query()
                    .key_condition_expression("PK = :pk")
                    .expression_attribute_values(":pk", s(keys::chat_pk(chat_id)))
                    .projection_expression("PK, SK")
            })
            .await?;
        let is_record =
            |k: &Item| k.get(keys::SK).and_then(|v| v.as_s().ok()).map(String::as_str) == Some(keys::CHAT_SK);
        let (record, rest): (Vec<Item>, Vec<Item>) = keys_to_delete.into_iter().partition(is_record);
        let count = rest.len() + record.len();
        self.batch_delete(rest).await?;
        self.batch_delete(record).await?;
        Ok(count)
    }

    /// BatchWriteItem deletes, 25 at a time, unprocessed items retried with backoff.
    pub(super) async fn batch_delete(&self, keys_to_delete: Vec<Item>) -> StoreResult<()> {
        let requests = keys_to_delete
            .into_iter()
            .map(|key| {
                DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
                    .map_err(build_error)
            })
            .collect::<Result<_, _>>()?;
        self.batch_write(requests).await
    }

    /// BatchWriteItem, 25 at a time, unprocessed items retried with backoff.
    pub(super) async fn batch_write(&self, requests: Vec<WriteRequest>) -> StoreResult<()> {
        for chunk in requests.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk.to_vec();
            for attempt in 0..8u32 {
                if pending.is_empty() {
                    break;
                }
                let out = self.client.batch_write_item().request_items(&self.table, pending).send().await?;
                pending = out.unprocessed_items.and_then(|mut u| u.remove(&self.table)).unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(Duration::from_millis(10 << attempt)).await;
                }
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable);
            }
        }
        Ok(())
    }

    /// A plain, unconditional put.
    pub(super) async fn put(&self, item: Item) -> StoreResult<()> {
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await?;
        Ok(())
    }
}
