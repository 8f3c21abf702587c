//! Participants: ChatParticipantAdd, ChatParticipantUpdate, AgentPermissionsUpdate,
//! ChatParticipantRemove, ChatParticipantList, ChatParticipantCheck; and the invitations
//! (ChatInvite, ChatInvitesGet, ChatInviteRemove, ChatDecline), which are participants too.

use serde::Deserialize;

use crate::api::chats::plan_update;
use crate::app::App;
use crate::auth;
use crate::domain::caller::Identity;
use crate::domain::masking::Masking;
use crate::domain::model::{ChatState, ChatStatus, Chatter, ChatterType, Participant, PermissionLevel, TargetType};
use crate::domain::plan::NewMessage;
use crate::domain::policy;
use crate::error::ApiError;
use crate::http::{HandlerResult, Request, Response};
use crate::keys;
use crate::store::{Change, IndexQuery, SortKey, Write};
use crate::validate;

/// How `viewer` sees the chatters of a chat (MaskAgentName): the one masking rule.
pub fn masking<'a>(app: &'a App, viewer: &Identity, participants: &'a [Participant]) -> Masking<'a> {
    Masking::new(app.config.agent_mask(), viewer.is_agent(), participants)
}

fn path_chatter(req: &Request) -> Result<(ChatterType, String), ApiError> {
    let chatter_type = req.param("chatterType")?;
    let chatter_type = ChatterType::parse_chatter(chatter_type)
        .ok_or_else(|| ApiError::bad_request(format!("unknown chatterType {chatter_type}")))?;
    let chatter_id = req.param("chatterId")?;
    validate::id("chatterId", chatter_id)?;
    Ok((chatter_type, chatter_id.to_string()))
}

async fn readable_state(app: &App, ident: &Identity, chat_id: &str) -> Result<ChatState, ApiError> {
    ident.require_chat(chat_id)?;
    let state = app.db.load_state(chat_id, false).await?.ok_or_else(|| ApiError::not_found("chat not found"))?;
    policy::can_read(ident, &state)?;
    Ok(state)
}

fn open(state: &ChatState) -> Result<(), ApiError> {
    if state.chat.status == ChatStatus::Closed {
        Err(ApiError::conflict("the chat is closed"))
    } else {
        Ok(())
    }
}

/// The chat record's high-water mark of agent numbers, raised to `number` when a new
/// agent gets one (so a removed agent's number is never handed out again).
fn numbered(app: &App, state: &ChatState, number: Option<u32>) -> Result<Option<Write>, ApiError> {
    match number.filter(|n| *n > state.chat.agent_numbers) {
        Some(n) => {
            let after = crate::domain::model::Chat { agent_numbers: n, ..state.chat.clone() };
            Ok(Some(write(app.db.update_chat(&state.chat, &after)?, "the chat changed meanwhile")))
        }
        None => Ok(None),
    }
}

fn write(item: aws_sdk_dynamodb::types::TransactWriteItem, message: &str) -> Write {
    Write { item, on_conflict: ApiError::conflict(message) }
}

