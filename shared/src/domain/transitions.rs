//! The planners: (state, caller, command, moment) → a [`Plan`] or a domain error. Every
//! change of a chat, its participants, an agent's presence goes through one of these; the
//! store commits the plan, the HTTP edge only parses the command and shows the result.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::caller::Identity;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::files::FileLimits;
use crate::domain::model::{
    count_changes, Availability, ChannelAgent, Chat, ChatState, ChatStatus, Chatter, ChatterType, FileRef, FileUpload,
    IdempotencyRecord, MessageType, Participant, PermissionLevel, Presence, Typing,
};
use crate::domain::plan::{Moment, NewMessage, Plan, RateLimit, Write};
use crate::domain::{filter, policy, validate};

const RACED: &str = "the chat changed meanwhile";
const PARTICIPANT_RACED: &str = "the participant changed meanwhile";
const ALREADY: &str = "already a participant of this chat";

fn open(state: &ChatState) -> DomainResult<()> {
    if state.chat.status == ChatStatus::Closed {
        Err(DomainError::conflict("the chat is closed"))
    } else {
        Ok(())
    }
}

/// An internal (agents-only) system message by `ident` about a change to a participant.
fn note(state: &ChatState, ident: &Identity, event: &str, subjects: Vec<Chatter>, text: String) -> NewMessage {
    let author = state.chatter(ident.chatter_type(), ident.chatter_id(), ident.name());
    NewMessage::system_with_text(author, event, subjects, text).internal()
}

/// The chat record's high-water mark of agent numbers, raised to `number` when a new agent
/// gets one (so a removed agent's number is never handed out again).
fn numbered(plan: &mut Plan, state: &ChatState, number: Option<u32>) {
    if let Some(n) = number.filter(|n| *n > state.chat.agent_numbers) {
        let after = Chat { agent_numbers: n, reference_id: None, ..state.chat.clone() };
        plan.write(Write::Chat { before: state.chat.clone(), after }, RACED);
    }
}

/// When a chat closes, its active known customers stop being online through it: their
/// participants are rewritten without the online index keys (`skip`: one already
/// rewritten). Public visitors are never listed, so they cost no write here.
fn online_customers(plan: &mut Plan, state: &ChatState, skip: Option<&str>) {
    for p in state
        .participants
        .iter()
        .filter(|p| p.chatter_type == ChatterType::Customer && p.is_active() && skip != Some(p.chatter_id.as_str()))
    {
        plan.write(Write::Participant { participant: p.clone(), existed: true, chat_open: false }, PARTICIPANT_RACED);
    }
}

/// The closed chat record, closed by `by`.
fn closed(before: &Chat, by: Chatter, now: &Moment) -> Chat {
    Chat {
        status: ChatStatus::Closed,
        previous_status: Some(before.status),
        update_time: now.stamp.clone(),
        updated_by: Some(by),
        reference_id: None,
        ..before.clone()
    }
}

/// A chat's status and channel change (ChatUpdate, ChatChannelUpdate, ChatDelete).
#[derive(Debug, Clone, Default)]
pub struct ChatChange<'a> {
    pub status: Option<ChatStatus>,
    pub channel: Option<&'a str>,
    /// Marks the chat deleted (ChatDelete): it answers 404 from now on.
    pub delete: bool,
    /// The client's reference for this request (echoed as `referenceId`).
    pub reference: Option<&'a str>,
}

/// A planned chat change, with the chat and participants it leaves.
#[derive(Debug, Clone)]
pub struct ChatChanged {
    pub plan: Plan,
    pub chat: Chat,
    pub participants: Vec<Participant>,
}

