//! socket-push: the table's stream, pushed to the sockets that watch each change, with
//! PostToConnection. A chat's customer-side sockets get the customer view of its
//! notifications; each agent the chat tells (domain::push::agent_is_told) gets its own
//! agent view on each of its sockets. Each record is pushed in order, one after another,
//! so a socket sees a chat's changes in the order they were committed.
//!
//! A push is best effort: a socket that is gone (410) is forgotten, any other failed post
//! is logged and skipped, and a client recovers what it missed by index from the
//! transcript. Only a failed read (the chat, its watchers) stops the batch at its record,
//! reported with `ReportBatchItemFailures` so Lambda retries from there.

use std::collections::{BTreeSet, HashMap};

use aws_smithy_types::Blob;
use serde_json::{json, Value};

use crate::app::App;
use crate::domain::connections::{Connection, Viewer, Watched};
use crate::domain::events::{self, Change, Context, Entity, View};
use crate::domain::model::{ChatterActive, ChatterType, Participant};
use crate::domain::push;
use crate::domain::queue;
use crate::store::StoreError;
use crate::stream::{self, chat_context, chat_id_of, NotAStream};

/// Why socket-push stopped a batch.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    NotAStream(#[from] NotAStream),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Who made the change (what a monitoring agent is told of depends on it).
fn actor(change: &Change) -> Option<ChatterType> {
    match change.new.as_ref().or(change.old.as_ref())? {
        Entity::Message(m) => Some(m.chatter_type),
        Entity::Typing(_, t) => Some(t.chatter_type),
        Entity::ReadMark(m) => Some(m.chatter_type),
        Entity::Participant(p) => Some(p.chatter_type),
        Entity::Chat(c) => c.updated_by.as_ref().map(|a| a.chatter_type),
        _ => None,
    }
}

/// The agents told of `change`: those the chat's participants say, and an agent whose own
/// participation changed (it hears that it left, or was invited).
fn agents_told(change: &Change, participants: &[Participant]) -> BTreeSet<String> {
    let actor = actor(change);
    let mut agents: BTreeSet<String> =
        participants.iter().filter(|p| push::agent_is_told(p, actor)).map(|p| p.chatter_id.clone()).collect();
    for side in [&change.old, &change.new] {
        if let Some(Entity::Participant(p)) = side {
            if p.chatter_type == ChatterType::User {
                agents.insert(p.chatter_id.clone());
            }
        }
    }
    agents
}

/// The Lambda handler for the table's stream (the second consumer, beside the publisher).
pub async fn handle(app: &App, event: Value) -> Result<Value, PushError> {
    let mut chats: HashMap<String, Context> = HashMap::new();
    let mut pushed = 0;
    for record in stream::records(event)? {
        let sequence = record.change.sequence_number.clone();
        let outcome = match stream::change(record, app) {
            Ok(change) => push_change(app, &change, &mut chats).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(n) => pushed += n,
            Err(e) => {
                let failures = stream::retry_from(sequence, PushError::Store(e))?;
                return Ok(json!({ "pushed": pushed, "batchItemFailures": failures }));
            }
        }
    }
    Ok(json!({ "pushed": pushed, "batchItemFailures": [] }))
}

/// The customer or visitor whose participation ended with this change (it left, or was
/// removed): its sockets are closed once they are told.
fn chatter_gone(change: &Change) -> Option<(ChatterType, String)> {
    match (&change.old, &change.new) {
        (Some(Entity::Participant(p)), None) => Some(p),
        (Some(Entity::Participant(o)), Some(Entity::Participant(p)))
            if p.chatter_active == ChatterActive::Left && o.chatter_active != ChatterActive::Left =>
        {
            Some(p)
        }
        _ => None,
    }
    .filter(|p| p.chatter_type.is_customer())
    .map(|p| (p.chatter_type, p.chatter_id.clone()))
}

/// The chatter a participant record is about.
fn subject(change: &Change) -> Option<(ChatterType, &str)> {
    match change.new.as_ref().or(change.old.as_ref())? {
        Entity::Participant(p) => Some((p.chatter_type, p.chatter_id.as_str())),
        _ => None,
    }
}

/// Pushes one change to every socket that watches it; how many posts succeeded.
async fn push_change(app: &App, change: &Change, chats: &mut HashMap<String, Context>) -> Result<usize, StoreError> {
    let Some(chat_id) = chat_id_of(change) else { return Ok(0) };
    if !chats.contains_key(&chat_id) {
        chats.insert(chat_id.clone(), chat_context(app, &chat_id).await?);
    }
    let Some(mut ctx) = chats.get(&chat_id).filter(|c| c.chat.is_some()).cloned() else { return Ok(0) };
    let mut audiences = vec![(Watched::Chat(chat_id.clone()), View::Customer)];
    audiences.extend(
        agents_told(change, &ctx.participants)
            .into_iter()
            .map(|user_id| (Watched::Agent(user_id.clone()), View::Agent(user_id))),
    );
    let gone = chatter_gone(change);
    let mut pushed = 0;
    for (watched, view) in audiences {
        let customer_side = view == View::Customer;
        ctx.view = view;
        let notes = events::notifications(change, &ctx);
        if notes.is_empty() && !(customer_side && gone.is_some()) {
            continue;
        }
        let mut sockets = app.db.watchers(&watched).await?;
        if customer_side {
            // A socket's chatter must still be in the chat (M1 of docs/security.md's review).
            sockets.retain(|s| push::chatter_is_told(&s.viewer, &ctx.participants, subject(change)));
        }
        let frames: Vec<Vec<u8>> = notes.into_iter().map(|n| push::delivery(n).to_string().into_bytes()).collect();
        let posted = futures_util::future::join_all(sockets.iter().map(|s| post(app, s, &frames))).await;
        pushed += posted.iter().sum::<usize>();
        if let (true, Some((chatter_type, chatter_id))) = (customer_side, &gone) {
            let theirs = sockets.iter().filter(|s| {
                matches!(&s.viewer, Viewer::Chatter { chatter_type: t, chatter_id: id, .. } if t == chatter_type && id == chatter_id)
            });
            futures_util::future::join_all(theirs.map(|s| close(app, s))).await;
        }
    }
    Ok(pushed + push_queue_places(app, change).await?)
}