/// An internal (agents-only) system message by `ident` about a change to a participant.
fn note(state: &ChatState, ident: &Identity, event: &str, subjects: Vec<Chatter>, text: String) -> NewMessage {
    let author = state.chatter(ident.chatter_type(), ident.chatter_id(), ident.name());
    NewMessage::system_with_text(author, event, subjects, text).internal()
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddParticipant {
    chatter_id: String,
    chatter_type: ChatterType,
    chatter_name: Option<String>,
    #[serde(default)]
    chatter_active: i8,
    permission_level: Option<PermissionLevel>,
    #[serde(default)]
    invitation: bool,
    #[serde(default)]
    monitoring: u8,
}

/// `POST /chats/{chatId}/participants` (ChatParticipantAdd). The owner adds others; an agent
/// adding itself active to a chat still in the queue accepts it.
pub async fn add(app: &App, req: Request) -> HandlerResult {
    let ident = auth::authenticate(&req, &app.config.auth)?;
    let chat_id = req.param("chatId")?;
    ident.require_chat(chat_id)?;
    ident.require_agent()?;
    let body: AddParticipant = req.json()?;
    validate::id("chatterId", &body.chatter_id)?;
    validate::optional_name("chatterName", &body.chatter_name, validate::MAX_NAME_CHARS)?;
    if !(0..=1).contains(&body.chatter_active) {
        return Err(ApiError::bad_request("chatterActive of a new participant is 0 or 1"));
    }
    if body.monitoring > 2 {
        return Err(ApiError::bad_request("monitoring is 0, 1 or 2"));
    }
    let is_agent = body.chatter_type == ChatterType::User;
    if is_agent != body.permission_level.is_some() {
        return Err(ApiError::bad_request("permissionLevel is required for agents, and only for agents"));
    }
    let myself = is_agent && body.chatter_id == ident.chatter_id();
    let mut added = None;
    app.db
        .apply(chat_id, |state| {
            open(state)?;
            if myself && body.chatter_active == 1 && state.chat.status == ChatStatus::Request {
                if policy::own(&ident, state).is_some() {
                    return Err(ApiError::conflict("you are already a participant of this chat"));
                }
                let planned = plan_update(app, &ident, state, Some(ChatStatus::Active), None, false)?;
                added = planned
                    .participants
                    .into_iter()
                    .find(|p| p.chatter_type == ChatterType::User && p.chatter_id == body.chatter_id);
                return Ok(planned.change);
            }
            if myself && body.chatter_active == 1 && policy::own(&ident, state).is_none() {
                // Joining a chat that has left the queue: another agent accepted it first.
                return Err(ApiError::conflict("this chat was already accepted"));
            }
            policy::can_manage(&ident, state)?;
            if body.permission_level == Some(PermissionLevel::Owner)
                && state.participants.iter().any(Participant::is_owner)
            {
                return Err(ApiError::conflict("the chat already has an owner"));
            }
            if state.participant(body.chatter_type, &body.chatter_id).is_some() {
                return Err(ApiError::conflict("already a participant of this chat"));
            }
            let now = app.clock.stamp();
            let name = body.chatter_name.clone().unwrap_or_else(|| body.chatter_id.clone());
            let number = is_agent.then(|| state.next_agent_number());
            let p = Participant {
                chat_id: chat_id.to_string(),
                chatter_id: body.chatter_id.clone(),
                chatter_type: body.chatter_type,
                chatter_name: name.clone(),
                chatter_active: body.chatter_active,
                permission_level: body.permission_level,
                invitation: body.invitation,
                invitation_chat_id: None,
                monitoring: body.monitoring,
                join_time: (body.chatter_active == 1).then(|| now.clone()),
                leave_time: None,
                create_time: now,
                agent_number: number,
                invited_by: (body.chatter_active != 1)
                    .then(|| state.chatter(ident.chatter_type(), ident.chatter_id(), ident.name())),
            };
            let message = if p.is_active() {
                NewMessage::system((&p).into(), "joined", vec![])
            } else {
                let text = format!("{} invited {name}.", ident.name());
                note(state, &ident, "invited", vec![(&p).into()], text)
            };
            let mut writes =
                vec![write(app.db.put_participant(&p, false, true)?, "already a participant of this chat")];
            writes.extend(numbered(app, state, number)?);
            let change = Change { writes, messages: vec![message] };
            added = Some(p);
            Ok(change)
        })
        .await?;
    let p = added.ok_or_else(ApiError::internal)?;
    Ok(Response::created(&serde_json::json!({ "participant": p })))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateParticipant {
    pub chatter_active: Option<i8>,
    pub monitoring: Option<u8>,
    pub permission_level: Option<PermissionLevel>,
}

/// `PATCH /chats/{chatId}/participants/{chatterType}/{chatterId}` (ChatParticipantUpdate,
/// AgentPermissionsUpdate). A chatter confirms, declines or leaves for itself; the owner
/// changes other agents' permission (Participant ↔ Observer) and monitoring. The first
/// agent to confirm a chat still in the queue accepts it and becomes its owner.
pub async fn update(app: &App, req: Request) -> HandlerResult {
    let ident = auth::authenticate(&req, &app.config.auth)?;
    let chat_id = req.param("chatId")?;
    ident.require_chat(chat_id)?;
    let (chatter_type, chatter_id) = path_chatter(&req)?;
    let body: UpdateParticipant = req.json()?;
    if body.chatter_active.is_none() && body.monitoring.is_none() && body.permission_level.is_none() {
        return Err(ApiError::bad_request("nothing to update: give chatterActive, monitoring or permissionLevel"));
    }
    if body.chatter_active.is_some_and(|a| !(-1..=1).contains(&a)) {
        return Err(ApiError::bad_request("chatterActive is -1, 0 or 1"));
    }
    if body.monitoring.is_some_and(|m| m > 2) {
        return Err(ApiError::bad_request("monitoring is 0, 1 or 2"));
    }
    if body.permission_level == Some(PermissionLevel::Owner) {
        return Err(ApiError::bad_request("permissionLevel changes between Participant and Observer"));
    }
    let p = change(app, &ident, chat_id, chatter_type, &chatter_id, &body).await?;
    Ok(Response::ok(&serde_json::json!({ "participant": p })))
}

/// Applies a participant change for `ident` (see [`update`]); returns the participant.
pub(crate) async fn change(
    app: &App,
    ident: &Identity,
    chat_id: &str,
    chatter_type: ChatterType,
    chatter_id: &str,
    body: &UpdateParticipant,
) -> Result<Participant, ApiError> {
    let myself = chatter_type == ident.chatter_type() && chatter_id == ident.chatter_id();
    if !myself {
        ident.require_agent()?;
    }
    let mut updated = None;
    app.db
        .apply(chat_id, |state| {
            let current = state
                .participant(chatter_type, chatter_id)
                .ok_or_else(|| ApiError::not_found("no such participant"))?;
            if current.chatter_active == -1 {
                return Err(ApiError::forbidden("this chatter has left the chat"));
            }
            open(state)?;
            if !myself {
                policy::can_manage(ident, state)?;
                if body.chatter_active.is_some() {
                    return Err(ApiError::forbidden("only the chatter itself confirms, declines or leaves"));
                }
            } else if body.permission_level.is_some() && !current.is_owner() {
                return Err(ApiError::forbidden("only the chat's owner changes permissions"));
            }
            // Confirming a chat still in the queue is accepting it.
            if myself && body.chatter_active == Some(1) && ident.is_agent() && state.chat.status == ChatStatus::Request
            {
                let planned = plan_update(app, ident, state, Some(ChatStatus::Active), None, false)?;
                updated = planned
                    .participants
                    .into_iter()
                    .find(|p| p.chatter_type == chatter_type && p.chatter_id == chatter_id);
                return Ok(planned.change);
            }
            let now = app.clock.stamp();
            let mut p = current.clone();
            let name = p.chatter_name.clone();
            let mut change = Change::default();
            if let Some(active) = body.chatter_active.filter(|a| *a != current.chatter_active) {
                if active == 0 && !ident.is_agent() {
                    return Err(ApiError::bad_request("a customer is active or leaves (-1)"));
                }
                p.chatter_active = active;
                let (event, text) = match (current.chatter_active, active) {
                    (_, 1) => {
                        // Joining answers an invitation: it is no longer pending.
                        p.invitation = false;
                        p.join_time = Some(now.clone());
                        ("joined", format!("{name} joined the chat."))
                    }
                    (0, -1) => {
                        p.leave_time = Some(now.clone());
                        ("declined", format!("{name} declined the chat."))
                    }
                    (_, -1) => {
                        p.leave_time = Some(now.clone());
                        ("left", format!("{name} left the chat."))
                    }
                    _ => ("inactive", format!("{name} is inactive.")),
                };
                let author = Chatter::from(&p);
                change.messages.push(NewMessage::system_with_text(author, event, vec![], text));
            }
            if let Some(level) = body.permission_level.filter(|l| Some(*l) != current.permission_level) {
                if p.chatter_type != ChatterType::User || current.permission_level == Some(PermissionLevel::Owner) {
                    return Err(ApiError::conflict("only a Participant or an Observer agent changes permission"));
                }
                p.permission_level = Some(level);
                change.messages.push(note(
                    state,
                    ident,
                    "permission",
                    vec![(&p).into()],
                    format!("{name} is now {level}."),
                ));
            }
            if let Some(monitoring) = body.monitoring.filter(|m| *m != current.monitoring) {
                p.monitoring = monitoring;
                let text = format!("{name} monitoring is now {monitoring}.");
                change.messages.push(note(state, ident, "monitoring", vec![(&p).into()], text));
            }
            if change.messages.is_empty() {
                updated = Some(p);
                return Ok(change);
            }
            change.writes.push(write(app.db.put_participant(&p, true, true)?, "the participant changed meanwhile"));
            // When the last customer leaves, the chat ends (endChat).
            let customers_left = p.chatter_type.is_customer()
                && p.chatter_active == -1
                && !state
                    .participants
                    .iter()
                    .any(|o| o.chatter_type.is_customer() && o.is_active() && o.chatter_id != p.chatter_id);
            if customers_left {
                let before = &state.chat;
                let after = crate::domain::model::Chat {
                    status: ChatStatus::Closed,
                    previous_status: Some(before.status),
                    update_time: now.clone(),
                    updated_by: Some(Chatter::from(&p)),
                    ..before.clone()
                };
                change.writes.insert(0, write(app.db.update_chat(before, &after)?, "the chat changed meanwhile"));
                for other in crate::api::chats::online_customers(app, state, Some(&p.chatter_id))? {
                    change.writes.push(write(other, "the participant changed meanwhile"));
                }
                change.messages.push(NewMessage::system((&p).into(), "closed", vec![]));
            }
            updated = Some(p);
            Ok(change)
        })
        .await?;
    updated.ok_or_else(ApiError::internal)
}

/// `DELETE /chats/{chatId}/participants/{chatterType}/{chatterId}` and
/// `DELETE /chats/{chatId}/participants` (ChatParticipantRemove, one or all). The owner
/// revokes access; the requester stays, so a chat always keeps the one who started it.
pub async fn remove(app: &App, req: Request) -> HandlerResult {
    let ident = auth::authenticate(&req, &app.config.auth)?;
    let chat_id = req.param("chatId")?;
    ident.require_chat(chat_id)?;
    ident.require_agent()?;
    let one = if req.params.contains_key("chatterId") { Some(path_chatter(&req)?) } else { None };
    app.db
        .apply(chat_id, |state| {
            policy::can_manage(&ident, state)?;
            let is_requester = |p: &Participant| {
                p.chatter_type == state.chat.requester_type && p.chatter_id == state.chat.requester_id
            };
            let targets: Vec<&Participant> = match &one {
                Some((t, id)) => {
                    let p = state.participant(*t, id).ok_or_else(|| ApiError::not_found("no such participant"))?;
                    if is_requester(p) {
                        return Err(ApiError::conflict("the requester cannot be removed; close the chat instead"));
                    }
                    vec![p]
                }
                None => state.participants.iter().filter(|p| !is_requester(p)).collect(),
            };
            if targets.is_empty() {
                return Ok(Change::default());
            }
            let mut change = Change::default();
            for p in &targets {
                let item = app
                    .db
                    .delete_existing(keys::chat_pk(chat_id), keys::participant_sk(p.chatter_type, &p.chatter_id))?;
                change.writes.push(write(item, "the participant changed meanwhile"));
            }
            let author = state.chatter(ident.chatter_type(), ident.chatter_id(), ident.name());
            let subjects = targets.iter().map(|p| Chatter::from(*p)).collect();
            change.messages.push(NewMessage::system(author, "removed", subjects));
            Ok(change)
        })
        .await?;
    Ok(Response::no_content())
}

/// `GET /chats/{chatId}/participants` (ChatParticipantList).
pub async fn list(app: &App, req: Request) -> HandlerResult {
    let ident = auth::authenticate(&req, &app.config.auth)?;
    let state = readable_state(app, &ident, req.param("chatId")?).await?;
    let views: Vec<Participant> =
        state.participants.iter().map(|p| masking(app, &ident, &state.participants).participant(p)).collect();
    Ok(Response::ok(&serde_json::json!({ "participants": views })))
}

/// `GET /chats/{chatId}/participants/{chatterType}/{chatterId}` (ChatParticipantCheck).
pub async fn get(app: &App, req: Request) -> HandlerResult {
    let ident = auth::authenticate(&req, &app.config.auth)?;
    let (chatter_type, chatter_id) = path_chatter(&req)?;
    let state = readable_state(app, &ident, req.param("chatId")?).await?;
    let p = state.participant(chatter_type, &chatter_id).ok_or_else(|| ApiError::not_found("no such participant"))?;
    Ok(Response::ok(&serde_json::json!({ "participant": masking(app, &ident, &state.participants).participant(p) })))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invite {
    invite_user_id: String,
    invite_user_name: Option<String>,
    invitation_chat_id: Option<String>,
}

/// `POST /chats/{chatId}/invitations` (ChatInvite): an agent in the chat invites another
/// agent, who becomes an inactive participant with a pending invitation.
pub async fn invite(app: &App, req: Request) -> HandlerResult {
    let ident = auth::authenticate(&req, &app.config.auth)?;
    let chat_id = req.param("chatId")?;
    ident.require_chat(chat_id)?;
    ident.require_agent()?;
    let body: Invite = req.json()?;
    validate::id("inviteUserId", &body.invite_user_id)?;
    validate::optional_name("inviteUserName", &body.invite_user_name, validate::MAX_NAME_CHARS)?;
    if let Some(id) = &body.invitation_chat_id {
        validate::id("invitationChatId", id)?;
    }
    let mut invited = None;
    app.db
        .apply(chat_id, |state| {
            open(state)?;
            match policy::own(&ident, state) {
                Some(p) if p.is_contributor() => {}
                _ => return Err(ApiError::forbidden("only an active owner or participant invites")),
            }
            if state.participant(ChatterType::User, &body.invite_user_id).is_some() {
                return Err(ApiError::conflict("already a participant of this chat"));
            }
            let now = app.clock.stamp();
            let name = body.invite_user_name.clone().unwrap_or_else(|| body.invite_user_id.clone());
            let number = state.next_agent_number();
            let p = Participant {
                chat_id: chat_id.to_string(),
                chatter_id: body.invite_user_id.clone(),
                chatter_type: ChatterType::User,
                chatter_name: name.clone(),
                chatter_active: 0,
                permission_level: Some(PermissionLevel::Participant),
                invitation: true,
                invitation_chat_id: body.invitation_chat_id.clone(),
                monitoring: 0,
                join_time: None,
                leave_time: None,
                create_time: now,
                agent_number: Some(number),
                invited_by: Some(state.chatter(ident.chatter_type(), ident.chatter_id(), ident.name())),
            };
            let mut writes =
                vec![write(app.db.put_participant(&p, false, true)?, "already a participant of this chat")];
            writes.extend(numbered(app, state, Some(number))?);
            let text = format!("{} invited {name}.", ident.name());
            let change = Change { writes, messages: vec![note(state, &ident, "invited", vec![(&p).into()], text)] };
            invited = Some(p);
            Ok(change)
        })
        .await?;
    Ok(Response::created(&serde_json::json!({ "participant": invited.ok_or_else(ApiError::internal)? })))
}

fn own_user(ident: &Identity, req: &Request) -> Result<String, ApiError> {
    ident.require_agent()?;
    let user_id = req.param("userId")?;
    if user_id != ident.chatter_id() {
        return Err(ApiError::forbidden("agents read and remove only their own invitations"));
    }
    Ok(user_id.to_string())
}

/// `GET /users/{userId}/invitations` (ChatInvitesGet): the caller's pending invitations,
/// optionally for one `chatId` or `invitationChatId`.
pub async fn invitations(app: &App, req: Request) -> HandlerResult {
    let ident = auth::authenticate(&req, &app.config.auth)?;
    let user_id = own_user(&ident, &req)?;
    let query = IndexQuery {
        index: keys::GSI1,
        pk: keys::chatter_pk(ChatterType::User, &user_id),
        sk: SortKey::BeginsWith(keys::chatter_state_prefix(0, true)),
    };
    let (pending, next) =
        app.db.chatter_participations(&query, crate::api::chats::page_limit(&req)?, req.query("cursor")).await?;
    let chat_id = req.query("chatId");
    let via = req.query("invitationChatId");
    let invitations: Vec<serde_json::Value> = pending
        .into_iter()
        .filter(|p| chat_id.is_none_or(|c| c == p.chat_id) && via.is_none_or(|v| Some(v) == p.invitation_chat_id.as_deref()))
        .map(|p| serde_json::json!({ "chatId": p.chat_id, "invitationChatId": p.invitation_chat_id, "createTime": p.create_time }))
        .collect();
    Ok(Response::ok(&serde_json::json!({ "invitations": invitations, "nextCursor": next })))
}

/// `DELETE /users/{userId}/invitations/{chatId}` (ChatInviteRemove).
pub async fn remove_invitation(app: &App, req: Request) -> HandlerResult {
    let ident = auth::authenticate(&req, &app.config.auth)?;
    let user_id = own_user(&ident, &req)?;
    let chat_id = req.param("chatId")?;
    app.db
        .apply(chat_id, |state| {
            let pending = state
                .participant(ChatterType::User, &user_id)
                .filter(|p| p.invitation && p.chatter_active == 0)
                .ok_or_else(|| ApiError::not_found("no pending invitation to this chat"))?;
            let item =
                app.db.delete_existing(keys::chat_pk(chat_id), keys::participant_sk(ChatterType::User, &user_id))?;
            Ok(Change {
                writes: vec![write(item, "the invitation changed meanwhile")],
                messages: vec![note(
                    state,
                    &ident,
                    "invitationRemoved",
                    vec![pending.into()],
                    format!("{}'s invitation was removed.", pending.chatter_name),
                )],
            })
        })
        .await?;
    Ok(Response::no_content())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Decline {
    message: Option<String>,
}

/// `POST /chats/{chatId}/decline` (ChatDecline): an invited agent declines an
/// agent-to-agent chat; a request nobody else is invited to is then closed.
pub async fn decline(app: &App, req: Request) -> HandlerResult {
    let ident = auth::authenticate(&req, &app.config.auth)?;
    let chat_id = req.param("chatId")?;
    ident.require_chat(chat_id)?;
    ident.require_agent()?;
    let body: Decline = req.json()?;
    if let Some(m) = &body.message {
        validate::text("message", m, validate::MAX_TEXT_CHARS)?;
    }
    app.db
        .apply(chat_id, |state| {
            // 403: not your chat; 409: yours, but nothing to decline.
            let me = policy::own(&ident, state)
                .filter(|p| p.chatter_active != -1)
                .ok_or_else(|| ApiError::forbidden("you are not a participant of this chat"))?;
            if !(state.chat.requester_type == ChatterType::User && state.chat.target_type == TargetType::User) {
                return Err(ApiError::conflict("only agent-to-agent chats can be declined"));
            }
            open(state)?;
            if me.chatter_active != 0 {
                return Err(ApiError::conflict("you have no pending request in this chat"));
            }
            let now = app.clock.stamp();
            let declined = Participant { chatter_active: -1, leave_time: Some(now), ..me.clone() };
            let text =
                body.message.clone().unwrap_or_else(|| format!("{} has declined the chat request.", me.chatter_name));
            let mut change = Change {
                writes: vec![write(
                    app.db.put_participant(&declined, true, true)?,
                    "the participant changed meanwhile",
                )],
                messages: vec![NewMessage::system_with_text(me.into(), "declined", vec![], text)],
            };
            let others_pending = state.participants.iter().any(|p| {
                p.chatter_active == 0 && p.chatter_id != me.chatter_id
                    || p.is_active()
                        && !(p.chatter_type == state.chat.requester_type && p.chatter_id == state.chat.requester_id)
            });
            if state.chat.status == ChatStatus::Request && !others_pending {
                let before = &state.chat;
                let after = crate::domain::model::Chat {
                    status: ChatStatus::Closed,
                    previous_status: Some(before.status),
                    update_time: app.clock.stamp(),
                    updated_by: Some(me.into()),
                    ..before.clone()
                };
                change.writes.insert(0, write(app.db.update_chat(before, &after)?, "the chat changed meanwhile"));
            }
            Ok(change)
        })
        .await?;
    Ok(Response::no_content())
}
