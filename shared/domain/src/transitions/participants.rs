//! Who is in a chat: participants added, changed and removed, invitations and
//! declines, and the customer's userData.

use super::*;
use crate::model::{ChatterActive, SystemEvent};

/// A new participant (ChatParticipantAdd).
// The schema states what `validate` checks: an agent (`User`) comes with its permission
// level, anyone else without one.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend(
    "if" = { "properties": { "chatterType": { "const": "User" } } },
    "then" = { "required": ["permissionLevel"], "properties": { "permissionLevel": { "type": "string" } } },
    "else" = { "properties": { "permissionLevel": { "type": "null" } } }
))]
pub struct AddParticipant {
    #[schemars(length(min = 1, max = 128), regex(pattern = validate::ID_PATTERN))]
    pub chatter_id: String,
    #[schemars(extend("enum" = ["User", "Customer", "Public"]))]
    pub chatter_type: ChatterType,
    #[schemars(length(max = 200), regex(pattern = validate::NAME_PATTERN))]
    pub chatter_name: Option<String>,
    /// 0 (invited, not yet in) or 1.
    #[serde(default, deserialize_with = "validate::whole")]
    #[schemars(range(min = 0, max = 1))]
    pub chatter_active: i8,
    pub permission_level: Option<PermissionLevel>,
    #[serde(default)]
    pub invitation: bool,
    /// 0, 1 or 2.
    #[serde(default, deserialize_with = "validate::whole")]
    #[schemars(range(max = 2))]
    pub monitoring: u8,
}

impl AddParticipant {
    /// Where the new participant starts (`validate` allows 0 or 1).
    fn active(&self) -> ChatterActive {
        ChatterActive::try_from(self.chatter_active).unwrap_or_default()
    }

    /// The checks that need no state.
    pub fn validate(&self) -> DomainResult<()> {
        validate::id("chatterId", &self.chatter_id)?;
        validate::optional_name("chatterName", &self.chatter_name, validate::MAX_NAME_CHARS)?;
        if self.chatter_type == ChatterType::System {
            return Err(DomainError::invalid("chatterType is User, Customer or Public"));
        }
        if !(0..=1).contains(&self.chatter_active) {
            return Err(DomainError::invalid("chatterActive of a new participant is 0 or 1"));
        }
        if self.monitoring > 2 {
            return Err(DomainError::invalid("monitoring is 0, 1 or 2"));
        }
        if (self.chatter_type == ChatterType::User) != self.permission_level.is_some() {
            return Err(DomainError::invalid("permissionLevel is required for agents, and only for agents"));
        }
        Ok(())
    }
}

/// Plans ChatParticipantAdd: the owner adds others; an agent adding itself active to a
/// chat still in the queue accepts it.
pub fn add_participant(
    state: &ChatState,
    ident: &Identity,
    cmd: &AddParticipant,
    now: &Moment,
) -> DomainResult<(Plan, Participant)> {
    open(state)?;
    let is_agent = cmd.chatter_type == ChatterType::User;
    let myself = is_agent && cmd.chatter_id == ident.chatter_id();
    let active = cmd.active();
    if myself && active == ChatterActive::Active && state.chat.status == ChatStatus::Request {
        if policy::own(ident, state).is_some() {
            return Err(DomainError::conflict("you are already a participant of this chat"));
        }
        let changed =
            change_chat(state, ident, &ChatChange { status: Some(ChatStatus::Active), ..Default::default() }, now)?;
        let me = changed
            .participants
            .into_iter()
            .find(|p| p.chatter_type == ChatterType::User && p.chatter_id == cmd.chatter_id)
            .ok_or_else(|| DomainError::conflict(RACED))?;
        return Ok((changed.plan, me));
    }
    if myself && active == ChatterActive::Active && policy::own(ident, state).is_none() {
        // Joining a chat that has left the queue: another agent accepted it first.
        return Err(DomainError::conflict("this chat was already accepted"));
    }
    policy::can_manage(ident, state)?;
    if cmd.permission_level == Some(PermissionLevel::Owner) && state.participants.iter().any(Participant::is_owner) {
        return Err(DomainError::conflict("the chat already has an owner"));
    }
    if state.participant(cmd.chatter_type, &cmd.chatter_id).is_some() {
        return Err(DomainError::conflict(ALREADY));
    }
    room(state)?;
    let name = cmd.chatter_name.clone().unwrap_or_else(|| cmd.chatter_id.clone());
    let number = is_agent.then(|| state.next_agent_number());
    let p = Participant {
        chat_id: state.chat.chat_id.clone(),
        chatter_id: cmd.chatter_id.clone(),
        chatter_type: cmd.chatter_type,
        chatter_name: name.clone(),
        chatter_active: active,
        permission_level: cmd.permission_level,
        invitation: cmd.invitation,
        invitation_chat_id: None,
        monitoring: cmd.monitoring,
        join_time: (active == ChatterActive::Active).then(|| now.stamp.clone()),
        leave_time: None,
        create_time: now.stamp.clone(),
        agent_number: number,
        invited_by: (active != ChatterActive::Active)
            .then(|| state.chatter(ident.chatter_type(), ident.chatter_id(), ident.name())),
        reference_id: None,
        // No site vouched for a customer an agent adds.
        unverified: cmd.chatter_type == ChatterType::Customer,
    };
    let message = if p.is_active() {
        NewMessage::system((&p).into(), SystemEvent::Joined, vec![])
    } else {
        let text = format!("{} invited {name}.", ident.name());
        note(state, ident, SystemEvent::Invited, vec![(&p).into()], text)
    };
    let mut plan = Plan::default();
    plan.write(Write::Participant { participant: p.clone(), existed: false, chat_open: true }, ALREADY);
    numbered(&mut plan, state, number);
    plan.messages.push(message);
    Ok((plan, p))
}

