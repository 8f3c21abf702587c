//! Availability and presence: AgentAvailabilityGet, AvailableUsersGet, OnlineUserList,
//! CustomerAvailabilityGet, and the widget's "is an agent online in this channel".

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::json;

use crate::app::App;
use crate::domain::connections::Watched;
use crate::domain::model::{customer_availability, Availability, Presence};
use crate::domain::transitions;
use crate::domain::validate;
use crate::error::ApiError;
use crate::http::{HandlerResult, Request, Response};

const MAX_CHANNELS: usize = 20;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetAvailability {
    availability: Availability,
    #[serde(default)]
    channels: Vec<String>,
    /// The channels for agent-to-agent chats, when not `channels` (AvailableUsersGet's
    /// `InternalChannels`).
    internal_channels: Option<Vec<String>>,
    external: Option<bool>,
}

/// `external`: the availability for external (customer) chats, AgentAvailabilityGet's
/// default; false: for internal ones.
fn presence_view(p: &Presence, external: bool) -> serde_json::Value {
    let availability = p.availability_for(external);
    json!({
        "userId": p.user_id,
        "availability": availability,
        "code": availability.code(),
        "channels": p.channels,
        "internalChannels": p.internal_channels.as_ref().unwrap_or(&p.channels),
        "external": p.external,
        "expiresAt": p.expires_at,
    })
}

/// `PUT /agents/{userId}/availability`: an agent sets (and refreshes) its own availability
/// and channels. It lasts PRESENCE_TTL_SECONDS unless refreshed.
pub async fn set(app: &App, req: Request) -> HandlerResult {
    let ident = req.caller()?;
    let user_id = req.param("userId")?;
    let body: SetAvailability = req.json()?;
    let channel_list = |name: &str, list: &[String]| -> Result<Vec<String>, ApiError> {
        if list.len() > MAX_CHANNELS {
            return Err(ApiError::bad_request(format!("{name}: at most {MAX_CHANNELS} channels")));
        }
        for c in list {
            validate::id(name, c)?;
            if app.config.channel_name(c).is_none() {
                return Err(ApiError::bad_request(format!("unknown channel {c}")));
            }
        }
        Ok(list.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect())
    };
    let channels = channel_list("channels", &body.channels)?;
    let internal_channels =
        body.internal_channels.as_deref().map(|l| channel_list("internalChannels", l)).transpose()?;
    let previous = app.db.presence(user_id, true).await?;
    let now = app.clock.moment();
    let presence = Presence {
        user_id: user_id.to_string(),
        name: ident.name().to_string(),
        availability: body.availability,
        channels,
        internal_channels,
        external: body.external.unwrap_or(true),
        update_time: now.stamp.clone(),
        expires_at: now.epoch_secs + app.config.presence_ttl_secs,
        counted: Vec::new(),
    };
    let (plan, presence) = transitions::set_presence(previous.as_ref(), presence, &now);
    app.db.commit_writes(&plan.writes).await?;
    Ok(Response::ok(&presence_view(&presence, false)))
}

/// `GET /agents/{userId}/availability` (AgentAvailabilityGet), for agents.
pub async fn get(app: &App, req: Request) -> HandlerResult {
    let user_id = req.param("userId")?;
    validate::id("userId", user_id)?;
    let presence = app.db.presence(user_id, false).await?;
    let now = app.clock.epoch_secs();
    let presence = presence.map(|p| p.current(now)).unwrap_or_else(|| Presence {
        user_id: user_id.to_string(),
        name: user_id.to_string(),
        availability: Availability::Offline,
        channels: vec![],
        internal_channels: None,
        external: false,
        update_time: String::new(),
        expires_at: 0,
        counted: Vec::new(),
    });
    Ok(Response::ok(&presence_view(&presence, external_flag(&req)?)))
}

/// `External` of AgentAvailabilityGet and OnlineUserList: 1 (the default) or 0.
fn external_flag(req: &Request) -> Result<bool, ApiError> {
    Ok(req.query("external").is_none() || req.query_flag("external")?)
}

async fn online_agents(app: &App) -> Result<Vec<Presence>, ApiError> {
    let now = app.clock.epoch_secs();
    let all = app.db.online_agents().await?;
    Ok(all.into_iter().map(|p| p.current(now)).filter(|p| p.availability != Availability::Offline).collect())
}

