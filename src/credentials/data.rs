//! `token_data`, typed: one struct per token type, produced by validating a request (messages
//! name fields, never values) and by opening a stored ciphertext. Secret fields are `Secret`, so
//! `Debug` of any of these prints no secret. The GET view and the refresh merge work on them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::model::TokenType;
use crate::providers::OAuthClient;
use crate::providers::assertion::SigningKey;
use crate::providers::client::TokenReply;
use crate::secret::Secret;

/// `token_data` of an `oauth2` credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OAuth2TokenData {
    /// The access token.
    #[schema(value_type = String, example = "ya29.a0AfH6SM...")]
    pub access_token: Secret<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "1//0dx2Xj...")]
    pub refresh_token: Option<Secret<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Bearer")]
    pub token_type: Option<String>,
    /// Seconds until the access token expires; sets `expires_at` when that is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 3600)]
    pub expires_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Used for refresh; never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_id: Option<Secret<String>>,
    /// Used for refresh; never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<Secret<String>>,
}

/// `token_data` of an `api_key` credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyTokenData {
    #[schema(value_type = String, example = "sk-...")]
    pub api_key: Secret<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub api_secret: Option<Secret<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

/// `token_data` of a `jwt` credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JwtTokenData {
    #[schema(value_type = String)]
    pub token: Secret<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}

/// `token_data` of a `basic` credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BasicTokenData {
    #[schema(example = "api-user")]
    pub username: String,
    #[schema(value_type = String)]
    pub password: Secret<String>,
}

/// The access token a `client_credentials` or `service_account` credential last minted, sealed
/// with it until it is inside the refresh window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Minted {
    pub access_token: Secret<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
}

/// `token_data` of a `client_credentials` credential: an OAuth client that mints its own access
/// tokens (RFC 6749 §4.4). The client secret is never returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientCredentialsTokenData {
    #[schema(value_type = String)]
    pub client_id: Secret<String>,
    #[schema(value_type = String)]
    pub client_secret: Secret<String>,
    /// Space-separated scopes to ask for (Microsoft: `https://graph.microsoft.com/.default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The API the token is for, where the provider wants an `audience` parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// An absolute URI naming the API the token is for (RFC 8707 `resource`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The directory tenant, where the provider's endpoint names one (Microsoft: a tenant id or
    /// domain; never `common`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub minted: Option<Minted>,
}

/// `token_data` of a `service_account` credential: a private key that mints access tokens.
/// Either an RFC 7523 JWT-bearer assertion signer (`issuer`, e.g. a Google `client_email`) or a
/// GitHub App installation (`app_id` and `installation_id`). The key is never returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServiceAccountTokenData {
    /// PEM: RSA (PKCS#8 or PKCS#1) signs RS256, EC P-256 (PKCS#8) signs ES256.
    #[schema(value_type = String, example = "-----BEGIN PRIVATE KEY-----\n...")]
    pub private_key: Secret<String>,
    /// The assertion's `iss` (Google: the key file's `client_email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The assertion header's `kid` (Google: the key file's `private_key_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The user to act as (`sub`; Google domain-wide delegation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The assertion's `aud`; the provider's token URL when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// GitHub App: the app's ID or client ID (the app JWT's `iss`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "123456")]
    pub app_id: Option<String>,
    /// GitHub App: the installation to mint tokens for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "7890123")]
    pub installation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub minted: Option<Minted>,
}

/// Token credentials; the fields allowed depend on `token_type`. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TokenData {
    OAuth2(OAuth2TokenData),
    ApiKey(ApiKeyTokenData),
    Jwt(JwtTokenData),
    Basic(BasicTokenData),
    ClientCredentials(ClientCredentialsTokenData),
    ServiceAccount(ServiceAccountTokenData),
}

/// What a GET returns of a credential: the usable secret, never client credentials.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum UsableSecret {
    OAuth2(OAuth2Secret),
    ApiKey(ApiKeyTokenData),
    Jwt(JwtTokenData),
    Basic(BasicSecret),
    /// `client_credentials` and `service_account`: the minted access token.
    Minted(MintedSecret),
}