/// A participant's change (ChatParticipantUpdate, AgentPermissionsUpdate, endChat).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateParticipant {
    /// -1 (leave), 0 or 1.
    #[serde(default, deserialize_with = "validate::whole_opt")]
    #[schemars(range(min = -1, max = 1))]
    pub chatter_active: Option<i8>,
    /// 0, 1 or 2.
    #[serde(default, deserialize_with = "validate::whole_opt")]
    #[schemars(range(max = 2))]
    pub monitoring: Option<u8>,
    /// Participant or Observer (an Owner stays one).
    #[schemars(extend("enum" = ["Participant", "Observer", null]))]
    pub permission_level: Option<PermissionLevel>,
    /// The chatter proved itself the customer it is with its own identity token (the edge
    /// verified it): an added customer is verified from now on.
    #[serde(skip)]
    #[schemars(skip)]
    pub verified: bool,
}

impl UpdateParticipant {
    /// The change of state asked for (`validate` refuses a number outside -1..=1).
    fn active(&self) -> Option<ChatterActive> {
        self.chatter_active.and_then(|a| ChatterActive::try_from(a).ok())
    }

    /// The checks that need no state.
    pub fn validate(&self) -> DomainResult<()> {
        if self.chatter_active.is_none()
            && self.monitoring.is_none()
            && self.permission_level.is_none()
            && !self.verified
        {
            return Err(DomainError::invalid("nothing to update: give chatterActive, monitoring or permissionLevel"));
        }
        if self.chatter_active.is_some_and(|a| !(-1..=1).contains(&a)) {
            return Err(DomainError::invalid("chatterActive is -1, 0 or 1"));
        }
        if self.monitoring.is_some_and(|m| m > 2) {
            return Err(DomainError::invalid("monitoring is 0, 1 or 2"));
        }
        if self.permission_level == Some(PermissionLevel::Owner) {
            return Err(DomainError::invalid("permissionLevel changes between Participant and Observer"));
        }
        Ok(())
    }
}

