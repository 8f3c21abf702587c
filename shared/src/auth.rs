//! Who is calling. Agents carry a JWT from the organisation's issuer; customers and
//! visitors carry the chat token that `POST /chats` gave them, scoped to one chat and
//! one chatter. See docs/security.md.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::AuthConfig;
use crate::domain::caller::Identity;
use crate::domain::model::ChatterType;
use crate::error::ApiError;
use crate::http::Request;

/// Issuer and audience of the chat tokens this service signs itself.
pub const CHAT_TOKEN_ISSUER: &str = "livechat";
pub const CHAT_TOKEN_AUDIENCE: &str = "livechat-chat";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    iss: String,
    aud: String,
    exp: i64,
    iat: i64,
    /// Chat tokens only: the chat and the chatter type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chat: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ctype: Option<ChatterType>,
    /// Agent tokens only: the agent's roles (`admin`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    roles: Vec<String>,
}

/// What an agent token says, whoever signed it: the development issuer (HS256) or an
/// identity provider (Cognito names its groups `cognito:groups` and its user name
/// `cognito:username`; either names the agent when `name` is absent).
#[derive(Debug, Deserialize)]
struct AgentClaims {
    sub: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "cognito:username")]
    username: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default, rename = "cognito:groups")]
    groups: Vec<String>,
    #[serde(default)]
    iat: Option<i64>,
    exp: i64,
}

/// The longest life of an HS256 agent token (the shared key's): a holder of the key must
/// not mint a token that outlives every rotation.
pub const MAX_SHARED_KEY_TOKEN_SECS: i64 = 12 * 3600;

impl AgentClaims {
    fn into_identity(self) -> Identity {
        let name = self.name.or(self.username).or(self.email).unwrap_or_else(|| self.sub.clone());
        let mut roles = self.roles;
        roles.extend(self.groups);
        Identity::Agent { user_id: self.sub, name, roles }
    }
}

/// The algorithms an identity provider's keys may sign agent tokens with. HMAC is not
/// among them: a public key must never serve as a shared secret.
const PROVIDER_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut v = Validation::new(algorithm);
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.leeway = 30;
    v
}

fn verify<T: serde::de::DeserializeOwned>(token: &str, secrets: &[String], validation: &Validation) -> Option<T> {
    secrets
        .iter()
        .find_map(|s| decode::<T>(token, &DecodingKey::from_secret(s.as_bytes()), validation).ok())
        .map(|data| data.claims)
}

/// An agent token signed by the identity provider: verified with the key its `kid` names,
/// and only with the algorithm that key is for.
fn provider_claims(token: &str, header: &jsonwebtoken::Header, config: &AuthConfig) -> Option<AgentClaims> {
    if !PROVIDER_ALGORITHMS.contains(&header.alg) {
        return None;
    }
    let jwk = config.agent_keys.find(header.kid.as_deref()?)?;
    if jwk.common.key_algorithm.is_some_and(|a| a.to_string() != format!("{:?}", header.alg))
        || matches!(jwk.common.public_key_use, Some(jsonwebtoken::jwk::PublicKeyUse::Encryption))
    {
        return None;
    }
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    let v = validation(header.alg, &config.agent_issuer, &config.agent_audience);
    decode::<AgentClaims>(token, &key, &v).ok().map(|d| d.claims)
}

fn sign(claims: &Claims, secret: &str) -> Result<String, ApiError> {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes())).map_err(|e| {
        tracing::error!(error = %e, "token signing failed");
        ApiError::internal()
    })
}

/// 401 for a missing, malformed, tampered or expired token.
pub fn authenticate(req: &Request, config: &AuthConfig) -> Result<Identity, ApiError> {
    let token = req.bearer_token().ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
    identify(token, config).ok_or_else(|| ApiError::unauthorized("invalid or expired token"))
}

/// The caller if it sent a token; `Ok(None)` if it sent none (the widget's entry point).
pub fn authenticate_optional(req: &Request, config: &AuthConfig) -> Result<Option<Identity>, ApiError> {
    if req.header("authorization").is_none() {
        return Ok(None);
    }
    authenticate(req, config).map(Some)
}