/// The usable part of a `basic` credential.
#[derive(Debug, Serialize, ToSchema)]
pub struct BasicSecret {
    pub username: String,
    #[schema(value_type = String)]
    pub password: Secret<String>,
    /// The `Authorization` header value: `Basic base64(username:password)`.
    #[schema(value_type = String, example = "Basic YXBpLXVzZXI6c2VjcmV0")]
    pub authorization: Secret<String>,
}

/// The usable part of a `client_credentials` or `service_account` credential.
#[derive(Debug, Serialize, ToSchema)]
pub struct MintedSecret {
    /// The minted access token, to send as `Authorization: Bearer`.
    #[schema(value_type = String)]
    pub access_token: Secret<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Bearer")]
    pub token_type: Option<String>,
}

/// The usable part of an `oauth2` credential.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuth2Secret {
    /// The access token, to send to the provider's API.
    #[schema(value_type = String)]
    pub access_token: Secret<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub refresh_token: Option<Secret<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Bearer")]
    pub token_type: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Seconds,
    /// A provider's identifier: text, or a whole number (GitHub's ids), kept as text.
    Id,
}

/// One field of a `token_data` schema, for validation messages.
struct Field {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn field(name: &'static str, kind: Kind, required: bool) -> Field {
    Field {
        name,
        kind,
        required,
    }
}

const OAUTH2_FIELDS: &[Field] = &[
    field("access_token", Kind::Text, true),
    field("refresh_token", Kind::Text, false),
    field("token_type", Kind::Text, false),
    field("expires_in", Kind::Seconds, false),
    field("scope", Kind::Text, false),
    field("client_id", Kind::Text, false),
    field("client_secret", Kind::Text, false),
];
const API_KEY_FIELDS: &[Field] = &[
    field("api_key", Kind::Text, true),
    field("api_secret", Kind::Text, false),
    field("organization_id", Kind::Text, false),
    field("project_id", Kind::Text, false),
];
const JWT_FIELDS: &[Field] = &[
    field("token", Kind::Text, true),
    field("algorithm", Kind::Text, false),
    field("public_key", Kind::Text, false),
    field("issuer", Kind::Text, false),
    field("audience", Kind::Text, false),
];

const BASIC_FIELDS: &[Field] = &[
    field("username", Kind::Text, true),
    field("password", Kind::Text, true),
];
const CLIENT_CREDENTIALS_FIELDS: &[Field] = &[
    field("client_id", Kind::Text, true),
    field("client_secret", Kind::Text, true),
    field("scope", Kind::Text, false),
    field("audience", Kind::Text, false),
    field("resource", Kind::Text, false),
    field("tenant", Kind::Id, false),
];
const SERVICE_ACCOUNT_FIELDS: &[Field] = &[
    field("private_key", Kind::Text, true),
    field("issuer", Kind::Text, false),
    field("key_id", Kind::Text, false),
    field("subject", Kind::Text, false),
    field("scope", Kind::Text, false),
    field("audience", Kind::Text, false),
    field("app_id", Kind::Id, false),
    field("installation_id", Kind::Id, false),
];

fn fields(token_type: TokenType) -> &'static [Field] {
    match token_type {
        TokenType::OAuth2 => OAUTH2_FIELDS,
        TokenType::ApiKey => API_KEY_FIELDS,
        TokenType::Jwt => JWT_FIELDS,
        TokenType::Basic => BASIC_FIELDS,
        TokenType::ClientCredentials => CLIENT_CREDENTIALS_FIELDS,
        TokenType::ServiceAccount => SERVICE_ACCOUNT_FIELDS,
    }
}

/// Longest single `token_data` string accepted, in characters (the body limit bounds the total).
pub const MAX_FIELD_LEN: usize = 16 * 1024;
/// Longest `expires_in` accepted: ten years.
pub const MAX_EXPIRES_IN: u64 = 10 * 365 * 24 * 3600;

fn structure(why: String) -> String {
    format!("Invalid token data structure: {why}")
}