/// Plans a status transition and/or a channel move for `ident`, and the deletion mark.
/// Accepting a request makes the caller its Owner (or a Participant if an Owner is
/// already there).
pub fn change_chat(state: &ChatState, ident: &Identity, cmd: &ChatChange, now: &Moment) -> DomainResult<ChatChanged> {
    let before = &state.chat;
    let name = ident.name().to_string();
    let user_id = ident.chatter_id().to_string();
    let actor = state.chatter(ident.chatter_type(), &user_id, &name);
    let mut chat = Chat {
        update_time: now.stamp.clone(),
        updated_by: Some(actor.clone()),
        deleted: cmd.delete,
        reference_id: cmd.reference.map(str::to_string),
        ..before.clone()
    };
    let mut participants = state.participants.clone();
    let mut plan = Plan::default();
    // Who may ask at all, whether or not anything would change: an agent who may read the
    // chat; past the queue, its Owner, unless accepting (checked below).
    ident.require_agent()?;
    let accepting = cmd.status == Some(ChatStatus::Active);
    if accepting && before.status != ChatStatus::Request && policy::own(ident, state).is_none() {
        // Another agent accepted it first: the loser of that race is told so.
        return Err(DomainError::conflict("this chat was already accepted"));
    }
    policy::can_read(ident, state)?;
    if before.status != ChatStatus::Request && !accepting {
        policy::can_manage(ident, state)?;
    }

    if let Some(to) = cmd.status {
        if !before.status.can_become(to) {
            return Err(DomainError::conflict(format!("a chat cannot go from {} to {}", before.status, to)));
        }
        chat.status = to;
        chat.previous_status = Some(before.status);
        if to == ChatStatus::Active {
            let existing = policy::own(ident, state);
            if existing.is_some_and(|p| p.chatter_active == -1) {
                return Err(DomainError::forbidden("you have left this chat"));
            }
            if existing.is_none() && before.is_agent_to_agent() {
                return Err(DomainError::forbidden("a private request is for the agents it invites"));
            }
            if !existing.is_some_and(Participant::is_active) {
                let has_owner = state.participants.iter().any(Participant::is_owner);
                let level = existing.and_then(|p| p.permission_level);
                let number = existing.and_then(|p| p.agent_number).unwrap_or_else(|| state.next_agent_number());
                chat.agent_numbers = chat.agent_numbers.max(number);
                let me = Participant {
                    chat_id: before.chat_id.clone(),
                    chatter_id: user_id.clone(),
                    chatter_type: ChatterType::User,
                    chatter_name: name.clone(),
                    chatter_active: 1,
                    // The first to accept a chat without an active Owner owns it.
                    permission_level: Some(if has_owner {
                        level.unwrap_or(PermissionLevel::Participant)
                    } else {
                        PermissionLevel::Owner
                    }),
                    // Joining answers an invitation: it is no longer pending.
                    invitation: false,
                    invitation_chat_id: existing.and_then(|p| p.invitation_chat_id.clone()),
                    monitoring: existing.map_or(0, |p| p.monitoring),
                    join_time: Some(now.stamp.clone()),
                    leave_time: None,
                    create_time: existing.map_or_else(|| now.stamp.clone(), |p| p.create_time.clone()),
                    agent_number: Some(number),
                    invited_by: existing.and_then(|p| p.invited_by.clone()),
                    unverified: false,
                    reference_id: None,
                };
                plan.write(
                    Write::Participant { participant: me.clone(), existed: existing.is_some(), chat_open: true },
                    RACED,
                );
                plan.messages.push(NewMessage::system((&me).into(), "joined", vec![]));
                participants.retain(|p| !(p.chatter_type == ChatterType::User && p.chatter_id == user_id));
                participants.push(me);
            }
        } else if to == ChatStatus::Request {
            // Back to the queue (the Owner): its agents step out, so that whoever accepts
            // it next becomes its Owner; they keep their numbers and may accept it again.
            for agent in state.participants.iter().filter(|p| p.chatter_type == ChatterType::User && p.is_active()) {
                let stepped_out = Participant {
                    chatter_active: 0,
                    permission_level: agent.permission_level.map(|l| {
                        if l == PermissionLevel::Owner {
                            PermissionLevel::Participant
                        } else {
                            l
                        }
                    }),
                    ..agent.clone()
                };
                plan.write(
                    Write::Participant { participant: stepped_out.clone(), existed: true, chat_open: true },
                    PARTICIPANT_RACED,
                );
                participants.retain(|p| !(p.chatter_type == ChatterType::User && p.chatter_id == agent.chatter_id));
                participants.push(stepped_out);
            }
            plan.messages.push(NewMessage::system(actor.clone(), "requeued", vec![]));
        } else {
            plan.messages.push(NewMessage::system(actor.clone(), "closed", vec![]));
            online_customers(&mut plan, state, None);
        }
    }

    if let Some(channel) = cmd.channel.filter(|c| *c != before.channel_id) {
        if before.status == ChatStatus::Closed {
            return Err(DomainError::conflict("a closed chat cannot move"));
        }
        chat.previous_channel_id = Some(before.channel_id.clone());
        chat.channel_id = channel.to_string();
        // Agents see where the chat came from; the customer does not need to.
        plan.messages.push(
            NewMessage::system_with_text(
                actor.clone(),
                "transferred",
                vec![],
                format!("{name} moved the chat from channel {} to {channel}.", before.channel_id),
            )
            .internal(),
        );
    }
    // The chat record first: its condition is the one a racing change fails.
    plan.write_first(Write::Chat { before: before.clone(), after: chat.clone() }, RACED);
    Ok(ChatChanged { plan, chat, participants })
}

