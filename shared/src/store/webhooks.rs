//! Webhooks, their deliveries and the event log replays read.

use super::*;

impl Db {
    /// A chatter's typing notice (it lapses by itself).
    /// A webhook's record, listed with every other webhook.
    pub async fn put_webhook(&self, webhook: &Webhook) -> StoreResult<()> {
        let gsi = [
            ("GSI1PK", keys::WEBHOOKS_PK.to_string()),
            ("GSI1SK", format!("{}#{}", webhook.create_time, webhook.webhook_id)),
        ];
        let pk = keys::webhook_pk(&webhook.webhook_id);
        self.put(to_item(pk, keys::WEBHOOK_SK.into(), entity::WEBHOOK, &gsi, webhook)?).await
    }

    pub async fn webhook(&self, webhook_id: &str) -> StoreResult<Option<Webhook>> {
        self.get(keys::webhook_pk(webhook_id), keys::WEBHOOK_SK, true).await
    }

    pub async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        self.query_all(&IndexQuery { index: keys::GSI1, pk: keys::WEBHOOKS_PK.into(), sk: SortKey::Any }).await
    }

    /// Sets attributes of a webhook that exists (`NotFound` otherwise) and, given `secret`,
    /// still has that secret (`Conflict` otherwise); `None` removes an attribute.
    pub(super) async fn update_webhook(
        &self,
        webhook_id: &str,
        secret: Option<&str>,
        set: &[(&str, Option<AttributeValue>)],
    ) -> StoreResult<()> {
        let mut sets = Vec::new();
        let mut removes = Vec::new();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::webhook_pk(webhook_id)))
            .key(keys::SK, s(keys::WEBHOOK_SK))
            .condition_expression(if secret.is_some() { "secret = :secret" } else { "attribute_exists(PK)" });
        if let Some(secret) = secret {
            update = update.expression_attribute_values(":secret", s(secret));
        }
        for (i, (name, value)) in set.iter().enumerate() {
            update = update.expression_attribute_names(format!("#a{i}"), *name);
            match value {
                Some(v) => {
                    sets.push(format!("#a{i} = :v{i}"));
                    update = update.expression_attribute_values(format!(":v{i}"), v.clone());
                }
                None => removes.push(format!("#a{i}")),
            }
        }
        let mut expression = String::new();
        if !sets.is_empty() {
            expression = format!("SET {}", sets.join(", "));
        }
        if !removes.is_empty() {
            expression = format!("{expression} REMOVE {}", removes.join(", "));
        }
        match update.update_expression(expression.trim()).send().await {
            Ok(_) => Ok(()),
            Err(e) if service_code(&e) == Some("ConditionalCheckFailedException") => {
                Err(StoreError::Refused(match secret {
                    Some(_) => DomainError::conflict("the secret was rotated meanwhile"),
                    None => DomainError::not_found("no such webhook"),
                }))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A rotation from `previous` (`Conflict` if another rotation came first): `secret`
    /// signs from now on; `previous` also signs until `until`.
    pub async fn rotate_webhook_secret(
        &self,
        webhook_id: &str,
        secret: &str,
        previous: &str,
        until: i64,
    ) -> StoreResult<()> {
        self.update_webhook(
            webhook_id,
            Some(previous),
            &[
                ("secret", Some(s(secret))),
                ("previousSecret", Some(s(previous))),
                ("previousSecretUntil", Some(AttributeValue::N(until.to_string()))),
            ],
        )
        .await
    }

    /// Disables a webhook since `time`, or enables it again (`None`).
    pub async fn set_webhook_disabled(&self, webhook_id: &str, time: Option<&str>) -> StoreResult<()> {
        self.update_webhook(webhook_id, None, &[("disabledTime", time.map(s))]).await
    }

    /// One delivery attempt, kept until `expires_at` (epoch seconds).
    pub async fn put_delivery(&self, delivery: &WebhookDelivery, expires_at: i64) -> StoreResult<()> {
        let sk = keys::delivery_sk(&delivery.time, &delivery.event_id, delivery.attempt);
        let mut item = to_item(keys::webhook_pk(&delivery.webhook_id), sk, entity::WEBHOOK_DELIVERY, &[], delivery)?;
        item.insert("expiresAt".into(), AttributeValue::N(expires_at.to_string()));
        self.put(item).await
    }

    /// A webhook's last `limit` delivery attempts, newest first: one Query.
    pub async fn deliveries(&self, webhook_id: &str, limit: usize) -> StoreResult<Vec<WebhookDelivery>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :p)")
            .expression_attribute_values(":pk", s(keys::webhook_pk(webhook_id)))
            .expression_attribute_values(":p", s(keys::DELIVERY_PREFIX))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(100))
            .send()
            .await?;
        out.items.unwrap_or_default().into_iter().map(from_item).collect()
    }

    /// Keeps events for replays until `expires_at` (epoch seconds). A redelivered event
    /// overwrites itself: its key is its time and id.
    pub async fn log_events(&self, events: &[LoggedEvent], expires_at: i64) -> StoreResult<()> {
        let mut requests = Vec::with_capacity(events.len());
        for event in events {
            let hour = event.time.get(..13).unwrap_or_default();
            let pk = keys::event_log_pk(hour, keys::event_log_shard(&event.event_id));
            let mut item =
                to_item(pk, keys::event_log_sk(&event.time, &event.event_id), entity::LOGGED_EVENT, &[], event)?;
            item.insert("expiresAt".into(), AttributeValue::N(expires_at.to_string()));
            let put = PutRequest::builder().set_item(Some(item)).build().map_err(build_error)?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        self.batch_write(requests).await
    }

    /// The logged events with `from <= time < to`, oldest first, up to `limit`, and whether
    /// more are in the range. One Query per shard and hour of the range, and no more hours
    /// once `limit` are found.
    pub async fn logged_events(&self, from: &str, to: &str, limit: usize) -> StoreResult<(Vec<LoggedEvent>, bool)> {
        use chrono::DurationRound;
        let (Ok(start), Ok(end)) =
            (chrono::DateTime::parse_from_rfc3339(from), chrono::DateTime::parse_from_rfc3339(to))
        else {
            return Err(StoreError::Refused(DomainError::invalid("from and to are RFC 3339 times")));
        };
        let mut found: Vec<LoggedEvent> = Vec::new();
        let mut hour = start.with_timezone(&chrono::Utc);
        let end = end.with_timezone(&chrono::Utc);
        while hour < end && found.len() <= limit {
            let bucket = crate::time::format(hour);
            let bucket = bucket.get(..13).unwrap_or_default();
            let mut in_hour = Vec::new();
            for shard in 0..keys::EVENT_LOG_SHARDS {
                let items = self
                    .all_pages(|| {
                        self.client
                            .query()
                            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
                            .expression_attribute_values(":pk", s(keys::event_log_pk(bucket, shard)))
                            .expression_attribute_values(":from", s(from))
                            // `to` itself is excluded below; "#" sorts before every id.
                            .expression_attribute_values(":to", s(format!("{to}#")))
                    })
                    .await?;
                for item in items {
                    let event: LoggedEvent = from_item(item)?;
                    if event.time.as_str() < to {
                        in_hour.push(event);
                    }
                }
            }
            in_hour.sort_by(|a, b| (&a.time, &a.event_id).cmp(&(&b.time, &b.event_id)));
            found.extend(in_hour);
            hour = hour.duration_trunc(chrono::TimeDelta::hours(1)).map_or(end, |h| h + chrono::TimeDelta::hours(1));
        }
        let more = found.len() > limit;
        found.truncate(limit);
        Ok((found, more))
    }

    pub async fn delete_webhook(&self, webhook_id: &str) -> StoreResult<()> {
        self.batch_delete(vec![key(keys::webhook_pk(webhook_id), keys::WEBHOOK_SK.into())]).await
    }
}
