//! Webhook subscriptions and what is kept of their deliveries: the vocabularies (`Format`)
//! and their event names, a subscription, one delivery attempt, and the event log replays
//! read. Records only; the delivery rules are in `webhooks.rs`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The vocabularies events are published in (docs/events.md), and their event names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Native,
    Rpc,
    Notification,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Native => "native",
            Format::Rpc => "rpc",
            Format::Notification => "notification",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        [Format::Native, Format::Rpc, Format::Notification].into_iter().find(|f| f.as_str() == s)
    }

    /// What a subscription's `events` may name, per `format`, as JSON Schema (`allOf` of
    /// `if`/`then`) for the OpenAPI document: the lists below, stated once.
    pub fn events_schema() -> serde_json::Value {
        let each = [Format::Native, Format::Rpc, Format::Notification].map(|f| {
            serde_json::json!({
                "if": { "properties": { "format": { "const": f.as_str() } } },
                "then": { "properties": { "events": { "items": { "enum": f.events() } } } },
            })
        });
        serde_json::Value::from(each.to_vec())
    }

    /// The event names of this vocabulary.
    pub fn events(self) -> &'static [&'static str] {
        match self {
            Format::Native => &[
                "ChatAdd",
                "ChatUpdate",
                "ChatRequestUpdate",
                "ChatChannelUpdate",
                "ChatDelete",
                "ChatParticipantAdd",
                "ChatParticipantUpdate",
                "ChatParticipantRemove",
                "ChatRequestUser",
                "ChatRequestCustomer",
                "ChatInvite",
                "ChatMessageAdd",
                "ChatMessageUpdate",
                "ChatMessageDelete",
                "ChatMessageRead",
                "AgentAvailabilityUpdate",
                "ChannelAvailabilityUpdate",
                "OfflineMessageAdd",
                "CustomerErase",
            ],
            Format::Rpc => &[
                "CHAT_STARTED",
                "OPERATOR_TRANSFER",
                "OPERATOR_STATUS",
                "BUTTON_STATUS",
                "CLIENT_INVITED",
                "OPERATOR_STOPED_CHAT",
                "VISITOR_LEFT_CHAT",
                "PRIVATE_CHAT_STATUS",
            ],
            Format::Notification => &["StatusChange", "ParticipantsUpdated", "PropertiesUpdated", "NewMessages"],
        }
    }
}

string_enum!(
    /// How a webhook's events reach it (docs/events.md): `direct`, POSTed by the dispatcher
    /// with the format's content type, signed, retried for days; or `sns`, an SNS HTTP
    /// subscription that the receiver confirms.
    DeliveryMode { Direct => "direct", Sns => "sns" }
);

/// A subscriber URL of the events, in one vocabulary, for some events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub webhook_id: String,
    pub url: String,
    pub events: Vec<String>,
    pub format: Format,
    /// Webhooks made before delivery modes existed are SNS subscriptions.
    #[serde(default = "sns_mode")]
    pub mode: DeliveryMode,
    /// `sns` mode only.
    #[serde(default)]
    pub subscription_arn: String,
    pub created_by: String,
    pub create_time: String,
    /// `direct` mode: when a `410 Gone` answer disabled it (nothing is sent until it is
    /// enabled again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_time: Option<String>,
    /// `direct` mode: the `whsec_` signing secret. Never shown after creation or rotation;
    /// the API's views clear it ([`Webhook::shown`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(skip)]
    pub secret: String,
    /// The secret a rotation replaced: deliveries carry its signature too until
    /// `previous_secret_until` (epoch seconds), so receivers can switch without a gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub previous_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub previous_secret_until: Option<i64>,
}

fn sns_mode() -> DeliveryMode {
    DeliveryMode::Sns
}

impl Webhook {
    /// The webhook as the API shows it: without its secrets.
    pub fn shown(&self) -> Webhook {
        Webhook { secret: String::new(), previous_secret: None, previous_secret_until: None, ..self.clone() }
    }

    /// Whether it takes `event` of `format`, enabled or not.
    pub fn wants(&self, format: Format, event: &str) -> bool {
        self.format == format && self.events.iter().any(|e| e == event)
    }
}

/// One attempt to deliver an event to a `direct` webhook, kept for the delivery log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub webhook_id: String,
    pub event_id: String,
    pub event: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub time: String,
    /// The receiver's HTTP status; absent when it did not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// Why the attempt failed (a transport error, a timeout), when it did not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub outcome: DeliveryOutcome,
    /// Sent again by a replay, not by the event itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replay: bool,
}

string_enum!(
    /// What came of an attempt: `delivered` (2xx), `retrying` (another attempt is queued),
    /// `deadLettered` (the last attempt failed: the event is on the dead-letter queue),
    /// `disabled` (410 Gone: the webhook is disabled).
    DeliveryOutcome { Delivered => "delivered", Retrying => "retrying", DeadLettered => "deadLettered", Disabled => "disabled" }
);

/// An event as published, kept for replays for a configurable number of days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedEvent {
    pub event_id: String,
    pub event: String,
    pub format: Format,
    /// When the change happened (the stream record's time).
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    pub body: String,
}
