//! What is posted: messages, typing notices and files.

use super::*;

/// How long a `clientMessageId` is remembered.
pub const IDEMPOTENCY_SECS: i64 = 24 * 3600;

/// A message posted by a chatter.
#[derive(Debug, Clone)]
pub struct PostMessage {
    pub kind: MessageType,
    pub text: String,
    pub internal: bool,
    pub customer: bool,
    pub client_message_id: Option<String>,
    pub filter: Option<String>,
    /// The client's reference for this request (echoed as `referenceId`).
    pub reference_id: Option<String>,
    /// How many messages a customer or visitor may post (agents are not limited).
    pub rate: RateLimit,
    /// An integrator's system message (ChatMessageAdd's SystemGenerated).
    pub system_generated: bool,
}

/// Plans a message from `ident` (ChatMessageAdd, sendMessage, sendCustomNotice,
/// sendFilteredMessage), remembered by its `clientMessageId` so a retry posts nothing.
pub fn post_message(state: &ChatState, ident: &Identity, cmd: &PostMessage, now: &Moment) -> DomainResult<Plan> {
    if cmd.system_generated {
        policy::can_post_system(ident, state)?;
    } else {
        policy::can_post(ident, state)?;
    }
    // The customer's pattern runs once, here, under limits; reads use the outcome.
    let filtered = cmd.filter.as_deref().map(|f| filter::hides(f, &cmd.text)).transpose()?;
    let mut plan = Plan::default();
    let author = state.chatter(ident.chatter_type(), ident.chatter_id(), ident.name());
    count_customer_message(&mut plan, state, ident, cmd.rate, now);
    if let Some(client_id) = &cmd.client_message_id {
        let record = IdempotencyRecord { index: state.last_index + 1, expires_at: now.epoch_secs + IDEMPOTENCY_SECS };
        let write = Write::Idempotency {
            chat_id: state.chat.chat_id.clone(),
            chatter: author.clone(),
            client_message_id: client_id.clone(),
            record,
        };
        plan.guarded(write, DomainError::duplicate("this clientMessageId was already used"));
    }
    // An integrator's SystemGenerated message is the service's own, for everyone: with
    // MaskAgentName on, customers see its text, not a blank from an invented agent.
    let author = if cmd.system_generated { ChatterType::system_actor() } else { author };
    plan.messages.push(NewMessage {
        kind: if cmd.system_generated { MessageType::System } else { cmd.kind },
        text: cmd.text.clone(),
        author,
        subjects: Vec::new(),
        system_generated: cmd.system_generated,
        internal: cmd.internal,
        customer: cmd.customer,
        event: None,
        filter: cmd.filter.clone(),
        filtered,
        reference_id: cmd.reference_id.clone(),
        file: None,
    });
    Ok(plan)
}

/// How many typing notices a customer may send for each message of its rate: the widget
/// sends at most one a second while its customer types, and one when it stops.
pub const TYPING_PER_MESSAGE: u32 = 4;

/// Plans a typing notice (sendTyping): by one who may post, into an open chat. A customer's
/// notices have a budget of their own, `TYPING_PER_MESSAGE` times its message rate.
pub fn set_typing(
    state: &ChatState,
    ident: &Identity,
    typing: Typing,
    rate: RateLimit,
    now: &Moment,
) -> DomainResult<Plan> {
    policy::can_post(ident, state)?;
    let mut plan = Plan::default();
    if !ident.is_agent() {
        let subject = format!("typing#{}#{}#{}", state.chat.chat_id, ident.chatter_type(), ident.chatter_id());
        let rate = RateLimit { limit: rate.limit.saturating_mul(TYPING_PER_MESSAGE), ..rate };
        plan.rate(subject, rate, now);
    }
    plan.write(Write::Typing { chat_id: state.chat.chat_id.clone(), typing }, "the chat changed meanwhile");
    Ok(plan)
}

/// How many times a message may be edited: its versions stay on its item, whose size
/// DynamoDB bounds.
pub const MAX_EDITS: usize = 5;

/// What `PATCH` or `DELETE /chats/{chatId}/messages/{messageId}` asks of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageChange {
    Edit(String),
    Delete,
}