/// Plans a participant change for `ident`: a chatter confirms, declines or leaves for
/// itself; the owner changes other agents' permission (Participant ↔ Observer) and
/// monitoring. The first agent to confirm a chat still in the queue accepts it. When the
/// last customer leaves, the chat closes.
pub fn update_participant(
    state: &ChatState,
    ident: &Identity,
    target: (ChatterType, &str),
    cmd: &UpdateParticipant,
    now: &Moment,
) -> DomainResult<(Plan, Participant)> {
    let (chatter_type, chatter_id) = target;
    let myself = chatter_type == ident.chatter_type() && chatter_id == ident.chatter_id();
    if !myself {
        ident.require_agent()?;
    }
    // Monitoring is an agent's (OTRS: a supervisor's); a customer's change would be a
    // transcript line in its name, unmetered.
    if cmd.monitoring.is_some() && !ident.is_agent() {
        return Err(DomainError::forbidden("only agents set monitoring"));
    }
    let current =
        state.participant(chatter_type, chatter_id).ok_or_else(|| DomainError::not_found("no such participant"))?;
    if current.chatter_active == ChatterActive::Left {
        return Err(DomainError::forbidden("this chatter has left the chat"));
    }
    open(state)?;
    if !myself {
        policy::can_manage(ident, state)?;
        // AgentPermissionsUpdate: the Owner sets another agent active or inactive; leaving
        // (-1) is the chatter's own.
        let owner_may = chatter_type == ChatterType::User
            && matches!(cmd.active(), Some(ChatterActive::Pending | ChatterActive::Active));
        if cmd.active().is_some() && !owner_may {
            return Err(DomainError::forbidden("only the chatter itself confirms, declines or leaves"));
        }
    } else if cmd.permission_level.is_some() && !current.is_owner() {
        return Err(DomainError::forbidden("only the chat's owner changes permissions"));
    }
    // Confirming a chat still in the queue is accepting it.
    if myself
        && cmd.active() == Some(ChatterActive::Active)
        && ident.is_agent()
        && state.chat.status == ChatStatus::Request
    {
        let changed =
            change_chat(state, ident, &ChatChange { status: Some(ChatStatus::Active), ..Default::default() }, now)?;
        let me = changed
            .participants
            .into_iter()
            .find(|p| p.chatter_type == chatter_type && p.chatter_id == chatter_id)
            .ok_or_else(|| DomainError::conflict(RACED))?;
        return Ok((changed.plan, me));
    }
    let mut p = current.clone();
    let name = p.chatter_name.clone();
    let mut plan = Plan::default();
    if let Some(active) = cmd.active().filter(|a| *a != current.chatter_active) {
        if active == ChatterActive::Pending && !ident.is_agent() {
            return Err(DomainError::invalid("a customer is active or leaves (-1)"));
        }
        p.chatter_active = active;
        let (event, text) = match (current.chatter_active, active) {
            (_, ChatterActive::Active) => {
                // Joining answers an invitation: it is no longer pending.
                p.invitation = false;
                p.join_time = Some(now.stamp.clone());
                (SystemEvent::Joined, format!("{name} joined the chat."))
            }
            (ChatterActive::Pending, ChatterActive::Left) => {
                p.leave_time = Some(now.stamp.clone());
                (SystemEvent::Declined, format!("{name} declined the chat."))
            }
            (_, ChatterActive::Left) => {
                p.leave_time = Some(now.stamp.clone());
                (SystemEvent::Left, format!("{name} left the chat."))
            }
            _ => (SystemEvent::Inactive, format!("{name} is inactive.")),
        };
        plan.messages.push(NewMessage::system_with_text(Chatter::from(&p), event, vec![], text));
    }
    if let Some(level) = cmd.permission_level.filter(|l| Some(*l) != current.permission_level) {
        if p.chatter_type != ChatterType::User || current.permission_level == Some(PermissionLevel::Owner) {
            return Err(DomainError::conflict("only a Participant or an Observer agent changes permission"));
        }
        p.permission_level = Some(level);
        let text = format!("{name} is now {level}.");
        plan.messages.push(note(state, ident, SystemEvent::Permission, vec![(&p).into()], text));
    }
    if cmd.verified && current.unverified {
        if !myself {
            return Err(DomainError::forbidden("a customer verifies only itself"));
        }
        p.unverified = false;
        let text = format!("{name} confirmed who they are with their own identity token.");
        plan.messages.push(note(state, ident, SystemEvent::Verified, vec![(&p).into()], text));
    }
    if let Some(monitoring) = cmd.monitoring.filter(|m| *m != current.monitoring) {
        p.monitoring = monitoring;
        let text = format!("{name} monitoring is now {monitoring}.");
        plan.messages.push(note(state, ident, SystemEvent::Monitoring, vec![(&p).into()], text));
    }
    if plan.messages.is_empty() {
        return Ok((plan, p));
    }
    plan.write(Write::Participant { participant: p.clone(), existed: true, chat_open: true }, PARTICIPANT_RACED);
    let customers_left = p.chatter_type.is_customer()
        && p.chatter_active == ChatterActive::Left
        && !state
            .participants
            .iter()
            .any(|o| o.chatter_type.is_customer() && o.is_active() && o.chatter_id != p.chatter_id);
    if customers_left {
        let after = closed(&state.chat, Chatter::from(&p), now);
        plan.write_first(Write::Chat { before: state.chat.clone(), after }, RACED);
        online_customers(&mut plan, state, Some(&p.chatter_id));
        plan.messages.push(NewMessage::system((&p).into(), SystemEvent::Closed, vec![]));
    }
    Ok((plan, p))
}

