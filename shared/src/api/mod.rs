//! The handlers, one per Lambda function. Each is a plain async function of the shared
//! [`App`](crate::app::App) and a [`Request`](crate::http::Request), so the Lambda binary,
//! the local server and the tests call the very same code.

pub mod chats;
pub mod customers;
pub mod files;
pub mod flags;
pub mod messages;
pub mod offline;
pub mod participants;
pub mod presence;
pub mod webhooks;
pub mod widget;

use crate::app::App;
use crate::domain::model::ChatState;
use crate::error::ApiError;

/// The most bytes of messages one answer carries: Lambda answers at most 6 MB, the body
/// base64-encoded, and 1,000 messages of 3,800 four-byte characters would be 15 MB.
pub(crate) const PAGE_BYTES: usize = 3 * 1024 * 1024;

/// How many of `messages`, in the order given, fit `budget` bytes as JSON.
pub(crate) fn fitting<'a>(messages: impl Iterator<Item = &'a crate::domain::model::Message>, budget: usize) -> usize {
    let mut size = 0;
    messages
        .take_while(|m| {
            size += serde_json::to_string(m).map_or(0, |s| s.len() + 1);
            size <= budget
        })
        .count()
}

/// A channel a request names: a well-formed id of a channel this deployment has.
pub(crate) fn known_channel<'a>(app: &App, channel_id: &'a str) -> Result<&'a str, ApiError> {
    crate::domain::validate::id("channelId", channel_id)?;
    if app.config.channel_name(channel_id).is_none() {
        return Err(ApiError::bad_request(format!("unknown channelId {channel_id}")));
    }
    Ok(channel_id)
}

/// A chat's state for a handler: 404 when there is no such chat.
pub(crate) async fn chat_state(app: &App, chat_id: &str) -> Result<ChatState, ApiError> {
    app.db.load_state(chat_id, false).await?.ok_or_else(|| ApiError::not_found("chat not found"))
}

/// A customer's request's place in its channel's queue and the wait to expect; None for
/// a chat that is not waiting (and for an agent's private request, which has no queue).
/// Two reads at once: the requests ahead, counted, and the channel's recent waits.
pub(crate) async fn queue_place(
    app: &App,
    chat: &crate::domain::model::Chat,
) -> Result<Option<(u64, Option<u64>)>, ApiError> {
    use crate::domain::queue;
    if chat.status != crate::domain::model::ChatStatus::Request || chat.is_agent_to_agent() || chat.deleted {
        return Ok(None);
    }
    let now = app.clock.epoch_secs();
    let (position, recent) = tokio::try_join!(app.db.queue_position(chat), app.db.recent_waits(&chat.channel_id, now))?;
    Ok(Some((position, queue::estimated_wait(recent, queue::waited(chat, now)))))
}
