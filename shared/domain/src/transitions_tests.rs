//! Every transition, planned without DynamoDB: (state, caller, command, moment) → plan.

use serde_json::json;

use super::*;
use crate::error::Kind;
use crate::model::{ChatterActive, MessageVersion, SystemEvent, TargetType};
use crate::plan::RateLimit;

fn now() -> Moment {
    Moment { stamp: "2026-01-01T00:00:10.000Z".into(), epoch_secs: 1_767_225_610 }
}

fn agent(id: &str) -> Identity {
    Identity::Agent { user_id: id.into(), name: id.to_uppercase(), roles: vec![] }
}

fn customer() -> Identity {
    Identity::Chatter {
        chat_id: "c1".into(),
        chatter_id: "cust".into(),
        chatter_type: ChatterType::Customer,
        name: "Carl".into(),
    }
}

fn participant(chatter_type: ChatterType, id: &str, active: i8, level: Option<PermissionLevel>) -> Participant {
    Participant {
        chat_id: "c1".into(),
        chatter_id: id.into(),
        chatter_type,
        chatter_name: id.to_uppercase(),
        chatter_active: ChatterActive::try_from(active).unwrap(),
        permission_level: level,
        invitation: false,
        invitation_chat_id: None,
        monitoring: 0,
        join_time: Some("2026-01-01T00:00:00.000Z".into()),
        leave_time: None,
        create_time: "2026-01-01T00:00:00.000Z".into(),
        agent_number: (chatter_type == ChatterType::User).then_some(1),
        invited_by: None,
        unverified: false,
        reference_id: None,
    }
}

/// A customer's chat in `status`; active and closed ones have `ann` as their Owner.
fn state(status: ChatStatus) -> ChatState {
    let who = Chatter {
        chatter_type: ChatterType::Customer,
        chatter_id: "cust".into(),
        chatter_name: "Carl".into(),
        number: None,
        unverified: false,
    };
    let mut chat = Chat::request("c1".into(), &who, TargetType::User, "sales".into(), "2026-01-01T00:00:00.000Z");
    chat.status = status;
    let mut participants = vec![participant(ChatterType::Customer, "cust", 1, None)];
    if status != ChatStatus::Request {
        chat.agent_numbers = 1;
        participants.push(participant(ChatterType::User, "ann", 1, Some(PermissionLevel::Owner)));
    }
    ChatState {
        chat,
        participants,
        typing: vec![],
        read_marks: vec![],
        last_index: 3,
        last_message_time: None,
        revision: 0,
    }
}

fn kinds(plan: &Plan) -> Vec<&'static str> {
    plan.writes
        .iter()
        .map(|w| match &w.write {
            Write::NewChat(_) => "new chat",
            Write::Chat { .. } => "chat",
            Write::UserData { .. } => "user data",
            Write::Outdated { .. } => "outdated",
            Write::Participant { existed: false, .. } => "new participant",
            Write::Participant { chat_open: false, .. } => "offline participant",
            Write::Participant { .. } => "participant",
            Write::RemoveParticipant { .. } => "remove participant",
            Write::Idempotency { .. } => "idempotency",
            Write::Presence { .. } => "presence",
            Write::ChannelCount { .. } => "count",
            Write::ChannelAgent(_) => "channel agent",
            Write::RemoveChannelAgent { .. } => "remove channel agent",
            Write::Flag(_) => "flag",
            Write::ChatExists { .. } => "chat exists",
            Write::RateCount { .. } => "rate",
            Write::FileCount { .. } => "file count",
            Write::NewFile(_) => "new file",
            Write::FilePosted { .. } => "file posted",
            Write::Typing { .. } => "typing",
            Write::ReadMark(_) => "read mark",
            Write::Revised { .. } => "revision",
            Write::QueueWait { .. } => "queue wait",
            Write::OfflineMessage(_) => "offline message",
            Write::EraseMessage { .. } | Write::EraseChat { .. } | Write::Erasure(_) => "erasure",
            Write::MessageChange { text: Some(_), .. } => "message edit",
            Write::MessageChange { .. } => "message delete",
        })
        .collect()
}

fn events(plan: &Plan) -> Vec<&str> {
    plan.messages.iter().map(|m| m.event.map_or("text", SystemEvent::as_str)).collect()
}

fn after(plan: &Plan) -> &Chat {
    match &plan.writes[0].write {
        Write::Chat { after, .. } => after,
        other => panic!("the first write is the chat record, not {other:?}"),
    }
}

fn status(to: ChatStatus) -> ChatChange<'static> {
    ChatChange { status: Some(to), ..Default::default() }
}

fn refused(result: DomainResult<impl std::fmt::Debug>) -> Kind {
    result.expect_err("refused").kind
}