/// Whom ChatParticipantRemove removes.
#[derive(Debug, Clone, Copy)]
pub enum Removal<'a> {
    One(ChatterType, &'a str),
    /// Every participant of a type (`ChatterType` alone, as the seed allows).
    OfType(ChatterType),
    /// Everyone (`All`).
    All,
}

/// Plans ChatParticipantRemove: the owner revokes access. The requester and the Owner
/// stay (removing All or every agent keeps them), so a chat always keeps the one who
/// started it and an agent who can close, move or hand it back.
pub fn remove_participants(state: &ChatState, ident: &Identity, whom: Removal) -> DomainResult<Plan> {
    policy::can_manage(ident, state)?;
    let is_requester =
        |p: &Participant| p.chatter_type == state.chat.requester_type && p.chatter_id == state.chat.requester_id;
    let stays = |p: &Participant| is_requester(p) || p.is_owner();
    let targets: Vec<&Participant> = match whom {
        Removal::One(t, id) => {
            let p = state.participant(t, id).ok_or_else(|| DomainError::not_found("no such participant"))?;
            if is_requester(p) {
                return Err(DomainError::conflict("the requester cannot be removed; close the chat instead"));
            }
            if p.is_owner() {
                return Err(DomainError::conflict(
                    "the Owner cannot be removed; hand the chat back to the queue or close it",
                ));
            }
            vec![p]
        }
        Removal::OfType(t) => state.participants.iter().filter(|p| p.chatter_type == t && !stays(p)).collect(),
        Removal::All => state.participants.iter().filter(|p| !stays(p)).collect(),
    };
    let mut plan = Plan::default();
    if targets.is_empty() {
        return Ok(plan);
    }
    for p in &targets {
        let write = Write::RemoveParticipant {
            chat_id: state.chat.chat_id.clone(),
            chatter_type: p.chatter_type,
            chatter_id: p.chatter_id.clone(),
        };
        plan.write(write, PARTICIPANT_RACED);
    }
    let author = state.chatter(ident.chatter_type(), ident.chatter_id(), ident.name());
    let subjects = targets.iter().map(|p| Chatter::from(*p)).collect();
    plan.messages.push(NewMessage::system(author, SystemEvent::Removed, subjects));
    Ok(plan)
}

/// An invitation of another agent (ChatInvite).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invite {
    #[schemars(length(min = 1, max = 128), regex(pattern = validate::ID_PATTERN))]
    pub invite_user_id: String,
    #[schemars(length(max = 200), regex(pattern = validate::NAME_PATTERN))]
    pub invite_user_name: Option<String>,
    #[schemars(length(min = 1, max = 128), regex(pattern = validate::ID_PATTERN))]
    pub invitation_chat_id: Option<String>,
}

impl Invite {
    pub fn validate(&self) -> DomainResult<()> {
        validate::id("inviteUserId", &self.invite_user_id)?;
        validate::optional_name("inviteUserName", &self.invite_user_name, validate::MAX_NAME_CHARS)?;
        if let Some(id) = &self.invitation_chat_id {
            validate::id("invitationChatId", id)?;
        }
        Ok(())
    }
}

/// Plans ChatInvite: an active owner or participant invites another agent, who becomes an
/// inactive participant with a pending invitation.
pub fn invite(state: &ChatState, ident: &Identity, cmd: &Invite, now: &Moment) -> DomainResult<(Plan, Participant)> {
    open(state)?;
    match policy::own(ident, state) {
        Some(p) if p.is_contributor() => {}
        _ => return Err(DomainError::forbidden("only an active owner or participant invites")),
    }
    if state.participant(ChatterType::User, &cmd.invite_user_id).is_some() {
        return Err(DomainError::conflict(ALREADY));
    }
    room(state)?;
    let name = cmd.invite_user_name.clone().unwrap_or_else(|| cmd.invite_user_id.clone());
    let number = state.next_agent_number();
    let p = Participant {
        chat_id: state.chat.chat_id.clone(),
        chatter_id: cmd.invite_user_id.clone(),
        chatter_type: ChatterType::User,
        chatter_name: name.clone(),
        chatter_active: ChatterActive::Pending,
        permission_level: Some(PermissionLevel::Participant),
        invitation: true,
        invitation_chat_id: cmd.invitation_chat_id.clone(),
        monitoring: 0,
        join_time: None,
        leave_time: None,
        create_time: now.stamp.clone(),
        agent_number: Some(number),
        invited_by: Some(state.chatter(ident.chatter_type(), ident.chatter_id(), ident.name())),
        unverified: false,
        reference_id: None,
    };
    let mut plan = Plan::default();
    plan.write(Write::Participant { participant: p.clone(), existed: false, chat_open: true }, ALREADY);
    numbered(&mut plan, state, Some(number));
    let text = format!("{} invited {name}.", ident.name());
    plan.messages.push(note(state, ident, SystemEvent::Invited, vec![(&p).into()], text));
    Ok((plan, p))
}