/// Starts a chat (ChatAdd): the record and its requester, both or neither; a start from a
/// client address (a customer or visitor's) counts against that address's `rate`.
pub fn start_chat(chat: &Chat, requester: &Participant, address: Option<&str>, rate: RateLimit, now: &Moment) -> Plan {
    let mut plan = Plan::default();
    plan.write(Write::NewChat(chat.clone()), "chat already exists");
    let write = Write::Participant { participant: requester.clone(), existed: false, chat_open: true };
    plan.write(write, "chat already exists");
    if let Some(address) = address.filter(|_| requester.chatter_type.is_customer()) {
        plan.rate(format!("chats#{address}"), rate, now);
    }
    plan
}

/// Deletes a chat (ChatDelete): closes it if open, and marks it deleted. The owner does
/// it; a request nobody accepted yet, any agent.
pub fn delete_chat(state: &ChatState, ident: &Identity, now: &Moment) -> DomainResult<Plan> {
    // change_chat checks who may: an agent who may read it; past the queue, its Owner.
    let close = (state.chat.status != ChatStatus::Closed).then_some(ChatStatus::Closed);
    Ok(change_chat(state, ident, &ChatChange { status: close, delete: true, ..Default::default() }, now)?.plan)
}

/// Closes a chat for the service (the cleanup: a request nobody answered, a chat nobody
/// used for too long), if it is still `expected`. The service closes it, not an agent, so
/// no OPERATOR_STOPED_CHAT follows.
pub fn close_by_service(state: &ChatState, expected: ChatStatus, now: &Moment) -> DomainResult<Plan> {
    if state.chat.status != expected || expected == ChatStatus::Closed {
        return Err(DomainError::conflict("no longer open as it was"));
    }
    let mut plan = Plan::default();
    let after = closed(&state.chat, ChatterType::system_actor(), now);
    plan.write(Write::Chat { before: state.chat.clone(), after }, "no longer open as it was");
    online_customers(&mut plan, state, None);
    let event = if expected == ChatStatus::Request { "closed" } else { "expired" };
    plan.messages.push(NewMessage::system(ChatterType::system_actor(), event, vec![]));
    Ok(plan)
}

