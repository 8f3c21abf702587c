//! The planners: (state, caller, command, moment) → a [`Plan`] or a domain error. Every
//! change of a chat, its participants, an agent's presence goes through one of these; the
//! store commits the plan, the HTTP edge only parses the command and shows the result.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::caller::Identity;
use crate::error::{DomainError, DomainResult};
use crate::files::FileLimits;
use crate::model::{
    count_changes, Availability, ChannelAgent, Chat, ChatState, ChatStatus, Chatter, ChatterType, FileRef, FileUpload,
    IdempotencyRecord, Message, MessageType, Participant, PermissionLevel, Presence, ReadMark, SystemEvent, Typing,
};
use crate::plan::{Moment, NewMessage, Plan, RateLimit, Write};
use crate::{filter, policy, queue, validate};

const RACED: &str = "the chat changed meanwhile";
const PARTICIPANT_RACED: &str = "the participant changed meanwhile";
const ALREADY: &str = "already a participant of this chat";

/// The most participants a chat holds, those who left included: a plan that rewrites each
/// of them (a chat back to the queue, a close) stays one DynamoDB transaction (100 items).
pub const MAX_PARTICIPANTS: usize = 50;

/// Room for one more participant.
fn room(state: &ChatState) -> DomainResult<()> {
    if state.participants.len() >= MAX_PARTICIPANTS {
        Err(DomainError::conflict(format!("a chat holds at most {MAX_PARTICIPANTS} participants")))
    } else {
        Ok(())
    }
}

fn open(state: &ChatState) -> DomainResult<()> {
    if state.chat.status == ChatStatus::Closed {
        Err(DomainError::conflict("the chat is closed"))
    } else {
        Ok(())
    }
}

/// An internal (agents-only) system message by `ident` about a change to a participant.
fn note(state: &ChatState, ident: &Identity, event: SystemEvent, subjects: Vec<Chatter>, text: String) -> NewMessage {
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

/// A customer's or visitor's writes (texts, notices, files, userData) count against its
/// rate in the chat; agents are not limited.
fn count_customer_message(plan: &mut Plan, state: &ChatState, ident: &Identity, rate: RateLimit, now: &Moment) {
    if !ident.is_agent() {
        let subject = format!("messages#{}#{}#{}", state.chat.chat_id, ident.chatter_type(), ident.chatter_id());
        plan.rate(subject, rate, now);
    }
}

mod chats;
mod messages;
mod participants;
mod presence;

pub use chats::*;
pub use messages::*;
pub use participants::*;
pub use presence::*;

#[cfg(test)]
#[path = "../transitions_tests.rs"]
mod tests;
