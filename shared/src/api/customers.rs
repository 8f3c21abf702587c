//! A customer's data on request (GDPR): everything stored about it as one document, and
//! its erasure (docs/security.md says what stays out of reach). Admins only.

use std::collections::BTreeSet;

use serde_json::json;

use crate::app::App;
use crate::domain::erasure::{self, Erasure};
use crate::domain::model::OfflineMessage;
use crate::domain::model::{Chat, Message, Participant};
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

/// Where a page starts: the customer's N-th chat, after its message K (`N` or `N:K`).
fn export_cursor(req: &Request) -> Result<(usize, u64), ApiError> {
    let Some(cursor) = req.query("cursor") else { return Ok((0, 0)) };
    let (chat, after) = cursor.split_once(':').unwrap_or((cursor, "0"));
    match (chat.parse(), after.parse()) {
        (Ok(chat), Ok(after)) => Ok((chat, after)),
        _ => Err(ApiError::bad_request("cursor must be a page's next")),
    }
}

/// `GET /customers/{customerId}/export[?cursor=]`: the customer's chats (records, its
/// participation, whole transcripts with every version, the chats' flags, its files as
/// download links) as many as fit a page, with `next` (where the next page starts, or
/// null); a chat larger than a page goes on over the next ones (`continued`). Its offline
/// messages come on the first page.
pub async fn export(app: &App, req: Request) -> HandlerResult {
    let customer_id = customer_id(&req)?;
    let (from, after) = export_cursor(&req)?;
    let chats = customer_chats(app, &customer_id).await?;
    if chats.is_empty() {
        return Err(ApiError::not_found("no chat of this customer is stored"));
    }
    if from >= chats.len() {
        return Err(ApiError::bad_request(format!("the customer has {} chats: cursor is past them", chats.len())));
    }
    let (mut out, mut size, mut next) = (Vec::new(), 0, None);
    for (i, (participant, chat)) in chats.iter().enumerate().skip(from) {
        let start = if i == from { after } else { 0 };
        let flags = if start == 0 { app.db.chat_flags(&chat.chat_id, None, None).await? } else { Vec::new() };
        let mut part = json!({ "chat": chat, "participant": participant, "continued": start > 0, "flags": flags });
        let room = super::PAGE_BYTES.saturating_sub(size + part.to_string().len());
        let transcript = app.db.transcript(&chat.chat_id, start).await?;
        let whole = transcript.len();
        let messages = fit_page(transcript, room, out.is_empty());
        if !out.is_empty() && (room == 0 || messages.is_empty() && whole > 0) {
            next = Some(if start == 0 { i.to_string() } else { format!("{i}:{start}") });
            break;
        }
        let mut files = Vec::new();
        for m in messages.iter().filter(|m| m.chatter_id == customer_id) {
            if let Some(file) = &m.file {
                let link = app.files().download_url(&chat.chat_id, &file.file_id, &file.name, &file.content_type).await;
                files.push(json!({ "fileId": file.file_id, "name": file.name, "download": link.ok() }));
            }
        }
        let cut = (messages.len() < whole).then(|| messages.last().map(|m| format!("{i}:{}", m.index))).flatten();
        if let Some(fields) = part.as_object_mut() {
            fields.insert("messages".into(), json!(messages));
            fields.insert("files".into(), json!(files));
        }
        size += part.to_string().len();
        out.push(part);
        if cut.is_some() {
            next = cut;
            break;
        }
    }
    let offline = if from == 0 && after == 0 { offline_messages(app, &chats).await? } else { Vec::new() };
    Ok(Response::ok(&json!({
        "customerId": customer_id,
        "exportedAt": app.clock.stamp(),
        "chats": out,
        "offlineMessages": offline,
        "next": next,
    })))
}

/// The messages of `transcript` that fit `budget` bytes, in order (the first one at least,
/// when `one_at_least`: a page must move on).
fn fit_page(mut transcript: Vec<Message>, budget: usize, one_at_least: bool) -> Vec<Message> {
    let fits = super::fitting(transcript.iter(), budget);
    transcript.truncate(if one_at_least { fits.max(1) } else { fits });
    transcript
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
        let transcript = app.db.transcript(&chat.chat_id, 0).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A transcript larger than a page is cut where the budget ends; a page that would
    /// otherwise be empty takes its first message.
    #[test]
    fn a_transcript_larger_than_a_page_is_cut_where_the_budget_ends() {
        let message = |index: u64| -> Message {
            serde_json::from_value(json!({
                "messageId": format!("c-{index}"), "chatId": "c", "index": index, "type": "Text",
                "text": "x".repeat(1000), "chatterId": "jdoe", "chatterType": "Customer", "chatterName": "Jo",
                "createTime": "2026-12-06T10:00:00.000Z",
            }))
            .unwrap()
        };
        let transcript: Vec<Message> = (1..=10).map(message).collect();
        let one = serde_json::to_string(&transcript[0]).unwrap().len() + 1;
        assert_eq!(fit_page(transcript.clone(), one * 11, false).len(), 10);
        assert_eq!(fit_page(transcript.clone(), one * 4 + 10, false).len(), 4);
        assert_eq!(fit_page(transcript.clone(), 10, false).len(), 0);
        assert_eq!(fit_page(transcript, 10, true).len(), 1, "a page holds a message at least");
    }
}
