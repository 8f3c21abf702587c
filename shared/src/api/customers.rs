//! A customer's data on request (GDPR): everything stored about it as one document, and
//! its erasure (docs/security.md says what stays out of reach). Admins only.

use std::collections::BTreeSet;

use serde_json::json;

use crate::app::App;
use crate::domain::erasure::{self, Erasure};
use crate::domain::model::OfflineMessage;
use crate::domain::model::{Chat, Participant};
use crate::domain::plan::{Plan, Write};
use crate::domain::validate;
use crate::error::ApiError;
use crate::http::{HandlerResult, Request, Response};

/// The customer's participations and their chats (deleted ones are gone already).
async fn customer_chats(app: &App, customer_id: &str) -> Result<Vec<(Participant, Chat)>, ApiError> {
    let participations = app.db.customer_participations(customer_id).await?;
    let ids: Vec<String> = participations.iter().map(|p| p.chat_id.clone()).collect();
    let chats = app.db.get_chats(&ids).await?;
    Ok(participations
        .into_iter()
        .filter_map(|p| chats.iter().find(|c| c.chat_id == p.chat_id && !c.deleted).cloned().map(|c| (p, c)))
        .collect())
}

/// The offline messages left from the e-mail addresses the customer's chats carry.
async fn offline_messages(app: &App, chats: &[(Participant, Chat)]) -> Result<Vec<OfflineMessage>, ApiError> {
    let pairs: BTreeSet<(String, String)> =
        chats.iter().filter_map(|(_, c)| c.email.clone().map(|e| (c.channel_id.clone(), e))).collect();
    let mut found = Vec::new();
    for (channel, email) in pairs {
        found.extend(app.db.offline_messages_from(&channel, &email).await?);
    }
    Ok(found)
}

/// One write of an erasure, alone.
fn one(write: Write) -> Plan {
    let mut plan = Plan::default();
    plan.write(write, "the chat changed meanwhile: erase again");
    plan
}

fn customer_id(req: &Request) -> Result<String, ApiError> {
    let id = req.param("customerId")?;
    validate::id("customerId", id)?;
    Ok(id.to_string())
}

/// `GET /customers/{customerId}/export`: the customer's chats (records, its participation,
/// whole transcripts with every version, the chats' flags, its files as download links)
/// and its offline messages, as one JSON document.
pub async fn export(app: &App, req: Request) -> HandlerResult {
    let customer_id = customer_id(&req)?;
    let chats = customer_chats(app, &customer_id).await?;
    if chats.is_empty() {
        return Err(ApiError::not_found("no chat of this customer is stored"));
    }
    let mut out = Vec::new();
    for (participant, chat) in &chats {
        let transcript = app.db.transcript(&chat.chat_id).await?;
        let flags = app.db.chat_flags(&chat.chat_id, None, None).await?;
        let mut files = Vec::new();
        for m in transcript.iter().filter(|m| m.chatter_id == customer_id) {
            if let Some(file) = &m.file {
                let link = app.files().download_url(&chat.chat_id, &file.file_id, &file.name, &file.content_type).await;
                files.push(json!({ "fileId": file.file_id, "name": file.name, "download": link.ok() }));
            }
        }
        out.push(json!({
            "chat": chat, "participant": participant, "messages": transcript, "flags": flags, "files": files,
        }));
    }
    Ok(Response::ok(&json!({
        "customerId": customer_id,
        "exportedAt": app.clock.stamp(),
        "chats": out,
        "offlineMessages": offline_messages(app, &chats).await?,
    })))
}

/// `DELETE /customers/{customerId}`: the customer's words become tombstones, its names,
/// form fields and userData go, its files and offline messages are deleted; answers the
/// receipt, announced as native CustomerErase. Its chats must be closed (409 otherwise).
/// Runs again safely: what was erased stays erased, and the counts say what this run did.
pub async fn erase(app: &App, req: Request) -> HandlerResult {
    let customer_id = customer_id(&req)?;
    let admin = req.caller()?.chatter_id().to_string();
    let chats = customer_chats(app, &customer_id).await?;
    if chats.is_empty() {
        return Err(ApiError::not_found("no chat of this customer is stored"));
    }
    erasure::require_closed(&chats.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>())?;
    let offline = offline_messages(app, &chats).await?;
    let mut receipt = Erasure {
        customer_id: customer_id.clone(),
        erased_at: app.clock.stamp(),
        erased_by: admin,
        chats: 0,
        messages: 0,
        files: 0,
        offline_messages: u64::try_from(offline.len()).unwrap_or(u64::MAX),
    };
    for (participant, chat) in &chats {
        let transcript = app.db.transcript(&chat.chat_id).await?;
        let (theirs, files) = erasure::to_erase(&transcript, &customer_id);
        for m in &files {
            if let Some(file) = &m.file {
                app.files().delete(&chat.chat_id, &file.file_id).await?;
            }
        }
        // One item each, no transaction: a long chat has more than a transaction takes,
        // and every write here may be repeated.
        let mut writes: Vec<Write> =
            theirs.iter().map(|m| Write::EraseMessage { chat_id: chat.chat_id.clone(), index: m.index }).collect();
        if let Some(p) = erasure::erased_participant(participant) {
            writes.push(Write::Participant { participant: p, existed: true, chat_open: false });
        }
        if erasure::erased_chat(chat, &customer_id).is_some() {
            writes.push(Write::EraseChat {
                chat_id: chat.chat_id.clone(),
                requester: erasure::started(chat, &customer_id),
                updater: erasure::last_updated(chat, &customer_id),
            });
        }
        if !writes.is_empty() {
            receipt.chats += 1;
        }
        receipt.messages += u64::try_from(theirs.len()).unwrap_or(u64::MAX);
        receipt.files += u64::try_from(files.len()).unwrap_or(u64::MAX);
        for chunk in writes.chunks(25) {
            let commits = chunk.iter().map(|w| async move { app.db.commit_writes(&one(w.clone()).writes).await });
            for result in futures_util::future::join_all(commits).await {
                result?;
            }
        }
    }
    app.db.delete_offline_messages(&offline).await?;
    app.db.commit_writes(&one(Write::Erasure(receipt.clone())).writes).await?;
    Ok(Response::ok(&json!({ "erasure": receipt })))
}