#[test]
fn accepting_a_request_makes_the_first_agent_its_owner() {
    let changed = change_chat(&state(ChatStatus::Request), &agent("bob"), &status(ChatStatus::Active), &now()).unwrap();
    assert_eq!(kinds(&changed.plan), ["chat", "new participant"]);
    assert_eq!(events(&changed.plan), ["joined"]);
    let [Write::QueueWait { channel_id, wait_secs, .. }] = &changed.plan.tallies[..] else { panic!() };
    assert_eq!((channel_id.as_str(), *wait_secs), ("sales", 10), "the request waited ten seconds");
    let chat = after(&changed.plan);
    assert_eq!((chat.status, chat.previous_status), (ChatStatus::Active, Some(ChatStatus::Request)));
    assert_eq!(chat.reference_id, None, "no reference sent: none kept from an earlier change");
    assert_eq!(chat.updated_by.as_ref().map(|c| c.chatter_id.as_str()), Some("bob"));
    assert_eq!(chat.agent_numbers, 1);
    let bob = changed.participants.iter().find(|p| p.chatter_id == "bob").unwrap();
    assert_eq!(
        (bob.permission_level, bob.agent_number, bob.chatter_active),
        (Some(PermissionLevel::Owner), Some(1), ChatterActive::Active)
    );
}

#[test]
fn an_invited_agent_accepting_keeps_its_number_and_is_no_longer_pending() {
    let mut s = state(ChatStatus::Request);
    let mut invited = participant(ChatterType::User, "bob", 0, Some(PermissionLevel::Participant));
    invited.invitation = true;
    invited.agent_number = Some(4);
    s.participants.push(invited);
    // An active Owner is there (the agent who invited): the invitee joins as it was invited.
    s.participants.push(participant(ChatterType::User, "ann", 1, Some(PermissionLevel::Owner)));
    let changed = change_chat(&s, &agent("bob"), &status(ChatStatus::Active), &now()).unwrap();
    assert_eq!(kinds(&changed.plan), ["chat", "participant"]);
    assert_eq!(changed.plan.tallies.len(), 1, "a fresh request's wait counts");
    let bob = changed.participants.iter().find(|p| p.chatter_id == "bob").unwrap();
    assert_eq!(
        (bob.agent_number, bob.invitation, bob.permission_level),
        (Some(4), false, Some(PermissionLevel::Participant))
    );
    assert_eq!(after(&changed.plan).agent_numbers, 4);
}

#[test]
fn the_owner_closes_an_active_chat_and_its_customers_go_offline() {
    let changed = change_chat(&state(ChatStatus::Active), &agent("ann"), &status(ChatStatus::Closed), &now()).unwrap();
    assert_eq!(kinds(&changed.plan), ["chat", "offline participant"]);
    assert_eq!(events(&changed.plan), ["closed"]);
    assert_eq!(after(&changed.plan).status, ChatStatus::Closed);
}

#[test]
fn only_the_owner_closes_an_active_chat_but_any_agent_closes_a_request() {
    let mut s = state(ChatStatus::Active);
    s.participants.push(participant(ChatterType::User, "bob", 1, Some(PermissionLevel::Participant)));
    assert_eq!(refused(change_chat(&s, &agent("bob"), &status(ChatStatus::Closed), &now())), Kind::Forbidden);
    assert!(change_chat(&state(ChatStatus::Request), &agent("bob"), &status(ChatStatus::Closed), &now()).is_ok());
}

#[test]
fn nothing_leaves_closed_and_nothing_goes_back() {
    for (from, to) in [
        (ChatStatus::Closed, ChatStatus::Active),
        (ChatStatus::Closed, ChatStatus::Request),
        (ChatStatus::Active, ChatStatus::Active),
    ] {
        assert_eq!(
            refused(change_chat(&state(from), &agent("ann"), &status(to), &now())),
            Kind::Conflict,
            "{from} -> {to}"
        );
    }
}

#[test]
fn the_owner_returns_a_chat_to_the_queue_and_the_next_to_accept_owns_it() {
    let mut s = state(ChatStatus::Active);
    s.participants.push(participant(ChatterType::User, "bob", 1, Some(PermissionLevel::Participant)));
    assert_eq!(refused(change_chat(&s, &agent("bob"), &status(ChatStatus::Request), &now())), Kind::Forbidden);
    let back = change_chat(&s, &agent("ann"), &status(ChatStatus::Request), &now()).unwrap();
    assert_eq!(kinds(&back.plan), ["chat", "participant", "participant"]);
    assert_eq!(events(&back.plan), ["requeued"]);
    assert!(back
        .participants
        .iter()
        .filter(|p| p.chatter_type == ChatterType::User)
        .all(|p| p.chatter_active == ChatterActive::Pending));
    let queued = ChatState { chat: after(&back.plan).clone(), participants: back.participants, ..s };
    let taken = change_chat(&queued, &agent("bob"), &status(ChatStatus::Active), &now()).unwrap();
    let bob = taken.participants.iter().find(|p| p.chatter_id == "bob").unwrap();
    assert_eq!((bob.permission_level, bob.agent_number), (Some(PermissionLevel::Owner), Some(1)));
    let ann = taken.participants.iter().find(|p| p.chatter_id == "ann").unwrap();
    assert_eq!(
        (ann.permission_level, ann.chatter_active),
        (Some(PermissionLevel::Participant), ChatterActive::Pending)
    );
}

