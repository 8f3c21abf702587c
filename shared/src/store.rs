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

use crate::domain::error::DomainError;
use crate::domain::events::Entity;
use crate::domain::model::{
    entity, Availability, ChannelAgent, Chat, ChatState, ChatStatus, ChatterType, Connection, FileUpload, Flag,
    LoggedEvent, Message, Participant, Presence, Typing, Watched, Webhook, WebhookDelivery,
};
use crate::domain::plan::{Guarded, Plan, Write};
use crate::keys;
use crate::time::Clock;

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

/// Index keys of a chat record, derived from its fields (so they never drift).
pub fn chat_index_keys(chat: &Chat) -> Vec<(&'static str, String)> {
    if chat.deleted {
        // Listed nowhere but in the purge queue.
        return vec![
            ("GSI1PK", keys::deleted_pk(&chat.chat_id)),
            ("GSI1SK", keys::chat_time_sk(&chat.update_time, &chat.chat_id)),
        ];
    }
    vec![
        ("GSI1PK", keys::status_pk(chat.status, &chat.chat_id)),
        // Open chats by creation (the queue's order); closed ones by closing time, for cleanup.
        (
            "GSI1SK",
            keys::chat_time_sk(
                if chat.status == ChatStatus::Closed { &chat.update_time } else { &chat.create_time },
                &chat.chat_id,
            ),
        ),
        ("GSI2PK", keys::channel_chats_pk(&chat.channel_id, &chat.chat_id)),
        ("GSI2SK", keys::chat_status_time_sk(chat.status, &chat.create_time, &chat.chat_id)),
        ("GSI3PK", keys::type_pk(chat.requester_type, chat.target_type, &chat.chat_id)),
        ("GSI3SK", keys::chat_status_time_sk(chat.status, &chat.create_time, &chat.chat_id)),
    ]
}

/// Index keys of a participant: the chats of a chatter, and, while its chat is open and it
/// is active in it, the online customers.
pub fn participant_index_keys(p: &Participant, chat_open: bool) -> Vec<(&'static str, String)> {
    let pending = p.invitation && p.chatter_active == 0;
    let mut keys = vec![
        ("GSI1PK", keys::chatter_pk(p.chatter_type, &p.chatter_id)),
        ("GSI1SK", keys::chatter_sk(p.chatter_active, pending, &p.create_time, &p.chat_id)),
    ];
    // Known customers only: a Public visitor is nobody's online customer.
    if chat_open && p.chatter_type == ChatterType::Customer && p.is_active() && !p.unverified {
        keys.push(("GSI2PK", keys::online_customer_pk(&p.chatter_id)));
        keys.push(("GSI2SK", keys::online_customer_sk(&p.chatter_id, &p.chat_id)));
    }
    keys
}

pub fn chat_item(chat: &Chat) -> StoreResult<Item> {
    to_item(keys::chat_pk(&chat.chat_id), keys::CHAT_SK.into(), entity::CHAT, &chat_index_keys(chat), chat)
}

pub fn message_item(m: &Message) -> StoreResult<Item> {
    to_item(keys::chat_pk(&m.chat_id), keys::message_sk(m.index), entity::MESSAGE, &[], m)
}

pub fn participant_item(p: &Participant, chat_open: bool) -> StoreResult<Item> {
    to_item(
        keys::chat_pk(&p.chat_id),
        keys::participant_sk(p.chatter_type, &p.chatter_id),
        entity::PARTICIPANT,
        &participant_index_keys(p, chat_open),
        p,
    )
}

/// The state items of a chat partition, gathered from whichever query read them.
#[derive(Default)]
struct StateParts {
    chat: Option<Chat>,
    participants: Vec<Participant>,
    typing: Vec<Typing>,
    last_index: u64,
    last_message_time: Option<String>,
}

impl StateParts {
    /// Takes a chat record, participant or typing item; anything else is not state.
    fn add(&mut self, item: Item) -> StoreResult<()> {
        match entity_type(&item) {
            Some(entity::CHAT) => self.chat = Some(from_item(item)?),
            Some(entity::PARTICIPANT) => self.participants.push(from_item(item)?),
            Some(entity::TYPING) => self.typing.push(from_item(item)?),
            _ => {}
        }
        Ok(())
    }

