//! The local server: every function of template.yaml behind one HTTP listener on loopback,
//! calling the very handlers the Lambda binaries call.

pub mod cors;
pub mod idp;
pub mod oauth;
pub mod queue;
pub mod schema;
pub mod socket;
pub mod stream;

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use serde::Deserialize;
use shared::domain::validate;
use shared::error::ApiError;
use shared::http::{Request, Response, MAX_BODY_BYTES};
use shared::{auth, routes, App};
use tokio::net::TcpListener;

/// The repository's root (where template.yaml is), from this crate's location.
/// Creates (or finds) the files' bucket on the emulator, as template.yaml's `FilesBucket`.
pub async fn ensure_bucket(
    s3: &aws_sdk_s3::Client,
    name: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match s3.create_bucket().bucket(name).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()) =>
        {
            Ok(())
        }
        Err(e) => Err(aws_sdk_s3::error::DisplayErrorContext(e).to_string().into()),
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Serves until the task is dropped: the HTTP API, and the WebSocket API with its
/// `@connections` management API (see [`socket`]).
pub async fn serve(app: Arc<App>, listener: TcpListener) -> std::io::Result<()> {
    serve_with(app, listener, socket::Sockets::default()).await
}

/// [`serve`] with the WebSocket endpoint's own limits (a test of them).
pub async fn serve_with(app: Arc<App>, listener: TcpListener, sockets: socket::Sockets) -> std::io::Result<()> {
    let sockets = Arc::new(sockets);
    let port = listener.local_addr()?.port();
    loop {
        let (stream, peer) = listener.accept().await?;
        let (app, sockets) = (app.clone(), sockets.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let (app, sockets) = (app.clone(), sockets.clone());
                async move {
                    if let Err(refused) = same_machine(&req, port) {
                        return Ok::<_, Infallible>(to_hyper(refused.into_response()));
                    }
                    if socket::is_upgrade(&req) {
                        return Ok::<_, Infallible>(socket::accept(app, sockets, req).await);
                    }
                    if let Some(id) = req.uri().path().strip_prefix(socket::MANAGEMENT_PREFIX) {
                        let (id, method) = (id.to_string(), req.method().to_string());
                        let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
                        return Ok(socket::manage(&sockets, &method, &id, body));
                    }
                    Ok(to_hyper(handle(&app, req, Some(peer)).await))
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).with_upgrades().await;
        });
    }
}

/// Only this machine's own pages and tools call the local server: a `Host` other than its
/// loopback names is a DNS-rebinding page's (which would read `/dev/tokens`), and a
/// cross-site `Origin` on a request that changes something is another site's form.
fn same_machine(req: &hyper::Request<Incoming>, port: u16) -> Result<(), ApiError> {
    let local = [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")];
    let host = req.headers().get(hyper::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    if !local.iter().any(|l| l == host) {
        return Err(ApiError::new(421, "misdirected", "the local server answers to 127.0.0.1 and localhost only"));
    }
    let origin = req.headers().get(hyper::header::ORIGIN).and_then(|h| h.to_str().ok());
    let path = req.uri().path();
    let local_tool = path.starts_with("/dev/") || path.starts_with(socket::MANAGEMENT_PREFIX);
    let foreign = origin.is_some_and(|o| !local.iter().any(|l| o == format!("http://{l}")));
    if local_tool && foreign {
        return Err(ApiError::forbidden("the local tools answer this machine's pages only"));
    }
    Ok(())
}

pub(crate) fn to_hyper(response: Response) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(Bytes::from(response.body)));
    *out.status_mut() =
        hyper::StatusCode::from_u16(response.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in response.headers {
        if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
            out.headers_mut().insert(name, value);
        }
    }
    out
}

/// `a=1&b=x%20y` → {a: 1, b: "x y"}, as API Gateway fills queryStringParameters.
pub fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                let s = s.replace('+', " ");
                routes::percent_decode(&s).unwrap_or(s)
            };
            (decode(k), decode(v))
        })
        .collect()
}

