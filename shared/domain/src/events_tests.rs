//! Tests of the event mapping (kept apart: the mapping itself is long enough).
use super::*;
use crate::model::{Chatter, ChatterActive, PermissionLevel, TargetType};

/// The catalogue, by format: every event name each vocabulary has.
fn catalogue() -> BTreeMap<&'static str, &'static [&'static str]> {
    [Format::Native, Format::Rpc, Format::Notification].into_iter().map(|f| (f.as_str(), f.events())).collect()
}

fn chat(status: ChatStatus, channel: &str, requester: ChatterType) -> Chat {
    let id = if requester == ChatterType::User { "ann" } else { "visitor-1" };
    let who = Chatter {
        chatter_type: requester,
        chatter_id: id.into(),
        chatter_name: "Vic".into(),
        number: None,
        unverified: false,
    };
    let chat = Chat::request("c1".into(), &who, TargetType::User, channel.into(), "2026-11-21T10:00:00.000Z");
    Chat { status, ..chat }
}

fn participant(id: &str, t: ChatterType, active: i8, invitation: bool) -> Participant {
    Participant {
        chat_id: "c1".into(),
        chatter_id: id.into(),
        chatter_type: t,
        chatter_name: id.to_uppercase(),
        chatter_active: ChatterActive::try_from(active).unwrap(),
        permission_level: (t == ChatterType::User).then_some(PermissionLevel::Owner),
        invitation,
        invitation_chat_id: None,
        monitoring: 0,
        join_time: None,
        leave_time: None,
        create_time: "2026-11-21T10:00:00.000Z".into(),
        agent_number: (t == ChatterType::User).then_some(1),
        invited_by: None,
        unverified: false,
        reference_id: None,
    }
}

fn message(index: u64, who: &str, t: ChatterType, text: &str, event: Option<&str>, internal: bool) -> Message {
    Message {
        message_id: format!("c1-{index}"),
        chat_id: "c1".into(),
        index,
        kind: if event.is_some() { MessageType::System } else { MessageType::Text },
        text: text.into(),
        chatter_id: who.into(),
        chatter_type: t,
        chatter_name: who.to_uppercase(),
        chatter_number: (t == ChatterType::User).then_some(1),
        chatter_unverified: false,
        subjects: Vec::new(),
        system_generated: event.is_some(),
        internal,
        customer: false,
        event: event.map(str::to_string),
        filter: None,
        filtered: None,
        reference_id: None,
        file: None,
        edited: false,
        deleted: false,
        versions: Vec::new(),
        create_time: "2026-11-21T10:01:00.000Z".into(),
    }
}

fn presence(a: Availability) -> Presence {
    Presence {
        user_id: "ann".into(),
        name: "Ann".into(),
        availability: a,
        channels: vec!["sales".into()],
        internal_channels: None,
        external: true,
        update_time: String::new(),
        expires_at: 0,
        counted: Vec::new(),
    }
}

fn edited(m: &Message) -> Message {
    Message {
        text: "hello, again".into(),
        edited: true,
        versions: vec![crate::model::MessageVersion {
            text: m.text.clone(),
            until: "2026-11-21T10:03:00.000Z".into(),
            by: m.chatter_id.clone(),
        }],
        ..m.clone()
    }
}

fn withdrawn(m: &Message) -> Message {
    let mut gone = edited(m);
    gone.versions.push(crate::model::MessageVersion {
        text: gone.text.clone(),
        until: "2026-11-21T10:04:00.000Z".into(),
        by: "ann".into(),
    });
    Message { text: String::new(), deleted: true, ..gone }
}

