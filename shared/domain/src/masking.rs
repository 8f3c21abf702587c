//! What a viewer sees of the people in a chat: the one place that decides it, for the API
//! views and for every event vocabulary alike.
//!
//! With MaskAgentName on, a customer sees each agent as "<generic name> <n>" with the id
//! `agent-<n>`, where n is the agent's number in the chat: handed out when the agent first
//! joins or is invited, kept on the participant and copied onto each message the agent
//! writes or is named in, so that it never changes, even after the agent leaves or is
//! removed. Agents always see everyone as they are.
//!
//! Observers are silent monitors: a customer never sees them, in the participant list, in
//! getAgents, in the system messages about them or in any customer-facing event.

use crate::model::{ChatterType, Message, Participant, SystemEvent};

/// How one viewer sees the chatters of one chat.
#[derive(Debug, Clone, Copy)]
pub struct Masking<'a> {
    /// The generic agent name, when agents are masked for this viewer.
    generic: Option<&'a str>,
    viewer_is_agent: bool,
    participants: &'a [Participant],
}

impl<'a> Masking<'a> {
    /// `generic` is the configured name when MaskAgentName is on (None when off);
    /// only customers and visitors are masked from.
    pub fn new(generic: Option<&'a str>, viewer_is_agent: bool, participants: &'a [Participant]) -> Self {
        Masking { generic: generic.filter(|_| !viewer_is_agent), viewer_is_agent, participants }
    }

    /// Whether this viewer sees the chatter at all: customers do not see silent monitors
    /// (Observers).
    pub fn shows(&self, chatter_type: ChatterType, chatter_id: &str) -> bool {
        self.viewer_is_agent
            || chatter_type != ChatterType::User
            || !self.participants.iter().any(|p| {
                p.chatter_type == ChatterType::User
                    && p.chatter_id == chatter_id
                    && p.permission_level == Some(crate::model::PermissionLevel::Observer)
            })
    }

    /// Whether this viewer sees the message's author and every chatter it names.
    pub fn shows_message(&self, m: &Message) -> bool {
        self.shows(m.chatter_type, &m.chatter_id)
            && m.subjects.iter().all(|s| self.shows(s.chatter_type, &s.chatter_id))
    }

    /// Masking as a customer sees it (the customer-facing event vocabularies).
    pub fn for_customers(generic: Option<&'a str>, participants: &'a [Participant]) -> Self {
        Self::new(generic, false, participants)
    }

    pub fn is_on(&self) -> bool {
        self.generic.is_some()
    }

    /// The number of the agent `chatter_id` here: the one stored on its participant, or
    /// (for a participant written before numbers were stored) its place in joining order.
    pub fn number_of(&self, chatter_id: &str) -> u32 {
        let agents = || self.participants.iter().filter(|p| p.chatter_type == ChatterType::User);
        if let Some(n) = agents().find(|p| p.chatter_id == chatter_id).and_then(|p| p.agent_number) {
            return n;
        }
        let mut ordered: Vec<&Participant> = agents().collect();
        ordered.sort_by(|a, b| a.create_time.cmp(&b.create_time).then(a.chatter_id.cmp(&b.chatter_id)));
        let place = ordered.iter().position(|p| p.chatter_id == chatter_id).unwrap_or(ordered.len());
        u32::try_from(place + 1).unwrap_or(u32::MAX)
    }

    /// The name shown for a chatter; `number` is the agent number the caller already
    /// knows (from a message), if any.
    pub fn name(&self, chatter_type: ChatterType, chatter_id: &str, real: &str, number: Option<u32>) -> String {
        match self.generic {
            Some(generic) if chatter_type == ChatterType::User => {
                format!("{generic} {}", number.unwrap_or_else(|| self.number_of(chatter_id)))
            }
            _ => real.to_string(),
        }
    }

    /// The id shown for a chatter: a masked agent's user id identifies it too.
    pub fn id(&self, chatter_type: ChatterType, chatter_id: &str, number: Option<u32>) -> String {
        match self.generic {
            Some(_) if chatter_type == ChatterType::User => {
                format!("agent-{}", number.unwrap_or_else(|| self.number_of(chatter_id)))
            }
            _ => chatter_id.to_string(),
        }
    }