#[test]
fn a_channel_move_is_told_to_agents_only_and_a_closed_chat_stays() {
    let cmd = ChatChange { channel: Some("support"), ..Default::default() };
    let changed = change_chat(&state(ChatStatus::Active), &agent("ann"), &cmd, &now()).unwrap();
    let chat = after(&changed.plan);
    assert_eq!((chat.channel_id.as_str(), chat.previous_channel_id.as_deref()), ("support", Some("sales")));
    assert_eq!(events(&changed.plan), ["transferred"]);
    assert!(changed.plan.messages[0].internal);
    assert_eq!(refused(change_chat(&state(ChatStatus::Closed), &agent("ann"), &cmd, &now())), Kind::Conflict);
}

#[test]
fn a_request_nobody_accepted_is_deleted_by_any_agent_an_active_chat_by_its_owner() {
    let plan = delete_chat(&state(ChatStatus::Request), &agent("bob"), &now()).unwrap();
    let chat = after(&plan);
    assert!(chat.deleted);
    assert_eq!(chat.status, ChatStatus::Closed);
    assert_eq!(refused(delete_chat(&state(ChatStatus::Active), &agent("bob"), &now())), Kind::Forbidden);
    assert_eq!(refused(delete_chat(&state(ChatStatus::Request), &customer(), &now())), Kind::Forbidden);
    let closed = delete_chat(&state(ChatStatus::Closed), &agent("ann"), &now()).unwrap();
    assert!(after(&closed).deleted && closed.messages.is_empty(), "a closed chat is only marked");
}

#[test]
fn the_cleanup_closes_an_unanswered_request_as_the_system() {
    let plan = close_by_service(&state(ChatStatus::Request), ChatStatus::Request, &now()).unwrap();
    assert_eq!(after(&plan).updated_by.as_ref().map(|c| c.chatter_type), Some(ChatterType::System));
    assert_eq!(plan.messages[0].author.chatter_type, ChatterType::System);
    assert_eq!(kinds(&plan), ["chat", "offline participant"]);
    let accepted = close_by_service(&state(ChatStatus::Active), ChatStatus::Request, &now());
    assert_eq!(refused(accepted), Kind::Conflict, "accepted meanwhile");
}

#[test]
fn an_old_chat_is_closed_by_the_service_and_marked_deleted_in_one_write() {
    let plan = expire(&state(ChatStatus::Active), &now()).unwrap();
    let chat = after(&plan);
    assert!(chat.deleted);
    assert_eq!(
        (chat.status, chat.updated_by.as_ref().map(|c| c.chatter_type)),
        (ChatStatus::Closed, Some(ChatterType::System))
    );
    assert_eq!(events(&plan), ["expired"]);
}

#[test]
fn the_cleanup_retires_only_closed_chats_once() {
    let plan = retire(&state(ChatStatus::Closed).chat, &now()).unwrap();
    let chat = after(&plan);
    assert!(chat.deleted && plan.messages.is_empty());
    assert_eq!(chat.updated_by.as_ref().map(|c| c.chatter_type), Some(ChatterType::System));
    assert_eq!(refused(retire(&state(ChatStatus::Active).chat, &now())), Kind::Conflict);
    assert_eq!(refused(retire(chat, &now())), Kind::Conflict, "already retired");
}

#[test]
fn the_last_customer_leaving_closes_the_chat_in_its_name() {
    let leave = UpdateParticipant { chatter_active: Some(-1), ..Default::default() };
    let (plan, me) =
        update_participant(&state(ChatStatus::Active), &customer(), (ChatterType::Customer, "cust"), &leave, &now())
            .unwrap();
    assert_eq!(me.chatter_active, ChatterActive::Left);
    assert_eq!(kinds(&plan), ["chat", "participant"]);
    assert_eq!(events(&plan), ["left", "closed"]);
    assert_eq!(after(&plan).updated_by.as_ref().map(|c| c.chatter_id.as_str()), Some("cust"));
    let pause = UpdateParticipant { chatter_active: Some(0), ..Default::default() };
    assert_eq!(
        refused(update_participant(
            &state(ChatStatus::Active),
            &customer(),
            (ChatterType::Customer, "cust"),
            &pause,
            &now()
        )),
        Kind::Invalid
    );
}

