//! Messages: ChatMessageAdd, ChatMessageList (poll, history, first/last), ChatMessageGet;
//! and the widget's sendCustomNotice, sendFilteredMessage, sendTyping, getTranscript.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::participants::masking;
use crate::app::App;
use crate::domain::caller::Identity;
use crate::domain::error::{DomainError, Kind};
use crate::domain::model::{ChatState, Message, MessageType, Typing};
use crate::domain::plan::RateLimit;
use crate::domain::policy;
use crate::domain::transitions::{self, PostMessage};
use crate::domain::validate;
use crate::error::ApiError;
use crate::http::{HandlerResult, Request, Response};
use crate::store::StoreError;

/// How long a typing notice lasts unless repeated.
const TYPING_SECS: i64 = 6;

/// A message as the caller may see it, or `None` if it may not: customers never see
/// internal messages nor filtered ones (sendFilteredMessage), agents never see
/// customer-only ones; customers see agents under the generic name when masking is on.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    #[serde(flatten)]
    pub message: Message,
}

pub fn visible(
    app: &App,
    viewer: &Identity,
    state: &ChatState,
    m: &Message,
    exclude_internal: bool,
    exclude_customer: bool,
) -> Option<MessageView> {
    let customer_viewer = !viewer.is_agent();
    if (m.internal && (customer_viewer || exclude_internal))
        || (m.customer && (!customer_viewer || exclude_customer))
        || (customer_viewer && m.hidden_by_filter())
    {
        return None;
    }
    let masking = masking(app, viewer, &state.participants);
    if !masking.shows_message(m) {
        return None;
    }
    Some(shown(app, viewer, state, m))
}

/// A message as the viewer is shown it: agents' names masked for customers, and the filter
/// (which text agents alone see) withheld from them.
fn shown(app: &App, viewer: &Identity, state: &ChatState, m: &Message) -> MessageView {
    let mut shown = masking(app, viewer, &state.participants).message(m);
    if !viewer.is_agent() {
        shown.filter = None;
    }
    // The audit trail of an edited or withdrawn message: agents ask for it (`?history=1`).
    shown.versions.clear();
    MessageView { message: shown }
}

/// The answer to the message's author: what it posted, even where it is hidden from its
/// author's side (an agent's customer-only message, a customer's filtered one), since the
/// author wrote it. Found by `make fuzz`: such a post was answered `{"message": null}`.
pub fn posted(app: &App, author: &Identity, state: &ChatState, m: &Message) -> MessageView {
    visible(app, author, state, m, false, false).unwrap_or_else(|| shown(app, author, state, m))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("not" = {
    "required": ["internal", "customer"],
    "properties": { "internal": { "const": true }, "customer": { "const": true } }
}))]
pub struct AddMessage {
    #[schemars(length(min = 1, max = 3800), regex(pattern = validate::NOT_BLANK_PATTERN))]
    text: String,
    /// Agents only: a note other agents see, never the customer (not with `customer`).
    #[serde(default)]
    internal: bool,
    /// Only the customer sees it (not with `internal`).
    #[serde(default)]
    customer: bool,
    /// The client's id of this message: a repeat answers the message it made the first time.
    #[schemars(length(min = 1, max = 128), regex(pattern = validate::ID_PATTERN))]
    client_message_id: Option<String>,
    /// sendFilteredMessage: a regular expression; where it matches the text, the message is
    /// hidden from customers (the agent sees it).
    #[schemars(length(max = crate::domain::filter::MAX_FILTER_CHARS), extend("format" = "regex"))]
    filter: Option<String>,
    /// A reference of the client's, echoed by the notification vocabulary (`referenceId`;
    /// also taken from an `X-Reference-Id` header).
    #[schemars(length(min = 1, max = 128), regex(pattern = validate::ID_PATTERN))]
    reference_id: Option<String>,
    /// ChatMessageAdd's SystemGenerated: shown as the service's message; for integrators
    /// (the `integrator` or `admin` role), in any open chat.
    #[serde(default)]
    system_generated: bool,
}

