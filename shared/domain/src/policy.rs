//! The permission rules, in one place: who may read, post to and manage a chat.
//!
//! An Observer reads; a Participant also posts; an Owner also manages participants and
//! the chat. A customer token acts only as its own chatter in its own chat. A chatter who
//! has left (`chatterActive` -1) can no longer act. An agent who is not a participant may
//! look at a chat still waiting in the queue (`request`), so that it can accept it, unless
//! it is an agent's private request to other agents: that is for the agents it invites.

use crate::caller::Identity;
use crate::error::{DomainError, DomainResult};
use crate::model::{Chat, ChatState, ChatStatus, ChatterActive, Participant};

/// The caller's own participant record in this chat, if any.
pub fn own<'a>(ident: &Identity, state: &'a ChatState) -> Option<&'a Participant> {
    if let Identity::Chatter { chat_id, .. } = ident {
        if *chat_id != state.chat.chat_id {
            return None;
        }
    }
    state.participant(ident.chatter_type(), ident.chatter_id())
}

fn left() -> DomainError {
    DomainError::forbidden("you have left this chat")
}

pub fn can_read(ident: &Identity, state: &ChatState) -> DomainResult<()> {
    match own(ident, state) {
        Some(p) if p.chatter_active == ChatterActive::Left => Err(left()),
        Some(_) => Ok(()),
        None if ident.is_agent() && any_agent_reads(&state.chat) => Ok(()),
        None => Err(DomainError::forbidden("you are not a participant of this chat")),
    }
}

/// A read receipt: any party of the chat who has not left (customer, agent, observer, one
/// invited); an agent who only sees the chat in the queue is no party and marks nothing.
pub fn can_mark_read(ident: &Identity, state: &ChatState) -> DomainResult<()> {
    match own(ident, state) {
        Some(p) if p.chatter_active == ChatterActive::Left => Err(left()),
        Some(_) => Ok(()),
        None => Err(DomainError::forbidden("only a party to the chat marks it read")),
    }
}

/// Whether every agent may read a chat: a request waiting in the queue, unless it is an
/// agent's private request to other agents.
pub fn any_agent_reads(chat: &Chat) -> bool {
    chat.status == ChatStatus::Request && !chat.is_agent_to_agent()
}

/// A ChatList row for an agent who may not read the chat: the seed's ChatList columns
/// (ids, times, status, channel, requester, target, ticket), without the customer's
/// details (names from the form, e-mail, subject, userData) or who changed it last.
pub fn list_row(chat: Chat) -> Chat {
    Chat {
        subject: None,
        email: None,
        firstname: None,
        lastname: None,
        nickname: None,
        user_data: None,
        updated_by: None,
        reference_id: None,
        previous_channel_id: None,
        ..chat
    }
}

/// Whether a chat shows in an agent's lists (ChatList): all but other agents' private
/// requests, which only their requester sees there (invitees see theirs through their own
/// participations and invitations).
pub fn may_see_in_lists(ident: &Identity, chat: &Chat) -> bool {
    !chat.is_agent_to_agent() || chat.requester_id == ident.chatter_id()
}

/// Owners manage the chat; while it waits in the queue, any agent may also close it.
pub fn can_manage(ident: &Identity, state: &ChatState) -> DomainResult<()> {
    ident.require_agent()?;
    match own(ident, state) {
        Some(p) if p.chatter_active == ChatterActive::Left => Err(left()),
        Some(p) if p.is_owner() => Ok(()),
        _ => Err(DomainError::forbidden("only the chat's owner may do this")),
    }
}

/// Active Owners and Participants and the chat's own customer post; Observers do not;
/// nobody posts into a closed chat.
pub fn can_post(ident: &Identity, state: &ChatState) -> DomainResult<()> {
    match own(ident, state) {
        Some(p) if p.chatter_active == ChatterActive::Left => return Err(left()),
        Some(p) if !p.is_active() => return Err(DomainError::forbidden("you have not joined this chat")),
        Some(p) if p.chatter_type.is_customer() || p.is_contributor() => {}
        Some(_) => return Err(DomainError::forbidden("observers read but do not post")),
        None => return Err(DomainError::forbidden("you are not a participant of this chat")),
    }
    if state.chat.status == ChatStatus::Closed {
        return Err(DomainError::conflict("the chat is closed"));
    }
    Ok(())
}

/// ChatMessageAdd's SystemGenerated: a bot's or back office's message, shown as the
/// service's. Only an integrator (the `integrator` or `admin` role) posts one, into any
/// open chat, participant or not.
pub fn can_post_system(ident: &Identity, state: &ChatState) -> DomainResult<()> {
    if !ident.is_integrator() {
        return Err(DomainError::forbidden("systemGenerated messages need the integrator role"));
    }
    if state.chat.status == ChatStatus::Closed {
        return Err(DomainError::conflict("the chat is closed"));
    }
    Ok(())
}
