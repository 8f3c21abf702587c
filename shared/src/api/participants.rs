//! Participants: ChatParticipantAdd, ChatParticipantUpdate, AgentPermissionsUpdate,
//! ChatParticipantRemove, ChatParticipantList, ChatParticipantCheck; and the invitations
//! (ChatInvite, ChatInvitesGet, ChatInviteRemove, ChatDecline), which are participants too.

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::auth;
use crate::domain::caller::Identity;
use crate::domain::masking::Masking;
use crate::domain::model::{ChatState, ChatterType, Participant};
use crate::domain::policy;
use crate::domain::transitions::{self, Removal};
pub use crate::domain::transitions::{AddParticipant, Invite, UpdateParticipant};
use crate::domain::validate;
use crate::error::ApiError;
use crate::http::{HandlerResult, Request, Response};
use crate::store::IndexQuery;

/// How `viewer` sees the chatters of a chat (MaskAgentName): the one masking rule.
pub fn masking<'a>(app: &'a App, viewer: &Identity, participants: &'a [Participant]) -> Masking<'a> {
    Masking::new(app.config.agent_mask(), viewer.is_agent(), participants)
}

/// A participant as the list and the check show it: with its read receipt.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantView {
    #[serde(flatten)]
    pub participant: Participant,
    /// The index of the last message this participant has marked read
    /// (`POST /chats/{chatId}/read`); absent until it marks one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_read_index: Option<u64>,
}

/// `p` as `shown` lets the viewer see it, with how far it has read.
fn view(state: &ChatState, shown: &Masking, p: &Participant) -> ParticipantView {
    ParticipantView {
        participant: shown.participant(p),
        last_read_index: state.last_read(p.chatter_type, &p.chatter_id),
    }
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
    let state = super::chat_state(app, chat_id).await?;
    policy::can_read(ident, &state)?;
    Ok(state)
}

/// `POST /chats/{chatId}/participants` (ChatParticipantAdd). The owner adds others; an agent
/// adding itself active to a chat still in the queue accepts it.
pub async fn add(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let body: AddParticipant = req.json()?;
    body.validate()?;
    let reference = req.reference()?;
    let mut added = None;
    app.db
        .apply(chat_id, |state| {
            let (plan, p) = transitions::add_participant(state, &ident, &body, &app.clock.moment())?;
            added = Some(p);
            Ok(plan.referenced(reference))
        })
        .await?;
    let p = added.ok_or_else(ApiError::internal)?;
    // An invited or added customer gets its way in: a chat token for this chat and this
    // chatter only, for the Owner to hand over (a join link, for instance).
    let token = if p.chatter_type.is_customer() {
        let now = app.clock.epoch_secs();
        Some(auth::issue_chat_token(&app.config.auth, chat_id, &p.chatter_id, p.chatter_type, &p.chatter_name, now)?)
    } else {
        None
    };
    Ok(Response::created(&serde_json::json!({ "participant": p, "token": token })))
}

/// ChatParticipantUpdate's body: the change, and a customer's own identity token. Something
/// must change (the schema says so; `UpdateParticipant::validate` checks it).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("anyOf" = [
    { "required": ["chatterActive"], "properties": { "chatterActive": { "type": "integer" } } },
    { "required": ["monitoring"], "properties": { "monitoring": { "type": "integer" } } },
    { "required": ["permissionLevel"], "properties": { "permissionLevel": { "type": "string" } } },
    { "required": ["identityToken"], "properties": { "identityToken": { "type": "string" } } }
]))]
pub struct UpdateBody {
    #[serde(flatten)]
    change: UpdateParticipant,
    /// A customer an agent added confirms who it is with the identity token its site signs
    /// (as for `POST /chats`): from then on it is a verified customer.
    identity_token: Option<String>,
}