#[test]
fn the_owner_changes_others_permission_and_monitoring_but_not_their_presence() {
    let mut s = state(ChatStatus::Active);
    s.participants.push(participant(ChatterType::User, "bob", 1, Some(PermissionLevel::Participant)));
    let bob = (ChatterType::User, "bob");
    let cmd = UpdateParticipant {
        permission_level: Some(PermissionLevel::Observer),
        monitoring: Some(2),
        ..Default::default()
    };
    let (plan, p) = update_participant(&s, &agent("ann"), bob, &cmd, &now()).unwrap();
    assert_eq!((p.permission_level, p.monitoring), (Some(PermissionLevel::Observer), 2));
    assert_eq!(events(&plan), ["permission", "monitoring"]);
    assert!(plan.messages.iter().all(|m| m.internal));
    let leave = UpdateParticipant { chatter_active: Some(-1), ..Default::default() };
    assert_eq!(refused(update_participant(&s, &agent("ann"), bob, &leave, &now())), Kind::Forbidden);
    let pause = UpdateParticipant { chatter_active: Some(0), ..Default::default() };
    let (_, paused) = update_participant(&s, &agent("ann"), bob, &pause, &now()).unwrap();
    assert_eq!(paused.chatter_active, ChatterActive::Pending, "AgentPermissionsUpdate sets another agent inactive");
    let customer_off = update_participant(&s, &agent("ann"), (ChatterType::Customer, "cust"), &pause, &now());
    assert_eq!(refused(customer_off), Kind::Forbidden);
    assert_eq!(
        refused(update_participant(&s, &agent("bob"), (ChatterType::User, "ann"), &cmd, &now())),
        Kind::Forbidden
    );
}

#[test]
fn an_agent_confirming_a_request_accepts_it() {
    let mut s = state(ChatStatus::Request);
    s.participants.push(participant(ChatterType::User, "bob", 0, Some(PermissionLevel::Participant)));
    let confirm = UpdateParticipant { chatter_active: Some(1), ..Default::default() };
    let (plan, p) = update_participant(&s, &agent("bob"), (ChatterType::User, "bob"), &confirm, &now()).unwrap();
    assert_eq!(after(&plan).status, ChatStatus::Active);
    assert_eq!(p.chatter_active, ChatterActive::Active);
}

#[test]
fn adding_oneself_to_a_request_accepts_it_and_to_an_accepted_chat_is_too_late() {
    let me = AddParticipant {
        chatter_id: "bob".into(),
        chatter_type: ChatterType::User,
        chatter_name: None,
        chatter_active: 1,
        permission_level: Some(PermissionLevel::Participant),
        invitation: false,
        monitoring: 0,
    };
    let (plan, p) = add_participant(&state(ChatStatus::Request), &agent("bob"), &me, &now()).unwrap();
    assert_eq!((after(&plan).status, p.permission_level), (ChatStatus::Active, Some(PermissionLevel::Owner)));
    assert_eq!(refused(add_participant(&state(ChatStatus::Active), &agent("bob"), &me, &now())), Kind::Conflict);
}

#[test]
fn the_owner_adds_an_agent_with_a_new_number_and_nobody_else_may() {
    let other = AddParticipant {
        chatter_id: "cid".into(),
        chatter_type: ChatterType::User,
        chatter_name: Some("Cid".into()),
        chatter_active: 0,
        permission_level: Some(PermissionLevel::Participant),
        invitation: true,
        monitoring: 0,
    };
    let (plan, p) = add_participant(&state(ChatStatus::Active), &agent("ann"), &other, &now()).unwrap();
    assert_eq!(kinds(&plan), ["new participant", "chat"]);
    assert_eq!(p.agent_number, Some(2));
    assert_eq!(p.invited_by.as_ref().map(|c| c.chatter_id.as_str()), Some("ann"));
    assert_eq!(events(&plan), ["invited"]);
    assert_eq!(refused(add_participant(&state(ChatStatus::Active), &agent("bob"), &other, &now())), Kind::Forbidden);
    let owner = AddParticipant { permission_level: Some(PermissionLevel::Owner), ..other.clone() };
    assert_eq!(refused(add_participant(&state(ChatStatus::Active), &agent("ann"), &owner, &now())), Kind::Conflict);
    assert_eq!(refused(add_participant(&state(ChatStatus::Closed), &agent("ann"), &other, &now())), Kind::Conflict);
    assert_eq!(AddParticipant { permission_level: None, ..other }.validate().unwrap_err().kind, Kind::Invalid);
}