/// Who a token names: a chat token's chatter or an agent; None if it does not verify.
/// HS256 tokens are this service's chat tokens or development agent tokens; any other
/// algorithm is an identity provider's agent token (see `agent_keys`).
pub fn identify(token: &str, config: &AuthConfig) -> Option<Identity> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::HS256 {
        return provider_claims(token, &header, config).map(AgentClaims::into_identity);
    }
    let chat = validation(Algorithm::HS256, CHAT_TOKEN_ISSUER, CHAT_TOKEN_AUDIENCE);
    if let Some(c) = verify::<Claims>(token, &config.chat_secrets, &chat) {
        let chatter_type = c.ctype.filter(|t| t.is_customer())?;
        return Some(Identity::Chatter {
            chat_id: c.chat?,
            chatter_id: c.sub,
            chatter_type,
            name: c.name.unwrap_or_default(),
        });
    }
    // The shared agent key (off where an identity provider is configured: AgentSharedKey):
    // its tokens say when they were made and live at most MAX_SHARED_KEY_TOKEN_SECS.
    let mut agent = validation(Algorithm::HS256, &config.agent_issuer, &config.agent_audience);
    agent.set_required_spec_claims(&["exp", "iss", "aud", "sub", "iat"]);
    verify::<AgentClaims>(token, &config.agent_secrets, &agent)
        .filter(|c| c.iat.is_some_and(|iat| c.exp - iat <= MAX_SHARED_KEY_TOKEN_SECS))
        .map(AgentClaims::into_identity)
}

/// The longest life of a customer identity token.
pub const MAX_IDENTITY_TOKEN_SECS: i64 = 24 * 3600;

/// Audience of the identity tokens a site's backend signs for its logged-in customers
/// ("identity verification"): `sub` is the customer id, `name` its display name.
pub const IDENTITY_AUDIENCE: &str = "livechat-identity";

/// A verified customer: its id and name, from an identity token signed with one of
/// `identity_secrets`; None if the token does not verify (or none is configured).
pub fn verify_identity(token: &str, config: &AuthConfig) -> Option<(String, Option<String>)> {
    let mut v = Validation::new(Algorithm::HS256);
    v.set_audience(&[IDENTITY_AUDIENCE]);
    v.set_required_spec_claims(&["exp", "aud", "sub", "iat"]);
    v.leeway = 30;
    // A site signs one for a page view: it says when, and lives a day at most.
    verify::<Claims>(token, &config.identity_secrets, &v)
        .filter(|c| c.exp - c.iat <= MAX_IDENTITY_TOKEN_SECS)
        .map(|c| (c.sub, c.name))
}

/// An identity token, as a site's backend signs it (tests, and the local demo).
pub fn issue_identity_token(
    secret: &str,
    customer_id: &str,
    name: Option<&str>,
    now: i64,
    ttl_secs: i64,
) -> Result<String, ApiError> {
    let claims = Claims {
        sub: customer_id.into(),
        name: name.map(str::to_string),
        iss: String::new(),
        aud: IDENTITY_AUDIENCE.into(),
        exp: now + ttl_secs,
        iat: now,
        chat: None,
        ctype: None,
        roles: vec![],
    };
    sign(&claims, secret)
}

/// The token a customer or visitor uses for its chat.
pub fn issue_chat_token(
    config: &AuthConfig,
    chat_id: &str,
    chatter_id: &str,
    chatter_type: ChatterType,
    name: &str,
    now: i64,
) -> Result<String, ApiError> {
    let secret = config.chat_secrets.first().ok_or_else(ApiError::internal)?;
    let claims = Claims {
        sub: chatter_id.into(),
        name: Some(name.into()),
        iss: CHAT_TOKEN_ISSUER.into(),
        aud: CHAT_TOKEN_AUDIENCE.into(),
        exp: now + config.chat_token_ttl_secs,
        iat: now,
        chat: Some(chat_id.into()),
        ctype: Some(chatter_type),
        roles: vec![],
    };
    sign(&claims, secret)
}