/// A number of seconds, 0 to `MAX_EXPIRES_IN`: an integer, or a JSON number with no fraction
/// (`3600.0`, `3.6e3`), as JSON Schema's `integer` allows.
fn whole_seconds(n: &serde_json::Number) -> Option<u64> {
    let seconds = match n.as_u64() {
        Some(seconds) => seconds,
        None => {
            let value = n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0)?;
            if value > MAX_EXPIRES_IN as f64 {
                return None;
            }
            value as u64
        }
    };
    (seconds <= MAX_EXPIRES_IN).then_some(seconds)
}

/// What `path_safe` accepts, as a JSON Schema pattern.
pub const PATH_SAFE_PATTERN: &str = "^[A-Za-z0-9_-][A-Za-z0-9._-]*$";

/// An identifier that goes into a provider's URL path: letters, digits, `.`, `-`, `_` (tenant
/// domains, GitHub's numeric ids and `Iv1.` client ids), not starting with `.` (so never `.` or
/// `..`). Its length is bounded like every field's.
fn path_safe(name: &str, value: Option<&str>) -> Result<(), String> {
    let Some(value) = value else {
        return Ok(());
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    if value.chars().all(allowed) && !value.starts_with('.') && !value.is_empty() {
        return Ok(());
    }
    Err(structure(format!(
        "field {name:?} may hold only letters, digits, '.', '-' and '_', and not start with '.'"
    )))
}

/// A present value as it is kept: whole seconds as integers, identifiers as text.
fn normalised(fields: &[Field], name: &str, value: &Value) -> Value {
    let kind = fields.iter().find(|f| f.name == name).map(|f| f.kind);
    match (kind, value) {
        (Some(Kind::Seconds), Value::Number(n)) => {
            whole_seconds(n).map_or(value.clone(), Value::from)
        }
        (Some(Kind::Id), Value::Number(n)) => Value::String(n.to_string()),
        (Some(Kind::Id), Value::String(s)) => Value::String(s.trim().to_string()),
        _ => value.clone(),
    }
}

/// Checks one field's value against its schema entry.
fn check_field(spec: &Field, value: &Value) -> Result<(), String> {
    if let Value::String(text) = value
        && text.chars().count() > MAX_FIELD_LEN
    {
        return Err(structure(format!(
            "field {:?} is {} characters long; at most {MAX_FIELD_LEN} are accepted",
            spec.name,
            text.chars().count()
        )));
    }
    let ok = match (spec.kind, value) {
        (_, Value::Null) => !spec.required,
        (Kind::Text, Value::String(s)) => !spec.required || !s.trim().is_empty(),
        (Kind::Seconds, Value::Number(n)) => whole_seconds(n).is_some(),
        (Kind::Id, Value::String(s)) => !s.trim().is_empty(),
        (Kind::Id, Value::Number(n)) => n.as_u64().is_some(),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let expected = match spec.kind {
        Kind::Text if spec.required => "a non-empty string",
        Kind::Text => "a string",
        Kind::Seconds => "a whole number of seconds (0 to ten years)",
        Kind::Id => "a non-empty string or a whole number",
    };
    Err(structure(format!(
        "field {:?} must be {expected}",
        spec.name
    )))
}

impl TokenData {
    /// Checks request `token_data` against the schema of `token_type`. Messages name fields,
    /// never values. Nulls carry nothing and are dropped.
    pub fn validate(token_type: TokenType, data: &Value) -> Result<TokenData, String> {
        let map = match data {
            Value::Null => return Err("Token data cannot be empty".into()),
            Value::Object(map) if map.is_empty() => return Err("Token data cannot be empty".into()),
            Value::Object(map) => map,
            _ => return Err(structure("token_data must be a JSON object".into())),
        };
        let fields = fields(token_type);
        for (name, value) in map {
            let Some(spec) = fields.iter().find(|f| f.name == name) else {
                let known: Vec<_> = fields.iter().map(|f| f.name).collect();
                return Err(structure(format!(
                    "unknown field {name:?} for token type {token_type}; allowed: {}",
                    known.join(", ")
                )));
            };
            check_field(spec, value)?;
        }
        if let Some(missing) = fields
            .iter()
            .find(|f| f.required && map.get(f.name).is_none_or(Value::is_null))
        {
            return Err(structure(format!(
                "field {:?} is required for token type {token_type}",
                missing.name
            )));
        }
        let present: Map<String, Value> = map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), normalised(fields, k, v)))
            .collect();
        let data = TokenData::from_value(token_type, Value::Object(present))
            .map_err(|_| structure("token_data does not match its type".into()))?;
        data.check_kind()?;
        Ok(data)
    }

    /// What the provider needs of this kind beyond the schema: a `tenant` where its
    /// client-credentials endpoint names one.
    pub fn check_for(&self, provider: &crate::providers::Provider) -> Result<(), String> {
        let key = &provider.key;
        match self {
            TokenData::ClientCredentials(data)
                if provider.needs_tenant() && data.tenant.is_none() =>
            {
                Err(structure(format!(
                    "field \"tenant\" is required for {key} client_credentials (the directory \
                     tenant id or domain)"
                )))
            }
            TokenData::ServiceAccount(data) if data.installation_id.is_some() => {
                if provider.installation_token_url.is_none() {
                    return Err(structure(format!(
                        "{key} has no app installations: give \"issuer\" for a JWT-bearer \
                         assertion instead of \"app_id\" and \"installation_id\""
                    )));
                }
                let rsa = SigningKey::from_pem(data.private_key.as_str())
                    .is_ok_and(|k| k.algorithm() == jsonwebtoken::Algorithm::RS256);
                match rsa {
                    true => Ok(()),
                    false => Err(structure(
                        "field \"private_key\" must be an RSA key for a GitHub App (RS256)".into(),
                    )),
                }
            }
            TokenData::ServiceAccount(_)
                if provider.token_url.is_none() || provider.installation_token_url.is_some() =>
            {
                Err(structure(format!(
                    "{key} takes no JWT-bearer assertions: give \"app_id\" and \
                     \"installation_id\" instead of \"issuer\""
                )))
            }
            _ => Ok(()),
        }
    }

    /// What a kind needs beyond its fields' types: a private key that signs, and one way of
    /// minting with it.
    fn check_kind(&self) -> Result<(), String> {
        let data = match self {
            TokenData::ClientCredentials(data) => {
                return path_safe("tenant", data.tenant.as_deref());
            }
            TokenData::ServiceAccount(data) => data,
            _ => return Ok(()),
        };
        path_safe("app_id", data.app_id.as_deref())?;
        path_safe("installation_id", data.installation_id.as_deref())?;
        let optional = [
            ("issuer", &data.issuer),
            ("key_id", &data.key_id),
            ("subject", &data.subject),
            ("scope", &data.scope),
            ("audience", &data.audience),
        ];
        if let Some((name, _)) = optional
            .iter()
            .find(|(_, v)| v.as_deref().is_some_and(|v| v.trim().is_empty()))
        {
            return Err(structure(format!("field {name:?} must not be blank")));
        }
        SigningKey::from_pem(data.private_key.as_str())
            .map_err(|e| structure(format!("field \"private_key\" {e}")))?;
        match (&data.app_id, &data.installation_id, &data.issuer) {
            (Some(_), Some(_), None) | (None, None, Some(_)) => Ok(()),
            (Some(_), Some(_), Some(_)) => Err(structure(
                "give either \"issuer\" (a JWT-bearer assertion) or \"app_id\" and \
                 \"installation_id\" (a GitHub App), not both"
                    .into(),
            )),
            _ => Err(structure(
                "a service_account needs \"issuer\" (a JWT-bearer assertion) or both \
                 \"app_id\" and \"installation_id\" (a GitHub App)"
                    .into(),
            )),
        }
    }

    /// Reads stored token data of `token_type` (fields this version does not know are ignored,
    /// as the original service may have written them).
    pub fn from_value(token_type: TokenType, value: Value) -> Result<TokenData, serde_json::Error> {
        Ok(match token_type {
            TokenType::OAuth2 => TokenData::OAuth2(serde_json::from_value(value)?),
            TokenType::ApiKey => TokenData::ApiKey(serde_json::from_value(value)?),
            TokenType::Jwt => TokenData::Jwt(serde_json::from_value(value)?),
            TokenType::Basic => TokenData::Basic(serde_json::from_value(value)?),
            TokenType::ClientCredentials => {
                TokenData::ClientCredentials(serde_json::from_value(value)?)
            }
            TokenType::ServiceAccount => TokenData::ServiceAccount(serde_json::from_value(value)?),
        })
    }

    /// What is sealed into the ciphertext.
    pub fn to_value(&self) -> Value {
        // Structs of strings and numbers always serialise.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    pub fn token_type(&self) -> TokenType {
        match self {
            TokenData::OAuth2(_) => TokenType::OAuth2,
            TokenData::ApiKey(_) => TokenType::ApiKey,
            TokenData::Jwt(_) => TokenType::Jwt,
            TokenData::Basic(_) => TokenType::Basic,
            TokenData::ClientCredentials(_) => TokenType::ClientCredentials,
            TokenData::ServiceAccount(_) => TokenType::ServiceAccount,
        }
    }

    /// The access token a minting kind holds, if it minted one; `None` for other kinds.
    pub fn minted(&self) -> Option<&Minted> {
        match self {
            TokenData::ClientCredentials(data) => data.minted.as_ref(),
            TokenData::ServiceAccount(data) => data.minted.as_ref(),
            _ => None,
        }
    }

    /// The data after a successful refresh or mint: for `oauth2` the merged reply, for the
    /// minting kinds the new access token; other kinds are unchanged.
    pub fn merge_reply(self, reply: &TokenReply) -> TokenData {
        let minted = || {
            Some(Minted {
                access_token: reply.access_token.clone(),
                token_type: reply.token_type.clone(),
            })
        };
        match self {
            TokenData::OAuth2(data) => TokenData::OAuth2(data.merge_reply(reply)),
            TokenData::ClientCredentials(data) => {
                TokenData::ClientCredentials(ClientCredentialsTokenData {
                    minted: minted(),
                    ..data
                })
            }
            TokenData::ServiceAccount(data) => TokenData::ServiceAccount(ServiceAccountTokenData {
                minted: minted(),
                ..data
            }),
            other => other,
        }
    }

    pub fn oauth2(&self) -> Option<&OAuth2TokenData> {
        match self {
            TokenData::OAuth2(data) => Some(data),
            _ => None,
        }
    }

    /// The part a GET returns: the usable secret, never client credentials.
    pub fn into_usable(self) -> UsableSecret {
        match self {
            TokenData::OAuth2(data) => UsableSecret::OAuth2(OAuth2Secret {
                access_token: data.access_token,
                refresh_token: data.refresh_token,
                token_type: data.token_type,
            }),
            TokenData::ApiKey(data) => UsableSecret::ApiKey(data),
            TokenData::Jwt(data) => UsableSecret::Jwt(data),
            TokenData::Basic(data) => UsableSecret::Basic(BasicSecret {
                authorization: basic_authorization(&data.username, &data.password),
                username: data.username,
                password: data.password,
            }),
            TokenData::ClientCredentials(ClientCredentialsTokenData { minted, .. })
            | TokenData::ServiceAccount(ServiceAccountTokenData { minted, .. }) => {
                let minted = minted.unwrap_or(Minted {
                    access_token: Secret::new(String::new()),
                    token_type: None,
                });
                UsableSecret::Minted(MintedSecret {
                    access_token: minted.access_token,
                    token_type: minted.token_type,
                })
            }
        }
    }
}