/// `PATCH /chats/{chatId}/participants/{chatterType}/{chatterId}` (ChatParticipantUpdate,
/// AgentPermissionsUpdate). A chatter confirms, declines or leaves for itself; the owner
/// changes other agents' permission (Participant ↔ Observer) and monitoring. The first
/// agent to confirm a chat still in the queue accepts it and becomes its owner.
pub async fn update(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let (chatter_type, chatter_id) = path_chatter(&req)?;
    let body: UpdateBody = req.json()?;
    let mut cmd = body.change;
    if let Some(token) = &body.identity_token {
        // Its own identity token: the site vouches that this chatter is that customer.
        // The caller is who its bearer token says; this token is the body's, a bad input.
        let (customer_id, _) = auth::verify_identity(token, &app.config.auth)
            .ok_or_else(|| ApiError::bad_request("identityToken is not a valid identity token"))?;
        if chatter_type != ChatterType::Customer || customer_id != chatter_id || ident.chatter_id() != chatter_id {
            return Err(ApiError::forbidden("the identity token is not this customer's"));
        }
        cmd.verified = true;
    }
    let body = cmd;
    body.validate()?;
    let p = change(app, &ident, chat_id, (chatter_type, &chatter_id), &body, req.reference()?).await?;
    Ok(Response::ok(&serde_json::json!({ "participant": p })))
}

/// Applies a participant change for `ident` (see [`update`]); returns the participant.
pub(crate) async fn change(
    app: &App,
    ident: &Identity,
    chat_id: &str,
    target: (ChatterType, &str),
    body: &UpdateParticipant,
    reference: Option<&str>,
) -> Result<Participant, ApiError> {
    let mut updated = None;
    app.db
        .apply(chat_id, |state| {
            let (plan, p) = transitions::update_participant(state, ident, target, body, &app.clock.moment())?;
            updated = Some(p);
            Ok(plan.referenced(reference))
        })
        .await?;
    updated.ok_or_else(ApiError::internal)
}

/// `DELETE /chats/{chatId}/participants/{chatterType}/{chatterId}` and
/// `DELETE /chats/{chatId}/participants` (ChatParticipantRemove, one or all). The owner
/// revokes access; the requester stays, so a chat always keeps the one who started it.
pub async fn remove(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let one = if req.params.contains_key("chatterId") { Some(path_chatter(&req)?) } else { None };
    let of_type = req
        .query("chatterType")
        .map(|t| ChatterType::parse_chatter(t).ok_or_else(|| ApiError::bad_request(format!("unknown chatterType {t}"))))
        .transpose()?;
    let whom = match (&one, of_type) {
        (Some((t, id)), _) => Removal::One(*t, id),
        (None, Some(t)) => Removal::OfType(t),
        (None, None) => Removal::All,
    };
    app.db.apply(chat_id, |state| transitions::remove_participants(state, &ident, whom)).await?;
    Ok(Response::no_content())
}

/// `GET /chats/{chatId}/participants` (ChatParticipantList).
pub async fn list(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let state = readable_state(app, &ident, req.param("chatId")?).await?;
    let shown = masking(app, &ident, &state.participants);
    let views: Vec<ParticipantView> = state
        .participants
        .iter()
        .filter(|p| shown.shows(p.chatter_type, &p.chatter_id))
        .map(|p| view(&state, &shown, p))
        .collect();
    Ok(Response::ok(&serde_json::json!({ "participants": views })))
}

/// `GET /chats/{chatId}/participants/{chatterType}/{chatterId}` (ChatParticipantCheck);
/// `?active=1` finds only an active chatter (the seed's default, without `NoActive`).
pub async fn get(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let (chatter_type, chatter_id) = path_chatter(&req)?;
    let active_only = req.query_flag("active")?;
    let state = readable_state(app, &ident, req.param("chatId")?).await?;
    let shown = masking(app, &ident, &state.participants);
    // Found by the id this viewer is shown: with masking on, a customer names an agent
    // `agent-<n>`, and its real id finds nothing (no oracle for who is behind a number).
    let p = state
        .participants
        .iter()
        .filter(|p| p.chatter_type == chatter_type && shown.participant(p).chatter_id == chatter_id)
        .find(|p| (!active_only || p.is_active()) && shown.shows(p.chatter_type, &p.chatter_id))
        .ok_or_else(|| ApiError::not_found("no such participant"))?;
    Ok(Response::ok(&serde_json::json!({ "participant": view(&state, &shown, p) })))
}

