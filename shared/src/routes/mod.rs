//! The operations and how a request reaches one: the access rules, dispatch, and the copy
//! of its own routes each Lambda function serves. The table itself is [`table`]: one
//! declaration per operation, from which the OpenAPI document, functions/, events/ and a
//! new function's block in template.yaml are generated (`make generate`), and the template
//! is checked.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use crate::app::App;
use crate::domain::caller::Identity;
use crate::error::ApiError;
use crate::http::{HandlerResult, Request, Response};
use crate::openapi::shapes::Make;

/// An operation's code, boxed so that every route's handler has one type.
pub type Handler = for<'a> fn(&'a App, Request) -> Pin<Box<dyn Future<Output = HandlerResult> + Send + 'a>>;

/// A route's handler from an `async fn(&App, Request) -> HandlerResult`.
macro_rules! handler {
    ($f:path) => {
        |app, req| Box::pin($f(app, req))
    };
}

// After the macro, which the table uses.
mod table;
pub use table::ROUTES;

#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    /// API Gateway's route path, with `{name}` parameters.
    pub path: &'static str,
    /// The Lambda function (and package under functions/) that serves it.
    pub function: &'static str,
    /// The OpenAPI operationId: the function's name, unless the function serves several
    /// routes. Unique: checked when the crate compiles.
    pub operation: &'static str,
    /// Who may call it: [`admit`] enforces it before the handler runs; the handler adds the
    /// rules that need the chat's state (domain::policy). The authorization matrix test
    /// checks the outcomes.
    pub access: Access,
    pub handler: Handler,
    pub doc: Doc,
}

/// What the documentation says of an operation, and its function's sample request.
#[derive(Debug, Clone, Copy)]
pub struct Doc {
    pub summary: &'static str,
    /// Query parameters: name, spec (`openapi::shapes::param`), description.
    pub query: &'static [(&'static str, &'static str, &'static str)],
    pub body: Option<Make>,
    /// The status of success.
    pub status: u16,
    pub response: Option<Make>,
    /// The function's sample request, path (with query) and JSON body: events/<function>.json
    /// is generated from it. On one route of each function.
    pub sample: Option<(&'static str, Option<&'static str>)>,
}

const NO_DOC: Doc = Doc { summary: "", query: &[], body: None, status: 200, response: None, sample: None };

/// Who may call a route (docs/security.md). Chat rules also need the chat to be the
/// caller's: a chat token only for its own chat, an agent as a participant of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed.
    Open,
    /// Any agent.
    Agent,
    /// An agent acting on its own user id (`{userId}` is the caller).
    OwnUser,
    /// Anyone in the chat who has not left; agents also while it waits in the queue.
    ChatRead,
    /// Active Owners and Participants and the chat's customer.
    ChatPost,
    /// Active agents who may post (Owners and Participants).
    ChatContribute,
    /// The chat's active Owner.
    ChatManage,
    /// The chatter itself (a customer or agent acting on its own participation).
    ChatSelf,
    /// An agent acting on its own participation (declining an invitation).
    AgentSelf,
    /// Any agent, on a chat that exists (its own flags).
    ChatAgent,
    /// An agent who may read the chat (setting its own flag on it).
    ChatReadAgent,
    /// An agent with the `admin` role (webhook management: an export of every event).
    Admin,
    /// A chat token (the widget's session).
    ChatToken,
}

const fn route(
    method: &'static str,
    path: &'static str,
    function: &'static str,
    access: Access,
    handler: Handler,
) -> Route {
    Route { method, path, function, operation: function, access, handler, doc: NO_DOC }
}

impl Route {
    /// Names the operation of a function's second (third ...) route.
    const fn named(self, operation: &'static str) -> Route {
        Route { operation, ..self }
    }

    const fn doc(
        self,
        summary: &'static str,
        query: &'static [(&'static str, &'static str, &'static str)],
        body: Option<Make>,
        status: u16,
        response: Option<Make>,
    ) -> Route {
        Route { doc: Doc { summary, query, body, status, response, sample: self.doc.sample }, ..self }
    }

    const fn sample(self, path: &'static str, body: Option<&'static str>) -> Route {
        Route { doc: Doc { sample: Some((path, body)), ..self.doc }, ..self }
    }
}

// Code generators need unique operationIds; a duplicate stops the build here.
const _: () = assert!(operations_are_unique(ROUTES), "two routes share an operation name");

