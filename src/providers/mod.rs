//! The provider registry: the embedded whitelist (`providers.toml`), optionally extended or
//! overridden field by field by a `PROVIDERS_FILE`. Passed into the app as data, never global.

pub mod client;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::credentials::model::TokenType;

const EMBEDDED: &str = include_str!("providers.toml");

/// How the client credentials travel on a refresh request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// `client_id` and `client_secret` as form fields.
    Body,
    /// HTTP Basic with `client_id:client_secret`.
    Basic,
}

/// One provider as configured. Holds endpoint URLs; see `ProviderInfo` for what is public.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    #[serde(skip)]
    pub key: String,
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    pub token_types: Vec<TokenType>,
    pub env_var: String,
    #[serde(default)]
    pub token_lifetime: String,
    #[serde(default)]
    pub token_url: Option<String>,
    #[serde(default = "default_client_auth")]
    pub client_auth: ClientAuth,
    #[serde(default)]
    pub request_format: BodyFormat,
    /// How DELETE revokes a credential at the provider; `None`: it cannot.
    #[serde(default)]
    pub revoke: Option<RevokeSpec>,
    #[serde(default)]
    pub rotates_refresh_token: bool,
    /// Scope → label for a person.
    #[serde(default)]
    pub scopes: BTreeMap<String, String>,
}

/// Encoding of a request body sent to a provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    #[default]
    Form,
    Json,
    /// No body at all.
    None,
}

/// How a revocation request authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevokeAuth {
    None,
    /// The OAuth client's credentials, as `client_auth` says.
    Client,
    /// The access token itself, as `Authorization: Bearer`.
    Bearer,
}

/// Which stored token a revocation names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevokeToken {
    /// The refresh token (revoking it revokes the grant); the access token when there is none.
    Refresh,
    Access,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RevokeMethod {
    Post,
    Delete,
}

/// A provider's revocation endpoint and how to call it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeSpec {
    /// `{client_id}` is replaced by the client id.
    pub url: String,
    pub method: RevokeMethod,
    pub auth: RevokeAuth,
    pub format: BodyFormat,
    #[serde(default = "default_token_field")]
    pub token_field: String,
    pub token: RevokeToken,
}

fn default_token_field() -> String {
    "token".into()
}

fn default_client_auth() -> ClientAuth {
    ClientAuth::Body
}

impl Provider {
    pub fn supports(&self, token_type: TokenType) -> bool {
        self.token_types.contains(&token_type)
    }
}

/// What `GET /v2/providers` shows of a provider: no URLs, no client ids, no secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderInfo {
    #[schema(example = "google")]
    pub provider: String,
    #[schema(example = "Google Workspace")]
    pub display_name: String,
    pub description: String,
    pub token_types: Vec<TokenType>,
    /// The environment variable a client would export the access token as.
    #[schema(example = "GOG_ACCESS_TOKEN")]
    pub env_var: String,
    #[schema(example = "~1 hour")]
    pub token_lifetime: String,
    /// Whether tokenvault can refresh this provider's OAuth2 tokens.
    pub supports_refresh: bool,
    /// Whether deleting a credential revokes it at the provider.
    pub supports_revocation: bool,
    /// Scope → label.
    pub scope_labels: BTreeMap<String, String>,
}