#[test]
fn the_requester_and_the_owner_stay_when_everyone_else_is_removed() {
    let mut s = state(ChatStatus::Active);
    s.participants.push(participant(ChatterType::User, "bob", 1, Some(PermissionLevel::Participant)));
    let plan = remove_participants(&s, &agent("ann"), Removal::All).unwrap();
    assert_eq!(kinds(&plan), ["remove participant"], "Bob only: the chat keeps its Owner");
    assert_eq!(plan.messages[0].subjects.len(), 1);
    let by_type = remove_participants(&s, &agent("ann"), Removal::OfType(ChatterType::User)).unwrap();
    assert_eq!(by_type.messages[0].subjects[0].chatter_id, "bob");
    assert_eq!(
        refused(remove_participants(&s, &agent("ann"), Removal::One(ChatterType::Customer, "cust"))),
        Kind::Conflict
    );
    assert_eq!(refused(remove_participants(&s, &agent("ann"), Removal::One(ChatterType::User, "ann"))), Kind::Conflict);
    assert_eq!(
        refused(remove_participants(&s, &agent("bob"), Removal::One(ChatterType::User, "ann"))),
        Kind::Forbidden
    );
    assert_eq!(refused(remove_participants(&s, &agent("ann"), Removal::One(ChatterType::User, "zed"))), Kind::NotFound);
}

#[test]
fn contributors_invite_and_the_invitee_declines_or_withdraws() {
    let cmd = Invite { invite_user_id: "bob".into(), invite_user_name: None, invitation_chat_id: Some("c0".into()) };
    let (plan, bob) = invite(&state(ChatStatus::Active), &agent("ann"), &cmd, &now()).unwrap();
    assert_eq!((bob.chatter_active, bob.invitation, bob.agent_number), (ChatterActive::Pending, true, Some(2)));
    assert_eq!(kinds(&plan), ["new participant", "chat"]);
    assert_eq!(refused(invite(&state(ChatStatus::Active), &agent("zed"), &cmd, &now())), Kind::Forbidden);

    let mut s = state(ChatStatus::Active);
    s.participants.push(bob);
    let withdrawn = remove_invitation(&s, &agent("bob")).unwrap();
    assert_eq!(kinds(&withdrawn), ["remove participant"]);
    assert_eq!(refused(remove_invitation(&s, &agent("ann"))), Kind::NotFound);
}

/// Ann's private request to other agents, with Bob invited.
fn private_request() -> ChatState {
    let ann = Chatter {
        chatter_type: ChatterType::User,
        chatter_id: "ann".into(),
        chatter_name: "ANN".into(),
        number: Some(1),
        unverified: false,
    };
    let mut chat = Chat::request("c1".into(), &ann, TargetType::User, "sales".into(), "2026-01-01T00:00:00.000Z");
    chat.agent_numbers = 2;
    let mut bob = participant(ChatterType::User, "bob", 0, Some(PermissionLevel::Participant));
    bob.invitation = true;
    ChatState {
        chat,
        participants: vec![participant(ChatterType::User, "ann", 1, Some(PermissionLevel::Owner)), bob],
        typing: vec![],
        read_marks: vec![],
        last_index: 1,
        last_message_time: None,
        revision: 0,
    }
}

#[test]
fn declining_the_only_invitation_of_an_agent_to_agent_request_closes_it() {
    let s = private_request();
    let plan = decline(&s, &agent("bob"), Some("busy"), &now()).unwrap();
    assert_eq!(kinds(&plan), ["chat", "participant"]);
    assert_eq!(after(&plan).updated_by.as_ref().map(|c| c.chatter_id.as_str()), Some("bob"));
    assert_eq!(plan.messages[0].text, "busy");
    assert_eq!(refused(decline(&state(ChatStatus::Active), &agent("ann"), None, &now())), Kind::Conflict);
}

#[test]
fn a_message_remembers_its_client_id_and_observers_and_closed_chats_take_none() {
    let cmd = PostMessage {
        kind: MessageType::Text,
        text: "hi".into(),
        internal: false,
        customer: false,
        client_message_id: Some("m1".into()),
        filter: None,
        reference_id: None,
        rate: RateLimit { limit: 30, window_secs: 60 },
        system_generated: false,
    };
    let plan = post_message(&state(ChatStatus::Active), &customer(), &cmd, &now()).unwrap();
    assert_eq!(kinds(&plan), ["rate", "idempotency"], "a customer's message counts against its rate");
    assert!(matches!(plan.writes[0].on_conflict.kind, Kind::RateLimited { retry_after: 50 }), "{:?}", plan.writes[0]);
    assert_eq!(plan.writes[1].on_conflict.kind, Kind::Duplicate);
    match &plan.writes[1].write {
        Write::Idempotency { record, .. } => assert_eq!(record.index, 4, "the next transcript slot"),
        other => panic!("{other:?}"),
    }
    let mut s = state(ChatStatus::Active);
    s.participants.push(participant(ChatterType::User, "bob", 1, Some(PermissionLevel::Observer)));
    assert_eq!(refused(post_message(&s, &agent("bob"), &cmd, &now())), Kind::Forbidden);
    assert_eq!(refused(post_message(&state(ChatStatus::Closed), &customer(), &cmd, &now())), Kind::Conflict);
}