/// `POST /chats/{chatId}/invitations` (ChatInvite): an agent in the chat invites another
/// agent, who becomes an inactive participant with a pending invitation.
pub async fn invite(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let body: Invite = req.json()?;
    body.validate()?;
    let reference = req.reference()?;
    let mut invited = None;
    app.db
        .apply(chat_id, |state| {
            let (plan, p) = transitions::invite(state, &ident, &body, &app.clock.moment())?;
            invited = Some(p);
            Ok(plan.referenced(reference))
        })
        .await?;
    Ok(Response::created(&serde_json::json!({ "participant": invited.ok_or_else(ApiError::internal)? })))
}

/// `GET /users/{userId}/invitations` (ChatInvitesGet): the caller's pending invitations,
/// optionally for one `chatId` or `invitationChatId`.
pub async fn invitations(app: &App, req: Request) -> HandlerResult {
    req.caller()?;
    let user_id = req.param("userId")?;
    let query = pending_invitations(user_id);
    let chat_id = req.query("chatId");
    let via = req.query("invitationChatId");
    let keep = |p: &Participant| {
        chat_id.is_none_or(|c| c == p.chat_id) && via.is_none_or(|v| Some(v) == p.invitation_chat_id.as_deref())
    };
    let limit = crate::api::chats::page_limit(&req)?;
    let (pending, next) = app.db.chatter_participations(&query, limit, req.query("cursor"), keep).await?;
    let invitations: Vec<serde_json::Value> = pending
        .into_iter()
        .map(|p| serde_json::json!({ "chatId": p.chat_id, "invitationChatId": p.invitation_chat_id, "createTime": p.create_time }))
        .collect();
    Ok(Response::ok(&serde_json::json!({ "invitations": invitations, "nextCursor": next })))
}

/// An agent's pending invitations (GSI1).
fn pending_invitations(user_id: &str) -> IndexQuery {
    IndexQuery::participations(ChatterType::User, user_id, None, true)
}

/// `DELETE /users/{userId}/invitations/{chatId}`, and `DELETE /users/{userId}/invitations
/// ?invitationChatId=` (ChatInviteRemove, by ChatID or by InvitationChatID).
pub async fn remove_invitation(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_ids = match (req.params.get("chatId"), req.query("invitationChatId")) {
        (Some(chat_id), None) => vec![chat_id.clone()],
        (None, Some(via)) => {
            validate::id("invitationChatId", via)?;
            let pending: Vec<Participant> = app.db.query_all(&pending_invitations(ident.chatter_id())).await?;
            let found: Vec<String> = pending
                .into_iter()
                .filter(|p| p.invitation_chat_id.as_deref() == Some(via))
                .map(|p| p.chat_id)
                .collect();
            if found.is_empty() {
                return Err(ApiError::not_found("no pending invitation through this chat"));
            }
            found
        }
        _ => return Err(ApiError::bad_request("give the chatId or invitationChatId, not both")),
    };
    for chat_id in &chat_ids {
        app.db.apply(chat_id, |state| transitions::remove_invitation(state, &ident)).await?;
    }
    Ok(Response::no_content())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Decline {
    message: Option<String>,
}

/// `POST /chats/{chatId}/decline` (ChatDecline): an invited agent declines an
/// agent-to-agent chat; a request nobody else is invited to is then closed.
pub async fn decline(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let body: Decline = req.json()?;
    if let Some(m) = &body.message {
        validate::text("message", m, validate::MAX_TEXT_CHARS)?;
    }
    let message = body.message.as_deref();
    let reference = req.reference()?;
    app.db
        .apply(chat_id, |state| {
            transitions::decline(state, &ident, message, &app.clock.moment()).map(|p| p.referenced(reference))
        })
        .await?;
    Ok(Response::no_content())
}