impl From<&Provider> for ProviderInfo {
    fn from(p: &Provider) -> Self {
        ProviderInfo {
            provider: p.key.clone(),
            display_name: p.display_name.clone(),
            description: p.description.clone(),
            token_types: p.token_types.clone(),
            env_var: p.env_var.clone(),
            token_lifetime: p.token_lifetime.clone(),
            supports_refresh: p.supports(TokenType::OAuth2) && p.token_url.is_some(),
            supports_revocation: p.revoke.is_some(),
            scope_labels: p.scopes.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Registry {
    providers: BTreeMap<String, Provider>,
}

impl Registry {
    /// The embedded whitelist.
    pub fn embedded() -> Result<Registry, String> {
        Registry::from_tables(parse_tables(EMBEDDED, "embedded providers.toml")?)
    }

    /// The embedded whitelist with `overrides` (TOML text in the same format) merged in.
    pub fn with_overrides(overrides: &str, origin: &str) -> Result<Registry, String> {
        let mut tables = parse_tables(EMBEDDED, "embedded providers.toml")?;
        for (key, fields) in parse_tables(overrides, origin)? {
            let key = key.to_ascii_lowercase();
            merge_table(tables.entry(key).or_default(), fields);
        }
        Registry::from_tables(tables)
    }

    /// The embedded whitelist, plus the `PROVIDERS_FILE` when one is configured.
    pub fn load(providers_file: Option<&Path>) -> Result<Registry, String> {
        match providers_file {
            None => Registry::embedded(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read PROVIDERS_FILE {}: {e}", path.display()))?;
                Registry::with_overrides(&text, &path.display().to_string())
            }
        }
    }

    fn from_tables(tables: BTreeMap<String, toml::Table>) -> Result<Registry, String> {
        let mut providers = BTreeMap::new();
        for (key, table) in tables {
            let mut provider: Provider = toml::Value::Table(table)
                .try_into()
                .map_err(|e| format!("provider [{key}]: {e}"))?;
            if provider.token_types.is_empty() {
                return Err(format!("provider [{key}]: token_types must not be empty"));
            }
            provider.key = key.clone();
            providers.insert(key, provider);
        }
        Ok(Registry { providers })
    }

    /// Looks a provider up by key, case-insensitively.
    pub fn get(&self, key: &str) -> Option<&Provider> {
        self.providers.get(&key.to_ascii_lowercase())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Provider> {
        self.providers.values()
    }
}

/// Merges `overrides` into `base` field by field, descending into nested tables.
fn merge_table(base: &mut toml::Table, overrides: toml::Table) {
    for (field, value) in overrides {
        match (base.get_mut(&field), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => {
                merge_table(inner, value)
            }
            (_, value) => {
                base.insert(field, value);
            }
        }
    }
}

fn parse_tables(text: &str, origin: &str) -> Result<BTreeMap<String, toml::Table>, String> {
    let root: toml::Table = text
        .parse()
        .map_err(|e| format!("{origin} is not valid TOML: {e}"))?;
    root.into_iter()
        .map(|(key, value)| match value {
            toml::Value::Table(table) => Ok((key, table)),
            _ => Err(format!("{origin}: {key} must be a table ([{key}])")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_registry_has_the_nine_whitelisted_providers() {
        let registry = Registry::embedded().unwrap();
        let keys: Vec<_> = registry.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "anthropic",
                "dropbox",
                "github",
                "google",
                "microsoft",
                "notion",
                "openai",
                "slack",
                "zoom"
            ]
        );
        assert!(registry.get("GOOGLE").is_some());
    }

    #[test]
    fn overrides_replace_single_fields_and_add_providers() {
        let registry = Registry::with_overrides(
            "[google]\ntoken_url = \"http://127.0.0.1:9000/token\"\n\
             [google.revoke]\nurl = \"http://127.0.0.1:9000/revoke\"\n\
             [acme]\ndisplay_name = \"Acme\"\ntoken_types = [\"api_key\"]\nenv_var = \"ACME_KEY\"\n",
            "test",
        )
        .unwrap();
        let google = registry.get("google").unwrap();
        assert_eq!(
            google.token_url.as_deref(),
            Some("http://127.0.0.1:9000/token")
        );
        assert_eq!(google.display_name, "Google Workspace");
        assert!(registry.get("acme").is_some());
        let revoke = google.revoke.as_ref().unwrap();
        assert_eq!(revoke.url, "http://127.0.0.1:9000/revoke");
        assert_eq!(revoke.token, RevokeToken::Refresh);
    }

    #[test]
    fn override_with_unknown_field_is_refused() {
        let err = Registry::with_overrides("[google]\ntoken_ur = \"x\"\n", "test").unwrap_err();
        assert!(err.contains("token_ur"), "{err}");
    }
}