/// `Basic base64(username:password)` (RFC 7617).
fn basic_authorization(username: &str, password: &Secret<String>) -> Secret<String> {
    use base64::Engine;
    let pair = format!("{username}:{}", password.as_str());
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
    Secret::new(format!("Basic {encoded}"))
}

impl OAuth2TokenData {
    /// The refresh token, if there is a usable one.
    pub fn refresh_token(&self) -> Option<&Secret<String>> {
        self.refresh_token
            .as_ref()
            .filter(|token| !token.as_str().is_empty())
    }

    /// The client credentials to refresh and revoke with: those stored with the credential,
    /// else the platform's.
    pub fn client(&self, configured: Option<&OAuthClient>) -> Option<OAuthClient> {
        match &self.client_id {
            Some(id) if !id.as_str().is_empty() => Some(OAuthClient {
                client_id: id.clone(),
                client_secret: self.client_secret.clone(),
            }),
            _ => configured.cloned(),
        }
    }

    /// The data of a credential a code exchange just produced (no client: the platform's
    /// refreshes it).
    pub fn from_reply(reply: &TokenReply) -> OAuth2TokenData {
        OAuth2TokenData {
            access_token: reply.access_token.clone(),
            refresh_token: reply.refresh_token.clone(),
            token_type: reply.token_type.clone(),
            expires_in: reply.expires_in.map(|secs| secs.min(MAX_EXPIRES_IN)),
            scope: reply.scope.clone(),
            client_id: None,
            client_secret: None,
        }
    }

