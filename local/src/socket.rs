//! The local stand-in for the API Gateway WebSocket API: `ws://127.0.0.1:<port>/socket`
//! upgrades as API Gateway does (its `$connect` route decides), hands every frame to the
//! `$default` route and the close to `$disconnect`, with events in API Gateway's shape,
//! to the very handlers the socket functions run. Its `@connections` management API
//! (`/_ws/@connections/{id}`: POST, GET, DELETE) is what the push function's
//! `aws-sdk-apigatewaymanagement` client calls, so the same code posts here and in AWS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use serde_json::{json, Value};
use shared::App;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Message, Role};
use tokio_tungstenite::WebSocketStream;

/// The path the local WebSocket endpoint answers on.
pub const PATH: &str = "/socket";
/// The prefix of the emulated management API (the push client's endpoint is `<base>/_ws`).
pub const MANAGEMENT_PREFIX: &str = "/_ws/@connections/";

/// What the management API tells an open socket.
enum Command {
    Send(String),
    Close,
}

/// API Gateway's limits on a WebSocket API, which this endpoint enforces too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A connection that sends nothing this long is closed (10 minutes).
    pub idle: Duration,
    /// Every connection is closed this long after it opened (2 hours).
    pub lifetime: Duration,
}

/// The largest PostToConnection payload: 128 KB.
pub const MAX_POST_BYTES: usize = 128 * 1024;

impl Limits {
    /// API Gateway's figures, unless `LOCAL_SOCKET_IDLE_SECS` or `LOCAL_SOCKET_MAX_SECS` say
    /// otherwise (a test that waits for them).
    pub fn from_env() -> Limits {
        let secs = |name: &str, default: u64| {
            Duration::from_secs(std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default).max(1))
        };
        Limits { idle: secs("LOCAL_SOCKET_IDLE_SECS", 600), lifetime: secs("LOCAL_SOCKET_MAX_SECS", 7200) }
    }
}

/// The open sockets of one local server, by connection id, and their limits.
pub struct Sockets {
    open: Mutex<HashMap<String, mpsc::UnboundedSender<Command>>>,
    limits: Limits,
}

impl Default for Sockets {
    fn default() -> Self {
        Sockets::new(Limits::from_env())
    }
}

