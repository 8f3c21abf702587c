//! Chat flags: ChatFlagSet, ChatFlagDelete, ChatFlagGet. Each agent's own per-chat state.

use serde::Deserialize;
use serde_json::json;

use crate::app::App;
use crate::domain::caller::Identity;
use crate::domain::error::DomainError;
use crate::domain::model::Flag;
use crate::domain::plan::{Guarded, Write};
use crate::domain::policy;
use crate::domain::validate;
use crate::error::ApiError;
use crate::http::{HandlerResult, Request, Response};

const MAX_VALUE_CHARS: usize = 1000;

/// The flag's user: the caller unless named, and only the caller's own.
fn own_user(ident: &Identity, user_id: Option<&str>) -> Result<String, ApiError> {
    match user_id {
        Some(u) if u != ident.chatter_id() => Err(ApiError::forbidden("agents set and delete only their own flags")),
        _ => Ok(ident.chatter_id().to_string()),
    }
}

fn path_key(req: &Request) -> Result<&str, ApiError> {
    let key = req.param("key")?;
    validate::id("key", key)?;
    Ok(key)
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetFlag {
    value: String,
    user_id: Option<String>,
}

/// `PUT /chats/{chatId}/flags/{key}` (ChatFlagSet), by an agent who may read the chat; the
/// chat must still exist when the flag is written.
pub async fn set(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let key = path_key(&req)?;
    let body: SetFlag = req.json()?;
    validate::text("value", &body.value, MAX_VALUE_CHARS)?;
    let user_id = own_user(&ident, body.user_id.as_deref())?;
    // Who may set a flag on a chat is who may read it (and so read the flag back).
    let state = super::chat_state(app, chat_id).await?;
    policy::can_read(&ident, &state)?;
    let flag = Flag {
        chat_id: chat_id.into(),
        user_id: user_id.clone(),
        key: key.into(),
        value: body.value,
        update_time: app.clock.stamp(),
    };
    app.db
        .commit_writes(&[
            Guarded {
                write: Write::ChatExists { chat_id: chat_id.into() },
                on_conflict: DomainError::not_found("chat not found"),
            },
            Guarded {
                write: Write::Flag(flag.clone()),
                on_conflict: DomainError::conflict("the flag changed meanwhile"),
            },
        ])
        .await?;
    Ok(Response::ok(&json!({ "flag": flag })))
}

/// `DELETE /chats/{chatId}/flags/{key}?userId=` or `?allUsers=1`, and
/// `DELETE /chats/{chatId}/flags?allUsers=1` (ChatFlagDelete): one's own flag, or a key's
/// (or, with no key, every) flag of every user of a chat, by an agent who may read it.
pub async fn delete(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let key = if req.params.contains_key("key") { Some(path_key(&req)?) } else { None };
    let all_users = req.query_flag("allUsers")?;
    let flags: Vec<(String, String)> = match (key, all_users) {
        (_, true) => {
            let state = super::chat_state(app, chat_id).await?;
            policy::can_read(&ident, &state)?;
            let flags = app.db.chat_flags(chat_id, None, None).await?;
            flags.into_iter().filter(|f| key.is_none_or(|k| f.key == k)).map(|f| (f.user_id, f.key)).collect()
        }
        (Some(key), false) => vec![(own_user(&ident, req.query("userId"))?, key.to_string())],
        (None, false) => return Err(ApiError::bad_request("without a key, give allUsers=1")),
    };
    app.db.delete_flags(chat_id, &flags).await?;
    Ok(Response::no_content())
}

/// `GET /flags` (ChatFlagGet) with any of `chatId`, `userId`, `key`, `keyNot`, `value`,
/// `valueNot`. With `chatId`, one Query on the chat's partition (an agent who may read
/// it); otherwise one Query on the user's flags (GSI1), the caller's own, by key if given.
pub async fn get(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let [chat_id, user_id, key, key_not, value, value_not] =
        ["chatId", "userId", "key", "keyNot", "value", "valueNot"].map(|name| req.query(name));
    if [chat_id, user_id, key, key_not, value, value_not].iter().all(Option::is_none) {
        return Err(ApiError::bad_request("give at least one of chatId, userId, key, keyNot, value, valueNot"));
    }
    for (name, v) in [("chatId", chat_id), ("userId", user_id), ("key", key), ("keyNot", key_not)] {
        if let Some(v) = v {
            validate::id(name, v)?;
        }
    }
    let flags: Vec<Flag> = match chat_id {
        Some(chat_id) => {
            let state = super::chat_state(app, chat_id).await?;
            policy::can_read(&ident, &state)?;
            app.db.chat_flags(chat_id, user_id, key).await?
        }
        None => {
            let user = match user_id {
                Some(u) if u != ident.chatter_id() => {
                    return Err(ApiError::forbidden("across chats, agents read only their own flags"))
                }
                _ => ident.chatter_id(),
            };
            app.db.user_flags(user, key).await?
        }
    };
    let flags: Vec<Flag> = flags
        .into_iter()
        .filter(|f| {
            user_id.is_none_or(|u| f.user_id == u)
                && key.is_none_or(|k| f.key == k)
                && key_not.is_none_or(|k| f.key != k)
                && value.is_none_or(|v| f.value == v)
                && value_not.is_none_or(|v| f.value != v)
        })
        .collect();
    Ok(Response::ok(&json!({ "flags": flags })))
}
