//! DynamoDB access. Every read and write of the table goes through here.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, DeleteRequest, KeysAndAttributes, Put, PutRequest, TransactWriteItem, Update,
    WriteRequest,
};
use aws_sdk_dynamodb::Client;
use base64::Engine;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::domain::connections::{Connection, Watched};
use crate::domain::error::DomainError;
use crate::domain::events::Entity;
use crate::domain::model::{
    entity, Availability, ChannelAgent, Chat, ChatState, ChatStatus, ChatterType, FileUpload, Flag, LoggedEvent,
    Message, Participant, Presence, ReadMark, Typing, Webhook, WebhookDelivery,
};
use crate::domain::plan::{Guarded, Plan, Write};
use crate::keys;
use crate::time::Clock;

mod channels;
mod chats;
mod customers;
mod items;
mod lists;
mod pages;
mod queries;
mod records;
mod sockets;
mod webhooks;
mod writes;

use items::*;
pub use items::{chat_index_keys, chat_item, message_item, participant_index_keys, participant_item};
use pages::*;
pub use pages::{IndexQuery, SortKey};
pub use queries::ChatRange;

type Item = HashMap<String, AttributeValue>;

/// The store's failures. A refusal is the domain's (a plan's, or a planned write's failed
/// condition); the rest are DynamoDB's, already logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    Refused(DomainError),
    /// DynamoDB is unreachable or throttling, after the SDK's own retries: try again shortly.
    Unavailable,
    /// An unexpected DynamoDB error or an item that does not parse.
    Internal,
}

pub type StoreResult<T> = Result<T, StoreError>;

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Refused(e) => write!(f, "refused: {e}"),
            StoreError::Unavailable => write!(f, "dynamodb unavailable"),
            StoreError::Internal => write!(f, "internal store error"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<DomainError> for StoreError {
    fn from(err: DomainError) -> Self {
        StoreError::Refused(err)
    }
}

/// DynamoDB error codes that mean "try again later", after the SDK's own retries.
const TRANSIENT: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
];

/// The error code DynamoDB returned, if the call reached it.
fn service_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(e) => e.err().code(),
        _ => None,
    }
}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    fn from(err: SdkError<E, R>) -> Self {
        match &err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                tracing::warn!(error = %aws_smithy_types::error::display::DisplayErrorContext(&err), "dynamodb unreachable");
                StoreError::Unavailable
            }
            SdkError::ServiceError(e) if e.err().code().is_some_and(|c| TRANSIENT.contains(&c)) => {
                tracing::warn!(code = e.err().code(), "dynamodb transient error");
                StoreError::Unavailable
            }
            // A condition that does not hold is an answer (a race, a rate limit), which the
            // caller turns into a 409 or a 429: no error to page anyone about.
            SdkError::ServiceError(e) if e.err().code() == Some("ConditionalCheckFailedException") => {
                tracing::info!("dynamodb condition not met");
                StoreError::Internal
            }
            _ => {
                tracing::error!(error = %aws_smithy_types::error::display::DisplayErrorContext(&err), "dynamodb error");
                StoreError::Internal
            }
        }
    }
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(err: serde_dynamo::Error) -> Self {
        tracing::error!(error = %err, "item (de)serialisation failed");
        StoreError::Internal
    }
}