/// Marks a closed chat deleted for the service (the cleanup, past its retention), before
/// its items are purged: its removal is announced once, as ChatDelete, and the purge of
/// its participants and messages announces nothing.
pub fn retire(chat: &Chat, now: &Moment) -> DomainResult<Plan> {
    if chat.status != ChatStatus::Closed || chat.deleted {
        return Err(DomainError::conflict("not a closed chat"));
    }
    let after = Chat {
        deleted: true,
        update_time: now.stamp.clone(),
        updated_by: Some(ChatterType::system_actor()),
        reference_id: None,
        ..chat.clone()
    };
    let mut plan = Plan::default();
    plan.write(Write::Chat { before: chat.clone(), after }, "the chat changed meanwhile");
    Ok(plan)
}

/// Removes a chat nobody used for too long (the cleanup's `Cleanup: Old`): closed for the
/// service if open, and marked deleted in the same write; the event publisher announces
/// the close with its transcript, then purges it, as after a ChatDelete.
pub fn expire(state: &ChatState, now: &Moment) -> DomainResult<Plan> {
    if state.chat.status == ChatStatus::Closed {
        return retire(&state.chat, now);
    }
    let mut plan = close_by_service(state, state.chat.status, now)?;
    if let Some(Write::Chat { after, .. }) = plan.writes.first_mut().map(|w| &mut w.write) {
        after.deleted = true;
    }
    Ok(plan)
}

/// A new participant (ChatParticipantAdd).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddParticipant {
    pub chatter_id: String,
    pub chatter_type: ChatterType,
    pub chatter_name: Option<String>,
    #[serde(default)]
    pub chatter_active: i8,
    pub permission_level: Option<PermissionLevel>,
    #[serde(default)]
    pub invitation: bool,
    #[serde(default)]
    pub monitoring: u8,
}