/// Appends a text or notice from the caller, once per `clientMessageId`.
async fn post(app: &App, req: &Request, kind: MessageType, body: AddMessage) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    if body.text.trim().is_empty() {
        return Err(ApiError::bad_request("No message text provided."));
    }
    validate::text("text", &body.text, validate::MAX_TEXT_CHARS)?;
    if !ident.is_agent() && body.internal {
        return Err(ApiError::forbidden("customers cannot post internal messages"));
    }
    if body.internal && body.customer {
        // Hidden from customers and from agents: nobody could read it.
        return Err(ApiError::bad_request(
            "a message is internal (agents only) or customer (the customer only), not both",
        ));
    }
    if let Some(id) = &body.client_message_id {
        validate::id("clientMessageId", id)?;
    }
    // Genesys' referenceId: a header, or a field of the body.
    let reference_id = match body.reference_id.clone() {
        Some(reference) => {
            validate::id("referenceId", &reference)?;
            Some(reference)
        }
        None => req.reference()?.map(str::to_string),
    };
    let cmd = PostMessage {
        kind,
        text: body.text,
        internal: body.internal,
        customer: body.customer,
        client_message_id: body.client_message_id,
        filter: body.filter,
        reference_id,
        rate: RateLimit { limit: app.config.customer_messages_per_minute, window_secs: 60 },
        system_generated: body.system_generated,
    };
    let result =
        app.db.apply(chat_id, |state| transitions::post_message(state, &ident, &cmd, &app.clock.moment())).await;
    let (state, message) = match result {
        Ok((state, mut messages)) => {
            crate::push::fast(app, &state, &messages, req.api_url.as_deref()).await;
            (state, messages.pop().ok_or_else(ApiError::internal)?)
        }
        Err(StoreError::Refused(DomainError { kind: Kind::Duplicate, .. })) => {
            return replay(app, &ident, chat_id, cmd.client_message_id.as_deref().unwrap_or_default()).await
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Response::created(&json!({ "message": posted(app, &ident, &state, &message) })))
}

/// The message a repeated `clientMessageId` produced the first time.
async fn replay(app: &App, ident: &Identity, chat_id: &str, client_id: &str) -> HandlerResult {
    let record = app
        .db
        .idempotency_record(chat_id, ident.chatter_type(), ident.chatter_id(), client_id)
        .await?
        .ok_or_else(ApiError::internal)?;
    let message = app.db.message(chat_id, record.index, true).await?.ok_or_else(ApiError::internal)?;
    let state = super::chat_state(app, chat_id).await?;
    Ok(Response::created(&json!({ "message": posted(app, ident, &state, &message) })))
}

/// `POST /chats/{chatId}/messages` (ChatMessageAdd, sendMessage, sendFilteredMessage).
pub async fn add(app: &App, req: Request) -> HandlerResult {
    let body: AddMessage = req.json()?;
    post(app, &req, MessageType::Text, body).await
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddNotice {
    #[schemars(length(min = 1, max = 3800), regex(pattern = validate::NOT_BLANK_PATTERN))]
    message: String,
    #[schemars(length(min = 1, max = 128), regex(pattern = validate::ID_PATTERN))]
    client_message_id: Option<String>,
}

/// `POST /chats/{chatId}/notices` (sendCustomNotice): a `Notice` entry in the transcript.
pub async fn notice(app: &App, req: Request) -> HandlerResult {
    let body: AddNotice = req.json()?;
    let as_message = AddMessage {
        text: body.message,
        internal: false,
        customer: false,
        client_message_id: body.client_message_id,
        filter: None,
        reference_id: None,
        system_generated: false,
    };
    post(app, &req, MessageType::Notice, as_message).await
}

/// The most messages one page holds: a widget's `maxMessagePageSize` may ask for more than a
/// hundred (the seed's default is 100). A page is also cut at DynamoDB's 1 MB per Query;
/// `nextCursor` goes on from there.
pub const MAX_MESSAGE_PAGE: usize = 1000;

/// `limit` of a message page: 1 to MAX_MESSAGE_PAGE, default 100.
fn message_page_limit(req: &Request) -> Result<usize, ApiError> {
    match req.query("limit") {
        None => Ok(100),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_MESSAGE_PAGE).contains(n))
            .ok_or_else(|| ApiError::bad_request(format!("limit must be between 1 and {MAX_MESSAGE_PAGE}"))),
    }
}

fn index_param(req: &Request, name: &str) -> Result<Option<u64>, ApiError> {
    req.query(name)
        .map(|v| {
            v.parse::<u64>()
                .ok()
                .filter(|n| *n < 10_000_000_000)
                .ok_or_else(|| ApiError::bad_request(format!("{name} must be a message index")))
        })
        .transpose()
}