/// An edit and a withdrawal: native events with the previous text, and a push naming the
/// message by messageIndex (clients keep `index` for messages), the text only for an edit.
#[test]
fn an_edit_and_a_withdrawal_are_announced_and_pushed_by_message_index() {
    let customer = participant("visitor-1", ChatterType::Public, 1, false);
    let ctx = Context {
        chat: Some(chat(ChatStatus::Active, "sales", ChatterType::Public)),
        participants: vec![customer],
        ..Default::default()
    };
    let first = message(2, "visitor-1", ChatterType::Public, "hello", None, false);
    let change = |old: &Message, new: Message| Change {
        id: "r".into(),
        old: Some(Entity::Message(old.clone())),
        new: Some(Entity::Message(new)),
        at: "2026-11-21T10:05:00.000Z".into(),
    };
    let edit = change(&first, edited(&first));
    let all = describe(&edit, &ctx);
    assert_eq!(all.iter().map(|o| o.event).collect::<Vec<_>>(), vec!["ChatMessageUpdate"]);
    assert!(all[0].body.contains("\"previousText\":\"hello\""), "{}", all[0].body);
    let pushed = &notifications(&edit, &ctx)[0]["messages"][0];
    assert_eq!(
        (pushed["type"].clone(), pushed["messageIndex"].clone(), pushed["text"].clone()),
        (json!("MessageEdited"), json!(2), json!("hello, again"))
    );
    assert!(pushed.get("index").is_none());
    let delete = change(&edited(&first), withdrawn(&first));
    assert_eq!(describe(&delete, &ctx)[0].event, "ChatMessageDelete");
    let pushed = &notifications(&delete, &ctx)[0]["messages"][0];
    assert_eq!(pushed["type"], "MessageDeleted");
    assert!(pushed.get("text").is_none(), "a tombstone has no text");
    let note = message(3, "ann", ChatterType::User, "note", None, true);
    let quiet = change(&note, Message { text: "note!".into(), ..note.clone() });
    assert!(notifications(&quiet, &ctx).is_empty(), "a note's edit never reaches a customer");
    let unchanged = change(&first, first.clone());
    assert!(describe(&unchanged, &ctx).is_empty(), "nothing changed, nothing said");
}

fn erasure() -> crate::erasure::Erasure {
    crate::erasure::Erasure {
        customer_id: "jdoe".into(),
        erased_at: "2026-11-21T10:02:00.000Z".into(),
        erased_by: "admin".into(),
        chats: 2,
        messages: 14,
        files: 1,
        offline_messages: 1,
    }
}

/// An erasure's item changes say nothing (their old images hold what is erased): the
/// receipt's CustomerErase alone is announced.
#[test]
fn an_erasure_is_announced_once_and_its_item_changes_not_at_all() {
    let customer = participant("jdoe", ChatterType::Customer, -1, false);
    let ctx = Context { chat: Some(chat(ChatStatus::Closed, "sales", ChatterType::Customer)), ..Default::default() };
    let said = message(2, "jdoe", ChatterType::Customer, "my address is 1 Main St", None, false);
    let erased = Message {
        text: String::new(),
        deleted: true,
        chatter_name: crate::erasure::ERASED_NAME.into(),
        ..said.clone()
    };
    let gone = crate::erasure::erased_participant(&customer).unwrap();
    for (old, new) in
        [(Entity::Message(said), Entity::Message(erased)), (Entity::Participant(customer), Entity::Participant(gone))]
    {
        let change = Change { id: "r".into(), old: Some(old), new: Some(new), at: "2026-11-21T10:05:00.000Z".into() };
        assert!(describe(&change, &ctx).is_empty() && notifications(&change, &ctx).is_empty());
    }
}

fn offline() -> crate::model::OfflineMessage {
    crate::model::OfflineMessage {
        offline_message_id: "o1".into(),
        channel_id: "sales".into(),
        name: "Jo".into(),
        email: "jo@example.com".into(),
        text: "Please call me back about order A1.".into(),
        user_data: None,
        create_time: "2026-11-21T10:02:00.000Z".into(),
    }
}

/// The customer's read mark at `index`.
fn read(index: u64) -> ReadMark {
    ReadMark {
        chat_id: "c1".into(),
        chatter_id: "visitor-1".into(),
        chatter_type: ChatterType::Public,
        last_read_index: index,
        read_time: "2026-11-21T10:02:00.000Z".into(),
    }
}

