//! What each committed change announces, in three vocabularies (docs/events.md):
//! `native` (the seed's event names), `rpc` (LIVECHAT's RPC events and parameters) and
//! `notification` (Genesys Chat API v2 notification shapes).
//!
//! The mapping is pure: the publisher reads the stream record and whatever context the
//! change needs (the chat's participants, its transcript, a channel's agents), and this
//! module turns them into the events to publish. Which events a change makes is decided
//! here, change by change, for the three vocabularies together (a change's announcements
//! read side by side, and follow the same facts); how each vocabulary writes them is in its
//! own module: [`native`], [`rpc`] and [`notification`].

use std::collections::BTreeMap;

use chrono::DateTime;

use serde_json::{json, Value};

use crate::erasure;
use crate::masking::Masking;
use crate::model::{
    Availability, ChannelCount, Chat, ChatStatus, ChatterActive, ChatterType, Format, Message, MessageType,
    Participant, PermissionLevel, Presence, ReadMark, SystemEvent, Typing,
};
use crate::rpc::lines_that_fit;
pub use crate::rpc::{form_encode, rpc_status, MAX_CHAT_BYTES};

mod context;
mod native;
mod notification;
mod rpc;

pub use context::*;
use notification::*;

struct Out<'a> {
    change: &'a Change,
    ctx: &'a Context,
    list: Vec<Outgoing>,
    /// The notification vocabulary's `data`, as the view sees it (what a socket is pushed).
    notes: Vec<Value>,
}

impl Out<'_> {
    fn push(&mut self, format: Format, event: &'static str, chat: Option<&Chat>, channel: Option<&str>, body: String) {
        self.list.push(Outgoing {
            event_id: format!("{}:{}:{}", self.change.id, format.as_str(), event),
            event,
            format,
            chat_id: chat.map(|c| c.chat_id.clone()),
            channel_id: chat.map(|c| c.channel_id.clone()).or(channel.map(str::to_string)),
            time: self.change.at.clone(),
            body,
        });
    }

    fn native(
        &mut self,
        event: &'static str,
        chat: Option<&Chat>,
        channel: Option<&str>,
        actor: Option<&str>,
        data: Value,
    ) {
        let body = native::body(self.change, event, chat, channel, actor, data);
        self.push(Format::Native, event, chat, channel, body);
    }

    fn rpc(&mut self, event: &'static str, chat: Option<&Chat>, channel: Option<&str>, params: &[(&str, String)]) {
        let body = rpc::body(self.change, self.ctx, event, params);
        self.push(Format::Rpc, event, chat, channel, body);
    }

    fn notification(&mut self, event: &'static str, chat: &Chat, data: Value) {
        self.push(Format::Notification, event, Some(chat), None, notification::body(self.change, event, &data));
        self.notes.push(data);
    }
}

/// Everything `change` announces.
pub fn describe(change: &Change, ctx: &Context) -> Vec<Outgoing> {
    describe_all(change, ctx).list
}

/// What `change` pushes to a socket of `ctx.view`: the notification vocabulary's `data`.
pub fn notifications(change: &Change, ctx: &Context) -> Vec<Value> {
    describe_all(change, ctx).notes
}