impl AddParticipant {
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
    if myself && cmd.chatter_active == 1 && state.chat.status == ChatStatus::Request {
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
    if myself && cmd.chatter_active == 1 && policy::own(ident, state).is_none() {
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
    let name = cmd.chatter_name.clone().unwrap_or_else(|| cmd.chatter_id.clone());
    let number = is_agent.then(|| state.next_agent_number());
    let p = Participant {
        chat_id: state.chat.chat_id.clone(),
        chatter_id: cmd.chatter_id.clone(),
        chatter_type: cmd.chatter_type,
        chatter_name: name.clone(),
        chatter_active: cmd.chatter_active,
        permission_level: cmd.permission_level,
        invitation: cmd.invitation,
        invitation_chat_id: None,
        monitoring: cmd.monitoring,
        join_time: (cmd.chatter_active == 1).then(|| now.stamp.clone()),
        leave_time: None,
        create_time: now.stamp.clone(),
        agent_number: number,
        invited_by: (cmd.chatter_active != 1)
            .then(|| state.chatter(ident.chatter_type(), ident.chatter_id(), ident.name())),
        reference_id: None,
        // No site vouched for a customer an agent adds.
        unverified: cmd.chatter_type == ChatterType::Customer,
    };
    let message = if p.is_active() {
        NewMessage::system((&p).into(), "joined", vec![])
    } else {
        let text = format!("{} invited {name}.", ident.name());
        note(state, ident, "invited", vec![(&p).into()], text)
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
    pub chatter_active: Option<i8>,
    pub monitoring: Option<u8>,
    pub permission_level: Option<PermissionLevel>,
    /// The chatter proved itself the customer it is with its own identity token (the edge
    /// verified it): an added customer is verified from now on.
    #[serde(skip)]
    #[schemars(skip)]
    pub verified: bool,
}

impl UpdateParticipant {
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
    if current.chatter_active == -1 {
        return Err(DomainError::forbidden("this chatter has left the chat"));
    }
    open(state)?;
    if !myself {
        policy::can_manage(ident, state)?;
        // AgentPermissionsUpdate: the Owner sets another agent active or inactive; leaving
        // (-1) is the chatter's own.
        let owner_may = chatter_type == ChatterType::User && matches!(cmd.chatter_active, Some(0 | 1));
        if cmd.chatter_active.is_some() && !owner_may {
            return Err(DomainError::forbidden("only the chatter itself confirms, declines or leaves"));
        }
    } else if cmd.permission_level.is_some() && !current.is_owner() {
        return Err(DomainError::forbidden("only the chat's owner changes permissions"));
    }
    // Confirming a chat still in the queue is accepting it.
    if myself && cmd.chatter_active == Some(1) && ident.is_agent() && state.chat.status == ChatStatus::Request {
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
    if let Some(active) = cmd.chatter_active.filter(|a| *a != current.chatter_active) {
        if active == 0 && !ident.is_agent() {
            return Err(DomainError::invalid("a customer is active or leaves (-1)"));
        }
        p.chatter_active = active;
        let (event, text) = match (current.chatter_active, active) {
            (_, 1) => {
                // Joining answers an invitation: it is no longer pending.
                p.invitation = false;
                p.join_time = Some(now.stamp.clone());
                ("joined", format!("{name} joined the chat."))
            }
            (0, -1) => {
                p.leave_time = Some(now.stamp.clone());
                ("declined", format!("{name} declined the chat."))
            }
            (_, -1) => {
                p.leave_time = Some(now.stamp.clone());
                ("left", format!("{name} left the chat."))
            }
            _ => ("inactive", format!("{name} is inactive.")),
        };
        plan.messages.push(NewMessage::system_with_text(Chatter::from(&p), event, vec![], text));
    }
    if let Some(level) = cmd.permission_level.filter(|l| Some(*l) != current.permission_level) {
        if p.chatter_type != ChatterType::User || current.permission_level == Some(PermissionLevel::Owner) {
            return Err(DomainError::conflict("only a Participant or an Observer agent changes permission"));
        }
        p.permission_level = Some(level);
        let text = format!("{name} is now {level}.");
        plan.messages.push(note(state, ident, "permission", vec![(&p).into()], text));
    }
    if cmd.verified && current.unverified {
        if !myself {
            return Err(DomainError::forbidden("a customer verifies only itself"));
        }
        p.unverified = false;
        let text = format!("{name} confirmed who they are with their own identity token.");
        plan.messages.push(note(state, ident, "verified", vec![(&p).into()], text));
    }
    if let Some(monitoring) = cmd.monitoring.filter(|m| *m != current.monitoring) {
        p.monitoring = monitoring;
        let text = format!("{name} monitoring is now {monitoring}.");
        plan.messages.push(note(state, ident, "monitoring", vec![(&p).into()], text));
    }
    if plan.messages.is_empty() {
        return Ok((plan, p));
    }
    plan.write(Write::Participant { participant: p.clone(), existed: true, chat_open: true }, PARTICIPANT_RACED);
    let customers_left = p.chatter_type.is_customer()
        && p.chatter_active == -1
        && !state
            .participants
            .iter()
            .any(|o| o.chatter_type.is_customer() && o.is_active() && o.chatter_id != p.chatter_id);
    if customers_left {
        let after = closed(&state.chat, Chatter::from(&p), now);
        plan.write_first(Write::Chat { before: state.chat.clone(), after }, RACED);
        online_customers(&mut plan, state, Some(&p.chatter_id));
        plan.messages.push(NewMessage::system((&p).into(), "closed", vec![]));
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
    plan.messages.push(NewMessage::system(author, "removed", subjects));
    Ok(plan)
}

/// An invitation of another agent (ChatInvite).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invite {
    pub invite_user_id: String,
    pub invite_user_name: Option<String>,
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
    let name = cmd.invite_user_name.clone().unwrap_or_else(|| cmd.invite_user_id.clone());
    let number = state.next_agent_number();
    let p = Participant {
        chat_id: state.chat.chat_id.clone(),
        chatter_id: cmd.invite_user_id.clone(),
        chatter_type: ChatterType::User,
        chatter_name: name.clone(),
        chatter_active: 0,
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
    plan.messages.push(note(state, ident, "invited", vec![(&p).into()], text));
    Ok((plan, p))
}

/// Plans ChatInviteRemove: the invited agent withdraws its own pending invitation.
pub fn remove_invitation(state: &ChatState, ident: &Identity) -> DomainResult<Plan> {
    ident.require_agent()?;
    let pending = state
        .participant(ChatterType::User, ident.chatter_id())
        .filter(|p| p.invitation && p.chatter_active == 0)
        .ok_or_else(|| DomainError::not_found("no pending invitation to this chat"))?;
    let mut plan = Plan::default();
    let write = Write::RemoveParticipant {
        chat_id: state.chat.chat_id.clone(),
        chatter_type: ChatterType::User,
        chatter_id: pending.chatter_id.clone(),
    };
    plan.write(write, "the invitation changed meanwhile");
    let text = format!("{}'s invitation was removed.", pending.chatter_name);
    plan.messages.push(note(state, ident, "invitationRemoved", vec![pending.into()], text));
    Ok(plan)
}

/// Plans ChatDecline: an invited agent declines an agent-to-agent chat; a request nobody
/// else is invited to is then closed.
pub fn decline(state: &ChatState, ident: &Identity, message: Option<&str>, now: &Moment) -> DomainResult<Plan> {
    ident.require_agent()?;
    // Forbidden: not your chat; conflict: yours, but nothing to decline.
    let me = policy::own(ident, state)
        .filter(|p| p.chatter_active != -1)
        .ok_or_else(|| DomainError::forbidden("you are not a participant of this chat"))?;
    if !state.chat.is_agent_to_agent() {
        return Err(DomainError::conflict("only agent-to-agent chats can be declined"));
    }
    open(state)?;
    if me.chatter_active != 0 {
        return Err(DomainError::conflict("you have no pending request in this chat"));
    }
    let declined = Participant { chatter_active: -1, leave_time: Some(now.stamp.clone()), ..me.clone() };
    let text = message.map_or_else(|| format!("{} has declined the chat request.", me.chatter_name), str::to_string);
    let mut plan = Plan::default();
    let others_pending = state.participants.iter().any(|p| {
        p.chatter_active == 0 && p.chatter_id != me.chatter_id
            || p.is_active()
                && !(p.chatter_type == state.chat.requester_type && p.chatter_id == state.chat.requester_id)
    });
    if state.chat.status == ChatStatus::Request && !others_pending {
        let after = closed(&state.chat, me.into(), now);
        plan.write(Write::Chat { before: state.chat.clone(), after }, RACED);
    }
    plan.write(Write::Participant { participant: declined, existed: true, chat_open: true }, PARTICIPANT_RACED);
    plan.messages.push(NewMessage::system_with_text(me.into(), "declined", vec![], text));
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
    plan.messages.push(NewMessage::system(author, "userDataUpdated", vec![]).internal());
    Ok((plan, merged))
}

/// How long a `clientMessageId` is remembered.
pub const IDEMPOTENCY_SECS: i64 = 24 * 3600;

/// A message posted by a chatter.
#[derive(Debug, Clone)]
pub struct PostMessage {
    pub kind: MessageType,
    pub text: String,
    pub internal: bool,
    pub customer: bool,
    pub client_message_id: Option<String>,
    pub filter: Option<String>,
    /// The client's reference for this request (echoed as `referenceId`).
    pub reference_id: Option<String>,
    /// How many messages a customer or visitor may post (agents are not limited).
    pub rate: RateLimit,
    /// An integrator's system message (ChatMessageAdd's SystemGenerated).
    pub system_generated: bool,
}

/// A customer's or visitor's writes (texts, notices, files, userData) count against its
/// rate in the chat; agents are not limited.
fn count_customer_message(plan: &mut Plan, state: &ChatState, ident: &Identity, rate: RateLimit, now: &Moment) {
    if !ident.is_agent() {
        let subject = format!("messages#{}#{}#{}", state.chat.chat_id, ident.chatter_type(), ident.chatter_id());
        plan.rate(subject, rate, now);
    }
}

/// Plans a message from `ident` (ChatMessageAdd, sendMessage, sendCustomNotice,
/// sendFilteredMessage), remembered by its `clientMessageId` so a retry posts nothing.
pub fn post_message(state: &ChatState, ident: &Identity, cmd: &PostMessage, now: &Moment) -> DomainResult<Plan> {
    if cmd.system_generated {
        policy::can_post_system(ident, state)?;
    } else {
        policy::can_post(ident, state)?;
    }
    // The customer's pattern runs once, here, under limits; reads use the outcome.
    let filtered = cmd.filter.as_deref().map(|f| filter::hides(f, &cmd.text)).transpose()?;
    let mut plan = Plan::default();
    let author = state.chatter(ident.chatter_type(), ident.chatter_id(), ident.name());
    count_customer_message(&mut plan, state, ident, cmd.rate, now);
    if let Some(client_id) = &cmd.client_message_id {
        let record = IdempotencyRecord { index: state.last_index + 1, expires_at: now.epoch_secs + IDEMPOTENCY_SECS };
        let write = Write::Idempotency {
            chat_id: state.chat.chat_id.clone(),
            chatter: author.clone(),
            client_message_id: client_id.clone(),
            record,
        };
        plan.guarded(write, DomainError::duplicate("this clientMessageId was already used"));
    }
    // An integrator's SystemGenerated message is the service's own, for everyone: with
    // MaskAgentName on, customers see its text, not a blank from an invented agent.
    let author = if cmd.system_generated { ChatterType::system_actor() } else { author };
    plan.messages.push(NewMessage {
        kind: if cmd.system_generated { MessageType::System } else { cmd.kind },
        text: cmd.text.clone(),
        author,
        subjects: Vec::new(),
        system_generated: cmd.system_generated,
        internal: cmd.internal,
        customer: cmd.customer,
        event: None,
        filter: cmd.filter.clone(),
        filtered,
        reference_id: cmd.reference_id.clone(),
        file: None,
    });
    Ok(plan)
}

/// How many typing notices a customer may send for each message of its rate: the widget
/// sends at most one a second while its customer types, and one when it stops.
pub const TYPING_PER_MESSAGE: u32 = 4;

/// Plans a typing notice (sendTyping): by one who may post, into an open chat. A customer's
/// notices have a budget of their own, `TYPING_PER_MESSAGE` times its message rate.
pub fn set_typing(
    state: &ChatState,
    ident: &Identity,
    typing: Typing,
    rate: RateLimit,
    now: &Moment,
) -> DomainResult<Plan> {
    policy::can_post(ident, state)?;
    let mut plan = Plan::default();
    if !ident.is_agent() {
        let subject = format!("typing#{}#{}#{}", state.chat.chat_id, ident.chatter_type(), ident.chatter_id());
        let rate = RateLimit { limit: rate.limit.saturating_mul(TYPING_PER_MESSAGE), ..rate };
        plan.rate(subject, rate, now);
    }
    plan.write(Write::Typing { chat_id: state.chat.chat_id.clone(), typing }, "the chat changed meanwhile");
    Ok(plan)
}

/// Plans an upload (sendFile's first step): the caller may post here, the file is one the
/// deployment accepts, and the chat has uploads left (counted with a condition, so racing
/// uploads cannot pass the limit together). Nothing shows in the transcript yet.
pub fn request_upload(
    state: &ChatState,
    ident: &Identity,
    file: FileRef,
    limits: &FileLimits,
    now: &Moment,
) -> DomainResult<(Plan, FileUpload)> {
    policy::can_post(ident, state)?;
    let upload = FileUpload {
        chat_id: state.chat.chat_id.clone(),
        file,
        chatter_type: ident.chatter_type(),
        chatter_id: ident.chatter_id().into(),
        create_time: now.stamp.clone(),
        posted: false,
    };
    let mut plan = Plan::default();
    let count = Write::FileCount { chat_id: state.chat.chat_id.clone(), limit: limits.max_per_chat };
    plan.write(count, "The number of uploads is exceeded.");
    plan.write(Write::NewFile(upload.clone()), "this upload exists already");
    Ok((plan, upload))
}

/// Plans the message of an uploaded file (sendFile's last step): by its uploader, once,
/// while the uploader may still post. Customers' files count against their message rate.
pub fn post_file(
    state: &ChatState,
    ident: &Identity,
    upload: &FileUpload,
    rate: RateLimit,
    now: &Moment,
) -> DomainResult<Plan> {
    policy::can_post(ident, state)?;
    if upload.chatter_type != ident.chatter_type() || upload.chatter_id != ident.chatter_id() {
        return Err(DomainError::forbidden("only the file's uploader posts it"));
    }
    if upload.posted {
        return Err(DomainError::conflict("this file was already posted"));
    }
    let mut plan = Plan::default();
    count_customer_message(&mut plan, state, ident, rate, now);
    let posted = Write::FilePosted { chat_id: state.chat.chat_id.clone(), file_id: upload.file.file_id.clone() };
    plan.write(posted, "this file was already posted");
    plan.messages.push(NewMessage {
        kind: MessageType::File,
        text: upload.file.name.clone(),
        author: state.chatter(ident.chatter_type(), ident.chatter_id(), ident.name()),
        subjects: Vec::new(),
        system_generated: false,
        internal: false,
        customer: false,
        event: None,
        filter: None,
        filtered: None,
        reference_id: None,
        file: Some(upload.file.clone()),
    });
    Ok(plan)
}

/// Plans an agent's availability: its presence, the channels' counts of available agents
/// (which BUTTON_STATUS follows) and its listing in each channel. `previous` is the
/// presence read, which the write must still find.
pub fn set_presence(previous: Option<&Presence>, mut presence: Presence, now: &Moment) -> (Plan, Presence) {
    presence.counted = presence.counts_in(now.epoch_secs);
    let conflict = "availability changed meanwhile; try again";
    let mut plan = Plan::default();
    let seen = previous.map(|p| p.update_time.clone());
    plan.write(Write::Presence { presence: presence.clone(), seen }, conflict);
    // The channels' counts follow what this presence counted in before and counts in now.
    let was = previous.map(|p| p.counted.clone()).unwrap_or_default();
    for (channel_id, delta) in count_changes(&was, &presence.counted) {
        plan.write(Write::ChannelCount { channel_id, delta }, conflict);
    }
    let listed: BTreeSet<&String> = if presence.availability == Availability::Online {
        presence.channels.iter().collect()
    } else {
        BTreeSet::new()
    };
    for c in &listed {
        let agent = ChannelAgent {
            channel_id: (*c).clone(),
            user_id: presence.user_id.clone(),
            external: presence.external,
            expires_at: presence.expires_at,
        };
        plan.write(Write::ChannelAgent(agent), conflict);
    }
    for c in previous.iter().flat_map(|p| p.channels.iter()).filter(|c| !listed.contains(c)) {
        plan.write(Write::RemoveChannelAgent { channel_id: c.clone(), user_id: presence.user_id.clone() }, conflict);
    }
    (plan, presence)
}

/// Plans the sweep of a lapsed presence: offline and out of its channels' counts, unless
/// the agent refreshed it meanwhile.
pub fn sweep_presence(presence: &Presence, now: &Moment) -> Plan {
    let swept = Presence {
        availability: Availability::Offline,
        counted: Vec::new(),
        update_time: now.stamp.clone(),
        ..presence.clone()
    };
    let mut plan = Plan::default();
    let refreshed = "refreshed meanwhile";
    for (channel_id, delta) in count_changes(&presence.counted, &swept.counted) {
        plan.write(Write::ChannelCount { channel_id, delta }, refreshed);
    }
    plan.write_first(Write::Presence { presence: swept, seen: Some(presence.update_time.clone()) }, refreshed);
    plan
}

#[cfg(test)]
#[path = "transitions_tests.rs"]
mod tests;
