//! `token_data`, typed: one struct per token type, produced by validating a request (messages
//! name fields, never values) and by opening a stored ciphertext. Secret fields are `Secret`, so
//! `Debug` of any of these prints no secret. The GET view and the refresh merge work on them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::model::TokenType;
use crate::providers::OAuthClient;
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

/// Token credentials; the fields allowed depend on `token_type`. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TokenData {
    OAuth2(OAuth2TokenData),
    ApiKey(ApiKeyTokenData),
    Jwt(JwtTokenData),
}

/// What a GET returns of a credential: the usable secret, never client credentials.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum UsableSecret {
    OAuth2(OAuth2Secret),
    ApiKey(ApiKeyTokenData),
    Jwt(JwtTokenData),
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

fn fields(token_type: TokenType) -> &'static [Field] {
    match token_type {
        TokenType::OAuth2 => OAUTH2_FIELDS,
        TokenType::ApiKey => API_KEY_FIELDS,
        TokenType::Jwt => JWT_FIELDS,
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
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let expected = match spec.kind {
        Kind::Text if spec.required => "a non-empty string",
        Kind::Text => "a string",
        Kind::Seconds => "a whole number of seconds (0 to ten years)",
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
            .map(|(k, v)| match v {
                Value::Number(n) => (k.clone(), whole_seconds(n).map_or(v.clone(), Value::from)),
                _ => (k.clone(), v.clone()),
            })
            .collect();
        TokenData::from_value(token_type, Value::Object(present))
            .map_err(|_| structure("token_data does not match its type".into()))
    }

    /// Reads stored token data of `token_type` (fields this version does not know are ignored,
    /// as the original service may have written them).
    pub fn from_value(token_type: TokenType, value: Value) -> Result<TokenData, serde_json::Error> {
        Ok(match token_type {
            TokenType::OAuth2 => TokenData::OAuth2(serde_json::from_value(value)?),
            TokenType::ApiKey => TokenData::ApiKey(serde_json::from_value(value)?),
            TokenType::Jwt => TokenData::Jwt(serde_json::from_value(value)?),
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
        }
    }
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