/// Typing entries of others that have not lapsed, as the caller may see them.
fn typing_view(app: &App, viewer: &Identity, state: &ChatState) -> Vec<serde_json::Value> {
    let now = app.clock.epoch_secs();
    state
        .typing
        .iter()
        .filter(|t| t.typing && t.expires_at > now && !(t.chatter_type == viewer.chatter_type() && t.chatter_id == viewer.chatter_id()))
        .filter(|t| viewer.is_agent() || !t.chatter_type.is_customer())
        .map(|t| {
            let mut entry = json!({
                "chatterType": t.chatter_type,
                "chatterName": masking(app, viewer, &state.participants).name(t.chatter_type, &t.chatter_id, &t.chatter_name, None),
            });
            if let (true, Some(text), Some(map)) = (viewer.is_agent(), &t.text, entry.as_object_mut()) {
                map.insert("text".into(), json!(text));
            }
            entry
        })
        .collect()
}

/// How far the others in the chat have read, as the caller may see them (a polling
/// widget's "seen" marks; pushed clients get them as MessagesRead).
fn read_marks_view(app: &App, viewer: &Identity, state: &ChatState) -> Vec<serde_json::Value> {
    let shown = masking(app, viewer, &state.participants);
    state
        .read_marks
        .iter()
        .filter(|m| !(m.chatter_type == viewer.chatter_type() && m.chatter_id == viewer.chatter_id()))
        .filter_map(|m| state.participant(m.chatter_type, &m.chatter_id).map(|p| (m, p)))
        .filter(|(_, p)| shown.shows(p.chatter_type, &p.chatter_id))
        .map(|(m, p)| {
            let p = shown.participant(p);
            json!({
                "chatterType": p.chatter_type, "chatterId": p.chatter_id, "chatterName": p.chatter_name,
                "lastReadIndex": m.last_read_index,
            })
        })
        .collect()
}

/// `GET /chats/{chatId}/messages` (ChatMessageList). `after` is the widget's poll: one
/// Query on the chat's partition from that index. `before` pages back through history.
pub async fn list(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let limit = message_page_limit(&req)?;
    let after = index_param(&req, "after")?;
    // LastKnownChatMessageID: the id of a message this API handed out.
    let known = req
        .query("lastKnownChatMessageId")
        .map(|id| {
            Message::index_of(chat_id, id)
                .ok_or_else(|| ApiError::bad_request("lastKnownChatMessageId is not a message id of this chat"))
        })
        .transpose()?;
    let before = index_param(&req, "before")?;
    let first = req.query_flag("first")?;
    let last = req.query_flag("last")?;
    let exclude_internal = req.query_flag("excludeInternal")?;
    let exclude_customer = req.query_flag("excludeCustomer")?;
    if after.is_some() && known.is_some() {
        return Err(ApiError::bad_request("give after or lastKnownChatMessageId, not both"));
    }
    let after = after.or(known);
    // The seed combines LastKnownChatMessageID with FirstMessage / LastMessage: the first
    // or last text message after the known one.
    // `after` with `before` is the range between them; first and last each read on from
    // `after`, so neither goes with `before`, nor with each other.
    if (first || last) && before.is_some() || first && last {
        return Err(ApiError::bad_request("first or last reads on from after: give neither before nor the other"));
    }
    let not_found = || ApiError::not_found("chat not found");

    let (state, scanned, next) = if first || last {
        let state = app.db.load_state(chat_id, false).await?.ok_or_else(not_found)?;
        policy::can_read(&ident, &state)?;
        let from = after.unwrap_or(0) + 1;
        let found = text_message(app, &ident, &state, from, last, exclude_internal, exclude_customer).await?;
        (state, found.into_iter().collect(), None)
    } else if let Some(before) = before {
        let state = app.db.load_state(chat_id, false).await?.ok_or_else(not_found)?;
        policy::can_read(&ident, &state)?;
        let from = after.unwrap_or(0) + 1;
        let (mut page, more) = app.db.messages(chat_id, from, before.saturating_sub(1), limit, true).await?;
        page.reverse();
        // History reads back: what does not fit the answer is the oldest.
        let cut = page.len() - super::fitting(page.iter().rev(), super::PAGE_BYTES).max(1).min(page.len());
        page.drain(..cut);
        let next = if more || cut > 0 { page.first().map(|m| m.index.to_string()) } else { None };
        (state, page, next)
    } else {
        let after = after.unwrap_or(0);
        let (state, mut page, more) = app.db.poll(chat_id, after, limit).await?.ok_or_else(not_found)?;
        policy::can_read(&ident, &state)?;
        let fits = super::fitting(page.iter(), super::PAGE_BYTES).max(1);
        let cut = fits < page.len();
        page.truncate(fits);
        let next = if more || cut { page.last().map(|m| m.index.to_string()) } else { None };
        (state, page, next)
    };
    // A waiting customer's poll carries its place in the queue when it asks (`place=1`: the
    // widget does every ten seconds or so, not on every poll; agents see the queue itself).
    let place =
        if ident.is_agent() || !req.query_flag("place")? { None } else { super::queue_place(app, &state.chat).await? };
    let last_index = scanned.iter().map(|m| m.index).max().unwrap_or(after.unwrap_or(0));
    let messages: Vec<MessageView> =
        scanned.iter().filter_map(|m| visible(app, &ident, &state, m, exclude_internal, exclude_customer)).collect();
    Ok(Response::ok(&json!({
        "messages": messages,
        "lastIndex": last_index,
        "nextCursor": next,
        "chatStatus": state.chat.status,
        "typing": typing_view(app, &ident, &state),
        "readMarks": read_marks_view(app, &ident, &state),
        "revision": state.revision,
        "queuePosition": place.map(|p| p.0),
        "estimatedWaitSeconds": place.and_then(|p| p.1),
    })))
}

