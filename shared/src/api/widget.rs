//! The rest of the widget's WebChatService commands: endChat, updateUserData, getAgents,
//! getStats, getSessionData / verifySession / restore.

use chrono::DateTime;
use serde_json::{json, Value};

use crate::api::participants::{self, UpdateParticipant};
use crate::app::App;
use crate::domain::caller::Identity;
use crate::domain::model::{ChatState, ChatStatus, ChatterActive, ChatterType, PermissionLevel};
use crate::domain::plan::RateLimit;
use crate::domain::policy;
use crate::domain::transitions;
use crate::domain::validate;
use crate::error::ApiError;
use crate::http::{HandlerResult, Request, Response};

/// `POST /chats/{chatId}/leave` (endChat): the caller leaves; when the last customer leaves,
/// the chat is closed.
pub async fn leave(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let body = UpdateParticipant { chatter_active: Some(ChatterActive::Left.into()), ..Default::default() };
    let me = (ident.chatter_type(), ident.chatter_id());
    let p = participants::change(app, &ident, chat_id, me, &body, req.reference()?).await?;
    Ok(Response::ok(&json!({ "participant": p })))
}

/// `PATCH /chats/{chatId}/user-data` (updateUserData): merges keys into the chat's
/// `userData`; a key set to null is removed.
pub async fn user_data(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let patch: Value = req.json()?;
    let patch = validate::user_data(Some(patch))?.ok_or_else(|| ApiError::bad_request(validate::USER_DATA_ERROR))?;
    let reference = req.reference()?;
    let mut merged = None;
    app.db
        .apply(chat_id, |state| {
            let rate = RateLimit { limit: app.config.customer_messages_per_minute, window_secs: 60 };
            let (plan, user_data) =
                transitions::update_user_data(state, &ident, &patch, reference, rate, &app.clock.moment())?;
            merged = Some(user_data);
            Ok(plan)
        })
        .await?;
    Ok(Response::ok(&json!({ "userData": merged })))
}

fn millis(t: Option<&str>) -> Option<i64> {
    t.and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|d| d.timestamp_millis())
}

/// getAgents' list: the agents who took part, as the caller may see them.
fn agents(app: &App, ident: &Identity, state: &ChatState) -> Vec<Value> {
    state
        .participants
        .iter()
        .filter(|p| p.chatter_type == ChatterType::User && p.join_time.is_some())
        .filter(|p| participants::masking(app, ident, &state.participants).shows(p.chatter_type, &p.chatter_id))
        .map(|p| {
            json!({
                "name": participants::masking(app, ident, &state.participants).name(p.chatter_type, &p.chatter_id, &p.chatter_name, p.agent_number),
                "connected": p.is_active(),
                "supervisor": p.permission_level == Some(PermissionLevel::Observer) || p.monitoring > 0,
                "connectedTime": millis(p.join_time.as_deref()),
                "disconnectedTime": millis(p.leave_time.as_deref()),
            })
        })
        .collect()
}

async fn readable(app: &App, req: &Request) -> Result<(Identity, ChatState), ApiError> {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let state = super::chat_state(app, chat_id).await?;
    policy::can_read(&ident, &state)?;
    Ok((ident, state))
}

/// `GET /chats/{chatId}/agents` (getAgents).
pub async fn get_agents(app: &App, req: Request) -> HandlerResult {
    let (ident, state) = readable(app, &req).await?;
    Ok(Response::ok(&json!({ "agents": agents(app, &ident, &state) })))
}

/// `GET /chats/{chatId}/stats` (getStats): times in milliseconds since the epoch.
pub async fn stats(app: &App, req: Request) -> HandlerResult {
    let (ident, state) = readable(app, &req).await?;
    let start = millis(Some(&state.chat.create_time));
    let end = (state.chat.status == ChatStatus::Closed).then(|| millis(Some(&state.chat.update_time))).flatten();
    let duration = start.map(|s| end.unwrap_or_else(|| app.clock.now().timestamp_millis()) - s);
    Ok(Response::ok(
        &json!({ "agents": agents(app, &ident, &state), "startTime": start, "endTime": end, "duration": duration }),
    ))
}

/// `GET /session` (getSessionData, verifySession, restore): what a widget needs to restore
/// its chat after a page reload, from its chat token.
pub async fn session(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let Identity::Chatter { chat_id, chatter_id, chatter_type, .. } = &ident else {
        return Err(ApiError::forbidden("GET /session takes a chat token"));
    };
    let state = app.db.load_state(chat_id, false).await?;
    let active = state.as_ref().is_some_and(|s| {
        s.chat.status != ChatStatus::Closed && s.participant(*chatter_type, chatter_id).is_some_and(|p| p.is_active())
    });
    let place = match &state {
        Some(s) if active => super::queue_place(app, &s.chat).await?,
        _ => None,
    };
    Ok(Response::ok(&json!({
        "queuePosition": place.map(|p| p.0),
        "estimatedWaitSeconds": place.and_then(|p| p.1),
        "sessionActive": active,
        "chatId": chat_id,
        "participantId": chatter_id,
        "chatterType": chatter_type,
        "status": state.as_ref().map(|s| s.chat.status),
        "lastIndex": state.as_ref().map_or(0, |s| s.last_index),
    })))
}