/// Plans ChatInviteRemove: the invited agent withdraws its own pending invitation.
pub fn remove_invitation(state: &ChatState, ident: &Identity) -> DomainResult<Plan> {
    ident.require_agent()?;
    let pending = state
        .participant(ChatterType::User, ident.chatter_id())
        .filter(|p| p.invitation && p.chatter_active == ChatterActive::Pending)
        .ok_or_else(|| DomainError::not_found("no pending invitation to this chat"))?;
    let mut plan = Plan::default();
    let write = Write::RemoveParticipant {
        chat_id: state.chat.chat_id.clone(),
        chatter_type: ChatterType::User,
        chatter_id: pending.chatter_id.clone(),
    };
    plan.write(write, "the invitation changed meanwhile");
    let text = format!("{}'s invitation was removed.", pending.chatter_name);
    plan.messages.push(note(state, ident, SystemEvent::InvitationRemoved, vec![pending.into()], text));
    Ok(plan)
}

/// Plans ChatDecline: an invited agent declines an agent-to-agent chat; a request nobody
/// else is invited to is then closed.
pub fn decline(state: &ChatState, ident: &Identity, message: Option<&str>, now: &Moment) -> DomainResult<Plan> {
    ident.require_agent()?;
    // Forbidden: not your chat; conflict: yours, but nothing to decline.
    let me = policy::own(ident, state)
        .filter(|p| p.chatter_active != ChatterActive::Left)
        .ok_or_else(|| DomainError::forbidden("you are not a participant of this chat"))?;
    if !state.chat.is_agent_to_agent() {
        return Err(DomainError::conflict("only agent-to-agent chats can be declined"));
    }
    open(state)?;
    if me.chatter_active != ChatterActive::Pending {
        return Err(DomainError::conflict("you have no pending request in this chat"));
    }
    let declined =
        Participant { chatter_active: ChatterActive::Left, leave_time: Some(now.stamp.clone()), ..me.clone() };
    let text = message.map_or_else(|| format!("{} has declined the chat request.", me.chatter_name), str::to_string);
    let mut plan = Plan::default();
    let others_pending = state.participants.iter().any(|p| {
        p.chatter_active == ChatterActive::Pending && p.chatter_id != me.chatter_id
            || p.is_active()
                && !(p.chatter_type == state.chat.requester_type && p.chatter_id == state.chat.requester_id)
    });
    if state.chat.status == ChatStatus::Request && !others_pending {
        let after = closed(&state.chat, me.into(), now);
        plan.write(Write::Chat { before: state.chat.clone(), after }, RACED);
    }
    plan.write(Write::Participant { participant: declined, existed: true, chat_open: true }, PARTICIPANT_RACED);
    plan.messages.push(NewMessage::system_with_text(me.into(), SystemEvent::Declined, vec![], text));
    Ok(plan)
}

/// Plans updateUserData: `patch`'s keys merged into the chat's userData, a null removing
/// its key. Returns the merged object.
pub fn update_user_data(
    state: &ChatState,
    ident: &Identity,
    patch: &Map<String, Value>,
    reference: Option<&str>,
    rate: RateLimit,
    now: &Moment,
) -> DomainResult<(Plan, Map<String, Value>)> {
    policy::can_post(ident, state)?;
    let mut merged: Map<String, Value> = state.chat.user_data.clone().unwrap_or_default();
    for (k, v) in patch {
        if v.is_null() {
            merged.remove(k);
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    let merged = validate::user_data(Some(Value::Object(merged)))?.unwrap_or_default();
    let mut plan = Plan::default();
    count_customer_message(&mut plan, state, ident, rate, now);
    let write = Write::UserData {
        chat_id: state.chat.chat_id.clone(),
        user_data: merged.clone(),
        update_time: now.stamp.clone(),
        reference_id: reference.map(str::to_string),
    };
    plan.guarded(write, DomainError::not_found("chat not found"));
    let author = state.chatter(ident.chatter_type(), ident.chatter_id(), ident.name());
    plan.messages.push(NewMessage::system(author, SystemEvent::UserDataUpdated, vec![]).internal());
    Ok((plan, merged))
}