    pub fn participant(&self, p: &Participant) -> Participant {
        let mut shown = p.clone();
        shown.chatter_name = self.name(p.chatter_type, &p.chatter_id, &p.chatter_name, p.agent_number);
        shown.chatter_id = self.id(p.chatter_type, &p.chatter_id, p.agent_number);
        shown
    }

    /// A message with its author and, for a system message, its text as this viewer may
    /// see them. A system text is rendered again from its parts with the shown names, so no
    /// other word is touched; one that cannot be (free text) is shown only unmasked.
    pub fn message(&self, m: &Message) -> Message {
        let mut shown = m.clone();
        shown.chatter_name = self.name(m.chatter_type, &m.chatter_id, &m.chatter_name, m.chatter_number);
        shown.chatter_id = self.id(m.chatter_type, &m.chatter_id, m.chatter_number);
        for (shown, s) in shown.subjects.iter_mut().zip(&m.subjects) {
            shown.chatter_name = self.name(s.chatter_type, &s.chatter_id, &s.chatter_name, s.number);
            shown.chatter_id = self.id(s.chatter_type, &s.chatter_id, s.number);
        }
        if self.is_on() && m.system_generated {
            let subjects: Vec<String> = shown.subjects.iter().map(|s| s.chatter_name.clone()).collect();
            shown.text = m
                .event
                .as_deref()
                .and_then(SystemEvent::parse)
                .and_then(|event| system_text(event, m.chatter_type, &shown.chatter_name, &subjects))
                .unwrap_or_else(|| if m.mentions_agents() { String::new() } else { m.text.clone() });
        }
        shown
    }
}