#[test]
fn only_an_integrator_posts_a_system_generated_message_into_any_open_chat() {
    let cmd = PostMessage {
        kind: MessageType::Text,
        text: "Your order has shipped".into(),
        internal: false,
        customer: false,
        client_message_id: None,
        filter: None,
        reference_id: None,
        rate: RateLimit { limit: 30, window_secs: 60 },
        system_generated: true,
    };
    let bot = Identity::Agent { user_id: "shop-bot".into(), name: "Shop".into(), roles: vec!["integrator".into()] };
    // Not a participant, and still it posts: as the service.
    let plan = post_message(&state(ChatStatus::Active), &bot, &cmd, &now()).unwrap();
    assert_eq!(plan.messages[0].kind, MessageType::System);
    assert!(plan.messages[0].system_generated);
    assert_eq!(plan.messages[0].author.chatter_type, ChatterType::System, "authored by the service");
    // An agent without the role, even the chat's owner, may not; nobody posts into a closed chat.
    assert_eq!(refused(post_message(&state(ChatStatus::Active), &agent("ann"), &cmd, &now())), Kind::Forbidden);
    assert_eq!(refused(post_message(&state(ChatStatus::Active), &customer(), &cmd, &now())), Kind::Forbidden);
    assert_eq!(refused(post_message(&state(ChatStatus::Closed), &bot, &cmd, &now())), Kind::Conflict);
}

#[test]
fn user_data_merges_and_a_null_removes_its_key() {
    let mut s = state(ChatStatus::Active);
    s.chat.user_data = json!({"a": 1, "b": 2}).as_object().cloned();
    let patch = json!({"b": null, "c": 3}).as_object().cloned().unwrap();
    let (plan, merged) =
        update_user_data(&s, &customer(), &patch, Some("83"), RateLimit { limit: 30, window_secs: 60 }, &now())
            .unwrap();
    assert_eq!(serde_json::Value::Object(merged), json!({"a": 1, "c": 3}));
    assert_eq!(kinds(&plan), ["rate", "user data"], "a customer's update counts against its rate");
    assert!(matches!(&plan.writes[1].write, Write::UserData { reference_id: Some(r), .. } if r == "83"));
    let huge = json!({"x": "y".repeat(9000)}).as_object().cloned().unwrap();
    assert_eq!(
        refused(update_user_data(&s, &customer(), &huge, None, RateLimit { limit: 30, window_secs: 60 }, &now())),
        Kind::TooLarge
    );
}

fn presence(availability: Availability, channels: &[&str], counted: &[&str]) -> Presence {
    Presence {
        user_id: "ann".into(),
        name: "Ann".into(),
        availability,
        channels: channels.iter().map(|c| c.to_string()).collect(),
        internal_channels: None,
        external: true,
        update_time: "2026-01-01T00:00:00.000Z".into(),
        expires_at: now().epoch_secs + 60,
        counted: counted.iter().map(|c| c.to_string()).collect(),
    }
}

#[test]
fn availability_moves_the_channel_counts_and_listings() {
    let was = presence(Availability::Online, &["sales", "support"], &["sales", "support"]);
    let (plan, p) = set_presence(Some(&was), presence(Availability::Online, &["billing", "support"], &[]), &now());
    assert_eq!(p.counted, ["billing", "support"]);
    assert_eq!(kinds(&plan), ["presence", "count", "count", "channel agent", "channel agent", "remove channel agent"]);
    match &plan.writes[0].write {
        Write::Presence { seen, .. } => assert_eq!(seen.as_deref(), Some("2026-01-01T00:00:00.000Z")),
        other => panic!("{other:?}"),
    }
    let (offline, _) = set_presence(Some(&was), presence(Availability::Offline, &["sales"], &[]), &now());
    assert_eq!(kinds(&offline), ["presence", "count", "count", "remove channel agent", "remove channel agent"]);
}

#[test]
fn a_lapsed_presence_is_swept_out_of_its_counts() {
    let plan = sweep_presence(&presence(Availability::Online, &["sales"], &["sales"]), &now());
    assert_eq!(kinds(&plan), ["presence", "count"]);
    assert!(matches!(&plan.writes[1].write, Write::ChannelCount { delta: -1, .. }));
}