fn describe_all<'a>(change: &'a Change, ctx: &'a Context) -> Out<'a> {
    let mut out = Out { change, ctx, list: Vec::new(), notes: Vec::new() };
    // A deleted chat's items go with its purge: only its record's last change is news.
    let is_chat_record = matches!(change.new.as_ref().or(change.old.as_ref()), Some(Entity::Chat(_)));
    if !is_chat_record && ctx.chat.as_ref().is_some_and(|c| c.deleted) {
        return out;
    }
    if erased(change) {
        return out;
    }
    match (&change.old, &change.new) {
        (None, Some(Entity::Chat(chat))) => chat_added(&mut out, chat),
        (Some(Entity::Chat(old)), Some(Entity::Chat(new))) => {
            chat_updated(&mut out, old, new);
            if new.deleted && !old.deleted {
                let actor = new.updated_by.as_ref().map(|a| a.chatter_id.as_str());
                out.native("ChatDelete", Some(new), None, actor, json!({ "chat": new }));
            }
        }
        // The purge of a chat already announced as deleted says nothing new.
        (Some(Entity::Chat(old)), None) if old.deleted => {}
        (Some(Entity::Chat(old)), None) => out.native("ChatDelete", Some(old), None, None, json!({ "chat": old })),
        (old, Some(Entity::Participant(p))) => {
            let old = match old {
                Some(Entity::Participant(o)) => Some(o),
                _ => None,
            };
            participant_changed(&mut out, old, p)
        }
        (Some(Entity::Participant(p)), None) => {
            if let Some(chat) = &ctx.chat {
                out.native("ChatParticipantRemove", Some(chat), None, Some(&p.chatter_id), json!({ "participant": p }));
                out.notification("ParticipantsUpdated", chat, state_change("ParticipantsUpdated", chat, ctx));
            }
        }
        (None, Some(Entity::Message(m))) => message_added(&mut out, m),
        (Some(Entity::Message(old)), Some(Entity::Message(new))) => message_changed(&mut out, old, new),
        (_, Some(Entity::Typing(_, t))) => typing_changed(&mut out, t),
        // For a ticket system: a message left while nobody was online (the seeds' OTRS
        // chats end in tickets too).
        // One announcement for a whole erasure: the changes it made to each item are not
        // news (their old images hold what was erased).
        (None, Some(Entity::Erasure(e))) => {
            out.native("CustomerErase", None, None, Some(&e.erased_by), json!({ "erasure": e }))
        }
        (None, Some(Entity::OfflineMessage(m))) => {
            out.native("OfflineMessageAdd", None, Some(&m.channel_id), None, json!({ "offlineMessage": m }))
        }
        (old, Some(Entity::ReadMark(m))) => {
            let before = match old {
                Some(Entity::ReadMark(o)) => Some(o.last_read_index),
                _ => None,
            };
            read_marked(&mut out, before, m)
        }
        (_, Some(Entity::Presence(p))) => presence_changed(&mut out, p, change),
        (Some(Entity::Presence(p)), None) => {
            let offline = Presence { availability: Availability::Offline, ..p.clone() };
            presence_changed(&mut out, &offline, change)
        }
        (old, Some(Entity::ChannelCount(count))) => {
            let before = match old {
                Some(Entity::ChannelCount(o)) => o.available,
                _ => 0,
            };
            channel_changed(&mut out, before, count);
        }
        _ => {}
    }
    out
}

/// Whether `change` is an erasure's, to an item that held something of the customer: not
/// news item by item (its old image holds what is erased); CustomerErase says it once.
fn erased(change: &Change) -> bool {
    let erased = |old: &str, new: &str| new == erasure::ERASED_NAME && old != erasure::ERASED_NAME;
    match (&change.old, &change.new) {
        (Some(Entity::Message(o)), Some(Entity::Message(n))) => erased(&o.chatter_name, &n.chatter_name),
        (Some(Entity::Participant(o)), Some(Entity::Participant(n))) => erased(&o.chatter_name, &n.chatter_name),
        (Some(Entity::Chat(o)), Some(Entity::Chat(n))) => erased(&o.requester_name, &n.requester_name),
        _ => false,
    }
}

fn chat_added(out: &mut Out, chat: &Chat) {
    let ctx = out.ctx;
    out.native("ChatAdd", Some(chat), None, Some(&chat.requester_id), json!({ "chat": chat }));
    out.notification("StatusChange", chat, state_change("StatusChange", chat, ctx));
    if chat.is_agent_to_agent() {
        out.rpc(
            "PRIVATE_CHAT_STATUS",
            Some(chat),
            None,
            &[("OPERATOR_ID", chat.requester_id.clone()), ("STATUS", "start".into()), ("GROUP", chat.chat_id.clone())],
        );
    }
}