/// A read receipt is native ChatMessageRead for integrators, and a MessagesRead entry
/// pushed to sockets, its reader masked as each view sees it.
#[test]
fn a_read_mark_is_announced_natively_and_pushed_with_the_reader_as_each_view_sees_it() {
    let mut agent = participant("ann", ChatterType::User, 1, false);
    agent.agent_number = Some(3);
    let customer = participant("visitor-1", ChatterType::Public, 1, false);
    let mut ctx = Context {
        chat: Some(chat(ChatStatus::Active, "sales", ChatterType::Public)),
        participants: vec![agent, customer],
        mask: Some("Agent".into()),
        api_url: "https://chat.example.com".into(),
        ..Default::default()
    };
    let agent_mark = ReadMark { chatter_id: "ann".into(), chatter_type: ChatterType::User, ..read(4) };
    let change = Change {
        id: "r1".into(),
        old: Some(Entity::ReadMark(ReadMark { last_read_index: 2, ..agent_mark.clone() })),
        new: Some(Entity::ReadMark(agent_mark)),
        at: "2026-11-21T10:02:00.000Z".into(),
    };
    let all = describe(&change, &ctx);
    assert_eq!(all.iter().map(|o| (o.format, o.event)).collect::<Vec<_>>(), vec![(Format::Native, "ChatMessageRead")]);
    let body: Value = serde_json::from_str(&all[0].body).unwrap();
    assert_eq!(
        (
            body["data"]["chatterId"].clone(),
            body["data"]["lastReadIndex"].clone(),
            body["data"]["previousReadIndex"].clone()
        ),
        (json!("ann"), json!(4), json!(2))
    );
    let pushed = notifications(&change, &ctx);
    let entry = &pushed[0]["messages"][0];
    assert_eq!((entry["type"].clone(), entry["lastReadIndex"].clone()), (json!("MessagesRead"), json!(4)));
    assert!(entry.get("index").is_none(), "no message index: clients drop an index they have");
    assert_eq!(entry["from"]["participantId"], "agent-3", "the customer sees the masked agent: {entry}");
    ctx.view = View::Agent("ann".into());
    assert_eq!(notifications(&change, &ctx)[0]["messages"][0]["from"]["participantId"], "ann");
}

