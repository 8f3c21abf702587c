//! The chat lifecycle: ChatAdd, ChatGet, ChatList, ChatUpdate (with ChatChannelUpdate),
//! ChatDelete.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::App;
use crate::auth;
use crate::domain::caller::Identity;
use crate::domain::masking::Masking;
use crate::domain::model::{
    Chat, ChatStatus, Chatter, ChatterActive, ChatterType, Participant, PermissionLevel, TargetType,
};
use crate::domain::plan::RateLimit;
use crate::domain::policy;
use crate::domain::transitions::{self, ChatChange};
use crate::domain::validate;
use crate::error::ApiError;
use crate::http::{HandlerResult, Request, Response};
use crate::store::{ChatRange, IndexQuery};

/// A chat as the API shows it: the record plus what ChatGet computes from its participants.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatView {
    #[serde(flatten)]
    pub chat: Chat,
    /// The channel's display name.
    pub channel: String,
    pub agent_to_agent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contributors_count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_present: Option<bool>,
    /// CustomerIDGet: the known customer of the chat (none for a Public visitor's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// ChatPermissionLevelGet: the calling agent's level in this chat (ChatGet only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_level: Option<PermissionLevel>,
    /// ChatList's `Invitation` column: by `chatterId`, whether that chatter's invitation
    /// to it is pending; false on other listings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation: Option<bool>,
    /// While a customer's request waits (ChatGet, in the customer's view): its place in its
    /// channel's queue, 1 = next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<u64>,
    /// With `queuePosition`: the channel's recent mean wait less what this request has
    /// waited, in seconds; null when nothing was accepted in the channel lately.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_wait_seconds: Option<Option<u64>>,
}

