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