#[test]
fn a_private_request_is_accepted_only_by_an_invited_agent() {
    let s = private_request();
    assert_eq!(refused(change_chat(&s, &agent("eve"), &status(ChatStatus::Active), &now())), Kind::Forbidden);
    assert_eq!(policy::can_read(&agent("eve"), &s).unwrap_err().kind, Kind::Forbidden);
    assert!(!policy::may_see_in_lists(&agent("eve"), &s.chat) && policy::may_see_in_lists(&agent("ann"), &s.chat));
    assert!(change_chat(&s, &agent("bob"), &status(ChatStatus::Active), &now()).is_ok());
}

#[test]
fn a_change_that_changes_nothing_is_still_refused_to_who_may_not_ask() {
    let same_channel = ChatChange { channel: Some("sales"), ..Default::default() };
    assert_eq!(refused(change_chat(&state(ChatStatus::Active), &agent("eve"), &same_channel, &now())), Kind::Forbidden);
    assert_eq!(refused(change_chat(&state(ChatStatus::Active), &customer(), &same_channel, &now())), Kind::Forbidden);
    assert!(change_chat(&state(ChatStatus::Active), &agent("ann"), &same_channel, &now()).is_ok(), "the Owner may");
}

#[test]
fn an_upload_is_counted_against_the_chat_and_posted_once_by_its_uploader() {
    let limits = crate::files::FileLimits::default();
    let file = crate::files::accept("f1", "a.png", 10, "image/png", &limits).unwrap();
    let (plan, upload) =
        request_upload(&state(ChatStatus::Active), &customer(), file.clone(), &limits, &now()).unwrap();
    assert_eq!(kinds(&plan), ["file count", "new file"]);
    assert!(plan.messages.is_empty(), "nothing shows before the file is stored");
    assert_eq!((upload.chatter_type, upload.posted), (ChatterType::Customer, false));
    let rate = RateLimit { limit: 30, window_secs: 60 };
    let posted = post_file(&state(ChatStatus::Active), &customer(), &upload, rate, &now()).unwrap();
    assert_eq!(kinds(&posted), ["rate", "file posted"]);
    assert_eq!(posted.messages[0].kind, MessageType::File);
    assert_eq!(posted.messages[0].file.as_ref(), Some(&file));
    assert_eq!(refused(post_file(&state(ChatStatus::Active), &agent("ann"), &upload, rate, &now())), Kind::Forbidden);
    let again = FileUpload { posted: true, ..upload.clone() };
    assert_eq!(refused(post_file(&state(ChatStatus::Active), &customer(), &again, rate, &now())), Kind::Conflict);
    assert_eq!(refused(post_file(&state(ChatStatus::Closed), &customer(), &upload, rate, &now())), Kind::Conflict);
    assert_eq!(
        refused(request_upload(&state(ChatStatus::Closed), &customer(), file, &limits, &now()).map(|(p, _)| p.writes)),
        Kind::Conflict
    );
}

#[test]
fn a_read_mark_is_any_partys_moves_only_forward_and_stops_at_the_last_message() {
    let mut s = state(ChatStatus::Active);
    let (plan, mark) = mark_read(&s, &customer(), 2, &now()).unwrap();
    assert_eq!((kinds(&plan), mark), (vec!["read mark"], 2));
    let Write::ReadMark(written) = &plan.writes[0].write else { panic!("{plan:?}") };
    assert_eq!((written.chatter_id.as_str(), written.last_read_index), ("cust", 2));
    s.read_marks.push(written.clone());
    let (plan, mark) = mark_read(&s, &customer(), 1, &now()).unwrap();
    assert_eq!((kinds(&plan).len(), mark), (0, 2), "behind the mark: nothing written, the mark stands");
    let (plan, _) = mark_read(&s, &agent("ann"), 3, &now()).unwrap();
    assert_eq!(kinds(&plan), vec!["read mark"], "the agent's own mark");
    assert_eq!(mark_read(&s, &customer(), 4, &now()).unwrap_err().kind, Kind::Invalid, "past the last message");
    assert_eq!(mark_read(&s, &agent("bob"), 1, &now()).unwrap_err().kind, Kind::Forbidden, "no party");
    let queued = state(ChatStatus::Request);
    assert_eq!(
        mark_read(&queued, &agent("ann"), 1, &now()).unwrap_err().kind,
        Kind::Forbidden,
        "the queue is no party"
    );
    let closed = state(ChatStatus::Closed);
    assert!(mark_read(&closed, &customer(), 3, &now()).is_ok(), "the last words are read after the close too");
    s.participants[0].chatter_active = ChatterActive::Left;
    assert!(mark_read(&s, &customer(), 3, &now()).is_err(), "one who left marks nothing");
}