/// A change for every event of the catalogue, with its context.
fn scenario() -> Vec<(Change, Context)> {
    let agent = participant("ann", ChatterType::User, 1, false);
    let customer = participant("visitor-1", ChatterType::Public, 1, false);
    let transcript = vec![
        message(1, "ann", ChatterType::User, "ANN joined the chat.", Some("joined"), false),
        message(2, "visitor-1", ChatterType::Public, "hello", None, false),
        message(3, "ann", ChatterType::User, "note", None, true),
        message(4, "ann", ChatterType::User, "ANN moved the chat.", Some("transferred"), true),
        message(5, "ann", ChatterType::User, "ANN invited BOB.", Some("invited"), true),
        message(6, "ann", ChatterType::User, "ANN closed the chat.", Some("closed"), false),
    ];
    let ctx = |c: Chat| Context {
        chat: Some(c),
        participants: vec![agent.clone(), customer.clone()],
        transcript: transcript.clone(),
        statuses: BTreeMap::from([("ann".to_string(), Availability::Away)]),
        licence: "1234".into(),
        api_url: "https://chat.example.com".into(),
        ..Default::default()
    };
    // Each change records its actor: Ann accepted, moved and closed.
    let by_ann = |c: Chat| Chat { updated_by: Some(Chatter::from(&agent)), ..c };
    let request = chat(ChatStatus::Request, "sales", ChatterType::Public);
    let active = by_ann(chat(ChatStatus::Active, "sales", ChatterType::Public));
    let moved = by_ann(chat(ChatStatus::Active, "support", ChatterType::Public));
    let closed = by_ann(chat(ChatStatus::Closed, "support", ChatterType::Public));
    // Ann hands the chat back to the queue; Bob takes it: a transfer, no second start.
    let requeued = Chat {
        previous_status: Some(ChatStatus::Active),
        ..by_ann(chat(ChatStatus::Request, "sales", ChatterType::Public))
    };
    let bob = participant("bob", ChatterType::User, 1, false);
    let taken =
        Chat { updated_by: Some(Chatter::from(&bob)), ..chat(ChatStatus::Active, "sales", ChatterType::Public) };
    let a2a = chat(ChatStatus::Request, "internal", ChatterType::User);
    let a2a_closed = by_ann(chat(ChatStatus::Closed, "internal", ChatterType::User));
    let invited =
        Participant { invited_by: Some(Chatter::from(&agent)), ..participant("bob", ChatterType::User, 0, true) };
    let mut with_data = active.clone();
    with_data.user_data = Some(serde_json::Map::from_iter([("orderId".to_string(), json!("A1"))]));
    let change = |id: &str, old: Option<Entity>, new: Option<Entity>| Change {
        id: id.into(),
        old,
        new,
        at: "2026-11-21T10:02:00.000Z".into(),
    };
    let count = |n| ChannelCount { channel_id: "sales".into(), available: n };
    vec![
        (change("r1", None, Some(Entity::Chat(request.clone()))), ctx(request.clone())),
        (change("r2", Some(Entity::Chat(request.clone())), Some(Entity::Chat(active.clone()))), ctx(active.clone())),
        (change("r3", Some(Entity::Chat(active.clone())), Some(Entity::Chat(moved.clone()))), ctx(moved.clone())),
        (change("r4", Some(Entity::Chat(active.clone())), Some(Entity::Chat(with_data.clone()))), ctx(with_data)),
        (change("r5", Some(Entity::Chat(moved.clone())), Some(Entity::Chat(closed.clone()))), ctx(closed.clone())),
        (
            change("r6", Some(Entity::Chat(closed.clone())), None),
            Context { licence: "1234".into(), ..Default::default() },
        ),
        (change("r7", None, Some(Entity::Participant(invited))), ctx(active.clone())),
        (
            change("r8", None, Some(Entity::Participant(participant("jdoe", ChatterType::Customer, 0, false)))),
            ctx(active.clone()),
        ),
        (
            change(
                "r9",
                Some(Entity::Participant(customer.clone())),
                Some(Entity::Participant(Participant { chatter_active: ChatterActive::Left, ..customer.clone() })),
            ),
            ctx(active.clone()),
        ),
        (change("r10", Some(Entity::Participant(agent.clone())), None), ctx(active.clone())),
        (change("r11", None, Some(Entity::Message(transcript[1].clone()))), ctx(active.clone())),
        (change("r12", None, Some(Entity::Message(transcript[2].clone()))), ctx(active.clone())),
        (
            change(
                "r13",
                Some(Entity::Presence(presence(Availability::Offline))),
                Some(Entity::Presence(presence(Availability::Online))),
            ),
            Context::default(),
        ),
        (change("r14", None, Some(Entity::ChannelCount(count(1)))), Context::default()),
        (change("r15", Some(Entity::ChannelCount(count(1))), Some(Entity::ChannelCount(count(0)))), Context::default()),
        (change("r16", None, Some(Entity::Chat(a2a.clone()))), ctx(a2a.clone())),
        (change("r17", Some(Entity::Chat(a2a.clone())), Some(Entity::Chat(a2a_closed.clone()))), ctx(a2a_closed)),
        (change("r18", Some(Entity::Chat(requeued)), Some(Entity::Chat(taken.clone()))), ctx(taken)),
        (change("r19", Some(Entity::ReadMark(read(1))), Some(Entity::ReadMark(read(2)))), ctx(active.clone())),
        (change("r20", None, Some(Entity::OfflineMessage(offline()))), Context::default()),
        (change("r23", None, Some(Entity::Erasure(erasure()))), Context::default()),
        (
            change("r21", Some(Entity::Message(transcript[1].clone())), Some(Entity::Message(edited(&transcript[1])))),
            ctx(active.clone()),
        ),
        (
            change(
                "r22",
                Some(Entity::Message(edited(&transcript[1]))),
                Some(Entity::Message(withdrawn(&transcript[1]))),
            ),
            ctx(active.clone()),
        ),
    ]
}

fn all_events() -> Vec<Outgoing> {
    scenario().iter().flat_map(|(c, ctx)| describe(c, ctx)).collect()
}

#[test]
fn every_event_of_the_catalogue_is_produced() {
    let produced = all_events();
    for (format, names) in catalogue() {
        for name in names {
            assert!(
                produced.iter().any(|o| o.format.as_str() == format && o.event == *name),
                "{format} {name} is never produced"
            );
        }
    }
}

#[test]
fn event_ids_are_stable_and_unique() {
    let first: Vec<String> = all_events().into_iter().map(|o| o.event_id).collect();
    let again: Vec<String> = all_events().into_iter().map(|o| o.event_id).collect();
    assert_eq!(first, again, "the same records give the same ids");
    let unique: std::collections::BTreeSet<&String> = first.iter().collect();
    assert_eq!(unique.len(), first.len());
}