async fn handle(app: &App, req: hyper::Request<Incoming>, peer: Option<std::net::SocketAddr>) -> Response {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (origin, asked) = (header("origin"), header("access-control-request-method"));
    let cors = cors::Cors::get();
    if let Some(preflight) = cors.preflight(req.method().as_str(), origin.as_deref(), asked.as_deref()) {
        return preflight;
    }
    let mut response = answer(app, req, peer).await;
    cors.decorate(origin.as_deref(), &mut response);
    response
}

async fn answer(app: &App, req: hyper::Request<Incoming>, peer: Option<std::net::SocketAddr>) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => {
            return ApiError::too_large(format!("request body is larger than {MAX_BODY_BYTES} bytes")).into_response()
        }
    };
    let request = Request {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        params: HashMap::new(),
        query: parse_query(parts.uri.query().unwrap_or("")),
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body,
        source_ip: peer.map(|p| p.ip().to_string()),
        // The local server is told its own URL (API_URL, or its port).
        api_url: None,
        caller: None,
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    if request.method == "GET" {
        if let Some(page) = static_file(&request.path) {
            return page;
        }
    }
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/openapi.json") => Response::ok(&shared::openapi::document()),
        ("GET", "/oauth2/authorize") => oauth::authorize_page(app, &request.query),
        ("POST", "/oauth2/authorize") => oauth::authorize(app, &request.body),
        ("POST", "/oauth2/token") => oauth::token(app, &request.body),
        ("GET", "/.well-known/jwks.json") => match idp::issuer() {
            Ok(issuer) => Response::ok(issuer.jwks()),
            Err(e) => {
                tracing::error!(error = %e, "no local identity provider");
                ApiError::unavailable().into_response()
            }
        },
        ("GET", "/health") => routes::finish("GET /health", &request_id, None, started, health(app).await),
        ("POST", "/dev/tokens") => {
            routes::finish("POST /dev/tokens", &request_id, None, started, dev_token(app, &request))
        }
        ("POST", "/dev/cleanup") => {
            routes::finish("POST /dev/cleanup", &request_id, None, started, dev_cleanup(app).await)
        }
        _ => call(app, request, &request_id, started).await,
    }
}

/// Routes a request exactly as API Gateway would, and calls its function's handler. An
/// answer Lambda could not return (over its 6 MB) fails here as it would there.
pub async fn call(app: &App, mut request: Request, request_id: &str, started: Instant) -> Response {
    match routes::find(&request.method, &request.path) {
        Ok((route, params)) => {
            request.params = params;
            let chat_id = request.params.get("chatId").cloned();
            let name = format!("{} {}", route.method, route.path);
            let result = routes::dispatch(app, route.function, request).await;
            let response = routes::finish(&name, request_id, chat_id.as_deref(), started, result);
            if !lambda_can_answer(response.body.len()) {
                tracing::error!(
                    route = name,
                    bytes = response.body.len(),
                    "an answer over Lambda's 6 MB: AWS fails it"
                );
                return ApiError::internal().into_response();
            }
            response
        }
        Err(e) => routes::finish("-", request_id, None, started, Err(e)),
    }
}

/// Lambda's limit on a synchronous answer: 6 MB, the body in it base64-encoded (how the
/// functions return it: `shared::lambda`), with room for the status and headers.
fn lambda_can_answer(body_bytes: usize) -> bool {
    body_bytes.div_ceil(3) * 4 + 16 * 1024 <= 6 * 1024 * 1024
}

#[cfg(test)]
mod tests {
    /// 4.5 MB of body is about all a function can answer.
    #[test]
    fn lambda_answers_up_to_about_four_and_a_half_mb_of_body() {
        assert!(super::lambda_can_answer(3 * 1024 * 1024));
        assert!(super::lambda_can_answer(4_700_000));
        assert!(!super::lambda_can_answer(4_750_000));
    }
}

