//! A chat's state and transcript: reads, and `apply`, the one way a planned change is
//! committed.

use super::*;

impl Db {
    /// The state of a chat that exists and is not deleted (a deleted chat is gone for the API).
    pub async fn load_state(&self, chat_id: &str, consistent: bool) -> StoreResult<Option<ChatState>> {
        Ok(self.load_any_state(chat_id, consistent).await?.filter(|state| !state.chat.deleted))
    }

    /// The state read: `SK > "M#"` newest first stops at the newest message, after the
    /// typing entries, the chat record and the participants. Deleted chats too (the event
    /// publisher announces their last change before it purges them).
    pub async fn load_any_state(&self, chat_id: &str, consistent: bool) -> StoreResult<Option<ChatState>> {
        let mut parts = StateParts::default();
        let mut start = None;
        // Small first: a typical chat's state is a handful of items, and the page must not
        // run on into the transcript. A crowded chat gets bigger pages.
        let mut page = 16;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK > :m")
                .expression_attribute_values(":pk", s(keys::chat_pk(chat_id)))
                .expression_attribute_values(":m", s(keys::MESSAGE_PREFIX))
                .scan_index_forward(false)
                .consistent_read(consistent)
                .limit(page)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            let mut found_message = false;
            for item in out.items.unwrap_or_default() {
                if entity_type(&item) == Some(entity::MESSAGE) {
                    let newest = from_item::<Message>(item)?;
                    parts.last_index = newest.index;
                    parts.last_message_time = Some(newest.create_time);
                    found_message = true;
                    break;
                }
                parts.add(item)?;
            }
            start = out.last_evaluated_key;
            if found_message || start.is_none() {
                break;
            }
            page = (page * 4).min(1000);
        }
        parts.participants.reverse();
        Ok(parts.into_state())
    }

    /// The poll: messages after `after` (up to `limit`), then the participants, the chat
    /// record and the typing entries, all from one Query when the new messages fit in its
    /// page, as they do in a steady poll. `more` says whether messages were left over.
    pub async fn poll(
        &self,
        chat_id: &str,
        after: u64,
        limit: usize,
    ) -> StoreResult<Option<(ChatState, Vec<Message>, bool)>> {
        let mut messages = Vec::new();
        let mut more = false;
        let mut parts = StateParts::default();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK > :after")
                .expression_attribute_values(":pk", s(keys::chat_pk(chat_id)))
                .expression_attribute_values(":after", s(keys::message_sk(after)))
                .limit(i32::try_from(limit + 24).unwrap_or(124))
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in out.items.unwrap_or_default() {
                if entity_type(&item) == Some(entity::MESSAGE) {
                    if messages.len() < limit {
                        messages.push(from_item::<Message>(item)?);
                    } else {
                        more = true;
                    }
                } else {
                    parts.add(item)?;
                }
            }
            start = out.last_evaluated_key;
            if more || start.is_none() {
                break;
            }
        }
        if more {
            // A long catch-up: the state items were beyond this page.
            parts = StateParts::default();
            for item in self.query_from(chat_id, keys::AFTER_MESSAGES).await? {
                parts.add(item)?;
            }
        }
        Ok(parts.into_state().filter(|state| !state.chat.deleted).map(|state| (state, messages, more)))
    }

    /// Every page of a Query on the table: `query` builds it, given where to start.
    pub(super) async fn all_pages(
        &self,
        query: impl Fn() -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> StoreResult<Vec<Item>> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let out = query().table_name(&self.table).set_exclusive_start_key(start).send().await?;
            all.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(all);
            }
        }
    }

    /// Every item of the chat's partition whose sort key is above `sk` (state items only
    /// when `sk` is past the messages).
    pub(super) async fn query_from(&self, chat_id: &str, sk: &str) -> StoreResult<Vec<Item>> {
        self.all_pages(|| {
            self.client
                .query()
                .key_condition_expression("PK = :pk AND SK > :sk")
                .expression_attribute_values(":pk", s(keys::chat_pk(chat_id)))
                .expression_attribute_values(":sk", s(sk))
        })
        .await
    }

    /// Up to `limit` messages with an index in `from..=to`, in order, or newest first when
    /// `descending`; and whether more are in that range.
    pub async fn messages(
        &self,
        chat_id: &str,
        from: u64,
        to: u64,
        limit: usize,
        descending: bool,
    ) -> StoreResult<(Vec<Message>, bool)> {
        if from > to {
            return Ok((Vec::new(), false));
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(keys::chat_pk(chat_id)))
            .expression_attribute_values(":from", s(keys::message_sk(from)))
            .expression_attribute_values(":to", s(keys::message_sk(to)))
            .scan_index_forward(!descending)
            .limit(i32::try_from(limit).unwrap_or(100))
            .send()
            .await?;
        let messages = out.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<Vec<Message>, _>>()?;
        Ok((messages, out.last_evaluated_key.is_some()))
    }

    /// Plans a change from a consistent state read and commits it atomically, appending
    /// its messages at the transcript's head. If another writer committed first, the
    /// change is planned again from the new state.
    pub async fn apply<F>(&self, chat_id: &str, mut plan: F) -> StoreResult<(ChatState, Vec<Message>)>
    where
        F: FnMut(&ChatState) -> Result<Plan, DomainError>,
    {
        // A write that failed its condition, and the transcript head it was planned at.
        let mut suspect: Option<(DomainError, u64)> = None;
        for attempt in 0..MAX_ATTEMPTS {
            let state = self.load_state(chat_id, true).await?.ok_or_else(not_found)?;
            // Nothing was committed since: the failed condition was a real conflict. Had
            // something been, the plan was stale and is made again from the new state.
            if let Some((conflict, head)) = suspect.take() {
                if head == state.last_index {
                    return Err(StoreError::Refused(conflict));
                }
            }
            let change = plan(&state)?;
            let now = self.clock.stamp();
            let messages: Vec<Message> = change
                .messages
                .into_iter()
                .zip(state.last_index + 1..)
                .map(|(m, index)| Message {
                    message_id: Message::id(chat_id, index),
                    chat_id: chat_id.into(),
                    index,
                    kind: m.kind,
                    text: m.text,
                    chatter_id: m.author.chatter_id,
                    chatter_type: m.author.chatter_type,
                    chatter_name: m.author.chatter_name,
                    chatter_number: m.author.number,
                    chatter_unverified: m.author.unverified,
                    subjects: m.subjects,
                    system_generated: m.system_generated,
                    internal: m.internal,
                    customer: m.customer,
                    event: m.event.map(|e| e.as_str().to_string()),
                    filter: m.filter,
                    filtered: m.filtered,
                    reference_id: m.reference_id,
                    file: m.file,
                    edited: false,
                    deleted: false,
                    versions: Vec::new(),
                    create_time: now.clone(),
                })
                .collect();
            let mut items = self.requests(&change.writes)?;
            for m in &messages {
                let item = message_item(m)?;
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(PK)")
                    .build()
                    .map_err(build_error)?;
                items.push(TransactWriteItem::builder().put(put).build());
            }
            match self.commit(items).await {
                Ok(()) => {
                    self.add_tallies(&change.tallies).await;
                    return Ok((state, messages));
                }
                // A planned write failed its condition: a real conflict, or a stale read
                // (another writer committed first); the next state read tells which.
                Err(Failed::Condition(failed)) if failed.iter().all(|i| *i < change.writes.len()) => {
                    let first = failed.first().and_then(|i| change.writes.get(*i));
                    let conflict =
                        first.map_or_else(|| DomainError::conflict("changed meanwhile"), |w| w.on_conflict.clone());
                    suspect = Some((conflict, state.last_index));
                }
                Err(Failed::Condition(_)) | Err(Failed::Contended) => {
                    let cap = 1u64 << attempt.min(5);
                    tokio::time::sleep(Duration::from_millis(fastrand::u64(1..=cap * 2))).await;
                }
                Err(Failed::Other(e)) => return Err(e),
            }
        }
        tracing::warn!(chat_id, "change abandoned after {MAX_ATTEMPTS} attempts");
        Err(StoreError::Unavailable)
    }

    /// One item: a plain conditional write (half the cost of a transaction). More: a transaction.
    pub(super) async fn commit(&self, mut items: Vec<TransactWriteItem>) -> Result<(), Failed> {
        if items.is_empty() {
            return Ok(());
        }
        if items.len() == 1 {
            let item = items.remove(0);
            let result = if let Some(put) = item.put {
                self.client
                    .put_item()
                    .table_name(put.table_name)
                    .set_item(Some(put.item))
                    .set_condition_expression(put.condition_expression)
                    .set_expression_attribute_names(put.expression_attribute_names)
                    .set_expression_attribute_values(put.expression_attribute_values)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| (service_code(&e).map(str::to_string), StoreError::from(e)))
            } else if let Some(update) = item.update {
                self.client
                    .update_item()
                    .table_name(update.table_name)
                    .set_key(Some(update.key))
                    .update_expression(update.update_expression)
                    .set_condition_expression(update.condition_expression)
                    .set_expression_attribute_names(update.expression_attribute_names)
                    .set_expression_attribute_values(update.expression_attribute_values)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| (service_code(&e).map(str::to_string), StoreError::from(e)))
            } else {
                return self.transact(vec![item]).await;
            };
            return match result {
                Ok(()) => Ok(()),
                Err((Some(code), _)) if code == "ConditionalCheckFailedException" => Err(Failed::Condition(vec![0])),
                Err((_, e)) => Err(Failed::Other(e)),
            };
        }
        self.transact(items).await
    }

    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), Failed> {
        let err = match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() {
            let reasons = cancelled.cancellation_reasons();
            let failed: Vec<usize> = reasons
                .iter()
                .enumerate()
                .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                .map(|(i, _)| i)
                .collect();
            if !failed.is_empty() {
                return Err(Failed::Condition(failed));
            }
            if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                return Err(Failed::Contended);
            }
        }
        if service_code(&err) == Some("TransactionConflictException") {
            return Err(Failed::Contended);
        }
        Err(Failed::Other(err.into()))
    }
}