#[test]
fn each_agent_sees_its_own_capabilities_and_the_agent_view() {
    let mut ctx = Context { chat: Some(chat(ChatStatus::Active, "sales", ChatterType::Public)), ..Default::default() };
    for (user, level) in
        [("own", PermissionLevel::Owner), ("par", PermissionLevel::Participant), ("obs", PermissionLevel::Observer)]
    {
        let mut p = participant(user, ChatterType::User, 1, false);
        p.permission_level = Some(level);
        ctx.participants.push(p);
    }
    let note = message(5, "own", ChatterType::User, "a note", None, true);
    let change =
        Change { id: "r1".into(), old: None, new: Some(Entity::Message(note)), at: "2026-11-21T10:02:00.000Z".into() };
    assert!(notifications(&change, &ctx).is_empty(), "a customer never gets a note");
    let chat_state = Change {
        id: "r2".into(),
        old: Some(Entity::Chat(chat(ChatStatus::Request, "sales", ChatterType::Public))),
        new: Some(Entity::Chat(chat(ChatStatus::Active, "sales", ChatterType::Public))),
        at: "2026-11-21T10:02:00.000Z".into(),
    };
    let capabilities = |ctx: &Context| -> Vec<String> {
        let notes = notifications(&chat_state, ctx);
        let state = notes.iter().find(|n| n["messageType"] == "ChatStateChangeMessage").expect("a state change");
        state["chat"]["capabilities"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect()
    };
    for (user, expected) in [
        (
            "own",
            vec![
                "SendMessage",
                "SendStartTypingNotification",
                "SendStopTypingNotification",
                "Leave",
                "Transfer",
                "Invite",
                "UpdateUserData",
                "Complete",
            ],
        ),
        (
            "par",
            vec![
                "SendMessage",
                "SendStartTypingNotification",
                "SendStopTypingNotification",
                "Leave",
                "Invite",
                "UpdateUserData",
            ],
        ),
        ("obs", vec!["Leave"]),
        ("stranger", vec![]),
    ] {
        ctx.view = View::Agent(user.into());
        assert_eq!(capabilities(&ctx), expected, "{user}");
    }
    ctx.view = View::Agent("par".into());
    let notes = notifications(&change, &ctx);
    assert_eq!(notes[0]["messages"][0]["visibility"], "Agents");
    assert_eq!(notes[0]["messages"][0]["text"], "a note");
}

#[test]
fn a_customer_only_message_never_reaches_an_agents_socket_and_a_permission_change_is_announced() {
    let agent = participant("ann", ChatterType::User, 1, false);
    let mut ctx = Context {
        chat: Some(chat(ChatStatus::Active, "sales", ChatterType::Public)),
        participants: vec![agent.clone()],
        ..Default::default()
    };
    let mut only = message(5, "ann", ChatterType::User, "for the customer only", None, false);
    only.customer = true;
    let change = |id: &str, old, new| Change { id: id.into(), old, new, at: "2026-11-21T10:02:00.000Z".into() };
    let posted = change("r1", None, Some(Entity::Message(only)));
    assert_eq!(notifications(&posted, &ctx).len(), 1, "the customer sees it");
    ctx.view = View::Agent("ann".into());
    assert!(notifications(&posted, &ctx).is_empty(), "no agent is pushed it");
    let observer = Participant { permission_level: Some(PermissionLevel::Observer), ..agent.clone() };
    let demoted = change("r2", Some(Entity::Participant(agent)), Some(Entity::Participant(observer)));
    ctx.view = View::Customer;
    let notes = notifications(&demoted, &ctx);
    assert!(notes.iter().any(|n| n["notificationType"] == "ParticipantsUpdated"), "{notes:?}");
}

#[test]
fn a_file_is_a_new_message_with_its_file() {
    let ctx = Context { chat: Some(chat(ChatStatus::Active, "sales", ChatterType::Public)), ..Default::default() };
    let file = crate::model::FileRef {
        file_id: "f1".into(),
        name: "receipt.pdf".into(),
        size: 42,
        content_type: "application/pdf".into(),
    };
    let mut posted = message(6, "v1", ChatterType::Public, "receipt.pdf", None, false);
    posted.kind = MessageType::File;
    posted.file = Some(file);
    let change = Change {
        id: "r1".into(),
        old: None,
        new: Some(Entity::Message(posted)),
        at: "2026-11-21T10:02:00.000Z".into(),
    };
    let notes = notifications(&change, &ctx);
    assert_eq!(notes[0]["notificationType"], "NewMessages");
    let m = &notes[0]["messages"][0];
    assert_eq!((m["type"].as_str(), m["text"].as_str()), (Some("FileUploaded"), Some("receipt.pdf")));
    assert_eq!(m["file"], json!({"fileId": "f1", "name": "receipt.pdf", "size": 42, "type": "application/pdf"}));
}

#[test]
fn internal_messages_never_reach_customer_vocabularies() {
    for o in all_events().iter().filter(|o| o.format != Format::Native) {
        assert!(!o.body.contains("note"), "{} {}: {}", o.format.as_str(), o.event, o.body);
    }
}

#[test]
fn a_long_transcript_is_cut_by_size_so_the_close_always_fits_an_sns_message() {
    let agent = participant("ann", ChatterType::User, 1, false);
    let customer = participant("visitor-1", ChatterType::Public, 1, false);
    let long = "😀".repeat(3800);
    let transcript: Vec<Message> =
        (1..=8).map(|i| message(i, "visitor-1", ChatterType::Public, &long, None, false)).collect();
    let active = chat(ChatStatus::Active, "sales", ChatterType::Public);
    let ctx = Context {
        chat: Some(active.clone()),
        participants: vec![agent.clone(), customer.clone()],
        transcript,
        ..Default::default()
    };
    let left = Change {
        id: "r1".into(),
        old: Some(Entity::Participant(customer.clone())),
        new: Some(Entity::Participant(Participant { chatter_active: ChatterActive::Left, ..customer })),
        at: "2026-11-21T10:02:00.000Z".into(),
    };
    let closed = Chat { status: ChatStatus::Closed, updated_by: Some(Chatter::from(&agent)), ..active.clone() };
    let stopped = Change {
        id: "r2".into(),
        old: Some(Entity::Chat(active)),
        new: Some(Entity::Chat(closed)),
        at: "2026-11-21T10:02:00.000Z".into(),
    };
    for (change, event) in [(left, "VISITOR_LEFT_CHAT"), (stopped, "OPERATOR_STOPED_CHAT")] {
        let all = describe(&change, &ctx);
        let o = all.iter().find(|o| o.event == event).unwrap_or_else(|| panic!("no {event}"));
        assert!(o.body.len() <= MAX_CHAT_BYTES + 1024, "{event}: {} bytes", o.body.len());
        let chat = o.body.split('&').find_map(|p| p.strip_prefix("CHAT=")).unwrap();
        assert!(chat.starts_with("VISITOR-1%3A+%F0%9F%98%80"), "what fits is there");
        assert!(chat.ends_with("more+messages+do+not+fit+in+one+event.%5D"), "{}", &chat[chat.len() - 80..]);
    }
}

#[test]
fn rpc_events_carry_the_seeds_parameters() {
    let rpc: Vec<Outgoing> = all_events().into_iter().filter(|o| o.format == Format::Rpc).collect();
    let params = |event: &str| rpc.iter().find(|o| o.event == event).map(|o| o.body.clone()).unwrap_or_default();
    assert!(params("CHAT_STARTED").contains("EVENT=CHAT_STARTED&LICENCE=1234"));
    // Every parameter the seed lists for each chat-related event (INVITING_OP is
    // optional there: the scenario's accepting agent was not invited).
    for (event, names) in [
        ("CHAT_STARTED", &["CLIENT_ID", "OPERATOR_ID", "STATUS"][..]),
        ("OPERATOR_TRANSFER", &["CLIENT_ID", "NEW_OPERATOR_ID", "OPERATOR_ID", "STATUS"]),
        ("OPERATOR_STATUS", &["OPERATOR_ID", "STATUS"]),
        ("BUTTON_STATUS", &["STATUS"]),
        ("CLIENT_INVITED", &["OPERATOR_ID", "CLIENT_ID"]),
        ("OPERATOR_STOPED_CHAT", &["OPERATOR_ID", "CLIENT_ID", "GROUP", "CHAT"]),
        ("VISITOR_LEFT_CHAT", &["OPERATOR_ID", "CLIENT_ID", "GROUP", "CHAT"]),
        ("PRIVATE_CHAT_STATUS", &["OPERATOR_ID", "STATUS", "GROUP"]),
    ] {
        for o in rpc.iter().filter(|o| o.event == event) {
            for name in names {
                assert!(o.body.contains(&format!("&{name}=")), "{event} lacks {name}: {}", o.body);
            }
        }
    }
    // GROUP is the conference (the chat) wherever it appears; the channel is CHANNEL.
    for o in rpc.iter().filter(|o| o.body.contains("&GROUP=")) {
        assert!(o.body.contains("&GROUP=c1"), "{}", o.body);
    }
    // STATUS is the agent's own: ann is away in the scenario.
    assert!(params("CHAT_STARTED").contains("&STATUS=1"), "{}", params("CHAT_STARTED"));
    // The transfer: Bob took the chat Ann handed back; STATUS is Ann's, who performed it.
    let transfers: Vec<_> = rpc.iter().filter(|o| o.event == "OPERATOR_TRANSFER").collect();
    assert_eq!(transfers.len(), 1, "a requeue taken by another agent only: not a move, not an invitation");
    assert!(transfers[0].body.contains("NEW_OPERATOR_ID=bob&OPERATOR_ID=ann&STATUS=1"), "{}", transfers[0].body);
    assert_eq!(rpc.iter().filter(|o| o.event == "CHAT_STARTED").count(), 1, "started once");
    assert!(!params("CHAT_STARTED").contains("INVITING_OP"), "nobody invited this client");
    assert!(params("OPERATOR_STATUS").contains("STATUS=0"), "online is STATUS_ONLINE");
    assert!(rpc.iter().any(|o| o.event == "BUTTON_STATUS" && o.body.contains("STATUS=offline")));
}

/// The docs' examples come from here: `cargo test -p shared print_event_examples -- --ignored --nocapture`.
#[test]
#[ignore]
fn print_event_examples() {
    let produced = all_events();
    for (format, names) in catalogue() {
        println!("\n### `{format}`\n");
        for name in names {
            if let Some(o) = produced.iter().find(|o| o.format.as_str() == format && o.event == *name) {
                let body = serde_json::from_str::<Value>(&o.body)
                    .map(|v| serde_json::to_string_pretty(&v).unwrap_or_default())
                    .unwrap_or(o.body.clone());
                let lang = if format == "rpc" { "text" } else { "json" };
                println!("#### {name}\n\n```{lang}\n{body}\n```\n");
            }
        }
    }
}

#[test]
fn docs_show_every_event() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/events.md")).unwrap_or_default();
    for names in catalogue().values() {
        for name in *names {
            assert!(docs.contains(&format!("#### {name}")), "docs/events.md has no example of {name}");
        }
    }
}

