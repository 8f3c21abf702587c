//! WebSocket connections and who watches what.

use super::*;

impl Db {
    /// A socket that opened, kept until `expires_at` (API Gateway's two-hour limit). Found
    /// by its chat or agent only once subscribed: `watch` holds that index key till then.
    pub async fn put_connection(&self, connection: &Connection, expires_at: i64) -> StoreResult<()> {
        let pk = keys::connection_pk(&connection.connection_id);
        let mut item = to_item(pk, keys::CONNECTION_SK.into(), entity::CONNECTION, &[], connection)?;
        item.insert("watch".into(), s(keys::watchers_pk(&connection.viewer.watched())));
        item.insert("expiresAt".into(), AttributeValue::N(expires_at.to_string()));
        self.put(item).await
    }

    /// Subscribes a socket (indexed under its `watch` key) or unsubscribes it: one
    /// UpdateItem, no read. `NotFound` when the connection is gone.
    pub async fn set_subscribed(&self, connection_id: &str, on: bool) -> StoreResult<()> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::connection_pk(connection_id)))
            .key(keys::SK, s(keys::CONNECTION_SK))
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":on", AttributeValue::Bool(on));
        let update = if on {
            update.update_expression("SET subscribed = :on, GSI1PK = watch, GSI1SK = PK")
        } else {
            update.update_expression("SET subscribed = :on REMOVE GSI1PK, GSI1SK")
        };
        match update.send().await {
            Ok(_) => Ok(()),
            Err(e) if service_code(&e) == Some("ConditionalCheckFailedException") => {
                Err(StoreError::Refused(DomainError::not_found("no such connection")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A socket's item, if it is still kept.
    pub async fn connection(&self, connection_id: &str) -> StoreResult<Option<Connection>> {
        self.get(keys::connection_pk(connection_id), keys::CONNECTION_SK, true).await
    }

    pub async fn delete_connection(&self, connection_id: &str) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::connection_pk(connection_id)))
            .key(keys::SK, s(keys::CONNECTION_SK))
            .send()
            .await?;
        Ok(())
    }

    /// The subscribed sockets that watch a chat's customer side or an agent: one Query.
    pub async fn watchers(&self, watched: &Watched) -> StoreResult<Vec<Connection>> {
        let query = IndexQuery { index: keys::GSI1, pk: keys::watchers_pk(watched), sk: SortKey::Any };
        self.query_all(&query).await
    }
}
