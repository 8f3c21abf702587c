//! Who is acting: an agent, or a customer or visitor in its one chat. The auth module
//! proves it from a token; the domain only reads it.

use crate::error::{DomainError, DomainResult};
use crate::model::ChatterType;

/// The role that manages webhooks and acts as an integrator.
pub const ADMIN: &str = "admin";
/// The role of a bot or back office: it posts SystemGenerated messages into any open chat.
pub const INTEGRATOR: &str = "integrator";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Agent {
        user_id: String,
        name: String,
        /// Roles from the token's `roles` claim; `admin` manages webhooks and acts as an
        /// integrator (docs/security.md).
        roles: Vec<String>,
    },
    /// A customer or public visitor, in its one chat.
    Chatter { chat_id: String, chatter_id: String, chatter_type: ChatterType, name: String },
}

impl Identity {
    pub fn chatter_type(&self) -> ChatterType {
        match self {
            Identity::Agent { .. } => ChatterType::User,
            Identity::Chatter { chatter_type, .. } => *chatter_type,
        }
    }

    pub fn chatter_id(&self) -> &str {
        match self {
            Identity::Agent { user_id, .. } => user_id,
            Identity::Chatter { chatter_id, .. } => chatter_id,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Identity::Agent { name, .. } | Identity::Chatter { name, .. } => name,
        }
    }

    pub fn is_agent(&self) -> bool {
        matches!(self, Identity::Agent { .. })
    }

    /// An agent with the `admin` role.
    pub fn is_admin(&self) -> bool {
        matches!(self, Identity::Agent { roles, .. } if roles.iter().any(|r| r == ADMIN))
    }

    /// An agent with the `integrator` role, or an admin.
    pub fn is_integrator(&self) -> bool {
        self.is_admin() || matches!(self, Identity::Agent { roles, .. } if roles.iter().any(|r| r == INTEGRATOR))
    }

    pub fn require_agent(&self) -> DomainResult<()> {
        if self.is_agent() {
            Ok(())
        } else {
            Err(DomainError::forbidden("this operation is for agents"))
        }
    }

    /// A chat token works only for its own chat; checked before anything is read, so the
    /// answer is the same whether the other chat exists or not.
    pub fn require_chat(&self, chat_id: &str) -> DomainResult<()> {
        match self {
            Identity::Chatter { chat_id: own, .. } if own != chat_id => {
                Err(DomainError::forbidden("this token is for another chat"))
            }
            _ => Ok(()),
        }
    }
}