/// How far down a queue places are pushed: a request further back reads its place when its
/// widget asks (`GET /session`, `GET /chats/{chatId}`).
const QUEUE_PUSH_LIMIT: usize = 100;

/// A request that left or joined a queue moves the requests that arrived after it: each
/// is pushed its new place and wait (`QueuePositionUpdated`). Per queue the change touched:
/// a count of the requests ahead, a listing of those behind (at most QUEUE_PUSH_LIMIT) and
/// a read of the channel's recent waits, at once; then a watcher Query and a post for each
/// request behind (one, for a request arriving at the back).
async fn push_queue_places(app: &App, change: &Change) -> Result<usize, StoreError> {
    let chat = |e: &Option<Entity>| match e {
        Some(Entity::Chat(c)) => Some(c.clone()),
        _ => None,
    };
    let (old, new) = (chat(&change.old), chat(&change.new));
    let mut pushed = 0;
    for (channel, since) in queue::reordered(old.as_ref(), new.as_ref()) {
        let now = app.clock.epoch_secs();
        let (ahead, behind, recent) = tokio::try_join!(
            app.db.requests_before(&channel, &since),
            app.db.requests_from(&channel, &since, QUEUE_PUSH_LIMIT),
            app.db.recent_waits(&channel, now)
        )?;
        for (place, c) in (1..).zip(&behind) {
            let position = ahead.saturating_add(place);
            let estimate = queue::estimated_wait(recent, queue::waited(c, now));
            let chat_uri = format!("{}/chats/{}", app.config.events.api_url(None), c.chat_id);
            let frame = push::delivery(queue::position_note(&chat_uri, position, estimate)).to_string().into_bytes();
            let sockets = app.db.watchers(&Watched::Chat(c.chat_id.clone())).await?;
            let frames = [frame];
            let posted = futures_util::future::join_all(sockets.iter().map(|s| post(app, s, &frames))).await;
            pushed += posted.iter().sum::<usize>();
        }
    }
    Ok(pushed)
}

/// How long a writer spends pushing its own change before it answers: what it has not
/// posted by then, the stream's push brings a moment later.
pub const FAST_PUSH_BUDGET: std::time::Duration = std::time::Duration::from_millis(150);

/// The fast path: the function that committed `messages` to a chat posts them to the
/// sockets watching it at once, from the state it planned them on, instead of waiting
/// for the table's stream (which Lambda reads about four times a second). The stream's
/// push stays the backstop and sends them again; clients drop what they have by index.
/// Best effort within FAST_PUSH_BUDGET; nothing here fails the request. `reached`: the
/// API's URL as the request came by (the writer is not told the API's own).
pub async fn fast(
    app: &App,
    state: &crate::domain::model::ChatState,
    messages: &[crate::domain::model::Message],
    reached: Option<&str>,
) {
    if !app.config.events.fast_push || messages.is_empty() {
        return;
    }
    let ctx = stream::context(app, Some(state.chat.clone()), state.participants.clone(), reached);
    let work = async {
        let mut chats = HashMap::from([(state.chat.chat_id.clone(), ctx)]);
        for m in messages {
            let change = Change {
                id: format!("fast:{}", m.message_id),
                old: None,
                new: Some(Entity::Message(m.clone())),
                at: m.create_time.clone(),
            };
            if let Err(e) = push_change(app, &change, &mut chats).await {
                tracing::warn!(error = %e, "fast push stopped; the stream's push follows");
                return;
            }
        }
    };
    if tokio::time::timeout(FAST_PUSH_BUDGET, work).await.is_err() {
        tracing::info!("fast push out of time; the stream's push follows");
    }
}

/// Closes a socket whose chatter's access ended, and forgets it.
async fn close(app: &App, socket: &Connection) {
    let closed = app.sockets.delete_connection().connection_id(&socket.connection_id).send().await;
    if let Err(e) = closed.as_ref().map_err(|e| aws_smithy_types::error::display::DisplayErrorContext(e).to_string()) {
        tracing::warn!(
            error = e.as_str(),
            connection = socket.connection_id,
            "socket not closed; it is no longer pushed to"
        );
    }
    if let Err(e) = app.db.delete_connection(&socket.connection_id).await {
        tracing::warn!(error = %e, "closed connection not removed; its TTL will");
    }
}

/// Posts `frames` to one socket, in order; forgets the socket if API Gateway says it is gone.
async fn post(app: &App, socket: &Connection, frames: &[Vec<u8>]) -> usize {
    let mut posted = 0;
    for frame in frames {
        let sent = app
            .sockets
            .post_to_connection()
            .connection_id(&socket.connection_id)
            .data(Blob::new(frame.clone()))
            .send()
            .await;
        match sent {
            Ok(_) => posted += 1,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_gone_exception()) => {
                if let Err(e) = app.db.delete_connection(&socket.connection_id).await {
                    tracing::warn!(error = %e, "gone connection not removed; its TTL will");
                }
                return posted;
            }
            Err(e) => {
                let error = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
                tracing::warn!(error, connection = socket.connection_id, "push failed; the client recovers by index");
                return posted;
            }
        }
    }
    posted
}
