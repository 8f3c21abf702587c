//! Tests of the entities' own rules.
use super::*;

fn presence(availability: Availability, external: bool, until: i64) -> Presence {
    Presence {
        user_id: "ann".into(),
        name: "Ann".into(),
        availability,
        channels: vec!["sales".into(), "support".into()],
        internal_channels: None,
        external,
        update_time: String::new(),
        expires_at: until,
        counted: Vec::new(),
    }
}

#[test]
fn only_online_external_unlapsed_presences_count() {
    assert_eq!(presence(Availability::Online, true, 100).counts_in(50), vec!["sales", "support"]);
    assert!(presence(Availability::Online, false, 100).counts_in(50).is_empty(), "internal only");
    assert!(presence(Availability::Away, true, 100).counts_in(50).is_empty(), "away");
    assert!(presence(Availability::Online, true, 100).counts_in(100).is_empty(), "lapsed");
}

#[test]
fn an_internal_only_agent_is_unavailable_for_external_chats() {
    let internal = presence(Availability::Online, false, 100);
    assert_eq!(
        (internal.availability_for(true), internal.availability_for(false)),
        (Availability::Unavailable, Availability::Online)
    );
    assert_eq!(presence(Availability::Away, true, 100).availability_for(true), Availability::Away);
    assert_eq!(presence(Availability::Offline, false, 100).availability_for(true), Availability::Offline);
}

#[test]
fn counts_change_by_what_was_and_is_counted() {
    let was = vec!["sales".to_string(), "support".to_string()];
    let now = vec!["support".to_string(), "billing".to_string()];
    assert_eq!(count_changes(&was, &now), vec![("billing".to_string(), 1), ("sales".to_string(), -1)]);
    assert!(count_changes(&now, &now).is_empty(), "a refresh changes no count");
}

#[test]
fn a_filter_hides_what_it_matched_when_posted() {
    let message = |text: &str, filter: Option<&str>, filtered: Option<bool>| Message {
        message_id: "c-1".into(),
        chat_id: "c".into(),
        index: 1,
        chatter_id: "v".into(),
        chatter_type: ChatterType::Public,
        chatter_name: "Vic".into(),
        kind: MessageType::Text,
        text: text.into(),
        create_time: String::new(),
        internal: false,
        customer: false,
        event: None,
        filter: filter.map(str::to_string),
        filtered,
        reference_id: None,
        subjects: Vec::new(),
        chatter_number: None,
        chatter_unverified: false,
        system_generated: false,
        file: None,
        edited: false,
        deleted: false,
        versions: Vec::new(),
    };
    assert!(message("Code AB12", Some("(?i)code"), Some(true)).hidden_by_filter());
    assert!(!message("Code AB12", Some("code"), Some(false)).hidden_by_filter());
    assert!(!message("Code AB12", None, None).hidden_by_filter());
    assert!(message("Code AB12", Some("code"), None).hidden_by_filter(), "no stored outcome: hidden");
}

#[test]
fn a_customer_is_away_in_an_open_chat_until_a_widget_of_theirs_is_connected() {
    assert_eq!(customer_availability(0, false), 0);
    assert_eq!(customer_availability(0, true), 0, "a socket of a closed chat counts for nothing");
    assert_eq!(customer_availability(1, false), 2);
    assert_eq!(customer_availability(2, true), 3);
}

#[test]
fn nothing_leaves_closed() {
    use ChatStatus::*;
    assert!(Request.can_become(Active) && Request.can_become(Closed) && Active.can_become(Closed));
    assert!(Active.can_become(Request), "back to the queue");
    for (from, to) in [(Closed, Active), (Closed, Request), (Active, Active), (Request, Request)] {
        assert!(!from.can_become(to), "{from} -> {to}");
    }
}