fn chat_updated(out: &mut Out, old: &Chat, new: &Chat) {
    let ctx = out.ctx;
    // The actor of this very change, from the record: never from state read later.
    let actor = new.updated_by.as_ref();
    let actor_id = actor.map(|a| a.chatter_id.as_str());
    let operator = actor.filter(|a| a.chatter_type == ChatterType::User).map(|a| a.chatter_id.clone());
    let status_changed = old.status != new.status;
    let moved = old.channel_id != new.channel_id;
    let data = json!({ "chat": new, "previousStatus": old.status, "previousChannelId": old.channel_id });
    if status_changed {
        out.native("ChatUpdate", Some(new), None, actor_id, data.clone());
        if old.status == ChatStatus::Request {
            out.native("ChatRequestUpdate", Some(new), None, actor_id, data.clone());
        }
        out.notification("StatusChange", new, record_change("StatusChange", new, ctx));
    }
    if moved {
        // No OPERATOR_TRANSFER: the seed's is a client handed to another agent, and a move
        // to a channel names none (ChatChannelUpdate and the notification carry the move).
        out.native("ChatChannelUpdate", Some(new), None, actor_id, data);
    }
    if old.user_data != new.user_data {
        out.notification("PropertiesUpdated", new, record_change("PropertiesUpdated", new, ctx));
    }
    if old.status == ChatStatus::Request && new.status == ChatStatus::Active && !new.is_agent_to_agent() {
        let operator_id = operator.clone().unwrap_or_default();
        if old.previous_status == Some(ChatStatus::Active) {
            // Taken again from the queue: the chat had started. Another agent taking it is
            // the seed's transfer, performed by the agent who handed it back.
            let from = old.updated_by.as_ref().filter(|a| a.chatter_type == ChatterType::User);
            if let Some(from) = from.filter(|f| f.chatter_id != operator_id) {
                out.rpc(
                    "OPERATOR_TRANSFER",
                    Some(new),
                    None,
                    &[
                        ("CLIENT_ID", new.requester_id.clone()),
                        ("NEW_OPERATOR_ID", operator_id),
                        ("OPERATOR_ID", from.chatter_id.clone()),
                        ("STATUS", ctx.status(&from.chatter_id)),
                    ],
                );
            }
        } else {
            // The client's own request, answered: no agent invited this client.
            out.rpc(
                "CHAT_STARTED",
                Some(new),
                None,
                &[
                    ("CLIENT_ID", new.requester_id.clone()),
                    ("OPERATOR_ID", operator_id.clone()),
                    ("STATUS", ctx.status(&operator_id)),
                ],
            );
        }
    }
    if new.status == ChatStatus::Closed && old.status != ChatStatus::Closed {
        if new.is_agent_to_agent() {
            // The agent who closed or declined it.
            out.rpc(
                "PRIVATE_CHAT_STATUS",
                Some(new),
                None,
                &[
                    ("OPERATOR_ID", operator.unwrap_or_default()),
                    ("STATUS", "stop".into()),
                    ("GROUP", new.chat_id.clone()),
                ],
            );
            return;
        }
        // An agent's stop; a customer leaving is VISITOR_LEFT_CHAT, the cleanup's close neither.
        if let Some(operator) = operator {
            out.rpc(
                "OPERATOR_STOPED_CHAT",
                Some(new),
                None,
                &[
                    ("OPERATOR_ID", operator),
                    ("CLIENT_ID", new.requester_id.clone()),
                    ("GROUP", new.chat_id.clone()),
                    ("CHANNEL", new.channel_id.clone()),
                    ("CHAT", ctx.transcript_text()),
                ],
            );
        }
    }
}

