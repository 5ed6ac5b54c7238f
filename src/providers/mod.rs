//! The provider registry: the embedded whitelist (`providers.toml`), optionally extended or
//! overridden field by field by a `PROVIDERS_FILE`. Passed into the app as data, never global.

pub mod api;
pub mod assertion;
mod check;
pub mod client;
pub mod config;
pub mod device;
pub mod discovery;
pub mod outbound;
pub mod tenant;
pub mod tenant_store;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::TokenType;
use crate::secret::Secret;
pub use api::ApiAuth;

const EMBEDDED: &str = include_str!("providers.toml");

/// The platform's OAuth client for one provider (`TOKENVAULT_<PROVIDER>_CLIENT_ID/_SECRET`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    pub client_id: Secret<String>,
    pub client_secret: Option<Secret<String>>,
}

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
    /// Connect flow: the authorization endpoint; absent, the provider cannot be connected.
    #[serde(default)]
    pub authorize_url: Option<String>,
    /// Where the account's identity is read with the new access token, if anywhere.
    #[serde(default)]
    pub userinfo_url: Option<String>,
    #[serde(default)]
    pub userinfo_method: UserinfoMethod,
    /// Scopes asked for when the app names none.
    #[serde(default)]
    pub default_scopes: Vec<String>,
    #[serde(default = "default_scope_separator")]
    pub scope_separator: String,
    /// The authorize parameter carrying the scopes (Slack's user scopes: `user_scope`).
    #[serde(default = "default_scope_param")]
    pub scope_param: String,
    /// Extra authorize parameters (Google: `access_type=offline`, `prompt=consent`).
    #[serde(default)]
    pub authorize_params: BTreeMap<String, String>,
    /// Send a PKCE S256 challenge.
    #[serde(default = "yes")]
    pub pkce: bool,
    /// The authorization server's issuer identifier (RFC 8414): an authorization response's
    /// `iss` (RFC 9207) must equal it.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Where the token fields sit in the code-exchange reply (Slack: `authed_user`); top level
    /// when absent.
    #[serde(default)]
    pub token_reply_path: Option<String>,
    /// Dotted paths of the account's id, email and name: in the userinfo reply, or in the
    /// code-exchange reply when there is no `userinfo_url` (Notion's `owner.user`).
    #[serde(default)]
    pub account: AccountPaths,
    /// Seconds a token is taken to live when the provider's reply gives no `expires_in`: a
    /// refresh token is used (or a token minted anew) by then; a day when absent.
    #[serde(default)]
    pub default_expires_in: Option<u64>,
    /// Where a `service_account`'s JWT-bearer assertion carries `scope`: among its claims
    /// (Google) or as a form parameter beside it.
    #[serde(default)]
    pub assertion_scope: ScopePlace,
    /// Whether a JWT-bearer assertion may leave out `sub` when it acts for no one (Google reads
    /// `sub` as the user to impersonate); otherwise `sub` is the issuer (RFC 7523 §3).
    #[serde(default)]
    pub assertion_sub_optional: bool,
    /// A GitHub App installation's token endpoint, `{installation_id}` replaced.
    #[serde(default)]
    pub installation_token_url: Option<String>,
    /// The client-credentials grant's endpoint when it is not `token_url`; `{tenant}` is the
    /// credential's `tenant` (Microsoft's app-only tokens need the directory tenant).
    #[serde(default)]
    pub client_credentials_url: Option<String>,
    /// Device flow (RFC 8628): where a device authorization starts; absent, no device flow.
    #[serde(default)]
    pub device_authorization_url: Option<String>,
    /// Where the device code is polled; `token_url` when absent.
    #[serde(default)]
    pub device_token_url: Option<String>,
    /// Whether a poll authenticates the client with its secret (Google), or sends the client id
    /// alone as a public client must (GitHub, Microsoft).
    #[serde(default = "yes")]
    pub device_client_secret: bool,
    /// The proxy's target: the provider's API root (no trailing `/`); absent, no proxy.
    #[serde(default)]
    pub api_base_url: Option<String>,
    /// Where the proxy puts the credential on an API request.
    #[serde(default)]
    pub api_auth: ApiAuth,
    /// The provider's own page this entry's settings come from (every entry has one).
    #[serde(default)]
    pub docs_url: Option<String>,
    /// Connect refuses scopes outside `scopes` (Google's broad Drive scopes are left out).
    #[serde(default)]
    pub scopes_strict: bool,
    /// API keys: a regex of the documented prefix only (`^sk-`); keys are otherwise opaque.
    #[serde(default)]
    pub key_pattern: Option<String>,
    /// What a person is told a key looks like.
    #[serde(default)]
    pub key_hint: Option<String>,
    /// Per-account fields: name → anchored pattern; used as `{name}` in any URL.
    #[serde(default)]
    pub connection_config: BTreeMap<String, String>,
    /// Connection-config fields the provider fills: name → dotted path in the code-exchange
    /// reply, or `callback.PARAM` (a query parameter of the OAuth callback).
    #[serde(default)]
    pub token_reply_metadata: BTreeMap<String, String>,
    /// The environment variable naming the account (`GOG_ACCOUNT`), for `export`.
    #[serde(default)]
    pub account_env_var: Option<String>,
    /// The provider's own command-line tool.
    #[serde(default)]
    pub tool: Option<Tool>,
    /// A one-line command that uses `env_var`.
    #[serde(default)]
    pub example_command: Option<String>,
    /// The resource the tokens are for (RFC 8707): sent as `resource` on authorize, the code
    /// exchange and every refresh (an MCP server's URL).
    #[serde(default)]
    pub resource: Option<String>,
    /// The MCP server this entry was discovered from (RFC 9728), for people.
    #[serde(default)]
    pub mcp_server: Option<String>,
    /// A tenant's entry where private targets are not allowed: its endpoints are called only
    /// on public addresses (names resolved to public addresses, no internal literal).
    #[serde(skip)]
    pub outbound_guarded: bool,
    #[serde(skip)]
    config_patterns: BTreeMap<String, config::FieldPattern>,
    #[serde(skip)]
    key_regex: Option<regex::Regex>,
}