/// The text of a system message, from its event, its actor and the names of the chatters
/// it is about. None for an event whose text is free (a decline's message).
pub fn system_text(event: SystemEvent, actor_type: ChatterType, actor: &str, subjects: &[String]) -> Option<String> {
    use SystemEvent::*;
    Some(match event {
        // A chat closes by an agent, by its last customer leaving, or by the cleanup.
        Closed if actor_type.is_customer() => "The chat has ended.".to_string(),
        Closed if actor_type == ChatterType::System => "No agent answered in time; the request was closed.".to_string(),
        Joined => format!("{actor} joined the chat."),
        Left => format!("{actor} left the chat."),
        Declined => format!("{actor} declined the chat."),
        Inactive => format!("{actor} is inactive."),
        Closed => format!("{actor} closed the chat."),
        Expired => "The chat was closed after a long time without activity.".to_string(),
        Requeued => format!("{actor} returned the chat to the queue."),
        Removed => format!("{actor} removed {}.", subjects.join(", ")),
        Invited => format!("{actor} invited {}.", subjects.join(", ")),
        UserDataUpdated => "The chat's data was updated.".to_string(),
        InvitationRemoved | Permission | Verified | Monitoring | Transferred => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Chatter, ChatterActive, MessageType, PermissionLevel};

    fn agent(id: &str, name: &str, number: Option<u32>, created: &str) -> Participant {
        Participant {
            chat_id: "c".into(),
            chatter_id: id.into(),
            chatter_type: ChatterType::User,
            chatter_name: name.into(),
            chatter_active: ChatterActive::Active,
            permission_level: Some(PermissionLevel::Owner),
            invitation: false,
            invitation_chat_id: None,
            monitoring: 0,
            join_time: None,
            leave_time: None,
            create_time: created.into(),
            agent_number: number,
            invited_by: None,
            unverified: false,
            reference_id: None,
        }
    }

    fn system(event: &str, actor: &str, number: u32, subjects: Vec<Chatter>, text: &str) -> Message {
        Message {
            message_id: "c-1".into(),
            chat_id: "c".into(),
            index: 1,
            kind: MessageType::System,
            text: text.into(),
            chatter_id: actor.to_lowercase(),
            chatter_type: ChatterType::User,
            chatter_name: actor.into(),
            chatter_number: Some(number),
            chatter_unverified: false,
            subjects,
            system_generated: true,
            internal: false,
            customer: false,
            event: Some(event.into()),
            filter: None,
            filtered: None,
            reference_id: None,
            file: None,
            edited: false,
            deleted: false,
            versions: Vec::new(),
            create_time: String::new(),
        }
    }

    #[test]
    fn customers_never_see_silent_monitors() {
        let observer =
            Participant { permission_level: Some(PermissionLevel::Observer), ..agent("obs", "Olga", Some(2), "t2") };
        let people = [agent("ann", "Ann", Some(1), "t1"), observer];
        let customer = Masking::new(None, false, &people);
        assert!(customer.shows(ChatterType::User, "ann") && !customer.shows(ChatterType::User, "obs"));
        let joined = system("joined", "obs", 2, vec![], "Olga joined the chat.");
        assert!(!customer.shows_message(&joined));
        let named = system("invited", "ann", 1, vec![Chatter::from(&people[1])], "Ann invited Olga.");
        assert!(!customer.shows_message(&named), "nor any message naming them");
        assert!(Masking::new(None, true, &people).shows_message(&joined), "agents see everyone");
    }

    #[test]
    fn agents_see_names_customers_see_numbers_when_masking_is_on() {
        let ps = [agent("ann", "Ann", Some(1), "1"), agent("bob", "Bob", Some(2), "2")];
        let agents_view = Masking::new(Some("Support Agent"), true, &ps);
        let customers_view = Masking::new(Some("Support Agent"), false, &ps);
        let unmasked = Masking::new(None, false, &ps);
        assert_eq!(agents_view.participant(&ps[1]).chatter_name, "Bob");
        assert_eq!(customers_view.participant(&ps[1]).chatter_name, "Support Agent 2");
        assert_eq!(customers_view.participant(&ps[1]).chatter_id, "agent-2");
        assert_eq!(unmasked.participant(&ps[1]).chatter_name, "Bob");
    }

    #[test]
    fn a_number_stays_when_others_leave_or_are_removed() {
        // Bob (2) stays Support Agent 2 with Ann (1) gone from the participants.
        let ps = [agent("bob", "Bob", Some(2), "2")];
        let view = Masking::for_customers(Some("Support Agent"), &ps);
        assert_eq!(view.name(ChatterType::User, "bob", "Bob", None), "Support Agent 2");
        // A message of Ann's keeps her number though she is no participant any more.
        let m = system("joined", "Ann", 1, vec![], "Ann joined the chat.");
        let shown = view.message(&m);
        assert_eq!(
            (shown.chatter_name.as_str(), shown.text.as_str()),
            ("Support Agent 1", "Support Agent 1 joined the chat.")
        );
    }

    #[test]
    fn masking_touches_no_other_word() {
        // An agent called "Al" must not turn "Alice" or "finally" into anything else.
        let ps = [agent("al", "Al", Some(1), "1")];
        let view = Masking::for_customers(Some("Support Agent"), &ps);
        let subject = Chatter {
            chatter_type: ChatterType::Customer,
            chatter_id: "alice".into(),
            chatter_name: "Alice".into(),
            number: None,
            unverified: false,
        };
        let m = system("invited", "Al", 1, vec![subject], "Al invited Alice.");
        assert_eq!(view.message(&m).text, "Support Agent 1 invited Alice.");
    }

    #[test]
    fn removed_agents_named_in_a_message_are_masked_by_their_own_number() {
        let ps = [agent("ann", "Ann", Some(1), "1")];
        let view = Masking::for_customers(Some("Support Agent"), &ps);
        let bob = Chatter {
            chatter_type: ChatterType::User,
            chatter_id: "bob".into(),
            chatter_name: "Bob".into(),
            number: Some(2),
            unverified: false,
        };
        let m = system("removed", "Ann", 1, vec![bob], "Ann removed Bob.");
        assert_eq!(view.message(&m).text, "Support Agent 1 removed Support Agent 2.");
    }

    #[test]
    fn free_text_naming_an_agent_is_not_shown_masked() {
        let ps = [agent("ann", "Ann", Some(1), "1")];
        let view = Masking::for_customers(Some("Support Agent"), &ps);
        let m = system("declined", "Ann", 1, vec![], "Ann is busy, sorry");
        let mut m = m;
        m.event = Some("somethingNew".into());
        assert_eq!(view.message(&m).text, "");
    }

    #[test]
    fn participants_without_a_stored_number_fall_back_to_joining_order() {
        let ps = [agent("bob", "Bob", None, "2026-01-02"), agent("ann", "Ann", None, "2026-01-01")];
        let view = Masking::for_customers(Some("Support Agent"), &ps);
        assert_eq!(view.number_of("ann"), 1);
        assert_eq!(view.number_of("bob"), 2);
    }
}