/// How many pages of 50 FirstMessage / LastMessage read at most: a customer cannot see
/// agents' notes, and a tail of them must not make one request read a whole transcript.
const MAX_SCAN_PAGES: usize = 10;

/// FirstMessage / LastMessage: the first or last text message from index `from` on that
/// the caller may see, among the first (or last) 500 messages of that range.
async fn text_message(
    app: &App,
    ident: &Identity,
    state: &ChatState,
    from: u64,
    newest: bool,
    exclude_internal: bool,
    exclude_customer: bool,
) -> Result<Option<Message>, ApiError> {
    let (mut from, mut to) = (from, state.last_index);
    for _ in 0..MAX_SCAN_PAGES {
        if from > to {
            break;
        }
        let (page, _) = app.db.messages(&state.chat.chat_id, from, to, 50, newest).await?;
        let Some(edge) = page.last().map(|m| m.index) else { return Ok(None) };
        if let Some(m) = page.into_iter().find(|m| {
            m.kind == MessageType::Text && visible(app, ident, state, m, exclude_internal, exclude_customer).is_some()
        }) {
            return Ok(Some(m));
        }
        if newest {
            to = edge.saturating_sub(1);
        } else {
            from = edge + 1;
        }
    }
    Ok(None)
}

/// `GET /chats/{chatId}/messages/{messageId}` (ChatMessageGet).
pub async fn get(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let message_id = req.param("messageId")?;
    let index =
        Message::index_of(chat_id, message_id).ok_or_else(|| ApiError::not_found("no such message in this chat"))?;
    let state = super::chat_state(app, chat_id).await?;
    policy::can_read(&ident, &state)?;
    let message = app.db.message(chat_id, index, false).await?.ok_or_else(|| ApiError::not_found("no such message"))?;
    let mut view =
        visible(app, &ident, &state, &message, false, false).ok_or_else(|| ApiError::not_found("no such message"))?;
    if req.query_flag("history")? {
        if !ident.is_agent() {
            return Err(ApiError::forbidden("a message's history is for agents"));
        }
        view.message.versions = message.versions;
    }
    Ok(Response::ok(&json!({ "message": view })))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessage {
    /// The new text (1–3800 characters).
    #[schemars(length(min = 1, max = 3800))]
    text: String,
}

/// `PATCH` and `DELETE /chats/{chatId}/messages/{messageId}`: its author edits or withdraws
/// a text message within MESSAGE_EDIT_SECONDS; the chat's Owner may withdraw any. Answers
/// the message as the caller now sees it.
async fn change(app: &App, req: &Request, change: transitions::MessageChange) -> Result<MessageView, ApiError> {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let index = Message::index_of(chat_id, req.param("messageId")?)
        .ok_or_else(|| ApiError::not_found("no such message in this chat"))?;
    let state = super::chat_state(app, chat_id).await?;
    // Who is no party learns nothing of the message (its planner refuses it too).
    policy::can_read(&ident, &state)?;
    let message = app.db.message(chat_id, index, true).await?.ok_or_else(|| ApiError::not_found("no such message"))?;
    // What the caller cannot see, it cannot change (nor learn that it exists).
    visible(app, &ident, &state, &message, false, false).ok_or_else(|| ApiError::not_found("no such message"))?;
    let now = app.clock.moment();
    let plan = transitions::change_message(&state, &ident, &message, &change, app.config.message_edit_secs, &now)?;
    app.db.commit_writes(&plan.writes).await?;
    let changed = app.db.message(chat_id, index, true).await?.ok_or_else(|| ApiError::not_found("no such message"))?;
    Ok(shown(app, &ident, &state, &changed))
}

/// `PATCH /chats/{chatId}/messages/{messageId}` {"text"}: an edit.
pub async fn edit(app: &App, req: Request) -> HandlerResult {
    let body: EditMessage = req.json()?;
    let view = change(app, &req, transitions::MessageChange::Edit(body.text)).await?;
    Ok(Response::ok(&json!({ "message": view })))
}

/// `DELETE /chats/{chatId}/messages/{messageId}`: a withdrawal, leaving a tombstone.
pub async fn delete(app: &App, req: Request) -> HandlerResult {
    change(app, &req, transitions::MessageChange::Delete).await?;
    Ok(Response::no_content())
}

/// `GET /chats/{chatId}/transcript?cursor=&pageSize=` (getTranscript): the transcript in
/// pages of at most MAX_MESSAGE_PAGE (100 by default), oldest first.
pub async fn transcript(app: &App, mut req: Request) -> HandlerResult {
    let size = req.query("pageSize").unwrap_or("100").to_string();
    req.query.insert("limit".into(), size);
    if let Some(cursor) = req.query("cursor").map(str::to_string) {
        req.query.insert("after".into(), cursor);
    }
    for key in ["before", "first", "last", "cursor", "pageSize"] {
        req.query.remove(key);
    }
    list(app, req).await
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SetTyping {
    typing: bool,
    /// The text typed so far: a preview agents see (customers never see one).
    text: Option<String>,
}

/// `POST /chats/{chatId}/typing` (sendTyping): seen by the other side's next poll, lapses
/// by itself after a few seconds, never enters the transcript.
pub async fn typing(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let body: SetTyping = req.json()?;
    if let Some(text) = &body.text {
        validate::text("text", text, validate::MAX_TEXT_CHARS)?;
    }
    let state = super::chat_state(app, chat_id).await?;
    let entry = Typing {
        chatter_id: ident.chatter_id().to_string(),
        chatter_type: ident.chatter_type(),
        chatter_name: ident.name().to_string(),
        typing: body.typing,
        expires_at: app.clock.epoch_secs() + TYPING_SECS,
        text: body.text.filter(|t| body.typing && !t.is_empty()),
    };
    let rate = RateLimit { limit: app.config.customer_messages_per_minute, window_secs: 60 };
    let plan = transitions::set_typing(&state, &ident, entry, rate, &app.clock.moment())?;
    app.db.commit_writes(&plan.writes).await?;
    Ok(Response::no_content())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct MarkRead {
    /// The index of the last message the caller has seen (0: none yet).
    index: u64,
}

/// `POST /chats/{chatId}/read` (a read receipt): any party of the chat marks how far it
/// has read; its mark never moves backwards, and the chat's other parties are pushed it.
/// Answers the caller's mark. A consistent read: a message just pushed must count.
pub async fn read(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let body: MarkRead = req.json()?;
    let state = app.db.load_state(chat_id, true).await?.ok_or_else(|| ApiError::not_found("chat not found"))?;
    let (plan, mark) = transitions::mark_read(&state, &ident, body.index, &app.clock.moment())?;
    match app.db.commit_writes(&plan.writes).await {
        // A racing mark of the same chatter went further: this one's work is done.
        Err(StoreError::Refused(e)) if e.message == transitions::READ_FURTHER => {}
        other => other?,
    }
    Ok(Response::ok(&json!({ "lastReadIndex": mark })))
}
