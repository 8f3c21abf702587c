//! Offline messages: a visitor's form when nobody is online in a channel, and the agents'
//! list of them.

use serde_json::json;

use crate::app::App;
use crate::domain::offline::{self, LeaveMessage};
use crate::domain::plan::RateLimit;
use crate::error::ApiError;
use crate::http::{HandlerResult, Request, Response};

/// `POST /channels/{channelId}/offline-messages`: open, counted per client address as a
/// chat start is; answers the message as stored.
pub async fn add(app: &App, req: Request) -> HandlerResult {
    let channel_id = super::known_channel(app, req.param("channelId")?)?;
    let body: LeaveMessage = req.json()?;
    let rate = RateLimit { limit: app.config.chats_per_minute_per_address, window_secs: 60 };
    let (plan, message) = offline::leave_message(
        body,
        uuid::Uuid::new_v4().to_string(),
        channel_id,
        req.source_ip.as_deref(),
        rate,
        &app.clock.moment(),
    )?;
    app.db.commit_writes(&plan.writes).await?;
    Ok(Response::created(&json!({ "offlineMessage": message })))
}

/// `GET /offline-messages?channelId=` (agents): a channel's messages, newest first, paged
/// with `limit` (1–100) and `cursor`.
pub async fn list(app: &App, req: Request) -> HandlerResult {
    let channel_id = req.query("channelId").ok_or_else(|| ApiError::bad_request("channelId is required"))?;
    let channel_id = super::known_channel(app, channel_id)?;
    let limit = super::chats::page_limit(&req)?;
    let (messages, next) = app.db.offline_messages(channel_id, limit, req.query("cursor")).await?;
    Ok(Response::ok(&json!({ "offlineMessages": messages, "nextCursor": next })))
}
