//! A WebSocket connection and who watches through it: the items socket-push finds by the
//! chat or agent they watch.

use serde::{Deserialize, Serialize};

use crate::model::ChatterType;

/// Who watches a WebSocket connection's pushes: an agent (its chats, in the agent view),
/// or a customer or visitor (its one chat, in the customer view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Viewer {
    Agent { user_id: String },
    Chatter { chat_id: String, chatter_type: ChatterType, chatter_id: String },
}

impl Viewer {
    /// What this viewer's sockets watch.
    pub fn watched(&self) -> Watched {
        match self {
            Viewer::Agent { user_id } => Watched::Agent(user_id.clone()),
            Viewer::Chatter { chat_id, .. } => Watched::Chat(chat_id.clone()),
        }
    }
}

impl Connection {
    /// Whether this socket is a customer's own (not an agent's, nor a visitor's).
    pub fn is_customer(&self, customer_id: &str) -> bool {
        matches!(&self.viewer, Viewer::Chatter { chatter_type: ChatterType::Customer, chatter_id, .. } if chatter_id == customer_id)
    }
}

/// What a socket watches: one chat's customer side, or one agent's chats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watched {
    Chat(String),
    Agent(String),
}

/// A WebSocket connection of the API Gateway WebSocket API. It lives at most two hours
/// (API Gateway's limit), so its item expires then even when `$disconnect` never comes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub connection_id: String,
    pub viewer: Viewer,
    pub connected_at: String,
    /// Subscribed to `/v2/me/chats`: only then is it found by its chat or agent, and pushed to.
    #[serde(default)]
    pub subscribed: bool,
}