    /// The data after a successful refresh: the new access token, the rotated refresh token if
    /// the reply has one (else the old one is kept), new expiry, scope and type.
    pub fn merge_reply(mut self, reply: &TokenReply) -> OAuth2TokenData {
        self.access_token = reply.access_token.clone();
        if let Some(refresh_token) = &reply.refresh_token {
            self.refresh_token = Some(refresh_token.clone());
        }
        if let Some(token_type) = &reply.token_type {
            self.token_type = Some(token_type.clone());
        }
        self.expires_in = reply.expires_in;
        if let Some(scope) = &reply.scope {
            self.scope = Some(scope.clone());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(result: Result<TokenData, String>) -> String {
        result.err().unwrap_or_default()
    }

    #[test]
    fn empty_token_data_is_refused() {
        assert_eq!(
            message(TokenData::validate(TokenType::OAuth2, &json!({}))),
            "Token data cannot be empty"
        );
        assert_eq!(
            message(TokenData::validate(TokenType::Jwt, &Value::Null)),
            "Token data cannot be empty"
        );
    }

    #[test]
    fn unknown_and_mistyped_fields_are_refused_without_echoing_values() {
        let m = message(TokenData::validate(
            TokenType::ApiKey,
            &json!({"api_key": "k", "extra": 1}),
        ));
        assert!(m.starts_with("Invalid token data structure"), "{m}");
        let m = message(TokenData::validate(
            TokenType::OAuth2,
            &json!({"access_token": "a", "expires_in": "sk-SECRET"}),
        ));
        assert!(m.contains("expires_in") && !m.contains("sk-SECRET"), "{m}");
        let m = message(TokenData::validate(
            TokenType::OAuth2,
            &json!({"refresh_token": "r"}),
        ));
        assert!(m.contains("access_token"), "{m}");
    }

    #[test]
    fn an_over_long_field_is_refused_for_its_length() {
        let data = json!({"api_key": "k".repeat(20_000)});
        let m = message(TokenData::validate(TokenType::ApiKey, &data));
        assert!(
            m.contains("\"api_key\" is 20000 characters long; at most 16384"),
            "{m}"
        );
    }

    #[test]
    fn whole_seconds_may_be_written_as_a_number_without_fraction() {
        for written in [json!(3600), json!(3600.0), json!(3.6e3)] {
            let data = json!({"access_token": "a", "expires_in": written});
            let typed = TokenData::validate(TokenType::OAuth2, &data).unwrap();
            assert_eq!(typed.oauth2().and_then(|d| d.expires_in), Some(3600));
        }
        for refused in [json!(1.5), json!(-1), json!(-0.5), json!(1e300)] {
            let data = json!({"access_token": "a", "expires_in": refused});
            assert!(TokenData::validate(TokenType::OAuth2, &data).is_err());
        }
    }

    #[test]
    fn usable_view_never_contains_client_credentials() {
        let data = json!({"access_token": "a", "refresh_token": "r", "client_id": "c", "client_secret": "s", "expires_in": 5});
        let usable = TokenData::validate(TokenType::OAuth2, &data)
            .unwrap()
            .into_usable();
        assert_eq!(
            serde_json::to_value(usable).unwrap(),
            json!({"access_token": "a", "refresh_token": "r"})
        );
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let data = json!({"access_token": "ya29.SECRET", "client_id": "c.apps.SECRET", "client_secret": "GOCSPX-SECRET"});
        let typed = TokenData::validate(TokenType::OAuth2, &data).unwrap();
        let debug = format!("{typed:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert_eq!(typed.to_value(), data);
    }
}
