//! ChatCleanup, run on a schedule (cleanup-cron). Finds its work through GSI1 key
//! conditions only, so its cost grows with the chats it cleans, not with the table:
//! 1. requests past the decay time are marked outdated; past REQUEST_CLOSE_SECONDS they
//!    are closed with a system message;
//! 2. chats closed longer than CLOSED_RETENTION_SECONDS are removed with all their items,
//!    and so are deleted chats that the event publisher has not purged by then;
//! 3. `Cleanup: Old`: chats without activity for CHAT_RETENTION_SECONDS are removed.
//!
//! A purge deletes the chat record last, so a run cut off midway leaves chats that the
//! next run still finds and finishes. Running it twice in a row does nothing the second time.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::api::chats::online_customers;
use crate::app::App;
use crate::domain::model::{count_changes, Availability, Chat, ChatStatus, ChatterType, Presence};
use crate::domain::plan::NewMessage;
use crate::error::ApiError;
use crate::keys;
use crate::store::{s, Change, IndexQuery, SortKey, Write};

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub examined: usize,
    pub outdated: usize,
    pub closed: usize,
    pub removed: usize,
    /// Agents' presences that lapsed, taken out of their channels' counts.
    pub lapsed: usize,
    /// The budget ran out; the next run goes on.
    pub incomplete: bool,
}

/// One scheduled run; the event itself carries nothing we need.
pub async fn handle(app: &App, _event: serde_json::Value) -> Result<serde_json::Value, ApiError> {
    let deadline = Instant::now() + Duration::from_secs(app.config.cleanup.budget_secs.max(1) as u64);
    let summary = run(app, deadline).await?;
    Ok(serde_json::to_value(summary).unwrap_or_default())
}

fn status_before(status: ChatStatus, cutoff: String) -> IndexQuery {
    IndexQuery { index: keys::GSI1, pk: keys::status_pk(status), sk: SortKey::Before(cutoff) }
}

pub async fn run(app: &App, deadline: Instant) -> Result<Summary, ApiError> {
    let limits = &app.config.cleanup;
    let mut summary = Summary::default();
    let out_of_time = |summary: &mut Summary| {
        summary.incomplete = Instant::now() >= deadline;
        summary.incomplete
    };

    // 1. Requests past the decay time.
    let close_before = app.clock.ago(limits.request_close_secs);
    let stale: Vec<Chat> =
        app.db.query_all(&status_before(ChatStatus::Request, app.clock.ago(app.config.request_decay_secs))).await?;
    for chat in stale {
        summary.examined += 1;
        if out_of_time(&mut summary) {
            break;
        }
        if chat.create_time < close_before {
            if close_unanswered(app, &chat.chat_id).await? {
                summary.closed += 1;
            }
        } else if !chat.outdated && mark_outdated(app, &chat.chat_id).await? {
            summary.outdated += 1;
        }
    }

    // 2. Closed chats past their grace period, and deleted ones the event publisher has
    //    not purged within it (it normally does within seconds).
    if !summary.incomplete {
        let cutoff = app.clock.ago(limits.closed_retention_secs);
        let mut closed: Vec<Chat> = app.db.query_all(&status_before(ChatStatus::Closed, cutoff.clone())).await?;
        let deleted = IndexQuery { index: keys::GSI1, pk: keys::DELETED_PK.into(), sk: SortKey::Before(cutoff) };
        closed.extend(app.db.query_all::<Chat>(&deleted).await?);
        for chat in closed {
            summary.examined += 1;
            if out_of_time(&mut summary) {
                break;
            }
            app.db.purge_chat(&chat.chat_id).await?;
            summary.removed += 1;
        }
    }

    // 3. Old chats: created before the retention, and nothing happened since.
    let old_before = app.clock.ago(limits.chat_retention_secs);
    for status in [ChatStatus::Request, ChatStatus::Active] {
        if summary.incomplete {
            break;
        }
        let candidates: Vec<Chat> = app.db.query_all(&status_before(status, old_before.clone())).await?;
        for chat in candidates {
            summary.examined += 1;
            if out_of_time(&mut summary) {
                break;
            }
            let Some(state) = app.db.load_state(&chat.chat_id, true).await? else { continue };
            if state.last_activity() < old_before.as_str() {
                app.db.purge_chat(&chat.chat_id).await?;
                summary.removed += 1;
            }
        }
    }
    // 4. Lapsed presences (not refreshed in time): offline, and out of their channels'
    //    counts, which BUTTON_STATUS follows. Read from the online-agents index: the cost
    //    grows with the agents online, not with the table.
    if !summary.incomplete {
        let now = app.clock.epoch_secs();
        let online_index = IndexQuery { index: keys::GSI1, pk: keys::online_pk(ChatterType::User), sk: SortKey::Any };
        let online: Vec<Presence> = app.db.query_all(&online_index).await?;
        for presence in online.into_iter().filter(|p| p.expires_at <= now) {
            if out_of_time(&mut summary) {
                break;
            }
            if sweep_presence(app, presence).await? {
                summary.lapsed += 1;
            }
        }
    }
    tracing::info!(
        examined = summary.examined,
        outdated = summary.outdated,
        closed = summary.closed,
        removed = summary.removed,
        lapsed = summary.lapsed,
        incomplete = summary.incomplete,
        "cleanup"
    );
    Ok(summary)
}