/// A provider's command-line tool (as CrabGlamp's registry lists it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    #[schema(example = "gh")]
    pub name: String,
    #[schema(example = "brew install gh")]
    pub install_cmd: String,
    #[schema(example = "gh auth status")]
    pub check_cmd: String,
}

/// Where a JWT-bearer grant puts the scopes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopePlace {
    #[default]
    Claim,
    Param,
}

/// When a reply gives no `expires_in` and the registry no `default_expires_in`: a day.
pub const FALLBACK_EXPIRES_IN: u64 = 24 * 3600;

/// How the userinfo endpoint is called (Dropbox's RPC endpoints want POST).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum UserinfoMethod {
    #[default]
    Get,
    Post,
}

/// Where an account's fields are in a provider's reply.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountPaths {
    pub id: String,
    pub email: String,
    pub name: String,
}

impl Default for AccountPaths {
    /// OpenID Connect's userinfo claims.
    fn default() -> Self {
        AccountPaths {
            id: "sub".into(),
            email: "email".into(),
            name: "name".into(),
        }
    }
}

fn default_scope_separator() -> String {
    " ".into()
}

fn default_scope_param() -> String {
    "scope".into()
}

fn yes() -> bool {
    true
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

    /// How long a token whose reply named no lifetime is taken to live.
    pub fn assumed_expires_in(&self) -> u64 {
        self.default_expires_in.unwrap_or(FALLBACK_EXPIRES_IN)
    }

    /// Whether the device flow can start for this provider (given a platform client).
    pub fn supports_device(&self) -> bool {
        self.device_authorization_url.is_some()
            && self.device_token_url().is_some()
            && self.supports(TokenType::OAuth2)
    }

    /// Where device codes are polled.
    pub fn device_token_url(&self) -> Option<&str> {
        self.device_token_url
            .as_deref()
            .or(self.token_url.as_deref())
    }

    /// Whether the client-credentials endpoint needs the credential's `tenant`.
    pub fn needs_tenant(&self) -> bool {
        self.client_credentials_url
            .as_deref()
            .is_some_and(|url| url.contains("{tenant}"))
    }

    /// What a kind this provider lists needs and the entry lacks.
    fn missing_for_kinds(&self) -> Option<&'static str> {
        let has_url = self.token_url.is_some();
        if self.supports(TokenType::ClientCredentials)
            && !has_url
            && self.client_credentials_url.is_none()
        {
            return Some("client_credentials needs token_url or client_credentials_url");
        }
        let installs = self.installation_token_url.is_some();
        (self.supports(TokenType::ServiceAccount) && !has_url && !installs)
            .then_some("service_account needs token_url or installation_token_url")
    }

    /// Whether the connect flow can start for this provider (given a platform client).
    pub fn supports_connect(&self) -> bool {
        self.authorize_url.is_some() && self.token_url.is_some() && self.supports(TokenType::OAuth2)
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
    /// Whether tokenvault can refresh this provider's OAuth2 tokens (or mint its
    /// `client_credentials` / `service_account` tokens).
    pub supports_refresh: bool,
    /// Whether deleting a credential revokes it at the provider.
    pub supports_revocation: bool,
    /// Whether `POST /v2/users/{user_id}/connect` can start for it: the provider has an
    /// authorization endpoint and this server has its platform OAuth client.
    pub supports_connect: bool,
    /// The scopes connect asks for when the app names none.
    pub default_scopes: Vec<String>,
    /// Scope → label.
    pub scope_labels: BTreeMap<String, String>,
    /// Connect refuses scopes outside `scope_labels`.
    pub scopes_strict: bool,
    /// The provider's documentation this entry follows.
    #[schema(example = "https://developers.google.com/identity/protocols/oauth2/web-server")]
    pub docs_url: Option<String>,
    /// Per-account fields a credential carries in `connection_config`.
    pub connection_config: Vec<ConfigFieldInfo>,
    /// API keys: the documented prefix a key must have (a regex).
    #[schema(example = "^sk-")]
    pub key_pattern: Option<String>,
    /// API keys: what a key looks like, for people.
    pub key_hint: Option<String>,
    /// The environment variable naming the account, as `export` writes it.
    #[schema(example = "GOG_ACCOUNT")]
    pub account_env_var: Option<String>,
    /// The provider's own command-line tool.
    pub tool: Option<Tool>,
    /// A command that uses `env_var`.
    pub example_command: Option<String>,
    /// Whether the proxy can reach this provider's API.
    pub supports_proxy: bool,
    /// `catalogue`, or `tenant`: added (or given the tenant's own OAuth app) by this tenant.
    pub source: tenant::Source,
}

