//! The WebSocket API's routes (`$connect`, `$disconnect`, `$default`), each its own
//! function, as API Gateway's Lambda proxy integration calls them. The socket speaks
//! Bayeux (domain::push); this edge authenticates it, keeps its item and answers it.

use aws_lambda_events::event::apigw::ApiGatewayWebsocketProxyRequest;
use serde_json::{json, Value};

use crate::app::App;
use crate::domain::caller::Identity;
use crate::domain::connections::{Connection, Viewer};
use crate::domain::{policy, push};
use crate::store::StoreError;

/// The WebSocket API's routes and the function serving each (template.yaml is checked
/// against this list).
pub const ROUTES: &[(&str, &str)] =
    &[("$connect", "socket-connect"), ("$disconnect", "socket-disconnect"), ("$default", "socket-message")];

/// API Gateway closes a connection after two hours; its item lapses then too.
pub const CONNECTION_LIFETIME_SECS: i64 = 2 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("not an API Gateway WebSocket event: {0}")]
    NotASocketEvent(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// API Gateway's WebSocket proxy event, and the connection it is about.
fn parse(event: Value) -> Result<(ApiGatewayWebsocketProxyRequest, String), SocketError> {
    let event: ApiGatewayWebsocketProxyRequest =
        serde_json::from_value(event).map_err(|e| SocketError::NotASocketEvent(e.to_string()))?;
    let id = event.request_context.connection_id.clone();
    Ok((event, id.ok_or_else(|| SocketError::NotASocketEvent("no connectionId".into()))?))
}

fn answer(status: u16, body: Value) -> Value {
    json!({ "statusCode": status, "body": body.to_string() })
}

/// `$connect`: the socket's token (query parameter `token`, since browsers cannot set
/// headers on a WebSocket) must verify; a chat token's chatter must still be in its chat.
/// A refusal is a 4xx, which API Gateway turns into a refused upgrade.
pub async fn connect(app: &App, event: Value) -> Result<Value, SocketError> {
    let (event, connection_id) = parse(event)?;
    let token = event.query_string_parameters.first("token");
    if let Some(token) = token {
        app.config.auth.agent_keys.refresh_for(token).await;
    }
    let Some(ident) = token.and_then(|t| crate::auth::identify(t, &app.config.auth)) else {
        return Ok(answer(401, json!({ "error": "unauthorized", "message": "a valid token is needed" })));
    };
    let viewer = match ident {
        Identity::Agent { user_id, .. } => Viewer::Agent { user_id },
        Identity::Chatter { ref chat_id, ref chatter_id, chatter_type, .. } => {
            let state = app.db.load_state(chat_id, false).await?;
            let readable = match &state {
                Some(state) => policy::can_read(&ident, state).map_err(|e| e.to_string()),
                None => Err("the chat is gone".to_string()),
            };
            if let Err(message) = readable {
                return Ok(answer(403, json!({ "error": "forbidden", "message": message })));
            }
            Viewer::Chatter { chat_id: chat_id.clone(), chatter_type, chatter_id: chatter_id.clone() }
        }
    };
    let connection = Connection { connection_id, viewer, connected_at: app.clock.stamp(), subscribed: false };
    app.db.put_connection(&connection, app.clock.epoch_secs() + CONNECTION_LIFETIME_SECS).await?;
    let mut out = serde_json::Map::new();
    out.insert("statusCode".into(), json!(200));
    // A client that offers subprotocols must get one back, or browsers drop the socket.
    let offered = event.headers.get("sec-websocket-protocol").and_then(|v| v.to_str().ok());
    if let Some(first) = offered.and_then(|v| v.split(',').next()).map(str::trim) {
        out.insert("headers".into(), json!({ "Sec-WebSocket-Protocol": first }));
    }
    Ok(Value::Object(out))
}

/// Whether the token behind socket `id` already has `sockets_per_viewer` other sockets
/// subscribed: each is one more post per change, so one token must not multiply them.
async fn over_the_cap(app: &App, id: &str) -> Result<bool, SocketError> {
    let Some(connection) = app.db.connection(id).await? else { return Ok(false) };
    let others = app.db.watchers(&connection.viewer.watched()).await?;
    let same = others.iter().filter(|c| c.connection_id != id && c.viewer == connection.viewer).count();
    Ok(same >= app.config.events.sockets_per_viewer)
}

/// `$disconnect` (not guaranteed by API Gateway: the item's TTL covers a missed one).
pub async fn disconnect(app: &App, event: Value) -> Result<Value, SocketError> {
    let (_, connection_id) = parse(event)?;
    app.db.delete_connection(&connection_id).await?;
    Ok(json!({ "statusCode": 200 }))
}

/// `$default`: a frame of Bayeux messages. The replies go back as the route's response;
/// a subscription change is one UpdateItem; a heartbeat touches nothing.
pub async fn message(app: &App, event: Value) -> Result<Value, SocketError> {
    let (event, id) = parse(event)?;
    let interval_ms = app.config.events.heartbeat_secs * 1000;
    let mut answer = push::answer(&id, event.body.as_deref().unwrap_or_default(), interval_ms);
    if answer.subscribe == Some(true) && over_the_cap(app, &id).await? {
        for reply in &mut answer.replies {
            if reply["channel"] == "/meta/subscribe" {
                *reply = json!({
                    "channel": reply["channel"], "id": reply["id"], "clientId": id, "successful": false,
                    "subscription": push::CHATS_CHANNEL,
                    "error": format!("403:{}:this token has as many sockets as it may", push::CHATS_CHANNEL),
                });
            }
        }
        answer.subscribe = None;
    }
    if let Some(on) = answer.subscribe {
        match app.db.set_subscribed(&id, on).await {
            Ok(()) => {}
            // The item lapsed (or $connect never stored it): the client must start over.
            Err(StoreError::Refused(_)) => {
                for reply in &mut answer.replies {
                    *reply = json!({
                        "channel": reply["channel"], "id": reply["id"], "successful": false,
                        "error": "402::Unknown client", "advice": { "reconnect": "handshake", "interval": 0 },
                    });
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(json!({ "statusCode": 200, "body": Value::Array(answer.replies).to_string() }))
}