fn participant_changed(out: &mut Out, old: Option<&Participant>, p: &Participant) {
    let ctx = out.ctx;
    let Some(chat) = ctx.chat.as_ref() else { return };
    let name = if old.is_some() { "ChatParticipantUpdate" } else { "ChatParticipantAdd" };
    out.native(name, Some(chat), None, Some(&p.chatter_id), json!({ "participant": p, "previous": old }));
    // A request to join: a chatter added inactive (invited, or to confirm). An agent who
    // joined and later went inactive is no new request.
    let requested = p.chatter_active == ChatterActive::Pending && old.is_none();
    if requested {
        let request = if p.chatter_type == ChatterType::User { "ChatRequestUser" } else { "ChatRequestCustomer" };
        out.native(request, Some(chat), None, Some(&p.chatter_id), json!({ "participant": p }));
        // An agent's invitation is no transfer (OPERATOR_TRANSFER): it may be declined.
        if p.invitation {
            out.native(
                "ChatInvite",
                Some(chat),
                None,
                Some(&p.chatter_id),
                json!({ "participant": p, "invitationChatId": p.invitation_chat_id }),
            );
        }
        if p.chatter_type.is_customer() {
            out.rpc(
                "CLIENT_INVITED",
                Some(chat),
                None,
                &[("OPERATOR_ID", inviter_of(p, ctx)), ("CLIENT_ID", p.chatter_id.clone())],
            );
        }
    }
    // A client an agent invited joins: its chat starts (INVITING_OP: who invited it).
    let joined = old.filter(|o| o.chatter_active == ChatterActive::Pending && (o.invitation || p.invitation)).is_some();
    if joined
        && p.chatter_active == ChatterActive::Active
        && p.chatter_type.is_customer()
        && chat.status == ChatStatus::Active
    {
        let operator = ctx.owner().map(|o| o.chatter_id.clone()).unwrap_or_default();
        let status = ctx.status(&operator);
        out.rpc(
            "CHAT_STARTED",
            Some(chat),
            None,
            &[
                ("CLIENT_ID", p.chatter_id.clone()),
                ("INVITING_OP", inviter_of(p, ctx)),
                ("OPERATOR_ID", operator),
                ("STATUS", status),
            ],
        );
    }
    let left =
        p.chatter_active == ChatterActive::Left && old.is_some_and(|o| o.chatter_active == ChatterActive::Active);
    if left && p.chatter_type.is_customer() {
        let operator = ctx.owner().map(|o| o.chatter_id.clone()).unwrap_or_default();
        out.rpc(
            "VISITOR_LEFT_CHAT",
            Some(chat),
            None,
            &[
                ("OPERATOR_ID", operator),
                ("CLIENT_ID", p.chatter_id.clone()),
                ("GROUP", chat.chat_id.clone()),
                ("CHANNEL", chat.channel_id.clone()),
                ("CHAT", ctx.transcript_text()),
            ],
        );
    }
    // A permission change shows too: an agent who becomes an Observer leaves the customer's
    // list of participants.
    let visible = old.is_none_or(|o| {
        o.chatter_active != p.chatter_active
            || o.chatter_name != p.chatter_name
            || o.permission_level != p.permission_level
    });
    if visible {
        let data = referenced(state_change("ParticipantsUpdated", chat, ctx), p.reference_id.as_deref());
        out.notification("ParticipantsUpdated", chat, data);
    }
}

/// The agent who invited `p` (recorded on its participation), else the chat's Owner.
fn inviter_of(p: &Participant, ctx: &Context) -> String {
    p.invited_by
        .as_ref()
        .map(|by| by.chatter_id.clone())
        .or_else(|| ctx.owner().map(|o| o.chatter_id.clone()))
        .unwrap_or_default()
}

fn message_added(out: &mut Out, m: &Message) {
    let ctx = out.ctx;
    let Some(chat) = ctx.chat.as_ref() else { return };
    out.native("ChatMessageAdd", Some(chat), None, Some(&m.chatter_id), json!({ "message": m }));
    // Customer-facing: never internal messages, nor filtered ones; agents under their generic
    // name. Agent-facing: never a customer-only message (the seed's `Customer`: "not
    // presented to the agent"), as the API hides it from agents too.
    let customer = ctx.view == View::Customer;
    if (customer && (m.internal || m.hidden_by_filter()))
        || (!customer && m.customer)
        || !ctx.view_masking().shows_message(m)
    {
        return;
    }
    let entry = message_entry(m, &ctx.view_masking().message(m));
    let data = referenced(log_updated(ctx, chat, entry), m.reference_id.as_deref());
    out.notification("NewMessages", chat, data);
}

/// An edit or a withdrawal: native ChatMessageUpdate (with the previous text) or
/// ChatMessageDelete; pushed, to whoever saw the message, as a `MessageEdited` (its new
/// text) or `MessageDeleted` entry naming it by `messageIndex` (not `index`: clients drop an
/// entry whose index they have). The seeds' vocabularies have neither.
fn message_changed(out: &mut Out, old: &Message, new: &Message) {
    let ctx = out.ctx;
    let Some(chat) = ctx.chat.as_ref() else { return };
    let (event, kind) = match (old.deleted, new.deleted) {
        (false, true) => ("ChatMessageDelete", "MessageDeleted"),
        (false, false) if old.text != new.text => ("ChatMessageUpdate", "MessageEdited"),
        _ => return,
    };
    // Who changed it: its author, or an Owner withdrawing it.
    let actor = new.versions.last().map(|v| v.by.as_str());
    out.native(event, Some(chat), None, actor, json!({ "message": new, "previousText": old.text }));
    let customer = ctx.view == View::Customer;
    if (customer && (new.internal || new.hidden_by_filter()))
        || (!customer && new.customer)
        || !ctx.view_masking().shows_message(new)
    {
        return;
    }
    let at = new.versions.last().map_or(&out.change.at, |v| &v.until);
    let entry = change_entry(new, &ctx.view_masking().message(new), kind, at);
    out.notes.push(log_updated(ctx, chat, entry));
}