impl ChatView {
    /// The chat as a viewer sees it: for customers, the last actor is masked like every
    /// other mention of an agent.
    pub fn new(app: &App, mut chat: Chat, participants: Option<&[Participant]>, viewer_is_agent: bool) -> Self {
        let masking = Masking::new(app.config.agent_mask(), viewer_is_agent, participants.unwrap_or_default());
        if let Some(by) = chat.updated_by.as_mut() {
            by.chatter_name = masking.name(by.chatter_type, &by.chatter_id, &by.chatter_name, by.number);
            by.chatter_id = masking.id(by.chatter_type, &by.chatter_id, by.number);
        }
        // An agent who started the chat is masked like any other mention of an agent.
        let requester = (chat.requester_type, chat.requester_id.clone(), chat.requester_name.clone());
        chat.requester_name = masking.name(requester.0, &requester.1, &requester.2, None);
        chat.requester_id = masking.id(requester.0, &requester.1, None);
        if !viewer_is_agent {
            // How many agents were numbered tells of silent monitors: agents' business.
            chat.agent_numbers = 0;
        }
        let channel = app.config.channel_name(&chat.channel_id).unwrap_or_else(|| chat.channel_id.clone());
        ChatView {
            channel,
            // IsChatAgentToAgent
            agent_to_agent: chat.is_agent_to_agent(),
            contributors_count: participants.map(|ps| ps.iter().filter(|p| p.is_contributor()).count()),
            customer_present: participants.map(|ps| ps.iter().any(|p| p.chatter_type.is_customer() && p.is_active())),
            customer_id: if chat.requester_type == ChatterType::Customer {
                Some(chat.requester_id.clone())
            } else {
                participants
                    .unwrap_or_default()
                    .iter()
                    .find(|p| p.chatter_type == ChatterType::Customer)
                    .map(|p| p.chatter_id.clone())
            },
            permission_level: None,
            invitation: None,
            queue_position: None,
            estimated_wait_seconds: None,
            chat,
        }
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddChat {
    #[schemars(length(min = 1, max = 128), regex(pattern = validate::ID_PATTERN))]
    channel_id: String,
    status: Option<ChatStatus>,
    requester_type: Option<ChatterType>,
    #[schemars(length(min = 1, max = 128), regex(pattern = validate::ID_PATTERN))]
    requester_id: Option<String>,
    #[schemars(length(max = 200), regex(pattern = validate::NAME_PATTERN))]
    requester_name: Option<String>,
    target_type: Option<TargetType>,
    #[schemars(length(min = 1, max = 128), regex(pattern = validate::ID_PATTERN))]
    ticket_id: Option<String>,
    /// An object of at most 8 KiB as JSON, 5 levels deep, no empty keys.
    #[schemars(extend("type" = ["object", "null"]))]
    user_data: Option<Value>,
    #[schemars(length(max = 200), regex(pattern = validate::NAME_PATTERN))]
    nickname: Option<String>,
    #[schemars(length(max = 200), regex(pattern = validate::NAME_PATTERN))]
    firstname: Option<String>,
    #[schemars(length(max = 200), regex(pattern = validate::NAME_PATTERN))]
    lastname: Option<String>,
    #[schemars(length(max = 254), regex(pattern = validate::NAME_PATTERN))]
    email: Option<String>,
    #[schemars(length(max = 500), regex(pattern = validate::NAME_PATTERN))]
    subject: Option<String>,
    /// Identity verification: a token the site's backend signed for its logged-in customer
    /// (`sub` the customer id, `name`). Only with one is a requester a known Customer.
    identity_token: Option<String>,
}

/// `POST /chats` (ChatAdd, and the widget's startChat). Agents start chats with their
/// token; customers and visitors need none and get back a token for this chat only.
pub async fn add(app: &App, req: Request) -> HandlerResult {
    let caller = req.caller.clone();
    let body: AddChat = req.json()?;
    super::known_channel(app, &body.channel_id)?;
    for (field, value, max) in [
        ("requesterName", &body.requester_name, validate::MAX_NAME_CHARS),
        ("nickname", &body.nickname, validate::MAX_NAME_CHARS),
        ("firstname", &body.firstname, validate::MAX_NAME_CHARS),
        ("lastname", &body.lastname, validate::MAX_NAME_CHARS),
        ("email", &body.email, 254),
        ("subject", &body.subject, 500),
    ] {
        validate::optional_name(field, value, max)?;
    }
    if let Some(ticket) = &body.ticket_id {
        validate::id("ticketId", ticket)?;
    }
    let user_data = validate::user_data(body.user_data)?;

    let agent = match &caller {
        Some(Identity::Agent { user_id, name, .. }) => Some((user_id.clone(), name.clone())),
        _ => None,
    };
    // A known customer proves it with an identity token; without one, a requester that
    // says it is a Customer is a Public visitor (docs/security.md).
    let verified = match &body.identity_token {
        Some(token) => Some(
            auth::verify_identity(token, &app.config.auth)
                .ok_or_else(|| ApiError::unauthorized("invalid or expired identity token"))?,
        ),
        None => None,
    };
    let requester_type = match (body.requester_type, &agent, &verified) {
        (Some(ChatterType::Customer), _, None) => ChatterType::Public,
        (Some(t), ..) => t,
        (None, Some(_), _) => ChatterType::User,
        (None, None, Some(_)) => ChatterType::Customer,
        (None, None, None) => ChatterType::Public,
    };
    let status = body.status.unwrap_or(ChatStatus::Request);
    let form_name = body.nickname.clone().or_else(|| {
        let full =
            [body.firstname.as_deref(), body.lastname.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        (!full.trim().is_empty()).then_some(full)
    });
    let (requester_id, requester_name) = match requester_type {
        ChatterType::User => {
            let (user_id, name) =
                agent.ok_or_else(|| ApiError::unauthorized("agents start chats with their agent token"))?;
            if body.requester_id.as_deref().is_some_and(|id| id != user_id) {
                return Err(ApiError::forbidden("agents start chats as themselves"));
            }
            (user_id, body.requester_name.clone().unwrap_or(name))
        }
        ChatterType::Customer => {
            let (id, verified_name) = verified.clone().ok_or_else(ApiError::internal)?;
            validate::id("the identity token's sub", &id)?;
            if body.requester_id.as_deref().is_some_and(|r| r != id) {
                return Err(ApiError::forbidden("requesterId is not the customer the identity token names"));
            }
            (id, verified_name.or(body.requester_name.clone()).or(form_name).unwrap_or_else(|| "Customer".into()))
        }
        ChatterType::System => return Err(ApiError::bad_request("requesterType is User, Customer or Public")),
        ChatterType::Public => (
            format!("visitor-{}", uuid::Uuid::new_v4()),
            body.requester_name.clone().or(form_name).unwrap_or_else(|| "Visitor".into()),
        ),
    };
    if status == ChatStatus::Closed || (status == ChatStatus::Active && requester_type != ChatterType::User) {
        return Err(ApiError::bad_request("a new chat is a request (or active, when an agent starts it)"));
    }
    let target_type = body.target_type.unwrap_or(TargetType::User);

    let now = app.clock.stamp();
    let who = Chatter {
        chatter_type: requester_type,
        chatter_id: requester_id.clone(),
        chatter_name: requester_name.clone(),
        number: None,
        unverified: false,
    };
    let chat = Chat {
        status,
        ticket_id: body.ticket_id,
        subject: body.subject,
        email: body.email,
        firstname: body.firstname,
        lastname: body.lastname,
        nickname: body.nickname,
        user_data,
        agent_numbers: u32::from(requester_type == ChatterType::User),
        ..Chat::request(uuid::Uuid::new_v4().to_string(), &who, target_type, body.channel_id, &now)
    };
    let requester = Participant {
        chat_id: chat.chat_id.clone(),
        chatter_id: requester_id.clone(),
        chatter_type: requester_type,
        chatter_name: requester_name.clone(),
        chatter_active: ChatterActive::Active,
        permission_level: (requester_type == ChatterType::User).then_some(PermissionLevel::Owner),
        invitation: false,
        invitation_chat_id: None,
        monitoring: 0,
        join_time: Some(now.clone()),
        leave_time: None,
        create_time: now,
        agent_number: (requester_type == ChatterType::User).then_some(1),
        invited_by: None,
        unverified: false,
        reference_id: None,
    };
    let rate = RateLimit { limit: app.config.chats_per_minute_per_address, window_secs: 60 };
    let plan = transitions::start_chat(&chat, &requester, req.source_ip.as_deref(), rate, &app.clock.moment());
    app.db.commit_writes(&plan.writes).await?;

    let token = if requester_type.is_customer() {
        Some(auth::issue_chat_token(
            &app.config.auth,
            &chat.chat_id,
            &requester_id,
            requester_type,
            &requester_name,
            app.clock.epoch_secs(),
        )?)
    } else {
        None
    };
    let view = ChatView::new(app, chat, Some(std::slice::from_ref(&requester)), requester_type == ChatterType::User);
    Ok(Response::created(&serde_json::json!({ "chat": view, "token": token })))
}

/// `GET /chats/{chatId}` (ChatGet).
pub async fn get(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let state = super::chat_state(app, chat_id).await?;
    policy::can_read(&ident, &state)?;
    let level = policy::own(&ident, &state).and_then(|p| p.permission_level);
    // The customer's view: agents see the queue itself.
    let place = if ident.is_agent() { None } else { super::queue_place(app, &state.chat).await? };
    let mut view = ChatView::new(app, state.chat, Some(&state.participants), ident.is_agent());
    view.permission_level = level;
    if let Some((position, estimate)) = place {
        view.queue_position = Some(position);
        view.estimated_wait_seconds = Some(estimate);
    }
    Ok(Response::ok(&serde_json::json!({ "chat": view })))
}

fn parse_list<T>(value: Option<&str>, field: &str, parse: fn(&str) -> Option<T>) -> Result<Vec<T>, ApiError> {
    value
        .map(|v| {
            v.split(',')
                .map(|item| parse(item.trim()).ok_or_else(|| ApiError::bad_request(format!("unknown {field} {item}"))))
                .collect()
        })
        .unwrap_or_else(|| Ok(Vec::new()))
}

/// `limit` of a list: 1 to 100, default 100.
pub fn page_limit(req: &Request) -> Result<usize, ApiError> {
    match req.query("limit") {
        None => Ok(100),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ApiError::bad_request("limit must be between 1 and 100")),
    }
}

/// The filters of ChatList.
struct ListFilter {
    status: Option<ChatStatus>,
    requester_types: Vec<ChatterType>,
    target_type: Option<TargetType>,
    channel_ids: Vec<String>,
    /// Requests created before this time (the decay cut-off).
    outdated_before: Option<String>,
}

impl ListFilter {
    fn matches(&self, chat: &Chat) -> bool {
        self.status.is_none_or(|s| s == chat.status)
            && (self.requester_types.is_empty() || self.requester_types.contains(&chat.requester_type))
            && self.target_type.is_none_or(|t| t == chat.target_type)
            && (self.channel_ids.is_empty() || self.channel_ids.contains(&chat.channel_id))
            && self
                .outdated_before
                .as_ref()
                .is_none_or(|cut| chat.status == ChatStatus::Request && chat.create_time < *cut)
    }

    /// The sort key range of GSI2/GSI3 (`<status>#<createTime>#<chatId>`).
    fn range(&self) -> ChatRange {
        match (&self.outdated_before, self.status) {
            (Some(cut), _) => ChatRange::RequestsBefore(cut.clone()),
            (None, Some(s)) => ChatRange::Status(s),
            (None, None) => ChatRange::Any,
        }
    }

    /// The queries of each partition that can hold a match, a sharded key's shards read
    /// together; see docs/data-model.md.
    fn queries(&self) -> Vec<Vec<IndexQuery>> {
        let range = self.range();
        if !self.channel_ids.is_empty() {
            return self.channel_ids.iter().map(|c| IndexQuery::chats_in_channel(c, &range)).collect();
        }
        if !self.requester_types.is_empty() || self.target_type.is_some() {
            let requesters = if self.requester_types.is_empty() {
                ChatterType::CHATTERS.to_vec()
            } else {
                self.requester_types.clone()
            };
            let targets = self.target_type.map_or(TargetType::ALL.to_vec(), |t| vec![t]);
            return requesters
                .iter()
                .flat_map(|r| targets.iter().map(move |t| (*r, *t)))
                .map(|(r, t)| IndexQuery::chats_of_types(r, t, &range))
                .collect();
        }
        match &self.outdated_before {
            Some(cut) => vec![IndexQuery::chats_in_status(ChatStatus::Request, Some(cut))],
            None => self
                .status
                .map_or(ChatStatus::ALL.to_vec(), |s| vec![s])
                .into_iter()
                .map(|s| IndexQuery::chats_in_status(s, None))
                .collect(),
        }
    }
}

/// `GET /chats` (ChatList), for agents.
pub async fn list(app: &App, req: Request) -> HandlerResult {
    let caller = req.caller()?;
    let limit = page_limit(&req)?;
    let status = req
        .query("status")
        .map(|s| ChatStatus::parse(s).ok_or_else(|| ApiError::bad_request(format!("unknown status {s}"))))
        .transpose()?;
    let outdated = req.query_flag("outdated")?;
    if outdated && status.is_some_and(|s| s != ChatStatus::Request) {
        return Ok(Response::ok(&serde_json::json!({ "chats": [], "nextCursor": null })));
    }
    let channel_ids: Vec<String> =
        req.query("channelIds").map(|v| v.split(',').map(|c| c.trim().to_string()).collect()).unwrap_or_default();
    for c in &channel_ids {
        validate::id("channelIds", c)?;
    }
    if channel_ids.len() > 20 {
        return Err(ApiError::bad_request("at most 20 channelIds"));
    }
    let filter = ListFilter {
        status,
        requester_types: parse_list(req.query("requesterType"), "requesterType", ChatterType::parse_chatter)?,
        target_type: req
            .query("targetType")
            .map(|t| TargetType::parse(t).ok_or_else(|| ApiError::bad_request(format!("unknown targetType {t}"))))
            .transpose()?,
        channel_ids,
        outdated_before: outdated.then(|| app.clock.ago(app.config.request_decay_secs)),
    };
    let cursor = req.query("cursor");

    if req.query("chatterId").is_none() {
        for name in ["chatterType", "chatterActive", "invitationPending"] {
            if req.query(name).is_some() {
                return Err(ApiError::bad_request(format!("{name} filters the chats of a chatterId: give chatterId")));
            }
        }
    }
    // Per chat listed through a chatter's participations: its invitation is pending.
    let mut invitations: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    // Chats the caller is known to read from its own participations (it has not left).
    let mut own_chats: std::collections::HashSet<String> = std::collections::HashSet::new();
    let (chats, next) = if let Some(chatter_id) = req.query("chatterId") {
        validate::id("chatterId", chatter_id)?;
        let chatter_type = req
            .query("chatterType")
            .and_then(ChatterType::parse_chatter)
            .ok_or_else(|| ApiError::bad_request("chatterId needs a chatterType of User, Customer or Public"))?;
        let pending = req.query_flag("invitationPending")?;
        let active = match req.query("chatterActive") {
            None => None,
            Some("-1") => Some(ChatterActive::Left),
            Some("0") => Some(ChatterActive::Pending),
            Some("1") => Some(ChatterActive::Active),
            Some(_) => return Err(ApiError::bad_request("chatterActive must be -1, 0 or 1")),
        };
        let query = IndexQuery::participations(chatter_type, chatter_id, active, pending);
        // Filters apply before paging: pages of the chatter's chats are read until this one
        // is full or they run out, never more than it still needs.
        let mut chats = Vec::new();
        let mut next = cursor.map(str::to_string);
        loop {
            let (participations, after) =
                app.db.chatter_participations(&query, limit - chats.len(), next.as_deref(), |_| true).await?;
            invitations.extend(
                participations
                    .iter()
                    .map(|p| (p.chat_id.clone(), p.invitation && p.chatter_active == ChatterActive::Pending)),
            );
            // The caller's own participations include the private requests it is invited to.
            let own = chatter_type == ChatterType::User && chatter_id == caller.chatter_id();
            if own {
                own_chats.extend(
                    participations
                        .iter()
                        .filter(|p| p.chatter_active != ChatterActive::Left)
                        .map(|p| p.chat_id.clone()),
                );
            }
            let ids: Vec<String> = participations.into_iter().map(|p| p.chat_id).collect();
            let seen = |c: &Chat| filter.matches(c) && (own || policy::may_see_in_lists(&caller, c));
            chats.extend(app.db.get_chats(&ids).await?.into_iter().filter(seen));
            next = after;
            if chats.len() >= limit || next.is_none() {
                break;
            }
        }
        (chats, next)
    } else {
        let seen = |c: &Chat| filter.matches(c) && policy::may_see_in_lists(&caller, c);
        app.db.list_chats(&filter.queries(), limit, cursor, seen).await?
    };
    let views: Vec<ChatView> = chats
        .into_iter()
        .map(|c| {
            // Every row has the seed's `Invitation`: false where no chatter was asked about.
            let invitation = Some(invitations.get(&c.chat_id).copied().unwrap_or(false));
            let readable = own_chats.contains(&c.chat_id) || policy::any_agent_reads(&c);
            let c = if readable { c } else { policy::list_row(c) };
            ChatView { invitation, ..ChatView::new(app, c, None, true) }
        })
        .collect();
    Ok(Response::ok(&serde_json::json!({ "chats": views, "nextCursor": next })))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateChat {
    status: Option<ChatStatus>,
    channel_id: Option<String>,
}

/// `PATCH /chats/{chatId}`: `status` (ChatUpdate: request → active → closed, and active → request) and
/// `channelId` (ChatChannelUpdate).
pub async fn update(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    let body: UpdateChat = req.json()?;
    if body.status.is_none() && body.channel_id.is_none() {
        return Err(ApiError::bad_request("nothing to update: give status or channelId"));
    }
    if let Some(channel) = &body.channel_id {
        validate::id("channelId", channel)?;
        if app.config.channel_name(channel).is_none() {
            return Err(ApiError::bad_request(format!("unknown channelId {channel}")));
        }
    }
    let cmd = ChatChange {
        status: body.status,
        channel: body.channel_id.as_deref(),
        delete: false,
        reference: req.reference()?,
    };
    let mut result = None;
    app.db
        .apply(chat_id, |state| {
            let changed = transitions::change_chat(state, &ident, &cmd, &app.clock.moment())?;
            result = Some((changed.chat, changed.participants));
            Ok(changed.plan.referenced(cmd.reference))
        })
        .await?;
    let (chat, participants) = result.ok_or_else(ApiError::internal)?;
    Ok(Response::ok(&serde_json::json!({ "chat": ChatView::new(app, chat, Some(&participants), true) })))
}

/// `DELETE /chats/{chatId}` (ChatDelete): the owner (or, while nobody has accepted it, any
/// agent) removes the chat and everything in it.
/// One write closes it (if open) and marks it deleted: from then on it answers 404 and
/// nothing can be added. Its items are purged by the event publisher once the close and
/// the deletion are announced (the close's transcript is read before the purge), or by the
/// cleanup if the publisher has not done it within CLOSED_RETENTION_SECONDS.
pub async fn delete(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let chat_id = req.param("chatId")?;
    app.db.apply(chat_id, |state| transitions::delete_chat(state, &ident, &app.clock.moment())).await?;
    Ok(Response::no_content())
}