impl Sockets {
    pub fn new(limits: Limits) -> Self {
        Sockets { open: Mutex::default(), limits }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Command>>> {
        self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

type HyperResponse = hyper::Response<Full<Bytes>>;

/// A JSON answer, through the local server's one conversion to hyper.
fn plain(status: u16, headers: &[(&'static str, &str)], body: Value) -> HyperResponse {
    let mut response = shared::http::Response::json(status, &body);
    response.headers.extend(headers.iter().map(|(name, value)| (*name, value.to_string())));
    crate::to_hyper(response)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A connection as API Gateway names it: its id, and when it opened (ms since the epoch).
struct Connection {
    id: String,
    connected_at: i64,
}

/// API Gateway's WebSocket proxy event for `route` on `connection`, with the fields it
/// always sends (aws_lambda_events requires `connectedAt` and `requestTimeEpoch`).
fn event(connection: &Connection, route: &str, extra: Value) -> Value {
    let mut event = json!({
        "requestContext": {
            "connectionId": connection.id, "routeKey": route,
            "eventType": match route { "$connect" => "CONNECT", "$disconnect" => "DISCONNECT", _ => "MESSAGE" },
            "stage": "local",
            "connectedAt": connection.connected_at,
            "requestTimeEpoch": now_ms(),
        },
        "isBase64Encoded": false,
    });
    if let (Some(event), Value::Object(extra)) = (event.as_object_mut(), extra) {
        event.extend(extra);
    }
    event
}

/// Whether `req` asks for the WebSocket endpoint.
pub fn is_upgrade(req: &hyper::Request<Incoming>) -> bool {
    req.uri().path() == PATH
        && req.headers().get(hyper::header::UPGRADE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// `$connect`, then the upgrade; the socket is served on a task of its own.
pub async fn accept(app: Arc<App>, sockets: Arc<Sockets>, mut req: hyper::Request<Incoming>) -> HyperResponse {
    let Some(key) = req.headers().get("sec-websocket-key").map(|k| k.as_bytes().to_vec()) else {
        return plain(400, &[], json!({ "message": "not a WebSocket handshake" }));
    };
    let connection = Connection { id: uuid::Uuid::new_v4().simple().to_string(), connected_at: now_ms() };
    let query = crate::parse_query(req.uri().query().unwrap_or(""));
    let headers: HashMap<String, String> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let connect = event(&connection, "$connect", json!({ "queryStringParameters": query, "headers": headers }));
    let answer = match shared::socket::connect(&app, connect).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::error!(error = %e, "$connect failed");
            return plain(500, &[], json!({ "message": "Internal server error" }));
        }
    };
    let status = answer["statusCode"].as_u64().unwrap_or(500);
    if status != 200 {
        let body = answer["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
        return plain(u16::try_from(status).unwrap_or(500), &[], body);
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (tx, rx) = mpsc::unbounded_channel();
    sockets.lock().insert(connection.id.clone(), tx);
    tokio::spawn(serve_socket(app, sockets, connection, on_upgrade, rx));
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(&key);
    let mut builder = hyper::Response::builder()
        .status(101)
        .header(hyper::header::CONNECTION, "upgrade")
        .header(hyper::header::UPGRADE, "websocket")
        .header("sec-websocket-accept", accept);
    if let Some(protocol) = answer["headers"]["Sec-WebSocket-Protocol"].as_str() {
        builder = builder.header("sec-websocket-protocol", protocol);
    }
    builder.body(Full::new(Bytes::new())).unwrap_or_default()
}

async fn serve_socket(
    app: Arc<App>,
    sockets: Arc<Sockets>,
    connection: Connection,
    on_upgrade: hyper::upgrade::OnUpgrade,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let upgraded = match on_upgrade.await {
        Ok(upgraded) => upgraded,
        Err(e) => {
            tracing::warn!(error = %e, "upgrade failed");
            sockets.lock().remove(&connection.id);
            return;
        }
    };
    let socket = WebSocketStream::from_raw_socket(hyper_util::rt::TokioIo::new(upgraded), Role::Server, None).await;
    let (mut sink, mut stream) = socket.split();
    let limits = sockets.limits;
    let ends = tokio::time::Instant::now() + limits.lifetime;
    let mut idle_until = tokio::time::Instant::now() + limits.idle;
    loop {
        tokio::select! {
            // API Gateway closes an idle connection after 10 minutes, any after 2 hours.
            _ = tokio::time::sleep_until(idle_until.min(ends)) => {
                let _ = sink.send(Message::Close(Some(CloseFrame { code: 1001.into(), reason: "Going away".into() }))).await;
                break;
            }
            command = commands.recv() => match command {
                Some(Command::Send(text)) => {
                    if sink.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
                Some(Command::Close) | None => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: 1000.into(), reason: "".into() }))).await;
                    break;
                }
            },
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    idle_until = tokio::time::Instant::now() + limits.idle;
                    let frame = event(&connection, "$default", json!({ "body": text.as_str() }));
                    match shared::socket::message(&app, frame).await {
                        Ok(answer) => {
                            let body = answer["body"].as_str().unwrap_or_default();
                            if !body.is_empty() && sink.send(Message::text(body)).await.is_err() {
                                break;
                            }
                        }
                        // API Gateway answers a failed integration with this frame.
                        Err(e) => {
                            tracing::warn!(error = %e, "$default failed");
                            let error = json!({ "message": "Internal server error" }).to_string();
                            if sink.send(Message::text(error)).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                // Pings are answered by tungstenite; binary frames mean nothing here; either
                // is the client's activity.
                Some(Ok(_)) => idle_until = tokio::time::Instant::now() + limits.idle,
            },
        }
    }
    sockets.lock().remove(&connection.id);
    if let Err(e) = shared::socket::disconnect(&app, event(&connection, "$disconnect", json!({}))).await {
        tracing::warn!(error = %e, "$disconnect failed");
    }
}

/// The `@connections` management API: POST sends the body to the socket, GET describes
/// it, DELETE closes it; an unknown id is 410 GoneException, as API Gateway answers.
pub fn manage(sockets: &Sockets, method: &str, connection_id: &str, body: Vec<u8>) -> HyperResponse {
    let gone = || plain(410, &[("x-amzn-errortype", "GoneException")], json!({ "message": "Gone" }));
    let sockets = sockets.lock();
    let Some(socket) = sockets.get(connection_id) else { return gone() };
    let command = match method {
        "POST" if body.len() > MAX_POST_BYTES => {
            return plain(
                413,
                &[("x-amzn-errortype", "PayloadTooLargeException")],
                json!({ "message": "Message too long: 128 KB at most" }),
            )
        }
        "POST" => Command::Send(String::from_utf8_lossy(&body).into_owned()),
        "DELETE" => Command::Close,
        "GET" => return plain(200, &[], json!({ "connectionId": connection_id })),
        _ => return plain(405, &[], json!({ "message": "method not allowed" })),
    };
    match socket.send(command) {
        Ok(()) => plain(if method == "DELETE" { 204 } else { 200 }, &[], json!({})),
        Err(_) => gone(),
    }
}
