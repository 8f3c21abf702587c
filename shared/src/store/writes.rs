//! Planned writes as DynamoDB requests: one builder per kind of write.

use super::*;
use crate::domain::queue::WAIT_BUCKET_SECS;

impl Db {
    /// The requests of planned writes, in order.
    pub(super) fn requests(&self, writes: &[Guarded]) -> StoreResult<Vec<TransactWriteItem>> {
        writes.iter().map(|w| self.request(&w.write)).collect()
    }

    /// The one place a planned write becomes a DynamoDB request, with its condition.
    pub(super) fn request(&self, write: &Write) -> StoreResult<TransactWriteItem> {
        match write {
            Write::NewChat(chat) => self.put_new(chat_item(chat)?),
            Write::Chat { before, after } => self.update_chat(before, after),
            Write::UserData { chat_id, user_data, update_time, reference_id } => {
                let mut update = Update::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::chat_pk(chat_id)))
                    .key(keys::SK, s(keys::CHAT_SK))
                    .condition_expression("attribute_exists(PK)")
                    .expression_attribute_values(":now", s(update_time));
                let (mut sets, mut removes) = (vec!["updateTime = :now"], Vec::new());
                match without_empty_maps(serde_dynamo::to_attribute_value(user_data)?) {
                    Some(data) => {
                        sets.push("userData = :d");
                        update = update.expression_attribute_values(":d", data);
                    }
                    None => removes.push("userData"),
                }
                match reference_id {
                    Some(r) => {
                        sets.push("referenceId = :ref");
                        update = update.expression_attribute_values(":ref", s(r));
                    }
                    None => removes.push("referenceId"),
                }
                let remove = if removes.is_empty() { String::new() } else { format!(" REMOVE {}", removes.join(", ")) };
                update = update.update_expression(format!("SET {}{remove}", sets.join(", ")));
                let update = update.build().map_err(build_error)?;
                Ok(TransactWriteItem::builder().update(update).build())
            }
            Write::Outdated { chat_id } => {
                let update = Update::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::chat_pk(chat_id)))
                    .key(keys::SK, s(keys::CHAT_SK))
                    .update_expression("SET outdated = :t")
                    .condition_expression("#status = :request")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":t", AttributeValue::Bool(true))
                    .expression_attribute_values(":request", s(ChatStatus::Request.as_str()))
                    .build()
                    .map_err(build_error)?;
                Ok(TransactWriteItem::builder().update(update).build())
            }
            Write::Participant { participant, existed, chat_open } => {
                self.put_participant(participant, *existed, *chat_open)
            }
            Write::RemoveParticipant { chat_id, chatter_type, chatter_id } => {
                self.delete_existing(keys::chat_pk(chat_id), keys::participant_sk(*chatter_type, chatter_id))
            }
            Write::Idempotency { chat_id, chatter, client_message_id, record } => {
                let sk = keys::idempotency_sk(chatter.chatter_type, &chatter.chatter_id, client_message_id);
                self.put_new(to_item(keys::chat_pk(chat_id), sk, entity::IDEMPOTENCY, &[], record)?)
            }
            Write::Presence { presence, seen } => self.put_presence(presence, seen.as_deref()),
            Write::ChannelCount { channel_id, delta } => self.count_channel(channel_id, *delta),
            Write::ChannelAgent(agent) => self.put_channel_agent(agent),
            Write::RemoveChannelAgent { channel_id, user_id } => self.delete_channel_agent(channel_id, user_id),
            Write::Flag(flag) => {
                let gsi = [
                    ("GSI1PK", keys::flag_user_pk(&flag.user_id)),
                    ("GSI1SK", keys::flag_user_sk(&flag.key, &flag.chat_id)),
                ];
                let item = to_item(
                    keys::chat_pk(&flag.chat_id),
                    keys::flag_sk(&flag.user_id, &flag.key),
                    entity::FLAG,
                    &gsi,
                    flag,
                )?;
                let put = Put::builder().table_name(&self.table).set_item(Some(item)).build().map_err(build_error)?;
                Ok(TransactWriteItem::builder().put(put).build())
            }
            Write::RateCount { subject, window, limit, expires_at } => self.bounded_count(
                keys::rate_pk(subject),
                keys::rate_sk(*window),
                entity::RATE_WINDOW,
                *limit,
                Some(*expires_at),
            ),
            Write::FileCount { chat_id, limit } => {
                self.bounded_count(keys::chat_pk(chat_id), keys::FILE_COUNT_SK.into(), entity::FILE_COUNT, *limit, None)
            }
            Write::NewFile(upload) => self.put_new(to_item(
                keys::chat_pk(&upload.chat_id),
                keys::file_sk(&upload.file.file_id),
                entity::FILE,
                &[],
                upload,
            )?),
            Write::Typing { chat_id, typing } => {
                let sk = keys::typing_sk(typing.chatter_type, &typing.chatter_id);
                let item = to_item(keys::chat_pk(chat_id), sk, entity::TYPING, &[], typing)?;
                let put = Put::builder().table_name(&self.table).set_item(Some(item)).build().map_err(build_error)?;
                Ok(TransactWriteItem::builder().put(put).build())
            }
            // An update, so that a racing lower mark never overtakes a higher one.
            Write::ReadMark(mark) => {
                let update = Update::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::chat_pk(&mark.chat_id)))
                    .key(keys::SK, s(keys::read_mark_sk(mark.chatter_type, &mark.chatter_id)))
                    .update_expression(
                        "SET entityType = :e, chatId = :c, chatterId = :i, chatterType = :t, \
                         lastReadIndex = :n, readTime = :at",
                    )
                    .condition_expression("attribute_not_exists(lastReadIndex) OR lastReadIndex < :n")
                    .expression_attribute_values(":e", s(entity::READ_MARK))
                    .expression_attribute_values(":c", s(&mark.chat_id))
                    .expression_attribute_values(":i", s(&mark.chatter_id))
                    .expression_attribute_values(":t", s(mark.chatter_type.as_str()))
                    .expression_attribute_values(":n", AttributeValue::N(mark.last_read_index.to_string()))
                    .expression_attribute_values(":at", s(&mark.read_time))
                    .build()
                    .map_err(build_error)?;
                Ok(TransactWriteItem::builder().update(update).build())
            }
            // Added up, never read first: racing accepts of one channel both count.
            Write::QueueWait { channel_id, bucket, wait_secs } => {
                let update = Update::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::channel_pk(channel_id)))
                    .key(keys::SK, s(keys::queue_wait_sk(*bucket)))
                    .update_expression(
                        "SET entityType = :e, channelId = :c, expiresAt = :x ADD accepts :one, waitSeconds :w",
                    )
                    .expression_attribute_values(":e", s(entity::QUEUE_WAIT))
                    .expression_attribute_values(":c", s(channel_id))
                    .expression_attribute_values(":x", AttributeValue::N((bucket + 3 * WAIT_BUCKET_SECS).to_string()))
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .expression_attribute_values(":w", AttributeValue::N(wait_secs.max(&0).to_string()))
                    .build()
                    .map_err(build_error)?;
                Ok(TransactWriteItem::builder().update(update).build())
            }
            // The old text joins the versions; the version count read is the condition, so
            // of two racing changes the second is refused rather than lost.
            Write::MessageChange { chat_id, index, text, previous, versions, at, by } => {
                let version = AttributeValue::M(HashMap::from([
                    ("text".to_string(), s(previous)),
                    ("until".to_string(), s(at)),
                    ("by".to_string(), s(by)),
                ]));
                let set = if text.is_some() { "edited = :true" } else { "deleted = :true" };
                let seen = if *versions == 0 { "attribute_not_exists(versions)" } else { "size(versions) = :n" };
                let mut update = Update::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::chat_pk(chat_id)))
                    .key(keys::SK, s(keys::message_sk(*index)))
                    .update_expression(format!(
                        "SET #text = :text, {set}, versions = list_append(if_not_exists(versions, :none), :version)"
                    ))
                    .condition_expression(format!(
                        "attribute_exists(PK) AND (attribute_not_exists(deleted) OR deleted = :false) AND {seen}"
                    ))
                    .expression_attribute_names("#text", "text")
                    .expression_attribute_values(":text", s(text.clone().unwrap_or_default()))
                    .expression_attribute_values(":true", AttributeValue::Bool(true))
                    .expression_attribute_values(":false", AttributeValue::Bool(false))
                    .expression_attribute_values(":none", AttributeValue::L(vec![]))
                    .expression_attribute_values(":version", AttributeValue::L(vec![version]));
                if *versions > 0 {
                    update = update.expression_attribute_values(":n", AttributeValue::N(versions.to_string()));
                }
                Ok(TransactWriteItem::builder().update(update.build().map_err(build_error)?).build())
            }
            // Added up, never read first: the message's own condition orders racing changes.
            Write::Revised { chat_id } => {
                let update = Update::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::chat_pk(chat_id)))
                    .key(keys::SK, s(keys::REVISION_SK))
                    .update_expression("SET entityType = :e ADD revision :one")
                    .expression_attribute_values(":e", s(entity::REVISION))
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .build()
                    .map_err(build_error)?;
                Ok(TransactWriteItem::builder().update(update).build())
            }
            // Takes out what the customer wrote and was: no condition, so a second erasure
            // finds nothing left and changes nothing.
            Write::EraseMessage { chat_id, index } => {
                let update = Update::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::chat_pk(chat_id)))
                    .key(keys::SK, s(keys::message_sk(*index)))
                    .update_expression(
                        "SET #text = :empty, deleted = :true, chatterName = :name REMOVE versions, #file",
                    )
                    .condition_expression("attribute_exists(PK)")
                    .expression_attribute_names("#text", "text")
                    .expression_attribute_names("#file", "file")
                    .expression_attribute_values(":empty", s(""))
                    .expression_attribute_values(":true", AttributeValue::Bool(true))
                    .expression_attribute_values(":name", s(crate::domain::erasure::ERASED_NAME))
                    .build()
                    .map_err(build_error)?;
                Ok(TransactWriteItem::builder().update(update).build())
            }
            Write::EraseChat { chat_id, requester, updater } => {
                let set: Vec<&str> =
                    [(*requester, "requesterName = :name"), (*updater, "updatedBy.chatterName = :name")]
                        .into_iter()
                        .filter_map(|(on, part)| on.then_some(part))
                        .collect();
                let remove =
                    if *requester { " REMOVE nickname, firstname, lastname, email, subject, userData" } else { "" };
                let update = Update::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::chat_pk(chat_id)))
                    .key(keys::SK, s(keys::CHAT_SK))
                    .update_expression(format!("SET {}{remove}", set.join(", ")))
                    .condition_expression("attribute_exists(PK)")
                    .expression_attribute_values(":name", s(crate::domain::erasure::ERASED_NAME))
                    .build()
                    .map_err(build_error)?;
                Ok(TransactWriteItem::builder().update(update).build())
            }
            Write::Erasure(e) => {
                let item = to_item(keys::erasure_pk(&e.customer_id), e.erased_at.clone(), entity::ERASURE, &[], e)?;
                let put = Put::builder().table_name(&self.table).set_item(Some(item)).build().map_err(build_error)?;
                Ok(TransactWriteItem::builder().put(put).build())
            }
            Write::OfflineMessage(m) => self.put_new(to_item(
                keys::offline_pk(&m.channel_id),
                keys::offline_sk(&m.create_time, &m.offline_message_id),
                entity::OFFLINE_MESSAGE,
                &[],
                m,
            )?),
            Write::FilePosted { chat_id, file_id } => {
                let update = Update::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::chat_pk(chat_id)))
                    .key(keys::SK, s(keys::file_sk(file_id)))
                    .update_expression("SET posted = :t")
                    .condition_expression("attribute_exists(PK) AND posted = :f")
                    .expression_attribute_values(":t", AttributeValue::Bool(true))
                    .expression_attribute_values(":f", AttributeValue::Bool(false))
                    .build()
                    .map_err(build_error)?;
                Ok(TransactWriteItem::builder().update(update).build())
            }
            Write::ChatExists { chat_id } => {
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::chat_pk(chat_id)))
                    .key(keys::SK, s(keys::CHAT_SK))
                    .condition_expression("attribute_exists(PK)")
                    .build()
                    .map_err(build_error)?;
                Ok(TransactWriteItem::builder().condition_check(check).build())
            }
        }
    }

    /// A Put that fails if the item exists.
    /// One more on a counter that may not pass `limit` (the condition refuses the write).
    pub(super) fn bounded_count(
        &self,
        pk: String,
        sk: String,
        entity_type: &str,
        limit: impl ToString,
        expires_at: Option<i64>,
    ) -> StoreResult<TransactWriteItem> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression(match expires_at {
                Some(_) => "SET entityType = :type, expiresAt = :exp ADD n :one",
                None => "SET entityType = :type ADD n :one",
            })
            .condition_expression("attribute_not_exists(n) OR n < :limit")
            .expression_attribute_values(":type", s(entity_type))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":limit", AttributeValue::N(limit.to_string()));
        if let Some(at) = expires_at {
            update = update.expression_attribute_values(":exp", AttributeValue::N(at.to_string()));
        }
        Ok(TransactWriteItem::builder().update(update.build().map_err(build_error)?).build())
    }

    pub(super) fn put_new(&self, item: Item) -> StoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Writes a participant as it now is: new (it must not exist) or replacing the one read.
    /// Concurrent changes to the same chat are caught by the transcript slot that every
    /// change appends to, so the replacement needs no condition of its own.
    pub(super) fn put_participant(
        &self,
        p: &Participant,
        existed: bool,
        chat_open: bool,
    ) -> StoreResult<TransactWriteItem> {
        let item = participant_item(p, chat_open)?;
        if existed {
            self.put_existing(item)
        } else {
            self.put_new(item)
        }
    }

    /// Writes an agent's presence, if it is still the one read (`seen`: its updateTime;
    /// None: there was none). Online, it is listed in the online-agents index. Its TTL
    /// (`expiresAt`) is a day past its lapse, so the cleanup sweeps it first.
    pub(super) fn put_presence(&self, p: &Presence, seen: Option<&str>) -> StoreResult<TransactWriteItem> {
        let gsi: Vec<(&str, String)> = if p.availability == Availability::Offline {
            vec![]
        } else {
            vec![("GSI1PK", keys::online_pk(ChatterType::User)), ("GSI1SK", keys::escape(&p.user_id).into_owned())]
        };
        let mut item = to_item(keys::user_pk(&p.user_id), keys::PRESENCE_SK.into(), entity::PRESENCE, &gsi, p)?;
        item.insert("expiresAt".into(), AttributeValue::N((p.expires_at + PRESENCE_KEPT_SECS).to_string()));
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = match seen {
            Some(seen) => put.condition_expression("updateTime = :seen").expression_attribute_values(":seen", s(seen)),
            None => put.condition_expression("attribute_not_exists(PK)"),
        };
        Ok(TransactWriteItem::builder().put(put.build().map_err(build_error)?).build())
    }

    /// Lists an agent as online in a channel (replacing its previous listing there).
    pub(super) fn put_channel_agent(&self, agent: &ChannelAgent) -> StoreResult<TransactWriteItem> {
        let (pk, sk) = (keys::channel_pk(&agent.channel_id), keys::channel_agent_sk(&agent.user_id));
        let item = to_item(pk, sk, entity::CHANNEL_AGENT, &[], agent)?;
        let put = Put::builder().table_name(&self.table).set_item(Some(item)).build().map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Takes an agent's listing out of a channel (nothing to do if it is not there).
    pub(super) fn delete_channel_agent(&self, channel_id: &str, user_id: &str) -> StoreResult<TransactWriteItem> {
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::channel_pk(channel_id)))
            .key(keys::SK, s(keys::channel_agent_sk(user_id)))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Adds `delta` to a channel's count of available agents.
    pub(super) fn count_channel(&self, channel_id: &str, delta: i64) -> StoreResult<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::channel_pk(channel_id)))
            .key(keys::SK, s(keys::CHANNEL_COUNT_SK))
            .update_expression("SET entityType = :type, channelId = :channel ADD available :delta")
            .expression_attribute_values(":type", s(entity::CHANNEL_COUNT))
            .expression_attribute_values(":channel", s(channel_id))
            .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Deletes an item that must exist.
    pub(super) fn delete_existing(&self, pk: String, sk: String) -> StoreResult<TransactWriteItem> {
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// A Put of an item that must already exist (a replaced participant, say).
    pub(super) fn put_existing(&self, item: Item) -> StoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Rewrites the chat record from `before` to `after` (status, channel, their previous
    /// values, index keys), if its status and channel are still those of `before`.
    pub(super) fn update_chat(&self, before: &Chat, after: &Chat) -> StoreResult<TransactWriteItem> {
        let mut expr = String::from("SET #status = :status, channelId = :channel, updateTime = :now");
        let mut update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::chat_pk(&before.chat_id)))
            .key(keys::SK, s(keys::CHAT_SK))
            .condition_expression("#status = :was AND channelId = :wasChannel")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(after.status.as_str()))
            .expression_attribute_values(":channel", s(after.channel_id.clone()))
            .expression_attribute_values(":now", s(after.update_time.clone()))
            .expression_attribute_values(":was", s(before.status.as_str()))
            .expression_attribute_values(":wasChannel", s(before.channel_id.clone()));
        for (i, (name, value)) in chat_index_keys(after).into_iter().enumerate() {
            expr.push_str(&format!(", {name} = :k{i}"));
            update = update.expression_attribute_values(format!(":k{i}"), s(value));
        }
        if let Some(previous) = after.previous_status {
            expr.push_str(", previousStatus = :ps");
            update = update.expression_attribute_values(":ps", s(previous.as_str()));
        }
        if let Some(previous) = &after.previous_channel_id {
            expr.push_str(", previousChannelId = :pc");
            update = update.expression_attribute_values(":pc", s(previous.clone()));
        }
        if let Some(by) = &after.updated_by {
            expr.push_str(", updatedBy = :by");
            update = update.expression_attribute_values(":by", serde_dynamo::to_attribute_value(by)?);
        }
        if after.agent_numbers != before.agent_numbers {
            expr.push_str(", agentNumbers = :an");
            update = update.expression_attribute_values(":an", AttributeValue::N(after.agent_numbers.to_string()));
        }
        let mut removed = Vec::new();
        match &after.reference_id {
            Some(r) => {
                expr.push_str(", referenceId = :ref");
                update = update.expression_attribute_values(":ref", s(r.clone()));
            }
            None => removed.push("referenceId"),
        }
        if after.deleted {
            expr.push_str(", deleted = :deleted");
            update = update.expression_attribute_values(":deleted", AttributeValue::Bool(true));
            removed.extend(["GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK"]);
        }
        // Last: REMOVE follows every SET.
        if !removed.is_empty() {
            expr.push_str(&format!(" REMOVE {}", removed.join(", ")));
        }
        let update = update.update_expression(expr).build().map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}