/// An agent token as the organisation's issuer would sign it. Used by the local server's
/// `/dev/tokens` and by tests; never routed in template.yaml.
pub fn issue_agent_token(
    config: &AuthConfig,
    user_id: &str,
    name: &str,
    roles: &[&str],
    now: i64,
    ttl_secs: i64,
) -> Result<String, ApiError> {
    let secret = config.agent_secrets.first().ok_or_else(ApiError::internal)?;
    let claims = Claims {
        sub: user_id.into(),
        name: Some(name.into()),
        iss: config.agent_issuer.clone(),
        aud: config.agent_audience.clone(),
        exp: now + ttl_secs,
        iat: now,
        chat: None,
        ctype: None,
        roles: roles.iter().map(|r| r.to_string()).collect(),
    };
    sign(&claims, secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AuthConfig {
        AuthConfig {
            agent_secrets: vec!["a".repeat(32)],
            agent_issuer: "iss".into(),
            agent_audience: "aud".into(),
            chat_secrets: vec!["c".repeat(32), "old".repeat(11)],
            chat_token_ttl_secs: 60,
            identity_secrets: vec!["i".repeat(32)],
            agent_keys: Default::default(),
        }
    }

    #[test]
    fn a_shared_key_agent_token_says_when_it_was_made_and_lives_twelve_hours_at_most() {
        let c = config();
        let now = chrono::Utc::now().timestamp();
        let ok = issue_agent_token(&c, "ann", "Ann", &["admin"], now, 3600).unwrap();
        assert!(identify(&ok, &c).is_some());
        let decade = issue_agent_token(&c, "ghost", "Ops", &["admin"], now, 10 * 365 * 86400).unwrap();
        assert!(identify(&decade, &c).is_none(), "a token for ten years");
        let claims =
            serde_json::json!({"sub": "ghost", "iss": "iss", "aud": "aud", "exp": now + 600, "roles": ["admin"]});
        let no_iat =
            encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret("a".repeat(32).as_bytes()))
                .unwrap();
        assert!(identify(&no_iat, &c).is_none(), "no iat");
    }

    #[test]
    fn an_identity_token_lives_a_day_at_most() {
        let c = config();
        let now = chrono::Utc::now().timestamp();
        let secret = "i".repeat(32);
        let day = issue_identity_token(&secret, "jdoe", None, now, 3600).unwrap();
        assert_eq!(verify_identity(&day, &c).map(|(id, _)| id).as_deref(), Some("jdoe"));
        let forever = issue_identity_token(&secret, "jdoe", None, now, 400 * 86400).unwrap();
        assert!(verify_identity(&forever, &c).is_none());
    }

    fn request(token: &str) -> Request {
        let mut r = Request::new("GET", "/");
        r.headers.insert("authorization".into(), format!("Bearer {token}"));
        r
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn agent_and_chat_tokens_are_told_apart() {
        let c = config();
        let agent = issue_agent_token(&c, "u1", "Ann", &[], now(), 60).unwrap();
        let chat = issue_chat_token(&c, "chat1", "v1", ChatterType::Public, "Vic", now()).unwrap();
        assert_eq!(
            authenticate(&request(&agent), &c).unwrap(),
            Identity::Agent { user_id: "u1".into(), name: "Ann".into(), roles: vec![] }
        );
        assert!(
            matches!(authenticate(&request(&chat), &c).unwrap(), Identity::Chatter { chat_id, .. } if chat_id == "chat1")
        );
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_401() {
        let c = config();
        let expired = issue_agent_token(&c, "u1", "Ann", &[], now() - 3600, 60).unwrap();
        assert_eq!(authenticate(&request(&expired), &c).unwrap_err().status, 401);
        let good = issue_agent_token(&c, "u1", "Ann", &[], now(), 60).unwrap();
        let mut tampered = good.clone();
        tampered.pop();
        tampered.push(if good.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(authenticate(&request(&tampered), &c).unwrap_err().status, 401);
        let mut other = c.clone();
        other.agent_secrets = vec!["x".repeat(32)];
        let foreign = issue_agent_token(&other, "u1", "Ann", &[], now(), 60).unwrap();
        assert_eq!(authenticate(&request(&foreign), &c).unwrap_err().status, 401);
        assert_eq!(authenticate(&Request::new("GET", "/"), &c).unwrap_err().status, 401);
    }

    #[test]
    fn a_rotated_out_chat_secret_still_verifies() {
        let c = config();
        let mut old = c.clone();
        old.chat_secrets.reverse();
        let token = issue_chat_token(&old, "chat1", "v1", ChatterType::Customer, "Vic", now()).unwrap();
        assert!(authenticate(&request(&token), &c).is_ok());
    }

    #[test]
    fn a_chat_token_cannot_pose_as_an_agent() {
        // Same secret for both kinds: the issuer and audience still keep them apart.
        let mut c = config();
        c.agent_secrets = c.chat_secrets.clone();
        c.agent_issuer = CHAT_TOKEN_ISSUER.into();
        let chat = issue_chat_token(&c, "chat1", "v1", ChatterType::Customer, "Vic", now()).unwrap();
        assert!(!authenticate(&request(&chat), &c).unwrap().is_agent());
    }
}
