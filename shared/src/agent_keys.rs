//! Agents' public keys from the identity provider's JWKS (RS256 and ES256 agent tokens, as
//! Cognito, Auth0, Okta or Entra ID sign them). Read by the environment's first agent token,
//! not at cold start: the fetch builds an HTTPS client on the system's trust store, about
//! 3 ms of init (docs/performance.md), which customers' requests need not wait for. Kept for
//! the environment's life; read again when a token names a key id the set lacks (the
//! provider rotated), at most once per `REFRESH_COOLDOWN`, so that made-up key ids cannot
//! turn every request into a fetch.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};

/// The shortest time between two fetches asked for by unknown key ids.
pub const REFRESH_COOLDOWN: Duration = Duration::from_secs(30);

/// How long a key set is trusted before the next agent token reads it again: a key the
/// provider withdrew (revoked, leaked) stops verifying within this, not at the end of an
/// execution environment's life.
pub const KEYS_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum AgentKeysError {
    #[error("agent keys from {url}: {reason}")]
    Fetch { url: String, reason: String },
}

#[derive(Debug, Default)]
pub struct AgentKeys {
    /// Where the provider publishes its keys; None: only keys given in-process (locally).
    url: Option<String>,
    set: RwLock<Vec<Jwk>>,
    /// When the set was last read from the provider.
    read_at: RwLock<Option<Instant>>,
    /// When an unknown key id last caused a fetch.
    last_refresh: tokio::sync::Mutex<Option<Instant>>,
}

impl AgentKeys {
    pub fn new(url: Option<String>) -> Self {
        AgentKeys { url, ..Default::default() }
    }

    /// Keys known without a fetch (the local server's own issuer).
    pub fn install(&self, keys: JwkSet) {
        if let Ok(mut set) = self.set.write() {
            *set = keys.keys;
        }
    }

    /// The key a token names, if the set has it.
    pub fn find(&self, kid: &str) -> Option<Jwk> {
        let set = self.set.read().ok()?;
        set.iter().find(|k| k.common.key_id.as_deref() == Some(kid)).cloned()
    }

    /// Reads the set from the provider (first agent token, and rotation).
    pub async fn fetch(&self) -> Result<(), AgentKeysError> {
        let Some(url) = &self.url else { return Ok(()) };
        let failed = |reason: String| AgentKeysError::Fetch { url: url.clone(), reason };
        // Keys over plain http could be swapped on the way: https, or this machine's own.
        let parsed = url::Url::parse(url).map_err(|e| failed(e.to_string()))?;
        let loopback = match parsed.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
            return Err(failed("a JWKS URL must be https".into()));
        }
        let client =
            reqwest::Client::builder().timeout(Duration::from_secs(5)).build().map_err(|e| failed(e.to_string()))?;
        let response = client.get(url).send().await.map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("status {}", response.status())));
        }
        let bytes = response.bytes().await.map_err(|e| failed(e.to_string()))?;
        let body: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| failed(e.to_string()))?;
        // One key this crate cannot read (an encryption key, a new key type) must not hide
        // the others: each is read on its own.
        let keys: Vec<Jwk> = body
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| failed("no \"keys\" array".into()))?
            .iter()
            .filter_map(|k| serde_json::from_value(k.clone()).ok())
            .collect();
        self.install(JwkSet { keys });
        if let Ok(mut at) = self.read_at.write() {
            *at = Some(Instant::now());
        }
        Ok(())
    }

    /// Whether the set was read longer than KEYS_TTL ago (or never).
    fn stale(&self) -> bool {
        self.read_at.read().map_or(true, |at| at.is_none_or(|at| at.elapsed() >= KEYS_TTL))
    }

    /// Fetches the set again if `token` is signed with a key id it lacks, unless an unknown
    /// key id caused a fetch less than `REFRESH_COOLDOWN` ago. Never fails: a token that
    /// still names no known key is refused by the verification that follows.
    pub async fn refresh_for(&self, token: &str) {
        if self.url.is_none() {
            return;
        }
        let Some(kid) = jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid) else { return };
        if self.find(&kid).is_some() && !self.stale() {
            return;
        }
        let mut last = self.last_refresh.lock().await;
        if last.is_some_and(|at| at.elapsed() < REFRESH_COOLDOWN) {
            return;
        }
        // The environment's first read is not a rotation's: it starts no cool-down, so a
        // rotation soon after still gets its read. A failed read, or one that found no
        // usable key, does start one.
        let first = self.set.read().map_or(true, |set| set.is_empty());
        match self.fetch().await {
            Ok(()) if first && self.set.read().is_ok_and(|set| !set.is_empty()) => {}
            Ok(()) => *last = Some(Instant::now()),
            Err(e) => {
                *last = Some(Instant::now());
                tracing::warn!(error = %e, "agent keys not read");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_come_over_https_or_from_this_machine_only() {
        let plain = AgentKeys::new(Some("http://idp.example/.well-known/jwks.json".into()));
        let refused = plain.fetch().await.unwrap_err().to_string();
        assert!(refused.contains("must be https"), "{refused}");
        // A loopback URL is this machine's own provider (the local server's): it is read
        // (and fails here only because nothing listens there).
        let local = AgentKeys::new(Some("http://127.0.0.1:9/.well-known/jwks.json".into()));
        assert!(!local.fetch().await.unwrap_err().to_string().contains("must be https"));
        assert!(local.stale(), "a set never read is read by the next token");
    }
}