    fn into_state(self) -> Option<ChatState> {
        let StateParts { chat, participants, typing, last_index, last_message_time } = self;
        chat.map(|chat| ChatState { chat, participants, typing, last_index, last_message_time })
    }
}

/// How long a lapsed presence is kept before DynamoDB's TTL deletes it: the cleanup must
/// see it first, to take it out of its channels' counts.
const PRESENCE_KEPT_SECS: i64 = 24 * 3600;

/// How many times writes are tried again while other transactions hold their items.
const MAX_CONTENDED_ATTEMPTS: u32 = 10;

/// How many times a change is re-planned when another writer took the transcript slot.
const MAX_ATTEMPTS: u32 = 60;

#[derive(Clone, Serialize, Deserialize)]
struct Cursor {
    /// Which of the planned queries to resume.
    q: usize,
    /// Its LastEvaluatedKey (all our keys are strings).
    k: HashMap<String, String>,
}

fn encode_cursor(q: usize, key: &Item) -> Option<String> {
    let k = key.iter().map(|(n, v)| Some((n.clone(), v.as_s().ok()?.clone()))).collect::<Option<_>>()?;
    let json = serde_json::to_vec(&Cursor { q, k }).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
}

fn decode_cursor(cursor: &str) -> StoreResult<Cursor> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| StoreError::Refused(DomainError::invalid("invalid cursor")))
}

/// Sort key condition of one planned query.
#[derive(Debug, Clone)]
pub enum SortKey {
    Any,
    BeginsWith(String),
    Before(String),
    Between(String, String),
}

/// One Query on an index, part of a list that may span several partitions.
#[derive(Debug, Clone)]
pub struct IndexQuery {
    pub index: &'static str,
    pub pk: String,
    pub sk: SortKey,
}

/// An item of a sharded list, with its index key (the index's keys and the table's).
struct Keyed {
    key: Item,
    item: Item,
}

/// The index key of `item` in `index` (a cursor's position).
fn index_key(item: &Item, index: &str) -> Item {
    let names = [format!("{index}PK"), format!("{index}SK"), "PK".to_string(), "SK".to_string()];
    names.into_iter().filter_map(|n| Some((n.clone(), item.get(&n)?.clone()))).collect()
}

fn sort_key(key: &Item, index: &str) -> String {
    key.get(&format!("{index}SK")).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
}

/// Where `query` starts after `key` (the last item read, maybe in another shard): the
/// same sort key and table key, in `query`'s own partition. Sort keys end with the chat
/// id, so a position is the same in every shard.
fn start_in(query: &IndexQuery, key: &Item) -> StoreResult<Item> {
    let mut start = index_key(key, query.index);
    if start.len() != 4 {
        return Err(StoreError::Refused(DomainError::invalid("invalid cursor")));
    }
    start.insert(format!("{}PK", query.index), s(query.pk.clone()));
    Ok(start)
}