/// The demo pages and the widget client: `/` (customer widget), `/agent` (agent console),
/// `/cxbus.js`, `/widget.js` and `/web/<file>`. Only plain file names under web/, so nothing else can be reached.
fn static_file(path: &str) -> Option<Response> {
    let name = match path {
        "/" => "index.html",
        "/agent" => "agent.html",
        // CXBus for Genesys sites, at the path their script tag names (web/cxbus.js).
        "/cxbus.js" => "cxbus.js",
        // The widget a site embeds with one tag (web/widget.js).
        "/widget.js" => "widget.js",
        other => other.strip_prefix("/web/")?,
    };
    if name.starts_with('.') || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
        return None;
    }
    let content_type = match name.rsplit('.').next()? {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        _ => return None,
    };
    let body = std::fs::read(repo_root().join("web").join(name)).ok()?;
    Some(Response {
        status: 200,
        headers: vec![("content-type", content_type.into()), ("cache-control", "no-cache".into())],
        body,
    })
}

async fn health(app: &App) -> Result<Response, ApiError> {
    app.db.ping().await?;
    Ok(Response::ok(&serde_json::json!({ "status": "ok" })))
}

/// `POST /dev/cleanup` (`make cleanup`): one run of cleanup-cron's handler, answering its
/// summary. Local only, like `/dev/tokens`: in AWS the schedule runs it.
async fn dev_cleanup(app: &App) -> Result<Response, ApiError> {
    match shared::cleanup::handle(app, serde_json::Value::Null).await {
        Ok(summary) => Ok(Response::ok(&summary)),
        Err(shared::cleanup::CleanupError::Store(e)) => Err(e.into()),
        Err(e @ shared::cleanup::CleanupError::Settings(_)) => {
            Err(ApiError::new(503, "cleanup_not_configured", e.to_string()))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DevToken {
    user_id: String,
    name: Option<String>,
    /// e.g. `["admin"]`.
    #[serde(default)]
    roles: Vec<String>,
    /// ES256 (the default) or RS256, signed by the local identity provider; HS256 with the
    /// development shared secret.
    #[serde(default)]
    alg: Option<String>,
}

/// `POST /dev/tokens`: mints an agent token, as the organisation's issuer would. Local only:
/// this route is not in template.yaml.
fn dev_token(app: &App, request: &Request) -> Result<Response, ApiError> {
    let body: DevToken = request.json()?;
    validate::id("userId", &body.user_id)?;
    let name = body.name.unwrap_or_else(|| body.user_id.clone());
    validate::name("name", &name, validate::MAX_NAME_CHARS)?;
    for role in &body.roles {
        validate::id("roles", role)?;
    }
    let roles: Vec<&str> = body.roles.iter().map(String::as_str).collect();
    let now = app.clock.epoch_secs();
    let ttl = auth::MAX_SHARED_KEY_TOKEN_SECS;
    let alg = match body.alg.as_deref().unwrap_or("ES256") {
        "HS256" => None,
        "ES256" => Some(jsonwebtoken::Algorithm::ES256),
        "RS256" => Some(jsonwebtoken::Algorithm::RS256),
        _ => return Err(ApiError::bad_request("alg is ES256, RS256 or HS256")),
    };
    let token = match alg {
        None => auth::issue_agent_token(&app.config.auth, &body.user_id, &name, &roles, now, ttl)?,
        Some(alg) => {
            let claims = serde_json::json!({ "sub": body.user_id, "name": name, "roles": roles });
            idp::issuer().and_then(|issuer| issuer.agent_token(alg, &app.config.auth, now, ttl, claims)).map_err(
                |e| {
                    tracing::error!(error = %e, "local token not signed");
                    ApiError::unavailable()
                },
            )?
        }
    };
    Ok(Response::created(&serde_json::json!({ "token": token, "userId": body.user_id, "name": name, "roles": roles })))
}