/// Typing started or stopped: pushed to the other side's sockets only (Genesys's
/// TypingStarted and TypingStopped in MessageLogUpdated); no webhook vocabulary carries it.
fn typing_changed(out: &mut Out, t: &Typing) {
    let ctx = out.ctx;
    let Some(chat) = ctx.chat.as_ref() else { return };
    let own_side = match &ctx.view {
        View::Customer => t.chatter_type.is_customer(),
        View::Agent(user_id) => t.chatter_type == ChatterType::User && t.chatter_id == *user_id,
    };
    let masking = ctx.view_masking();
    if own_side || !masking.shows(t.chatter_type, &t.chatter_id) {
        return;
    }
    let shown = ctx
        .participants
        .iter()
        .find(|p| p.chatter_type == t.chatter_type && p.chatter_id == t.chatter_id)
        .map(|p| masking.participant(p));
    let (nickname, participant_id) =
        shown.map(|p| (p.chatter_name, p.chatter_id)).unwrap_or_else(|| (t.chatter_name.clone(), t.chatter_id.clone()));
    // The typing preview: for agents only.
    let preview = t.text.as_deref().filter(|_| matches!(ctx.view, View::Agent(_)));
    let entry = typing_entry(t, (&nickname, &participant_id), preview, &out.change.at);
    out.notes.push(log_updated(ctx, chat, entry));
}

/// A read receipt: native `ChatMessageRead` for integrators, and pushed to sockets as a
/// `MessagesRead` entry of MessageLogUpdated (beside the seed's TypingStarted: Genesys has
/// no read receipts, and its clients skip a type they do not know), with the reader as the
/// view may see it. Neither webhook vocabulary of the seeds carries it.
fn read_marked(out: &mut Out, before: Option<u64>, m: &ReadMark) {
    let ctx = out.ctx;
    let Some(chat) = ctx.chat.as_ref() else { return };
    out.native(
        "ChatMessageRead",
        Some(chat),
        None,
        Some(&m.chatter_id),
        json!({
            "chatterType": m.chatter_type, "chatterId": m.chatter_id,
            "lastReadIndex": m.last_read_index, "previousReadIndex": before,
        }),
    );
    let masking = ctx.view_masking();
    let reader = ctx.participants.iter().find(|p| p.chatter_type == m.chatter_type && p.chatter_id == m.chatter_id);
    let Some(reader) = reader.filter(|p| masking.shows(p.chatter_type, &p.chatter_id)) else { return };
    let entry = read_entry(m, &masking.participant(reader));
    out.notes.push(log_updated(ctx, chat, entry));
}

fn presence_changed(out: &mut Out, p: &Presence, change: &Change) {
    let before = match &change.old {
        Some(Entity::Presence(o)) => Some(o.availability),
        _ => None,
    };
    if before == Some(p.availability) {
        return;
    }
    out.native(
        "AgentAvailabilityUpdate",
        None,
        None,
        Some(&p.user_id),
        json!({ "userId": p.user_id, "availability": p.availability, "code": p.availability.code(), "channels": p.channels }),
    );
    out.rpc(
        "OPERATOR_STATUS",
        None,
        None,
        &[("OPERATOR_ID", p.user_id.clone()), ("STATUS", rpc_status(p.availability).to_string())],
    );
}

/// BUTTON_STATUS: a channel got its first, or lost its last, available agent. The count
/// changes atomically, so exactly one record makes each transition.
fn channel_changed(out: &mut Out, before: i64, count: &ChannelCount) {
    let status = match (before > 0, count.available > 0) {
        (false, true) => "online",
        (true, false) => "offline",
        _ => return,
    };
    let channel = count.channel_id.as_str();
    out.native(
        "ChannelAvailabilityUpdate",
        None,
        Some(channel),
        None,
        json!({ "channelId": channel, "online": status == "online", "agents": count.available.max(0) }),
    );
    out.rpc("BUTTON_STATUS", None, Some(channel), &[("STATUS", status.into()), ("CHANNEL", channel.to_string())]);
}

#[cfg(test)]
#[path = "../events_tests.rs"]
mod tests;