// Const evaluation: an out-of-bounds index would be a compile error, never a panic at run time.
#[allow(clippy::indexing_slicing)]
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[allow(clippy::indexing_slicing)]
const fn operations_are_unique(routes: &[Route]) -> bool {
    let mut i = 0;
    while i < routes.len() {
        let mut j = i + 1;
        while j < routes.len() {
            if same(routes[i].operation, routes[j].operation) {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

/// Functions triggered by something other than an HTTP request, with their event source.
pub const EVENT_FUNCTIONS: &[(&str, &str)] = &[
    ("cleanup-cron", "Schedule"),
    ("event-publisher", "DynamoDB"),
    ("socket-push", "DynamoDB"),
    ("webhook-dispatcher", "SQS"),
];

/// The token keys `function` needs, from its routes: chat keys on every route (a chat token
/// must be recognised to be refused with a 403, and chat-add and participant-add sign
/// them), agent keys on every route an agent may call, the identity key where an identity
/// token is read. Functions without routes need none. template.yaml grants each function
/// exactly these (a test checks).
pub fn keys_needed(function: &str) -> Vec<crate::secrets::TokenKey> {
    let routes: Vec<Route> = ROUTES.iter().filter(|r| r.function == function).copied().collect();
    keys_of(function, &routes)
}

/// [`keys_needed`] from the function's own routes (a Lambda function's [`FunctionRoutes`]).
pub fn keys_of(function: &str, routes: &[Route]) -> Vec<crate::secrets::TokenKey> {
    use crate::secrets::TokenKey;
    let mut keys = Vec::new();
    if routes.iter().any(|r| r.access != Access::ChatToken) {
        keys.push(TokenKey::Agent);
    }
    if !routes.is_empty() {
        keys.push(TokenKey::Chat);
    }
    if function == "chat-add" {
        keys.push(TokenKey::Identity);
    }
    // A socket opens with an agent's or a chat's token.
    if function == "socket-connect" {
        keys.extend([TokenKey::Agent, TokenKey::Chat]);
    }
    keys
}

/// The caller, if `access` admits it: the token is verified, and the coarse rule that needs
/// no state (an agent; its own user id; a chat token for its own chat) is checked here, in
/// one place, for every route.
pub fn admit(access: Access, req: &Request, auth: &crate::config::AuthConfig) -> Result<Option<Identity>, ApiError> {
    if access == Access::Open {
        return crate::auth::authenticate_optional(req, auth);
    }
    let ident = crate::auth::authenticate(req, auth)?;
    let agent_only = matches!(
        access,
        Access::Agent
            | Access::OwnUser
            | Access::AgentSelf
            | Access::ChatAgent
            | Access::ChatReadAgent
            | Access::Admin
            | Access::ChatContribute
            | Access::ChatManage
    );
    if let Some(chat_id) = req.params.get("chatId") {
        ident.require_chat(chat_id)?;
    }
    if agent_only {
        ident.require_agent()?;
    }
    match access {
        Access::OwnUser if req.params.get("userId").is_some_and(|u| u != ident.chatter_id()) => {
            Err(ApiError::forbidden("agents act only on their own user id"))
        }
        Access::ChatToken if ident.is_agent() => Err(ApiError::forbidden("this operation takes a chat token")),
        Access::Admin if !ident.is_admin() => Err(ApiError::forbidden("this operation needs the admin role")),
        _ => Ok(Some(ident)),
    }
}

/// The route `function` serves for this request's method (a function's routes that share
/// a method share their access rule: a unit test checks it).
fn route_of(function: &str, method: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.function == function && r.method.eq_ignore_ascii_case(method))
}

/// Admits the caller by the route's access rule, then calls the handler of `function`.
pub async fn dispatch(app: &App, function: &str, req: Request) -> HandlerResult {
    let route = route_of(function, &req.method).copied();
    call(app, route, req).await
}

async fn call(app: &App, route: Option<Route>, mut req: Request) -> HandlerResult {
    let route = route.ok_or_else(|| ApiError::not_found("no such operation"))?;
    if let Some(token) = req.bearer_token() {
        app.config.auth.agent_keys.refresh_for(token).await;
    }
    req.caller = admit(route.access, &req, &app.config.auth)?;
    (route.handler)(app, req).await
}

/// The most routes one function serves (`chat-files`); [`of`] refuses more at compile time.
const MOST_ROUTES: usize = 3;

/// One function's routes, copied out of [`ROUTES`] by [`of`] when the function compiles.
/// A Lambda function serves through this copy and never reads [`ROUTES`] at run time, so its
/// binary links its own handlers only, not the forty others (a third of the size), and no
/// documentation (the copy leaves [`Doc`] out, and with it the schema code).
#[derive(Debug, Clone, Copy)]
pub struct FunctionRoutes {
    routes: [Route; MOST_ROUTES],
    len: usize,
}

/// The routes of `function`; evaluate it in a const (`const { of("chat-get") }`): a name
/// with no route, or more than [`MOST_ROUTES`], is then a compile error (the function mains
/// call it only in a const, which a test checks).
#[allow(clippy::indexing_slicing, clippy::panic)]
pub const fn of(function: &str) -> FunctionRoutes {
    let mut found: Option<FunctionRoutes> = None;
    let mut i = 0;
    while i < ROUTES.len() {
        if same(ROUTES[i].function, function) {
            found = Some(match found {
                None => FunctionRoutes { routes: [Route { doc: NO_DOC, ..ROUTES[i] }; MOST_ROUTES], len: 1 },
                Some(mut f) => {
                    assert!(f.len < MOST_ROUTES, "a function serves more routes than MOST_ROUTES");
                    f.routes[f.len] = Route { doc: NO_DOC, ..ROUTES[i] };
                    f.len += 1;
                    f
                }
            });
        }
        i += 1;
    }
    match found {
        Some(f) => f,
        None => panic!("no route has this function"),
    }
}

impl FunctionRoutes {
    pub fn routes(&self) -> &[Route] {
        self.routes.get(..self.len).unwrap_or_default()
    }

    pub fn function(&self) -> &'static str {
        let [first, ..] = &self.routes;
        first.function
    }

    /// [`dispatch`] among these routes only.
    pub async fn dispatch(&self, app: &App, req: Request) -> HandlerResult {
        let route = self.routes().iter().find(|r| r.method.eq_ignore_ascii_case(&req.method)).copied();
        call(app, route, req).await
    }
}

fn matches(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let mut params = HashMap::new();
    let mut want = template.trim_matches('/').split('/');
    let mut got = path.trim_matches('/').split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {
                params.insert(w[1..w.len() - 1].to_string(), percent_decode(g)?);
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

/// Decodes `%XX` in a path segment, as API Gateway does before filling path parameters.
pub fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// The route for a method and path, with its path parameters. `Err(405)` when the path
/// exists under another method, `Err(404)` when it does not exist.
pub fn find(method: &str, path: &str) -> Result<(Route, HashMap<String, String>), ApiError> {
    let mut path_exists = false;
    for r in ROUTES {
        if let Some(params) = matches(r.path, path) {
            if r.method.eq_ignore_ascii_case(method) {
                return Ok((*r, params));
            }
            path_exists = true;
        }
    }
    Err(if path_exists {
        ApiError::new(405, "method_not_allowed", format!("{method} is not allowed here"))
    } else {
        ApiError::not_found("no such route")
    })
}

/// Turns a handler's result into the response and logs one line for the request: route,
/// status, latency and chat id; never a token, a message text or a secret.
pub fn finish(
    route: &str,
    request_id: &str,
    chat_id: Option<&str>,
    started: Instant,
    result: HandlerResult,
) -> Response {
    let response = result.unwrap_or_else(ApiError::into_response);
    tracing::info!(
        request_id,
        route,
        status = response.status,
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        chat_id,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_parameters() {
        let (r, params) = find("GET", "/chats/abc").unwrap();
        assert_eq!(r.function, "chat-get");
        assert_eq!(params["chatId"], "abc");
        assert_eq!(find("PUT", "/chats/abc").unwrap_err().status, 405);
        assert_eq!(find("GET", "/nope").unwrap_err().status, 404);
        assert_eq!(find("GET", "/chats/a%23b").unwrap().1["chatId"], "a#b");
    }

    #[test]
    fn routes_of_one_function_and_method_share_their_access_rule() {
        for r in ROUTES {
            assert_eq!(
                route_of(r.function, r.method).map(|found| found.access),
                Some(r.access),
                "{} {}",
                r.method,
                r.path
            );
        }
    }

    #[test]
    fn each_function_serves_its_own_routes_of_the_table() {
        for r in ROUTES {
            let own = of(r.function);
            let table: Vec<&str> = ROUTES.iter().filter(|t| t.function == r.function).map(|t| t.operation).collect();
            let copied: Vec<&str> = own.routes().iter().map(|t| t.operation).collect();
            assert_eq!(copied, table, "{}", r.function);
            assert_eq!(own.function(), r.function);
            assert_eq!(keys_of(r.function, own.routes()), keys_needed(r.function));
        }
        // Event functions serve no route: their keys are read without the table.
        let events = EVENT_FUNCTIONS.iter().map(|(f, _)| *f).chain(crate::socket::ROUTES.iter().map(|(_, f)| *f));
        for function in events {
            assert!(ROUTES.iter().all(|r| r.function != function), "{function}");
            assert_eq!(keys_of(function, &[]), keys_needed(function));
        }
    }
}
