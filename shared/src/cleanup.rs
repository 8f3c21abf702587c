//! ChatCleanup, run on a schedule (cleanup-cron). Finds its work through GSI1 key
//! conditions only, so its cost grows with the chats it cleans, not with the table:
//! 1. requests past the decay time are marked outdated; past REQUEST_CLOSE_SECONDS they
//!    are closed with a system message;
//! 2. chats closed longer than CLOSED_RETENTION_SECONDS are marked deleted (announced as
//!    ChatDelete by the service) and removed with all their items; so are deleted chats
//!    that the event publisher has not purged by then;
//! 3. `Cleanup: Old`: chats without activity for CHAT_RETENTION_SECONDS are closed for the
//!    service and marked deleted in one write; the event publisher announces the close
//!    (with its transcript) and purges them, as after a ChatDelete.
//!
//! The closed chats of step 2 were announced long before (the publisher normally lags by
//! seconds; the bound is CLOSED_RETENTION_SECONDS, see docs/events.md). A purge deletes the
//! chat record last, so a run cut off midway leaves chats that the next run still finds
//! and finishes. Running it twice in a row does nothing the second time.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::app::{App, PurgeError};
use crate::domain::error::DomainError;
use crate::domain::model::{Chat, ChatStatus, Presence};
use crate::domain::plan::{Guarded, Write};
use crate::domain::transitions;
use crate::store::{IndexQuery, StoreError, StoreResult};

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

