//! Token keys from Secrets Manager, read once at cold start by the functions that verify or
//! sign tokens (the only Secrets Manager code). A function's configuration names the secrets
//! (`*_SECRET_ID`), never holds them; only the functions the route table says need a key
//! may read it (template.yaml; a test checks both agree).

use crate::config::{parse_keys, AuthConfig, ConfigError};

/// The token keys a function uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKey {
    /// Agent tokens (HS256).
    Agent,
    /// Chat tokens: verified on every chat route, signed when a chat or customer is added.
    Chat,
    /// Customer identity tokens, signed by the site's own backend.
    Identity,
}

impl TokenKey {
    /// The variable naming the key's secret.
    pub fn secret_id_variable(self) -> &'static str {
        match self {
            TokenKey::Agent => "AGENT_TOKEN_SECRET_ID",
            TokenKey::Chat => "CHAT_TOKEN_SECRET_ID",
            TokenKey::Identity => "CUSTOMER_IDENTITY_SECRET_ID",
        }
    }

    fn slot(self, auth: &mut AuthConfig) -> &mut Vec<String> {
        match self {
            TokenKey::Agent => &mut auth.agent_secrets,
            TokenKey::Chat => &mut auth.chat_secrets,
            TokenKey::Identity => &mut auth.identity_secrets,
        }
    }
}

/// The secrets the environment names for `keys` (a key whose variable is unset keeps what
/// the environment itself gave: locally, the keys).
pub fn ids_from_env(keys: &[TokenKey]) -> Vec<(TokenKey, String)> {
    keys.iter()
        .filter_map(|k| std::env::var(k.secret_id_variable()).ok().filter(|v| !v.is_empty()).map(|id| (*k, id)))
        .collect()
}

/// Reads each key from its secret, all at once.
pub async fn load(
    client: &aws_sdk_secretsmanager::Client,
    ids: &[(TokenKey, String)],
    auth: &mut AuthConfig,
) -> Result<(), ConfigError> {
    let values = futures_util::future::join_all(ids.iter().map(|(_, id)| fetch(client, id))).await;
    for ((key, id), value) in ids.iter().zip(values) {
        *key.slot(auth) = parse_keys(id, &value?)?;
    }
    Ok(())
}

/// One secret's string value.
pub async fn fetch(client: &aws_sdk_secretsmanager::Client, id: &str) -> Result<String, ConfigError> {
    let out = client.get_secret_value().secret_id(id).send().await.map_err(|e| {
        ConfigError(format!("secret {id}: {}", aws_smithy_types::error::display::DisplayErrorContext(&e)))
    })?;
    out.secret_string().map(str::to_string).ok_or_else(|| ConfigError(format!("secret {id} has no string value")))
}

/// The Secrets Manager client; `SECRETS_ENDPOINT` points it at an emulator.
pub fn client(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> aws_sdk_secretsmanager::Client {
    let mut builder = aws_sdk_secretsmanager::config::Builder::from(sdk);
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    aws_sdk_secretsmanager::Client::from_conf(builder.build())
}