fn not_found() -> StoreError {
    StoreError::Refused(DomainError::not_found("chat not found"))
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// An item: its keys, its entity type, its index keys and its data, serialised by serde_dynamo.
fn to_item<T: Serialize>(
    pk: String,
    sk: String,
    entity_type: &str,
    gsi: &[(&str, String)],
    data: &T,
) -> StoreResult<Item> {
    let item: Item = serde_dynamo::to_item(data)?;
    let mut item: Item = item.into_iter().filter_map(|(k, v)| Some((k, without_empty_maps(v)?))).collect();
    item.insert(keys::PK.into(), s(pk));
    item.insert(keys::SK.into(), s(sk));
    item.insert("entityType".into(), s(entity_type));
    for (name, value) in gsi {
        item.insert((*name).into(), s(value.clone()));
    }
    Ok(item)
}

/// No empty map is ever written (an absent one reads the same): DynamoDB Local's stream
/// carries an empty map as `{}`, which no SDK parses, so one would stop the local stream
/// readers for good. In a list, an empty map becomes NULL (its place is kept).
fn without_empty_maps(value: AttributeValue) -> Option<AttributeValue> {
    match value {
        AttributeValue::M(map) => {
            let map: Item = map.into_iter().filter_map(|(k, v)| Some((k, without_empty_maps(v)?))).collect();
            (!map.is_empty()).then_some(AttributeValue::M(map))
        }
        AttributeValue::L(list) => Some(AttributeValue::L(
            list.into_iter().map(|v| without_empty_maps(v).unwrap_or(AttributeValue::Null(true))).collect(),
        )),
        other => Some(other),
    }
}

fn key(pk: String, sk: String) -> Item {
    HashMap::from([(keys::PK.to_string(), s(pk)), (keys::SK.to_string(), s(sk))])
}

fn entity_type(item: &Item) -> Option<&str> {
    item.get("entityType").and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// What a stream record's image holds, if it is an item whose changes announce anything.
pub fn entity_of(image: Option<serde_dynamo::Item>) -> StoreResult<Option<Entity>> {
    let Some(item) = image else { return Ok(None) };
    let kind = match item.get("entityType") {
        Some(serde_dynamo::AttributeValue::S(s)) => s.clone(),
        _ => return Ok(None),
    };
    Ok(match kind.as_str() {
        entity::CHAT => Some(Entity::Chat(serde_dynamo::from_item(item)?)),
        entity::PARTICIPANT => Some(Entity::Participant(serde_dynamo::from_item(item)?)),
        entity::MESSAGE => Some(Entity::Message(serde_dynamo::from_item(item)?)),
        entity::PRESENCE => Some(Entity::Presence(serde_dynamo::from_item(item)?)),
        entity::CHANNEL_COUNT => Some(Entity::ChannelCount(serde_dynamo::from_item(item)?)),
        entity::READ_MARK => Some(Entity::ReadMark(serde_dynamo::from_item(item)?)),
        entity::OFFLINE_MESSAGE => Some(Entity::OfflineMessage(serde_dynamo::from_item(item)?)),
        entity::ERASURE => Some(Entity::Erasure(serde_dynamo::from_item(item)?)),
        // Typing is pushed to sockets, never published: the item has no chat id, its key has.
        entity::TYPING => {
            let chat_id = match item.get(keys::PK) {
                Some(serde_dynamo::AttributeValue::S(pk)) => keys::chat_id_of_pk(pk),
                _ => None,
            };
            chat_id
                .map(|chat_id| Ok::<_, StoreError>(Entity::Typing(chat_id, serde_dynamo::from_item(item)?)))
                .transpose()?
        }
        // Typing, flags, idempotency records and webhooks announce nothing.
        _ => None,
    })
}

fn from_item<T: DeserializeOwned>(item: Item) -> StoreResult<T> {
    Ok(serde_dynamo::from_item(item)?)
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    tracing::error!(error = %e, "request build failed");
    StoreError::Internal
}

/// How long a lapsed presence is kept before DynamoDB's TTL deletes it: the cleanup must
/// see it first, to take it out of its channels' counts.
const PRESENCE_KEPT_SECS: i64 = 24 * 3600;

/// How many times writes are tried again while other transactions hold their items.
const MAX_CONTENDED_ATTEMPTS: u32 = 10;

/// How many times a change is re-planned when another writer took the transcript slot.
const MAX_ATTEMPTS: u32 = 60;

#[derive(Clone)]
pub struct Db {
    client: Client,
    table: String,
    clock: Clock,
}

impl Db {
    pub fn new(client: Client, table: impl Into<String>, clock: Clock) -> Self {
        Db { client, table: table.into(), clock }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The raw client, for what is not the product's own access: the local server's table
    /// set-up and the tests' bulk loads. The product's reads and writes are methods here.
    pub fn sdk(&self) -> &Client {
        &self.client
    }

    /// The ARN of the table's stream (the local stream reader follows it), if it has one.
    pub async fn stream_arn(&self) -> StoreResult<Option<String>> {
        let out = self.client.describe_table().table_name(&self.table).send().await?;
        Ok(out.table().and_then(|t| t.latest_stream_arn()).map(str::to_string))
    }

    /// One item by key, if it exists.
    async fn get<T: DeserializeOwned>(&self, pk: String, sk: &str, consistent: bool) -> StoreResult<Option<T>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .consistent_read(consistent)
            .send()
            .await?;
        out.item.map(from_item).transpose()
    }

    /// The first `most` items of an index query (one page of that size), and whether more
    /// are left.
    pub async fn query_first<T: DeserializeOwned>(
        &self,
        query: &IndexQuery,
        most: usize,
    ) -> StoreResult<(Vec<T>, bool)> {
        let (items, last) = self.query_index(query, most, None).await?;
        Ok((items.into_iter().map(from_item).collect::<StoreResult<Vec<T>>>()?, last.is_some()))
    }

    /// All items of one index query (every page), deserialised.
    pub async fn query_all<T: DeserializeOwned>(&self, query: &IndexQuery) -> StoreResult<Vec<T>> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let (items, last) = self.query_index(query, 1000, start).await?;
            for item in items {
                all.push(from_item(item)?);
            }
            if last.is_none() {
                return Ok(all);
            }
            start = last;
        }
    }

    /// Items of one partition whose sort key starts with `prefix` (every page).
    async fn query_prefix<T: DeserializeOwned>(&self, pk: String, prefix: &str) -> StoreResult<Vec<T>> {
        let items = self
            .all_pages(|| {
                self.client
                    .query()
                    .key_condition_expression("PK = :pk AND begins_with(SK, :p)")
                    .expression_attribute_values(":pk", s(pk.clone()))
                    .expression_attribute_values(":p", s(prefix))
            })
            .await?;
        items.into_iter().map(from_item).collect()
    }

    /// Commits writes that are not a transcript change (presence, say): the first failed
    /// condition answers its `on_conflict`.
    pub async fn commit_writes(&self, writes: &[Guarded]) -> StoreResult<()> {
        let items = self.requests(writes)?;
        // Another transaction on one of the items (agents arriving at once share their
        // channel's count): the same writes, conditions and all, are simply tried again.
        for attempt in 0..MAX_CONTENDED_ATTEMPTS {
            match self.commit(items.clone()).await {
                Ok(()) => return Ok(()),
                Err(Failed::Condition(failed)) => {
                    let first = failed.first().and_then(|i| writes.get(*i));
                    return Err(first.map_or(StoreError::Internal, |w| StoreError::Refused(w.on_conflict.clone())));
                }
                Err(Failed::Contended) => {
                    let cap = 1u64 << attempt.min(5);
                    tokio::time::sleep(Duration::from_millis(fastrand::u64(1..=cap * 2))).await;
                }
                Err(Failed::Other(e)) => return Err(e),
            }
        }
        Err(StoreError::Unavailable)
    }

    /// A committed plan's counters, each its own update, at once (see [`Plan::tallies`]).
    pub(super) async fn add_tallies(&self, tallies: &[Write]) {
        let updates = tallies.iter().map(|t| async move {
            let item = self.request(t).map_err(|e| e.to_string())?;
            self.commit(vec![item]).await.map_err(|_| "not written".to_string())
        });
        for failed in futures_util::future::join_all(updates).await.into_iter().filter_map(Result::err) {
            tracing::warn!(error = failed, "a counter was not added to; an estimate is off by one");
        }
    }

    /// Whether the table answers (the local server's `/health`).
    pub async fn ping(&self) -> StoreResult<()> {
        self.client.describe_table().table_name(&self.table).send().await?;
        Ok(())
    }
}

enum Failed {
    /// The conditions of the items at these positions failed.
    Condition(Vec<usize>),
    /// Another transaction held an item: plan again.
    Contended,
    Other(StoreError),
}
