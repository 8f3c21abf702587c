//! The handlers, one per Lambda function. Each is a plain async function of the shared
//! [`App`](crate::app::App) and a [`Request`](crate::http::Request), so the Lambda binary,
//! the local server and the tests call the very same code.

pub mod chats;
pub mod files;
pub mod flags;
pub mod messages;
pub mod participants;
pub mod presence;
pub mod webhooks;
pub mod widget;

use crate::app::App;
use crate::domain::model::ChatState;
use crate::error::ApiError;

/// A chat's state for a handler: 404 when there is no such chat.
pub(crate) async fn chat_state(app: &App, chat_id: &str) -> Result<ChatState, ApiError> {
    app.db.load_state(chat_id, false).await?.ok_or_else(|| ApiError::not_found("chat not found"))
}
