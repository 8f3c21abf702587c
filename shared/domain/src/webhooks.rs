//! The rules of `direct` webhook delivery, without I/O: Standard Webhooks signatures
//! (<https://www.standardwebhooks.com>), the retry schedule, and what a receiver's answer
//! means.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::model::{DeliveryOutcome, Format};

const SECRET_PREFIX: &str = "whsec_";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A signing secret from 32 random bytes: `whsec_` and their base64.
pub fn secret_from(random: &[u8; 32]) -> String {
    format!("{SECRET_PREFIX}{}", B64.encode(random))
}

/// The key bytes of a `whsec_` secret; `None` for a malformed one.
fn key_of(secret: &str) -> Option<Vec<u8>> {
    B64.decode(secret.strip_prefix(SECRET_PREFIX)?).ok().filter(|k| !k.is_empty())
}

/// One `v1,<base64>` signature: HMAC-SHA256 over `id.timestamp.body`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key_of(secret)?).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// The `webhook-signature` header: one signature per secret in force, space-separated
/// (during a rotation, the new secret's and the old one's).
pub fn signature_header(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    secrets.iter().filter_map(|s| sign(s, id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// The content type a receiver of `format` expects: LIVECHAT's RPC script reads form
/// fields; the other vocabularies are JSON.
pub fn content_type(format: Format) -> &'static str {
    match format {
        Format::Rpc => "application/x-www-form-urlencoded",
        Format::Native | Format::Notification => "application/json",
    }
}

/// What came of attempt `attempt` (1-based) given the receiver's status (`None`: no answer),
/// with `delays` the configured seconds before each retry.
pub fn outcome(status: Option<u16>, attempt: u32, delays: &[u64]) -> DeliveryOutcome {
    match status {
        Some(200..=299) => DeliveryOutcome::Delivered,
        Some(410) => DeliveryOutcome::Disabled,
        _ if retry_delay(attempt, delays).is_some() => DeliveryOutcome::Retrying,
        _ => DeliveryOutcome::DeadLettered,
    }
}

/// Seconds to wait before attempt `attempt + 1`, or `None` after the last one.
pub fn retry_delay(attempt: u32, delays: &[u64]) -> Option<u64> {
    delays.get(usize::try_from(attempt).ok()?.checked_sub(1)?).copied()
}

/// The default schedule: about three days in ten attempts, each wait longer than the last.
pub const DEFAULT_RETRY_DELAYS: &[u64] = &[5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 72_000];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_test_vector() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sig = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
        assert_eq!(sig.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
        assert_eq!(sign("no-prefix", "a", 1, "b"), None);
        let both = signature_header(&[secret, &secret_from(&[7; 32])], "a", 1, "b");
        assert_eq!(both.split(' ').count(), 2);
        assert!(secret_from(&[0; 32]).starts_with("whsec_"));
    }

    #[test]
    fn answers_decide_retries_and_the_dead_letter_queue() {
        let delays = [1, 2];
        assert_eq!(outcome(Some(204), 1, &delays), DeliveryOutcome::Delivered);
        assert_eq!(outcome(Some(410), 1, &delays), DeliveryOutcome::Disabled);
        assert_eq!(outcome(Some(500), 1, &delays), DeliveryOutcome::Retrying);
        assert_eq!(outcome(None, 2, &delays), DeliveryOutcome::Retrying);
        assert_eq!(outcome(Some(301), 3, &delays), DeliveryOutcome::DeadLettered);
        assert_eq!(retry_delay(1, &delays), Some(1));
        assert_eq!(retry_delay(3, &delays), None);
        assert_eq!(retry_delay(0, &delays), None);
        let days = DEFAULT_RETRY_DELAYS.iter().sum::<u64>() as f64 / 86_400.0;
        assert!((2.5..3.5).contains(&days), "{days}");
        assert!(DEFAULT_RETRY_DELAYS.windows(2).all(|w| w[0] <= w[1]));
    }
}