/// Why a cleanup run did not happen or stopped.
#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error("the cleanup's settings cannot be read: {0}")]
    Settings(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One scheduled run; the event itself carries nothing we need. Not with settings that
/// could not be read: closing and removing chats on a wrong schedule cannot be undone.
pub async fn handle(app: &App, _event: serde_json::Value) -> Result<serde_json::Value, CleanupError> {
    if let Some(problem) = &app.config.cleanup.problem {
        tracing::error!(problem, "cleanup not run");
        return Err(CleanupError::Settings(problem.clone()));
    }
    let deadline = Instant::now() + Duration::from_secs(app.config.cleanup.budget_secs.max(1) as u64);
    // Boxed: the run's nested futures are deep enough to pass the compiler's layout
    // query limit inside the function's main otherwise.
    let summary = Box::pin(run(app, deadline)).await?;
    Ok(serde_json::to_value(summary).unwrap_or_default())
}

/// How many chats one run reads from each shard of a list: a flood of stale requests is
/// worked through over several runs, never loaded whole into one (128 MB) function.
const PER_SHARD: usize = 250;

/// The chats in `status` whose GSI1 sort key is before `cutoff`, from every shard, and
/// whether a shard had more.
async fn status_before(app: &App, status: ChatStatus, cutoff: &str) -> StoreResult<(Vec<Chat>, bool)> {
    first_of(app, IndexQuery::chats_in_status(status, Some(cutoff))).await
}

/// The shards' first chats, the shards read at once.
async fn first_of(app: &App, queries: Vec<IndexQuery>) -> StoreResult<(Vec<Chat>, bool)> {
    let shards =
        futures_util::future::try_join_all(queries.iter().map(|q| app.db.query_first::<Chat>(q, PER_SHARD))).await?;
    let more = shards.iter().any(|(_, more)| *more);
    Ok((shards.into_iter().flat_map(|(chats, _)| chats).collect(), more))
}

pub async fn run(app: &App, deadline: Instant) -> StoreResult<Summary> {
    let limits = &app.config.cleanup;
    let mut summary = Summary::default();
    let out_of_time = |summary: &mut Summary| {
        summary.incomplete = Instant::now() >= deadline;
        summary.incomplete
    };

    // 1. Requests past the decay time.
    let close_before = app.clock.ago(limits.request_close_secs);
    // Chats left for the next run because a shard had more than PER_SHARD.
    let mut left_over = false;
    let (stale, more) = status_before(app, ChatStatus::Request, &app.clock.ago(app.config.request_decay_secs)).await?;
    left_over |= more;
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
        let (mut closed, more) = status_before(app, ChatStatus::Closed, &cutoff).await?;
        let (deleted, more_deleted) = first_of(app, IndexQuery::deleted_chats(Some(&cutoff))).await?;
        closed.extend(deleted);
        left_over |= more || more_deleted;
        for chat in closed {
            summary.examined += 1;
            if out_of_time(&mut summary) {
                break;
            }
            if remove(app, &chat).await? {
                summary.removed += 1;
            }
        }
    }

    // 3. Old chats: created before the retention, and nothing happened since.
    let old_before = app.clock.ago(limits.chat_retention_secs);
    for status in [ChatStatus::Request, ChatStatus::Active] {
        if summary.incomplete {
            break;
        }
        let (candidates, more) = status_before(app, status, &old_before).await?;
        left_over |= more;
        for chat in candidates {
            summary.examined += 1;
            if out_of_time(&mut summary) {
                break;
            }
            let expired = app.db.apply(&chat.chat_id, |state| {
                if state.last_activity() >= old_before.as_str() {
                    return Err(DomainError::conflict("in use"));
                }
                transitions::expire(state, &app.clock.moment())
            });
            if moot(expired.await.map(|_| ()))? {
                summary.removed += 1;
            }
        }
    }
    // 4. Lapsed presences (not refreshed in time): offline, and out of their channels'
    //    counts, which BUTTON_STATUS follows. Read from the online-agents index: the cost
    //    grows with the agents online, not with the table.
    if !summary.incomplete {
        let now = app.clock.epoch_secs();
        let online = app.db.online_agents().await?;
        for presence in online.into_iter().filter(|p| p.expires_at <= now) {
            if out_of_time(&mut summary) {
                break;
            }
            if sweep_presence(app, presence).await? {
                summary.lapsed += 1;
            }
        }
    }
    summary.incomplete |= left_over;
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

/// Whether a refusal means "nothing to do any more" (changed meanwhile, or gone).
fn moot(result: StoreResult<()>) -> StoreResult<bool> {
    use crate::domain::error::Kind;
    match result {
        Ok(()) => Ok(true),
        Err(StoreError::Refused(DomainError { kind: Kind::Conflict | Kind::NotFound, .. })) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Takes a lapsed presence offline and out of its channels' counts, unless the agent
/// refreshed it meanwhile (then it is left as it is).
async fn sweep_presence(app: &App, presence: Presence) -> StoreResult<bool> {
    let plan = transitions::sweep_presence(&presence, &app.clock.moment());
    moot(app.db.commit_writes(&plan.writes).await)
}

/// Marks a request outdated, if it still is a request.
async fn mark_outdated(app: &App, chat_id: &str) -> StoreResult<bool> {
    let write = Write::Outdated { chat_id: chat_id.into() };
    moot(app.db.commit_writes(&[Guarded { write, on_conflict: DomainError::conflict("no longer a request") }]).await)
}

/// Closes a request nobody answered, with a system message; `false` if it is no longer one.
async fn close_unanswered(app: &App, chat_id: &str) -> StoreResult<bool> {
    let plan = |state: &_| transitions::close_by_service(state, ChatStatus::Request, &app.clock.moment());
    moot(app.db.apply(chat_id, plan).await.map(|_| ()))
}

/// Removes a closed chat: marked deleted first (announced as ChatDelete, and its items'
/// removal announces nothing), then purged; `false` if it changed meanwhile.
async fn remove(app: &App, chat: &Chat) -> StoreResult<bool> {
    if !chat.deleted {
        let plan = transitions::retire(chat, &app.clock.moment())?;
        if !moot(app.db.commit_writes(&plan.writes).await)? {
            return Ok(false);
        }
    }
    match app.purge_chat(&chat.chat_id).await {
        Ok(_) => Ok(true),
        // Its files could not be deleted: the chat stays marked deleted, and the next run
        // finds it again.
        Err(PurgeError::Files(e)) => {
            tracing::warn!(error = %e, chat_id = chat.chat_id, "files not deleted; purge left for the next run");
            Ok(false)
        }
        Err(PurgeError::Store(e)) => Err(e),
    }
}