/// The shards' pages merged by sort key, up to the first place a shard stopped before its
/// end (past it, that shard may hold items not read yet), and that place, if any.
fn merge_shards(pages: Vec<(Vec<Item>, Option<Item>)>, index: &str) -> (Vec<Keyed>, Option<Item>) {
    let horizon = pages
        .iter()
        .filter_map(|(_, last)| last.as_ref())
        .min_by_key(|key| sort_key(key, index))
        .map(|key| index_key(key, index));
    let limit = horizon.as_ref().map(|key| sort_key(key, index));
    let mut merged: Vec<Keyed> = pages
        .into_iter()
        .flat_map(|(items, _)| items)
        .map(|item| Keyed { key: index_key(&item, index), item })
        .filter(|k| limit.as_ref().is_none_or(|l| sort_key(&k.key, index) <= *l))
        .collect();
    merged.sort_by_cached_key(|k| sort_key(&k.key, index));
    (merged, horizon)
}

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
    async fn all_pages(
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
    async fn query_from(&self, chat_id: &str, sk: &str) -> StoreResult<Vec<Item>> {
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
                    event: m.event,
                    filter: m.filter,
                    filtered: m.filtered,
                    reference_id: m.reference_id,
                    file: m.file,
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
                Ok(()) => return Ok((state, messages)),
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
    async fn commit(&self, mut items: Vec<TransactWriteItem>) -> Result<(), Failed> {
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

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), Failed> {
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

    /// The requests of planned writes, in order.
    fn requests(&self, writes: &[Guarded]) -> StoreResult<Vec<TransactWriteItem>> {
        writes.iter().map(|w| self.request(&w.write)).collect()
    }

    /// The one place a planned write becomes a DynamoDB request, with its condition.
    fn request(&self, write: &Write) -> StoreResult<TransactWriteItem> {
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
    fn bounded_count(
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

    fn put_new(&self, item: Item) -> StoreResult<TransactWriteItem> {
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
    fn put_participant(&self, p: &Participant, existed: bool, chat_open: bool) -> StoreResult<TransactWriteItem> {
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
    fn put_presence(&self, p: &Presence, seen: Option<&str>) -> StoreResult<TransactWriteItem> {
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
    fn put_channel_agent(&self, agent: &ChannelAgent) -> StoreResult<TransactWriteItem> {
        let (pk, sk) = (keys::channel_pk(&agent.channel_id), keys::channel_agent_sk(&agent.user_id));
        let item = to_item(pk, sk, entity::CHANNEL_AGENT, &[], agent)?;
        let put = Put::builder().table_name(&self.table).set_item(Some(item)).build().map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Takes an agent's listing out of a channel (nothing to do if it is not there).
    fn delete_channel_agent(&self, channel_id: &str, user_id: &str) -> StoreResult<TransactWriteItem> {
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::channel_pk(channel_id)))
            .key(keys::SK, s(keys::channel_agent_sk(user_id)))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Adds `delta` to a channel's count of available agents.
    fn count_channel(&self, channel_id: &str, delta: i64) -> StoreResult<TransactWriteItem> {
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
    fn delete_existing(&self, pk: String, sk: String) -> StoreResult<TransactWriteItem> {
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
    fn put_existing(&self, item: Item) -> StoreResult<TransactWriteItem> {
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
    fn update_chat(&self, before: &Chat, after: &Chat) -> StoreResult<TransactWriteItem> {
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

    async fn query_index(
        &self,
        query: &IndexQuery,
        limit: usize,
        start: Option<Item>,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        let pk_name = format!("{}PK", query.index);
        let sk_name = format!("{}SK", query.index);
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(query.index)
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", s(query.pk.clone()))
            .limit(i32::try_from(limit).unwrap_or(100))
            .set_exclusive_start_key(start.filter(|k| !k.is_empty()));
        request = match &query.sk {
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
        };
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
    async fn batch_delete(&self, keys_to_delete: Vec<Item>) -> StoreResult<()> {
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
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> StoreResult<()> {
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
    async fn put(&self, item: Item) -> StoreResult<()> {
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await?;
        Ok(())
    }

    /// An upload handed out in a chat (one GetItem).
    pub async fn file(&self, chat_id: &str, file_id: &str) -> StoreResult<Option<FileUpload>> {
        self.get(keys::chat_pk(chat_id), &keys::file_sk(file_id), true).await
    }

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
    async fn update_webhook(
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

    /// Flags of a chat, by (user, key) (those that exist).
    pub async fn delete_flags(&self, chat_id: &str, flags: &[(String, String)]) -> StoreResult<()> {
        let keys_to_delete = flags.iter().map(|(u, k)| key(keys::chat_pk(chat_id), keys::flag_sk(u, k))).collect();
        self.batch_delete(keys_to_delete).await
    }

    /// The flags of a chat whose sort key starts with `prefix` (see [`keys::flag_sk`]).
    pub async fn chat_flags(&self, chat_id: &str, prefix: &str) -> StoreResult<Vec<Flag>> {
        self.query_prefix(keys::chat_pk(chat_id), prefix).await
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

    /// All items of one index query (every page), deserialised.
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