/// One per-account field of a provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigFieldInfo {
    #[schema(example = "subdomain")]
    pub name: String,
    /// An anchored regex the value must match.
    #[schema(example = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub pattern: String,
    /// Whether store and connect need it from the caller.
    pub required: bool,
    /// Whether the provider's reply (or callback) fills it at connect.
    pub from_provider: bool,
}

impl ProviderInfo {
    /// What clients see of `p`; `client_configured`: this server has its platform client.
    pub fn new(p: &Provider, client_configured: bool, source: tenant::Source) -> Self {
        ProviderInfo {
            provider: p.key.clone(),
            display_name: p.display_name.clone(),
            description: p.description.clone(),
            token_types: p.token_types.clone(),
            env_var: p.env_var.clone(),
            token_lifetime: p.token_lifetime.clone(),
            supports_refresh: p.token_types.iter().any(|t| t.renewed()) && p.token_url.is_some(),
            supports_revocation: p.revoke.is_some(),
            supports_connect: p.supports_connect() && client_configured,
            default_scopes: p.default_scopes.clone(),
            scope_labels: p.scopes.clone(),
            scopes_strict: p.scopes_strict,
            docs_url: p.docs_url.clone(),
            connection_config: config_fields(p),
            key_pattern: p.key_pattern.clone(),
            key_hint: p.key_hint.clone(),
            account_env_var: p.account_env_var.clone(),
            tool: p.tool.clone(),
            example_command: p.example_command.clone(),
            supports_proxy: p.api_base_url.is_some(),
            source,
        }
    }
}

fn config_fields(p: &Provider) -> Vec<ConfigFieldInfo> {
    let required = p.required_config();
    p.connection_config
        .iter()
        .map(|(name, pattern)| ConfigFieldInfo {
            name: name.clone(),
            pattern: pattern.clone(),
            required: required.contains(name),
            from_provider: p.token_reply_metadata.contains_key(name),
        })
        .collect()
}

