//! The local identity provider: an ES256 and an RS256 signing key made at start, their
//! public halves served as a JWKS at `/.well-known/jwks.json`, and agent tokens signed
//! with them by `/dev/tokens`, so that locally (and in the tests) agents go through the
//! same asymmetric verification as tokens from Cognito or any OIDC provider in AWS.

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

pub struct Issuer {
    es256: EncodingKey,
    rs256: EncodingKey,
    jwks: Value,
}

pub const ES256_KID: &str = "local-es256";
pub const RS256_KID: &str = "local-rs256";

/// The process's one issuer (its keys are made on first use).
pub fn issuer() -> Result<&'static Issuer, String> {
    static ISSUER: OnceLock<Result<Issuer, String>> = OnceLock::new();
    ISSUER.get_or_init(Issuer::generate).as_ref().map_err(|e| format!("local identity provider: {e}"))
}

impl Issuer {
    fn generate() -> Result<Issuer, String> {
        let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|e| e.to_string())?;
        let ec_pkcs8 = ec.to_pkcs8v1().map_err(|e| e.to_string())?;
        // The public point, uncompressed: 0x04, then x and y.
        let point = ec.public_key().as_ref();
        let (x, y) = point.get(1..).ok_or("empty public key")?.split_at(32);
        let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(|e| e.to_string())?;
        let rsa_pkcs8 = rsa.as_der().map_err(|e| e.to_string())?;
        let public = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(rsa.public_key());
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        Ok(Issuer {
            es256: EncodingKey::from_ec_der(ec_pkcs8.as_ref()),
            rs256: EncodingKey::from_rsa_der(pkcs1_of(rsa_pkcs8.as_ref()).ok_or("RSA key encoding")?),
            jwks: json!({"keys": [
                {"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y), "kid": ES256_KID, "alg": "ES256", "use": "sig"},
                {"kty": "RSA", "n": b64(&public.n), "e": b64(&public.e), "kid": RS256_KID, "alg": "RS256", "use": "sig"},
            ]}),
        })
    }

    /// The public keys, as `/.well-known/jwks.json` serves them.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    pub fn key_set(&self) -> JwkSet {
        serde_json::from_value(self.jwks.clone()).unwrap_or(JwkSet { keys: vec![] })
    }

    /// An agent token: `claims` (`sub`, `name`, `roles` ...) over this deployment's issuer and
    /// audience, issued `now` for `ttl` seconds; a claim given overrides these.
    pub fn agent_token(
        &self,
        alg: Algorithm,
        auth: &shared::config::AuthConfig,
        now: i64,
        ttl: i64,
        claims: Value,
    ) -> Result<String, String> {
        let mut all = json!({"iss": auth.agent_issuer, "aud": auth.agent_audience, "iat": now, "exp": now + ttl});
        if let (Some(all), Some(given)) = (all.as_object_mut(), claims.as_object()) {
            all.extend(given.clone());
        }
        self.sign(alg, &all)
    }

    /// Signs `claims` with the key of `alg` (ES256 or RS256).
    pub fn sign(&self, alg: Algorithm, claims: &Value) -> Result<String, String> {
        let (key, kid) = match alg {
            Algorithm::ES256 => (&self.es256, ES256_KID),
            Algorithm::RS256 => (&self.rs256, RS256_KID),
            other => return Err(format!("the local identity provider does not sign {other:?}")),
        };
        let mut header = Header::new(alg);
        header.kid = Some(kid.into());
        encode(&header, claims, key).map_err(|e| e.to_string())
    }
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo`. Written by hand because
/// aws-lc-rs exports RSA keys only as PKCS#8 and jsonwebtoken's aws-lc backend signs only
/// with PKCS#1; the structure is fixed (RFC 5208): SEQUENCE { INTEGER version,
/// AlgorithmIdentifier, OCTET STRING privateKey }.
fn pkcs1_of(pkcs8: &[u8]) -> Option<&[u8]> {
    let (tag, info, _) = der(pkcs8)?;
    if tag != 0x30 {
        return None;
    }
    let (_, _, rest) = der(info)?; // version
    let (_, _, rest) = der(rest)?; // algorithm
    let (tag, key, _) = der(rest)?;
    (tag == 0x04).then_some(key)
}

/// One DER element: its tag, its content and what follows it.
fn der(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        let (len_bytes, rest) = (rest.get(..n)?, rest.get(n..)?);
        (len_bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)), rest)
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_both_keys_verify_against_the_served_set() {
        let issuer = issuer().unwrap();
        let set = issuer.key_set();
        assert_eq!(set.keys.len(), 2);
        for alg in [Algorithm::ES256, Algorithm::RS256] {
            let token = issuer.sign(alg, &json!({"sub": "ann", "exp": 4_000_000_000u64})).unwrap();
            let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
            let key = jsonwebtoken::DecodingKey::from_jwk(set.find(&kid).unwrap()).unwrap();
            let mut v = jsonwebtoken::Validation::new(alg);
            v.required_spec_claims.clear();
            v.validate_aud = false;
            assert!(jsonwebtoken::decode::<Value>(&token, &key, &v).is_ok(), "{alg:?}");
        }
    }
}