/// Takes a lapsed presence offline and out of its channels' counts, unless the agent
/// refreshed it meanwhile (then it is left as it is).
async fn sweep_presence(app: &App, presence: Presence) -> Result<bool, ApiError> {
    let swept = Presence {
        availability: Availability::Offline,
        counted: Vec::new(),
        update_time: app.clock.stamp(),
        ..presence.clone()
    };
    let refreshed = || ApiError::conflict("refreshed meanwhile");
    let mut writes =
        vec![Write { item: app.db.put_presence(&swept, Some(&presence.update_time))?, on_conflict: refreshed() }];
    for (channel, delta) in count_changes(&presence.counted, &swept.counted) {
        writes.push(Write { item: app.db.count_channel(&channel, delta)?, on_conflict: refreshed() });
    }
    match app.db.commit_writes(writes).await {
        Ok(()) => Ok(true),
        Err(e) if e.status == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Marks a request outdated, if it still is a request.
async fn mark_outdated(app: &App, chat_id: &str) -> Result<bool, ApiError> {
    let result = app
        .db
        .client
        .update_item()
        .table_name(&app.db.table)
        .key(keys::PK, s(keys::chat_pk(chat_id)))
        .key(keys::SK, s(keys::CHAT_SK))
        .update_expression("SET outdated = :t")
        .condition_expression("#status = :request")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
        .expression_attribute_values(":request", s(ChatStatus::Request.as_str()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if crate::error::service_code(&e) == Some("ConditionalCheckFailedException") => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Closes a request nobody answered, with a system message; `false` if it is no longer one.
async fn close_unanswered(app: &App, chat_id: &str) -> Result<bool, ApiError> {
    let result = app
        .db
        .apply(chat_id, |state| {
            if state.chat.status != ChatStatus::Request {
                return Err(ApiError::conflict("no longer a request"));
            }
            let before = &state.chat;
            let after = Chat {
                status: ChatStatus::Closed,
                previous_status: Some(before.status),
                update_time: app.clock.stamp(),
                updated_by: Some(ChatterType::system_actor()),
                ..before.clone()
            };
            let mut writes = vec![Write {
                item: app.db.update_chat(before, &after)?,
                on_conflict: ApiError::conflict("no longer a request"),
            }];
            for item in online_customers(app, state, None)? {
                writes.push(Write { item, on_conflict: ApiError::conflict("changed meanwhile") });
            }
            // The service closes it, not an agent: no OPERATOR_STOPED_CHAT follows.
            let message = NewMessage::system(ChatterType::system_actor(), "closed", vec![]);
            Ok(Change { writes, messages: vec![message] })
        })
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.status == 409 || e.status == 404 => Ok(false),
        Err(e) => Err(e),
    }
}