fn text_message(index: u64, who: &str, chatter_type: ChatterType, posted: &str) -> Message {
    Message {
        message_id: Message::id("c1", index),
        chat_id: "c1".into(),
        index,
        kind: MessageType::Text,
        text: "hello".into(),
        chatter_id: who.into(),
        chatter_type,
        chatter_name: who.to_uppercase(),
        chatter_number: None,
        chatter_unverified: false,
        subjects: vec![],
        system_generated: false,
        internal: false,
        customer: false,
        event: None,
        filter: None,
        filtered: None,
        reference_id: None,
        file: None,
        edited: false,
        deleted: false,
        versions: vec![],
        create_time: posted.into(),
    }
}

#[test]
fn a_message_is_changed_by_its_author_in_time_and_deleted_by_the_owner_any_time() {
    let s = state(ChatStatus::Active);
    let (edit, delete) = (MessageChange::Edit("hello again".into()), MessageChange::Delete);
    let mine = text_message(2, "cust", ChatterType::Customer, "2026-01-01T00:00:05.000Z");
    let plan = change_message(&s, &customer(), &mine, &edit, 60, &now()).unwrap();
    let Write::MessageChange { text, previous, versions, .. } = &plan.writes[0].write else { panic!("{plan:?}") };
    assert_eq!((text.as_deref(), previous.as_str(), *versions), (Some("hello again"), "hello", 0));
    assert_eq!(
        kinds(&change_message(&s, &customer(), &mine, &delete, 60, &now()).unwrap()),
        vec!["message delete", "revision"],
        "counted for pollers"
    );
    assert_eq!(refused(change_message(&s, &customer(), &mine, &edit, 3, &now())), Kind::Conflict, "too late");
    assert_eq!(refused(change_message(&s, &agent("ann"), &mine, &edit, 60, &now())), Kind::Forbidden, "not hers");
    assert!(change_message(&s, &agent("ann"), &mine, &delete, 3, &now()).is_ok(), "the Owner moderates, late too");
    let empty = MessageChange::Edit("  ".into());
    assert_eq!(refused(change_message(&s, &customer(), &mine, &empty, 60, &now())), Kind::Invalid);
    let gone = Message { deleted: true, ..mine.clone() };
    assert_eq!(refused(change_message(&s, &customer(), &gone, &edit, 60, &now())), Kind::Conflict);
    let worn = Message {
        versions: vec![MessageVersion { text: "x".into(), until: "t".into(), by: "cust".into() }; MAX_EDITS],
        ..mine.clone()
    };
    assert_eq!(refused(change_message(&s, &customer(), &worn, &edit, 60, &now())), Kind::Conflict, "edited enough");
    let system = Message { kind: MessageType::System, ..mine.clone() };
    assert_eq!(refused(change_message(&s, &customer(), &system, &delete, 60, &now())), Kind::Invalid);
    let closed = state(ChatStatus::Closed);
    assert_eq!(refused(change_message(&closed, &customer(), &mine, &edit, 60, &now())), Kind::Conflict);
}

/// A chat holds MAX_PARTICIPANTS at most (those who left included), so that a plan that
/// rewrites each of them stays one transaction: adding, inviting and accepting say so.
#[test]
fn a_full_chat_takes_no_more_participants() {
    let mut full = state(ChatStatus::Active);
    while full.participants.len() < MAX_PARTICIPANTS {
        let id = format!("agent-{}", full.participants.len());
        full.participants.push(participant(ChatterType::User, &id, 1, Some(PermissionLevel::Participant)));
    }
    let add = AddParticipant {
        chatter_id: "zed".into(),
        chatter_type: ChatterType::User,
        chatter_name: None,
        chatter_active: 0,
        permission_level: Some(PermissionLevel::Participant),
        invitation: true,
        monitoring: 0,
    };
    let full_says = |e: DomainError| (e.kind, e.message.contains("at most 50 participants"));
    assert_eq!(full_says(add_participant(&full, &agent("ann"), &add, &now()).unwrap_err()), (Kind::Conflict, true));
    let cmd = Invite { invite_user_id: "zed".into(), invite_user_name: None, invitation_chat_id: None };
    assert_eq!(full_says(invite(&full, &agent("ann"), &cmd, &now()).unwrap_err()), (Kind::Conflict, true));
    let mut queued = full.clone();
    queued.chat.status = ChatStatus::Request;
    let accept = change_chat(&queued, &agent("zed"), &status(ChatStatus::Active), &now());
    assert_eq!(full_says(accept.unwrap_err()), (Kind::Conflict, true));
    full.participants.pop();
    assert!(add_participant(&full, &agent("ann"), &add, &now()).is_ok(), "one short of full: room for one");
}
