//! Files (sendFile, downloadFile), in three steps that keep the bytes out of the functions:
//! `POST /chats/{chatId}/files` hands out a presigned upload, the client PUTs the file to
//! object storage, and `POST /chats/{chatId}/files/{fileId}` posts it as a `File` message
//! once the stored object is what was announced. `GET /chats/{chatId}/files/{fileId}`
//! hands out a presigned download to whoever may read the chat.

use serde::Deserialize;
use serde_json::json;

use crate::api::messages::posted;
use crate::app::App;
use crate::domain::files;
use crate::domain::plan::RateLimit;
use crate::domain::policy;
use crate::domain::transitions;
use crate::error::ApiError;
use crate::http::{HandlerResult, Request, Response};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewUpload {
    /// The file's name (a path is cut off).
    #[schemars(length(min = 1, max = 255), regex(pattern = crate::domain::files::NAME_PATTERN))]
    name: String,
    /// Its size in bytes: the upload must have exactly this many (at most the deployment's
    /// `FILES_MAX_BYTES`, by default 10 MiB).
    #[serde(deserialize_with = "crate::domain::validate::whole")]
    #[schemars(range(min = 1, max = crate::domain::files::DEFAULT_MAX_BYTES))]
    size: u64,
    /// Its media type, one of the deployment's allowed types (`FILES_ALLOWED_TYPES`; by
    /// default these).
    #[serde(rename = "type")]
    #[schemars(extend("enum" = crate::domain::files::DEFAULT_TYPES))]
    content_type: String,
}

/// The function's routes: upload, post, download.
pub async fn handle(app: &App, req: Request) -> HandlerResult {
    match (req.method.as_str(), req.params.contains_key("fileId")) {
        ("POST", false) => upload(app, req).await,
        ("POST", true) => post(app, req).await,
        _ => download(app, req).await,
    }
}

/// `POST /chats/{chatId}/files`: the file is checked against the limits and counted
/// against the chat's uploads; the answer is where to PUT it, with which headers.
async fn upload(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let body: NewUpload = req.json()?;
    let limits = &app.config.files.limits;
    let file_id = uuid::Uuid::new_v4().simple().to_string();
    let file = files::accept(&file_id, &body.name, body.size, &body.content_type, limits)?;
    // Without storage nothing is counted; the door and the count are one conditional
    // write, and signing after it is local work (no call to S3).
    app.files().configured()?;
    let mut upload = None;
    app.db
        .apply(chat_id, |state| {
            let (plan, planned) =
                transitions::request_upload(state, &ident, file.clone(), limits, &app.clock.moment())?;
            upload = Some(planned);
            Ok(plan)
        })
        .await?;
    let upload = upload.ok_or_else(ApiError::internal)?;
    let upload_url = app.files().upload_url(chat_id, &file_id, &file.content_type, file.size).await?;
    Ok(Response::created(&json!({ "file": upload.file, "upload": upload_url })))
}

/// `POST /chats/{chatId}/files/{fileId}`: the uploader posts its file once it is stored.
async fn post(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let file_id = req.param("fileId")?;
    // The door before the file's item and the object: a stranger learns nothing of either.
    let state = super::chat_state(app, chat_id).await?;
    policy::can_post(&ident, &state)?;
    let upload = app.db.file(chat_id, file_id).await?.ok_or_else(|| ApiError::not_found("no such file"))?;
    let limits = &app.config.files.limits;
    let stored = app
        .files()
        .stat(chat_id, file_id)
        .await?
        .ok_or_else(|| ApiError::conflict("the file has not been uploaded yet"))?;
    if let Err(refused) = files::check_stored(&upload.file, stored.size, stored.content_type.as_deref(), limits) {
        // Not what was announced: it will never be posted, so it is not kept.
        app.files().delete(chat_id, file_id).await?;
        return Err(refused.into());
    }
    let rate = RateLimit { limit: app.config.customer_messages_per_minute, window_secs: 60 };
    let (state, mut messages) = app
        .db
        .apply(chat_id, |state| transitions::post_file(state, &ident, &upload, rate, &app.clock.moment()))
        .await?;
    let message = messages.pop().ok_or_else(ApiError::internal)?;
    Ok(Response::created(&json!({ "message": posted(app, &ident, &state, &message) })))
}

/// `GET /chats/{chatId}/files/{fileId}`: a download link for a posted file, to whoever may
/// read the chat.
async fn download(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let file_id = req.param("fileId")?;
    let state = super::chat_state(app, chat_id).await?;
    policy::can_read(&ident, &state)?;
    let upload =
        app.db.file(chat_id, file_id).await?.filter(|u| u.posted).ok_or_else(|| ApiError::not_found("no such file"))?;
    let file = upload.file;
    let url = app.files().download_url(chat_id, file_id, &file.name, &file.content_type).await?;
    Ok(Response::ok(&json!({ "file": file, "download": url })))
}
