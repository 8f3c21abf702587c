//! A customer's data exported or erased on request (GDPR's access and erasure): what the
//! erasure changes, and the receipt it leaves.
//!
//! An erasure keeps the chats (other people's words are theirs) and takes out the
//! customer's: its messages become tombstones with no text, no earlier versions and no
//! file; its name becomes [`ERASED_NAME`] on its participations and on the chats it
//! started, which lose their form fields and `userData`. Its files are deleted from the
//! bucket, and the offline messages it left (found by the e-mail addresses its chats
//! carry) from the table. Nothing of it is announced item by item (the events would carry
//! what is erased): one native `CustomerErase` carries the receipt.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, DomainResult};
use crate::model::{Chat, ChatStatus, ChatterType, Message, Participant};

/// The name an erased customer is shown under.
pub const ERASED_NAME: &str = "Erased customer";

/// What an erasure did: the answer to `DELETE /customers/{customerId}`, kept as an item
/// (the customer's id only) and announced as native `CustomerErase`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Erasure {
    pub customer_id: String,
    pub erased_at: String,
    /// The admin who asked for it.
    pub erased_by: String,
    pub chats: u64,
    pub messages: u64,
    pub files: u64,
    pub offline_messages: u64,
}

/// Whether `p` is the customer `customer_id` (a known customer or a visitor).
pub fn is_customer(p: &Participant, customer_id: &str) -> bool {
    p.chatter_type.is_customer() && p.chatter_id == customer_id
}

/// An erasure waits for the customer's chats to close: an open one would take new words.
pub fn require_closed(chats: &[Chat]) -> DomainResult<()> {
    match chats.iter().find(|c| c.status != ChatStatus::Closed && !c.deleted) {
        Some(open) => Err(DomainError::conflict(format!(
            "chat {} is still open: close it, then erase the customer",
            open.chat_id
        ))),
        None => Ok(()),
    }
}

/// The chat record without what the customer gave it: everything the form and the site
/// gave, if the customer started it, and its name as the chat's last updater.
pub fn erased_chat(chat: &Chat, customer_id: &str) -> Option<Chat> {
    let mut erased = chat.clone();
    if started(chat, customer_id) {
        erased = Chat {
            requester_name: ERASED_NAME.into(),
            nickname: None,
            firstname: None,
            lastname: None,
            email: None,
            subject: None,
            user_data: None,
            ..erased
        };
    }
    if last_updated(chat, customer_id) {
        if let Some(by) = erased.updated_by.as_mut() {
            by.chatter_name = ERASED_NAME.into();
        }
    }
    (erased != *chat).then_some(erased)
}

/// Whether the customer started the chat.
pub fn started(chat: &Chat, customer_id: &str) -> bool {
    chat.requester_type.is_customer() && chat.requester_id == customer_id
}

/// Whether the customer made the chat's last change (its name is on the record).
pub fn last_updated(chat: &Chat, customer_id: &str) -> bool {
    chat.updated_by.as_ref().is_some_and(|by| by.chatter_type.is_customer() && by.chatter_id == customer_id)
}

/// The participation under the erased name.
pub fn erased_participant(p: &Participant) -> Option<Participant> {
    (p.chatter_name != ERASED_NAME).then(|| Participant { chatter_name: ERASED_NAME.into(), ..p.clone() })
}

/// The customer's messages that still hold something of it, and the files among them.
pub fn to_erase<'a>(transcript: &'a [Message], customer_id: &str) -> (Vec<&'a Message>, Vec<&'a Message>) {
    let theirs: Vec<&Message> = transcript
        .iter()
        .filter(|m| m.chatter_type != ChatterType::User && m.chatter_id == customer_id)
        .filter(|m| !m.text.is_empty() || !m.versions.is_empty() || m.file.is_some() || m.chatter_name != ERASED_NAME)
        .collect();
    let files = theirs.iter().copied().filter(|m| m.file.is_some()).collect();
    (theirs, files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Chatter, TargetType};

    #[test]
    fn an_erasure_waits_for_closed_chats_and_takes_out_only_the_customers_words_and_names() {
        let who = Chatter {
            chatter_type: ChatterType::Customer,
            chatter_id: "jdoe".into(),
            chatter_name: "Jo".into(),
            number: None,
            unverified: false,
        };
        let mut chat = Chat::request("c1".into(), &who, TargetType::User, "sales".into(), "2026-01-01T00:00:00.000Z");
        chat.email = Some("jo@example.com".into());
        chat.updated_by = Some(who.clone());
        assert!(require_closed(std::slice::from_ref(&chat)).is_err(), "a request is open");
        chat.status = ChatStatus::Closed;
        assert!(require_closed(std::slice::from_ref(&chat)).is_ok());
        let erased = erased_chat(&chat, "jdoe").unwrap();
        assert_eq!((erased.requester_name.as_str(), erased.email.clone()), (ERASED_NAME, None));
        assert_eq!(erased.updated_by.as_ref().map(|by| by.chatter_name.as_str()), Some(ERASED_NAME), "its last change");
        assert!(erased_chat(&erased, "jdoe").is_none(), "done once");
        assert!(erased_chat(&chat, "someone-else").is_none(), "not theirs");
    }
}
