//! What a planned change appends to the transcript.

use crate::domain::masking::system_text;
use crate::domain::model::{ChatState, Chatter, ChatterType, MessageType, Participant};

/// A message to append at the transcript's head.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub kind: MessageType,
    pub text: String,
    pub author: Chatter,
    pub subjects: Vec<Chatter>,
    pub system_generated: bool,
    pub internal: bool,
    pub customer: bool,
    pub event: Option<String>,
    pub filter: Option<String>,
}

impl NewMessage {
    /// A system message: `event` by `author` about `subjects`, its text rendered from them
    /// (so masking can render it again with other names).
    pub fn system(author: Chatter, event: &str, subjects: Vec<Chatter>) -> Self {
        let names: Vec<String> = subjects.iter().map(|s| s.chatter_name.clone()).collect();
        let text =
            system_text(event, author.chatter_type, &author.chatter_name, &names).unwrap_or_else(|| event.to_string());
        Self::system_with_text(author, event, subjects, text)
    }

    /// A system message whose text is free (a decline's own message).
    pub fn system_with_text(author: Chatter, event: &str, subjects: Vec<Chatter>, text: String) -> Self {
        NewMessage {
            kind: MessageType::System,
            text,
            author,
            subjects,
            system_generated: true,
            internal: false,
            customer: false,
            event: Some(event.into()),
            filter: None,
        }
    }

    /// The same, for agents only.
    pub fn internal(mut self) -> Self {
        self.internal = true;
        self
    }
}

impl ChatState {
    /// A chatter as a message names it, with its agent number if it is an agent here.
    pub fn chatter(&self, chatter_type: ChatterType, chatter_id: &str, name: &str) -> Chatter {
        Chatter {
            chatter_type,
            chatter_id: chatter_id.into(),
            chatter_name: name.into(),
            number: self.participant(chatter_type, chatter_id).and_then(|p| p.agent_number),
        }
    }

    /// The number a new agent of this chat gets: one past every number handed out so far.
    pub fn next_agent_number(&self) -> u32 {
        let agents: Vec<&Participant> =
            self.participants.iter().filter(|p| p.chatter_type == ChatterType::User).collect();
        let stored = agents.iter().filter_map(|p| p.agent_number).max().unwrap_or(0);
        let counted = u32::try_from(agents.len()).unwrap_or(u32::MAX);
        stored.max(counted).max(self.chat.agent_numbers).saturating_add(1)
    }
}