/// CHAT_STARTED is a client's chat starting: answered from the queue once (a requeue taken
/// again by the same agent is neither a start nor a transfer), or an invited client joining,
/// with INVITING_OP the agent who invited it.
#[test]
fn chat_started_is_the_clients_start_and_names_who_invited_it() {
    let ann = participant("ann", ChatterType::User, 1, false);
    let ctx = |c: &Chat, participants: Vec<Participant>| Context {
        chat: Some(c.clone()),
        participants,
        licence: "1".into(),
        ..Default::default()
    };
    let rpc = |change: Change, ctx: &Context| -> Vec<Outgoing> {
        describe(&change, ctx).into_iter().filter(|o| o.format.as_str() == "rpc").collect()
    };
    let change = |old: Option<Entity>, new: Option<Entity>| Change {
        id: "x".into(),
        old,
        new,
        at: "2026-11-21T10:02:00.000Z".into(),
    };
    let by_ann = |c: Chat| Chat { updated_by: Some(Chatter::from(&ann)), ..c };
    let requeued = Chat {
        previous_status: Some(ChatStatus::Active),
        ..by_ann(chat(ChatStatus::Request, "sales", ChatterType::Public))
    };
    let again = by_ann(chat(ChatStatus::Active, "sales", ChatterType::Public));
    let out =
        rpc(change(Some(Entity::Chat(requeued)), Some(Entity::Chat(again.clone()))), &ctx(&again, vec![ann.clone()]));
    assert!(out.is_empty(), "the same agent taking it back: {out:?}");

    let invited =
        Participant { invited_by: Some(Chatter::from(&ann)), ..participant("jdoe", ChatterType::Customer, 0, true) };
    let joined = Participant { chatter_active: ChatterActive::Active, ..invited.clone() };
    let out = rpc(
        change(Some(Entity::Participant(invited)), Some(Entity::Participant(joined))),
        &ctx(&again, vec![ann.clone()]),
    );
    let started: Vec<_> = out.iter().filter(|o| o.event == "CHAT_STARTED").collect();
    assert_eq!(started.len(), 1, "{out:?}");
    assert!(started[0].body.contains("CLIENT_ID=jdoe&INVITING_OP=ann&OPERATOR_ID=ann&STATUS="), "{}", started[0].body);
}