/// `GET /agents/available?key=ExternalChannels|InternalChannels` (AvailableUsersGet):
/// online agents and their channels.
pub async fn available(app: &App, req: Request) -> HandlerResult {
    let external = match req.query("key") {
        Some("ExternalChannels") => true,
        Some("InternalChannels") => false,
        _ => return Err(ApiError::bad_request("key must be ExternalChannels or InternalChannels")),
    };
    let agents: BTreeMap<String, Vec<String>> = online_agents(app)
        .await?
        .into_iter()
        .filter(|p| p.availability == Availability::Online && (!external || p.external))
        .map(|p| {
            let channels = if external { p.channels } else { p.internal_channels.unwrap_or(p.channels) };
            (p.user_id, channels)
        })
        .collect();
    Ok(Response::ok(&agents))
}

/// `GET /users/online?userType=User|Customer[&userId=]` (OnlineUserList).
pub async fn online_users(app: &App, req: Request) -> HandlerResult {
    let user_id = req.query("userId");
    if let Some(id) = user_id {
        validate::id("userId", id)?;
    }
    let external = external_flag(&req)?;
    // The seed's third form: `UserID` alone checks one user, agent or customer.
    let (agents, customers) = match (req.query("userType"), user_id) {
        (Some("User"), _) => (true, false),
        (Some("Customer"), _) => (false, true),
        (None, Some(_)) => (true, true),
        _ => return Err(ApiError::bad_request("userType must be User or Customer (or give userId)")),
    };
    let mut users: Vec<serde_json::Value> = Vec::new();
    if agents {
        // External (default 1): only agents who take external chats.
        users.extend(
            online_agents(app)
                .await?
                .iter()
                .filter(|p| user_id.is_none_or(|id| id == p.user_id) && (!external || p.external))
                .map(|p| {
                    json!({"userId": p.user_id, "userType": "User", "name": p.name, "chatAvailability": p.availability_for(external).code(), "channels": p.channels})
                }),
        );
    }
    if customers {
        let participants = app.db.online_customers(user_id).await?;
        users.extend(participants.iter().map(
            |p| json!({"userId": p.chatter_id, "userType": p.chatter_type, "name": p.chatter_name, "chatId": p.chat_id}),
        ));
    }
    Ok(Response::ok(&json!({ "users": users })))
}

/// `GET /customers/{customerId}/availability` (CustomerAvailabilityGet): see
/// [`customer_availability`].
pub async fn customer(app: &App, req: Request) -> HandlerResult {
    let id = req.param("customerId")?;
    validate::id("customerId", id)?;
    let chats = app.db.online_customers(Some(id)).await?;
    // One GSI1 Query per open chat of theirs (a customer has one or two), until one has a live socket of theirs.
    let mut connected = false;
    for chat in &chats {
        let sockets = app.db.watchers(&Watched::Chat(chat.chat_id.clone())).await?;
        if sockets.iter().any(|c| c.is_customer(id)) {
            connected = true;
            break;
        }
    }
    let code = customer_availability(chats.len(), connected);
    Ok(Response::ok(&json!({ "customerId": id, "availability": code, "chats": chats.len() })))
}

/// `GET /channels/{channelId}/availability`: whether an agent is online for customers in
/// this channel, so a widget offers a chat only then. Needs no token.
pub async fn channel(app: &App, req: Request) -> HandlerResult {
    let channel_id = req.param("channelId")?;
    validate::id("channelId", channel_id)?;
    let now = app.clock.epoch_secs();
    let agents = app.db.channel_agents(channel_id).await?;
    let n = agents.iter().filter(|a| a.external && a.expires_at > now).count();
    Ok(Response::ok(&json!({ "channelId": channel_id, "online": n > 0, "agents": n })))
}

/// `GET /channels/{channelId}/queue`: the requests waiting in a channel and the wait to
/// expect, for a widget to show before a visitor starts a chat. Two reads at once.
pub async fn queue(app: &App, req: Request) -> HandlerResult {
    let channel_id = req.param("channelId")?;
    validate::id("channelId", channel_id)?;
    if app.config.channel_name(channel_id).is_none() {
        return Err(ApiError::not_found("no such channel"));
    }
    let now = app.clock.epoch_secs();
    let (waiting, recent) =
        tokio::try_join!(app.db.requests_waiting(channel_id), app.db.recent_waits(channel_id, now))?;
    Ok(Response::ok(&crate::domain::queue::outlook(channel_id, waiting, recent)))
}
