//! The local identity provider's sign-in, at the paths of Cognito's hosted pages
//! (`/oauth2/authorize`, `/oauth2/token`): the authorization code flow with PKCE (RFC 7636,
//! S256 only) for a public client, so that the console signs in locally exactly as it
//! does against a user pool. There is no password: the page asks who to be, and whether
//! as an administrator.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use shared::http::Response;
use shared::App;

use crate::{idp, parse_query};

/// How long a code may wait to be redeemed.
const CODE_TTL: Duration = Duration::from_secs(300);

struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    user_id: String,
    name: String,
    /// Whether the person signed in as an administrator (the `admin` group).
    admin: bool,
    issued: Instant,
}

fn grants() -> &'static Mutex<HashMap<String, Grant>> {
    static GRANTS: std::sync::OnceLock<Mutex<HashMap<String, Grant>>> = std::sync::OnceLock::new();
    GRANTS.get_or_init(Default::default)
}

/// RFC 6749's error answer.
fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    let mut r = Response::ok(&json!({ "error": error, "error_description": description }));
    r.status = status;
    r
}

fn html(body: String) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type", "text/html; charset=utf-8".into()), ("cache-control", "no-store".into())],
        body: body.into_bytes(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A redirect back to this machine: parsed, not prefix-matched, so that
/// `http://localhost:@evil.example/` (user info, then another host) is not one.
pub fn is_loopback_redirect(redirect: &str) -> bool {
    let Ok(url) = url::Url::parse(redirect) else { return false };
    let host = matches!(url.host(), Some(url::Host::Domain("localhost")))
        || matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback());
    url.scheme() == "http" && host && url.username().is_empty() && url.password().is_none()
}

/// The request's parameters, checked as an authorization server checks them before it
/// shows anything: this deployment's client, a loopback redirect, a code challenge (S256).
fn checked(app: &App, params: &HashMap<String, String>) -> Result<(), Response> {
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != app.config.auth.agent_audience {
        return Err(oauth_error(400, "invalid_client", "unknown client_id"));
    }
    if !is_loopback_redirect(get("redirect_uri")) {
        return Err(oauth_error(400, "invalid_request", "redirect_uri must be this machine's"));
    }
    if get("response_type") != "code" {
        return Err(oauth_error(400, "unsupported_response_type", "response_type is code"));
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").len() != 43 {
        return Err(oauth_error(400, "invalid_request", "PKCE with S256 is required"));
    }
    Ok(())
}

/// `GET /oauth2/authorize`: the sign-in page, carrying the request on.
pub fn authorize_page(app: &App, query: &HashMap<String, String>) -> Response {
    if let Err(refused) = checked(app, query) {
        return refused;
    }
    let hidden: String =
        ["client_id", "redirect_uri", "response_type", "state", "code_challenge", "code_challenge_method"]
            .iter()
            .map(|k| {
                let v = query.get(*k).map(String::as_str).unwrap_or_default();
                format!(r#"<input type="hidden" name="{k}" value="{}">"#, escape(v))
            })
            .collect();
    html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title>
<link rel="stylesheet" href="/web/style.css"></head><body><main>
<form class="card" method="post" action="/oauth2/authorize"><h1>Sign in (local identity provider)</h1>{hidden}
<div class="row"><div><label for="user-id">User id</label><input id="user-id" name="user_id" required></div>
<div><label for="user-name">Name</label><input id="user-name" name="name"></div>
<div><label for="admin">Administrator</label><input id="admin" name="admin" type="checkbox" value="1"></div>
<button type="submit">Continue</button></div></form></main></body></html>"#
    ))
}

/// `POST /oauth2/authorize`: who the person chose to be; a single-use code back to the client.
pub fn authorize(app: &App, body: &[u8]) -> Response {
    let form = parse_query(&String::from_utf8_lossy(body));
    if let Err(refused) = checked(app, &form) {
        return refused;
    }
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let user_id = get("user_id");
    if shared::domain::validate::id("user_id", &user_id).is_err() {
        return oauth_error(400, "invalid_request", "a user id is needed");
    }
    let name = Some(get("name")).filter(|n| !n.trim().is_empty()).unwrap_or_else(|| user_id.clone());
    let code = uuid::Uuid::new_v4().simple().to_string();
    let redirect_uri = get("redirect_uri");
    let grant = Grant {
        client_id: get("client_id"),
        redirect_uri: redirect_uri.clone(),
        challenge: get("code_challenge"),
        user_id,
        name,
        admin: get("admin") == "1",
        issued: Instant::now(),
    };
    if let Ok(mut grants) = grants().lock() {
        grants.retain(|_, g| g.issued.elapsed() < CODE_TTL);
        grants.insert(code.clone(), grant);
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let state = percent_encoding::utf8_percent_encode(&get("state"), percent_encoding::NON_ALPHANUMERIC).to_string();
    Response {
        status: 302,
        headers: vec![("location", format!("{redirect_uri}{separator}code={code}&state={state}"))],
        body: Vec::new(),
    }
}

/// `POST /oauth2/token`: the code, redeemed once, by the client it was issued to, with the
/// verifier whose SHA-256 is the challenge; the answer is an ID token for the console.
pub fn token(app: &App, body: &[u8]) -> Response {
    let form = parse_query(&String::from_utf8_lossy(body));
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("grant_type") != "authorization_code" {
        return oauth_error(400, "unsupported_grant_type", "grant_type is authorization_code");
    }
    let grant = grants().lock().ok().and_then(|mut g| g.remove(get("code")));
    let Some(grant) = grant.filter(|g| g.issued.elapsed() < CODE_TTL) else {
        return oauth_error(400, "invalid_grant", "unknown, used or expired code");
    };
    let verifier = get("code_verifier");
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    if grant.client_id != get("client_id") || grant.redirect_uri != get("redirect_uri") || challenge != grant.challenge
    {
        return oauth_error(400, "invalid_grant", "the code was not issued for this client, redirect or verifier");
    }
    let now = app.clock.epoch_secs();
    let ttl = 3600;
    // Cognito puts a user's groups in `cognito:groups`; `admin` is the group the API knows.
    let groups: &[&str] = if grant.admin { &["admin"] } else { &[] };
    let claims = json!({
        "sub": grant.user_id, "name": grant.name, "token_use": "id", "aud": grant.client_id, "cognito:groups": groups,
    });
    match idp::issuer().and_then(|i| i.agent_token(jsonwebtoken::Algorithm::ES256, &app.config.auth, now, ttl, claims))
    {
        Ok(id_token) => {
            let mut r = Response::ok(&json!({ "id_token": id_token, "token_type": "Bearer", "expires_in": ttl }));
            r.headers.push(("cache-control", "no-store".into()));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "no local identity provider");
            oauth_error(503, "temporarily_unavailable", "the local identity provider has no key")
        }
    }
}

#[cfg(test)]
mod redirect_tests {
    use super::is_loopback_redirect;

    #[test]
    fn a_redirect_is_this_machines_by_its_parsed_host() {
        assert!(is_loopback_redirect("http://127.0.0.1:3000/agent"));
        assert!(is_loopback_redirect("http://localhost:3000/agent"));
        for bad in [
            "http://localhost:@evil.example/",
            "http://127.0.0.1:3000@evil.example/",
            "https://evil.example/",
            "http://127.0.0.1.evil.example/",
            "javascript:x",
        ] {
            assert!(!is_loopback_redirect(bad), "{bad}");
        }
    }
}