/// The providers: the embedded catalogue with the deployment's `PROVIDERS_FILE`, the platform's
/// OAuth clients, and every tenant's own entries (`tenant.rs`).
#[derive(Debug)]
pub struct Registry {
    providers: BTreeMap<String, Arc<Provider>>,
    /// Each catalogue entry as merged from its tables: what a tenant's fields merge over.
    tables: BTreeMap<String, toml::Table>,
    platform_clients: BTreeMap<String, OAuthClient>,
    tenants: tenant::TenantLayer,
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
        Registry::checked(tables).map_err(|problems| problems.join("\n"))
    }

    /// The registry, or every problem of every entry (one line each, `provider [key]: …`).
    fn checked(tables: BTreeMap<String, toml::Table>) -> Result<Registry, Vec<String>> {
        let mut providers = BTreeMap::new();
        let mut problems = Vec::new();
        for (key, table) in tables.clone() {
            let mut provider: Provider = match toml::Value::Table(table).try_into() {
                Ok(provider) => provider,
                Err(e) => {
                    let e = e.to_string();
                    problems.push(format!("provider [{key}]: {}", e.trim()));
                    continue;
                }
            };
            provider.key = key.clone();
            problems.extend(
                provider
                    .prepare()
                    .into_iter()
                    .map(|p| format!("provider [{key}]: {p}")),
            );
            providers.insert(key, Arc::new(provider));
        }
        match problems.is_empty() {
            true => Ok(Registry {
                providers,
                tables,
                platform_clients: BTreeMap::new(),
                tenants: tenant::TenantLayer::default(),
            }),
            false => Err(problems),
        }
    }

    /// What is wrong with a `PROVIDERS_FILE` (merged over the embedded catalogue), one problem
    /// per line; empty when a server would run with it.
    pub fn problems_of(overrides: &str, origin: &str) -> Vec<String> {
        let mut tables = match parse_tables(EMBEDDED, "embedded providers.toml") {
            Ok(tables) => tables,
            Err(e) => return vec![e],
        };
        match parse_tables(overrides, origin) {
            Ok(extra) => {
                for (key, fields) in extra {
                    merge_table(tables.entry(key.to_ascii_lowercase()).or_default(), fields);
                }
            }
            Err(e) => return vec![e],
        }
        Registry::checked(tables).err().unwrap_or_default()
    }

    /// Looks a provider up by key, case-insensitively.
    /// A catalogue entry by key, case-insensitively (what every tenant sees unless it has its
    /// own: see `lookup`).
    pub fn get(&self, key: &str) -> Option<&Provider> {
        self.providers
            .get(&key.to_ascii_lowercase())
            .map(Arc::as_ref)
    }

    /// The catalogue's entries, by key.
    pub fn iter(&self) -> impl Iterator<Item = &Provider> {
        self.providers.values().map(Arc::as_ref)
    }

    /// With the platform's OAuth clients (`TOKENVAULT_<PROVIDER>_CLIENT_ID`).
    pub fn with_platform_clients(mut self, clients: BTreeMap<String, OAuthClient>) -> Registry {
        self.platform_clients = clients;
        self
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
    fn embedded_registry_has_the_nine_whitelisted_providers_and_fifty_more() {
        let registry = Registry::embedded().unwrap();
        let keys: Vec<_> = registry.iter().map(|p| p.key.as_str()).collect();
        for key in [
            "anthropic",
            "dropbox",
            "github",
            "google",
            "microsoft",
            "notion",
            "openai",
            "slack",
            "zoom",
            "spotify",
        ] {
            assert!(keys.contains(&key), "{key} missing");
        }
        assert!(keys.len() >= 60, "{} entries", keys.len());
        assert!(registry.iter().all(|p| p.docs_url.is_some()));
        assert!(registry.get("GOOGLE").is_some());
    }

    #[test]
    fn overrides_replace_single_fields_and_add_providers() {
        let registry = Registry::with_overrides(
            "[google]\ntoken_url = \"http://127.0.0.1:9000/token\"\n\
             [google.revoke]\nurl = \"http://127.0.0.1:9000/revoke\"\n\
             [acme]\ndocs_url = \"https://acme.example/docs\"\ndisplay_name = \"Acme\"\ntoken_types = [\"api_key\"]\nenv_var = \"ACME_KEY\"\n",
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
    fn oauth_providers_can_be_connected_with_their_documented_quirks() {
        let registry = Registry::embedded().unwrap();
        let connectable: Vec<_> = registry
            .iter()
            .filter(|p| p.supports_connect())
            .map(|p| p.key.as_str())
            .collect();
        for key in [
            "dropbox",
            "github",
            "google",
            "microsoft",
            "notion",
            "slack",
            "zoom",
            "spotify",
        ] {
            assert!(connectable.contains(&key), "{key} cannot be connected");
        }
        let get = |key: &str| registry.get(key).unwrap();
        let google = get("google");
        assert_eq!(google.authorize_params["access_type"], "offline");
        assert_eq!(google.authorize_params["prompt"], "consent");
        assert!(google.pkce && google.userinfo_url.is_some());
        let slack = get("slack");
        assert_eq!(
            (slack.scope_param.as_str(), slack.scope_separator.as_str()),
            ("user_scope", ",")
        );
        assert_eq!(slack.token_reply_path.as_deref(), Some("authed_user"));
        let notion = get("notion");
        assert_eq!(notion.authorize_params["owner"], "user");
        assert_eq!(notion.client_auth, ClientAuth::Basic);
        assert_eq!(notion.account.id, "owner.user.id");
        assert_eq!(
            get("dropbox").authorize_params["token_access_type"],
            "offline"
        );
        assert_eq!(get("dropbox").userinfo_method, UserinfoMethod::Post);
        assert!(
            get("microsoft")
                .authorize_url
                .as_deref()
                .unwrap()
                .contains("/common/oauth2/v2.0/authorize")
        );
        assert!(
            registry
                .get("openai")
                .is_some_and(|p| !p.supports_connect())
        );
    }

    #[test]
    fn override_with_unknown_field_is_refused() {
        let err = Registry::with_overrides("[google]\ntoken_ur = \"x\"\n", "test").unwrap_err();
        assert!(err.contains("token_ur"), "{err}");
    }
}
