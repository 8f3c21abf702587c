//! A chat's own changes: its status and channel, its start, its deletion and the
//! service's closes.

use super::*;
use crate::model::{ChatterActive, SystemEvent};

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
            if existing.is_some_and(|p| p.chatter_active == ChatterActive::Left) {
                return Err(DomainError::forbidden("you have left this chat"));
            }
            if existing.is_none() && before.is_agent_to_agent() {
                return Err(DomainError::forbidden("a private request is for the agents it invites"));
            }
            if existing.is_none() {
                room(state)?;
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
                    chatter_active: ChatterActive::Active,
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
                plan.messages.push(NewMessage::system((&me).into(), SystemEvent::Joined, vec![]));
                // A fresh request answered: its wait counts towards the channel's estimate
                // (one handed back had been answered before).
                let fresh = before.status == ChatStatus::Request && before.previous_status.is_none();
                if fresh && !before.is_agent_to_agent() {
                    let write = Write::QueueWait {
                        channel_id: before.channel_id.clone(),
                        bucket: queue::wait_bucket(now.epoch_secs),
                        wait_secs: queue::waited(before, now.epoch_secs),
                    };
                    plan.tallies.push(write);
                }
                participants.retain(|p| !(p.chatter_type == ChatterType::User && p.chatter_id == user_id));
                participants.push(me);
            }
        } else if to == ChatStatus::Request {
            // Back to the queue (the Owner): its agents step out, so that whoever accepts
            // it next becomes its Owner; they keep their numbers and may accept it again.
            for agent in state.participants.iter().filter(|p| p.chatter_type == ChatterType::User && p.is_active()) {
                let stepped_out = Participant {
                    chatter_active: ChatterActive::Pending,
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
            plan.messages.push(NewMessage::system(actor.clone(), SystemEvent::Requeued, vec![]));
        } else {
            plan.messages.push(NewMessage::system(actor.clone(), SystemEvent::Closed, vec![]));
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
                SystemEvent::Transferred,
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
    let event = if expected == ChatStatus::Request { SystemEvent::Closed } else { SystemEvent::Expired };
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
