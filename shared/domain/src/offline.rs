//! Offline messages: what a visitor leaves when nobody is online in a channel (a name, an
//! e-mail address to answer, the text), for agents to list and for a ticket system to pick
//! up from the native `OfflineMessageAdd` event.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{DomainError, DomainResult};
use crate::model::OfflineMessage;
use crate::plan::{Moment, Plan, RateLimit, Write};
use crate::validate;

/// `POST /channels/{channelId}/offline-messages`: what the widget's form sends.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LeaveMessage {
    /// Who writes (1–200 characters).
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    /// Where to answer: an e-mail address (at most 254 characters).
    #[schemars(length(min = 3, max = 254), regex(pattern = r"^[^@\s]+@[^@\s]+$"))]
    pub email: String,
    /// The message (1–3800 characters).
    #[schemars(length(min = 1, max = 3800))]
    pub text: String,
    /// What the page knows of the visitor, as a chat's `userData`.
    #[schemars(extend("type" = ["object", "null"]))]
    pub user_data: Option<Value>,
}

/// Whether `email` looks like an address: one `@` with something on each side, no spaces.
fn email(value: &str) -> DomainResult<()> {
    let parts: Vec<&str> = value.split('@').collect();
    let ok = value.chars().count() <= 254
        && parts.len() == 2
        && parts.iter().all(|p| !p.is_empty())
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid("email must be an e-mail address"))
    }
}

/// Plans a message left for `channel_id` from `address`: checked, stored (it must not exist
/// yet), and counted against the address's `rate` as a chat start is.
pub fn leave_message(
    cmd: LeaveMessage,
    id: String,
    channel_id: &str,
    address: Option<&str>,
    rate: RateLimit,
    now: &Moment,
) -> DomainResult<(Plan, OfflineMessage)> {
    let name = cmd.name.trim();
    let text = cmd.text.trim();
    if name.is_empty() || text.is_empty() {
        return Err(DomainError::invalid("name and text must not be empty"));
    }
    validate::name("name", name, validate::MAX_NAME_CHARS)?;
    validate::text("text", text, validate::MAX_TEXT_CHARS)?;
    email(&cmd.email)?;
    let message = OfflineMessage {
        offline_message_id: id,
        channel_id: channel_id.to_string(),
        name: name.to_string(),
        email: cmd.email,
        text: text.to_string(),
        user_data: validate::user_data(cmd.user_data)?,
        create_time: now.stamp.clone(),
    };
    let mut plan = Plan::default();
    plan.write(Write::OfflineMessage(message.clone()), "offline message already exists");
    if let Some(address) = address {
        plan.rate(format!("offline#{address}"), rate, now);
    }
    Ok((plan, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    fn now() -> Moment {
        Moment { stamp: "2026-01-01T00:00:10.000Z".into(), epoch_secs: 1_767_225_610 }
    }

    fn cmd(name: &str, email: &str, text: &str) -> LeaveMessage {
        LeaveMessage { name: name.into(), email: email.into(), text: text.into(), user_data: None }
    }

    #[test]
    fn an_offline_message_is_checked_stored_and_counted_against_its_address() {
        let rate = RateLimit { limit: 5, window_secs: 60 };
        let (plan, message) = leave_message(
            cmd(" Jo ", "jo@example.com", "Call me back"),
            "o1".into(),
            "sales",
            Some("1.2.3.4"),
            rate,
            &now(),
        )
        .unwrap();
        assert_eq!((message.name.as_str(), message.channel_id.as_str()), ("Jo", "sales"));
        assert!(matches!(plan.writes[0].write, Write::OfflineMessage(_)));
        assert!(matches!(&plan.writes[1].write, Write::RateCount { subject, .. } if subject == "offline#1.2.3.4"));
        for bad in
            [cmd("", "jo@example.com", "x"), cmd("Jo", "jo", "x"), cmd("Jo", "a b@c", "x"), cmd("Jo", "j@x", " ")]
        {
            let refused = leave_message(bad, "o2".into(), "sales", None, rate, &now()).unwrap_err();
            assert_eq!(refused.kind, Kind::Invalid);
        }
        let long = "x".repeat(validate::MAX_TEXT_CHARS + 1);
        assert!(leave_message(cmd("Jo", "j@x", &long), "o3".into(), "sales", None, rate, &now()).is_err());
    }
}