/// Plans an edit or a withdrawal of message `m`: by its author while it may still post
/// here, within `window_secs` of posting (0: any time); or, a withdrawal only, by the
/// chat's active Owner at any time (moderation). Text messages only, in an open chat; the
/// old text is kept as a version. A racing change of the same message fails its condition.
pub fn change_message(
    state: &ChatState,
    ident: &Identity,
    m: &Message,
    change: &MessageChange,
    window_secs: i64,
    now: &Moment,
) -> DomainResult<Plan> {
    policy::can_read(ident, state)?;
    if m.kind != MessageType::Text || m.system_generated || m.chat_id != state.chat.chat_id {
        return Err(DomainError::invalid("only a text message a chatter posted can be edited or deleted"));
    }
    open(state)?;
    if m.deleted {
        return Err(DomainError::conflict("the message was deleted"));
    }
    let author = m.chatter_type == ident.chatter_type() && m.chatter_id == ident.chatter_id();
    let owner = policy::own(ident, state).is_some_and(|p| p.is_owner() && p.is_active());
    if author {
        policy::can_post(ident, state)?;
        let posted = chrono::DateTime::parse_from_rfc3339(&m.create_time).map_or(0, |t| t.timestamp());
        if window_secs > 0 && now.epoch_secs - posted > window_secs && !(owner && *change == MessageChange::Delete) {
            return Err(DomainError::conflict(format!(
                "a message can be changed for {window_secs} seconds after it is sent"
            )));
        }
    } else if !(owner && *change == MessageChange::Delete) {
        return Err(DomainError::forbidden("only its author changes a message; the chat's Owner may delete one"));
    }
    let text = match change {
        MessageChange::Edit(text) => {
            if text.trim().is_empty() {
                return Err(DomainError::invalid("text must not be empty: delete the message instead"));
            }
            validate::text("text", text, validate::MAX_TEXT_CHARS)?;
            if m.filter.is_some() {
                return Err(DomainError::invalid("a filtered message cannot be edited: delete it and send another"));
            }
            if m.versions.len() >= MAX_EDITS {
                return Err(DomainError::conflict(format!("a message can be edited {MAX_EDITS} times")));
            }
            Some(text.clone())
        }
        MessageChange::Delete => None,
    };
    let mut plan = Plan::default();
    let write = Write::MessageChange {
        chat_id: m.chat_id.clone(),
        index: m.index,
        text,
        previous: m.text.clone(),
        versions: m.versions.len(),
        at: now.stamp.clone(),
        by: ident.chatter_id().to_string(),
    };
    plan.write(write, "the message changed meanwhile");
    plan.write(Write::Revised { chat_id: m.chat_id.clone() }, "the chat changed meanwhile");
    Ok(plan)
}

/// Plans a read receipt: the caller has seen the transcript up to message `index`. A mark
/// never moves backwards: one at or behind the caller's mark plans no write, and the
/// store's condition keeps a racing lower mark from overtaking a higher one. Returns the
/// plan and the caller's mark once it is committed.
pub fn mark_read(state: &ChatState, ident: &Identity, index: u64, now: &Moment) -> DomainResult<(Plan, u64)> {
    policy::can_mark_read(ident, state)?;
    if index > state.last_index {
        return Err(DomainError::invalid(format!(
            "index {index} is past the chat's last message ({})",
            state.last_index
        )));
    }
    let mut plan = Plan::default();
    let known = state.last_read(ident.chatter_type(), ident.chatter_id());
    if known.is_some_and(|k| k >= index) {
        return Ok((plan, known.unwrap_or(index)));
    }
    let mark = ReadMark {
        chat_id: state.chat.chat_id.clone(),
        chatter_id: ident.chatter_id().to_string(),
        chatter_type: ident.chatter_type(),
        last_read_index: index,
        read_time: now.stamp.clone(),
    };
    plan.write(Write::ReadMark(mark), READ_FURTHER);
    Ok((plan, index))
}

/// What a read mark's condition failing means: a racing mark of the same chatter went
/// further first, which is where this one wanted to be anyway.
pub const READ_FURTHER: &str = "already read further";

/// Plans an upload (sendFile's first step): the caller may post here, the file is one the
/// deployment accepts, and the chat has uploads left (counted with a condition, so racing
/// uploads cannot pass the limit together). Nothing shows in the transcript yet.
pub fn request_upload(
    state: &ChatState,
    ident: &Identity,
    file: FileRef,
    limits: &FileLimits,
    now: &Moment,
) -> DomainResult<(Plan, FileUpload)> {
    policy::can_post(ident, state)?;
    let upload = FileUpload {
        chat_id: state.chat.chat_id.clone(),
        file,
        chatter_type: ident.chatter_type(),
        chatter_id: ident.chatter_id().into(),
        create_time: now.stamp.clone(),
        posted: false,
    };
    let mut plan = Plan::default();
    let count = Write::FileCount { chat_id: state.chat.chat_id.clone(), limit: limits.max_per_chat };
    plan.write(count, "The number of uploads is exceeded.");
    plan.write(Write::NewFile(upload.clone()), "this upload exists already");
    Ok((plan, upload))
}

/// Plans the message of an uploaded file (sendFile's last step): by its uploader, once,
/// while the uploader may still post. Customers' files count against their message rate.
pub fn post_file(
    state: &ChatState,
    ident: &Identity,
    upload: &FileUpload,
    rate: RateLimit,
    now: &Moment,
) -> DomainResult<Plan> {
    policy::can_post(ident, state)?;
    if upload.chatter_type != ident.chatter_type() || upload.chatter_id != ident.chatter_id() {
        return Err(DomainError::forbidden("only the file's uploader posts it"));
    }
    if upload.posted {
        return Err(DomainError::conflict("this file was already posted"));
    }
    let mut plan = Plan::default();
    count_customer_message(&mut plan, state, ident, rate, now);
    let posted = Write::FilePosted { chat_id: state.chat.chat_id.clone(), file_id: upload.file.file_id.clone() };
    plan.write(posted, "this file was already posted");
    plan.messages.push(NewMessage {
        kind: MessageType::File,
        text: upload.file.name.clone(),
        author: state.chatter(ident.chatter_type(), ident.chatter_id(), ident.name()),
        subjects: Vec::new(),
        system_generated: false,
        internal: false,
        customer: false,
        event: None,
        filter: None,
        filtered: None,
        reference_id: None,
        file: Some(upload.file.clone()),
    });
    Ok(plan)
}
