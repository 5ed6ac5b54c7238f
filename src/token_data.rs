//! What a credential is: its type, the strict `token_data` schema of each type, the identifiers
//! that name it, and the part of it a GET may return (never client credentials).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error::ApiError;

/// The kind of credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum TokenType {
    #[serde(rename = "oauth2")]
    OAuth2,
    #[serde(rename = "api_key")]
    ApiKey,
    #[serde(rename = "jwt")]
    Jwt,
}

impl TokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::OAuth2 => "oauth2",
            TokenType::ApiKey => "api_key",
            TokenType::Jwt => "jwt",
        }
    }

    /// Case-insensitive parse of a request value.
    pub fn parse(value: &str) -> Option<TokenType> {
        match value.trim().to_ascii_lowercase().as_str() {
            "oauth2" => Some(TokenType::OAuth2),
            "api_key" => Some(TokenType::ApiKey),
            "jwt" => Some(TokenType::Jwt),
            _ => None,
        }
    }

    /// The schema of `token_data` for this type.
    fn fields(self) -> &'static [Field] {
        match self {
            TokenType::OAuth2 => OAUTH2_FIELDS,
            TokenType::ApiKey => API_KEY_FIELDS,
            TokenType::Jwt => JWT_FIELDS,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Seconds,
}

struct Field {
    name: &'static str,
    kind: Kind,
    required: bool,
    /// Returned by GET (false for client credentials and bookkeeping fields).
    returned: bool,
}

const fn field(name: &'static str, kind: Kind, required: bool, returned: bool) -> Field {
    Field {
        name,
        kind,
        required,
        returned,
    }
}

const OAUTH2_FIELDS: &[Field] = &[
    field("access_token", Kind::Text, true, true),
    field("refresh_token", Kind::Text, false, true),
    field("token_type", Kind::Text, false, true),
    field("expires_in", Kind::Seconds, false, false),
    field("scope", Kind::Text, false, false),
    field("client_id", Kind::Text, false, false),
    field("client_secret", Kind::Text, false, false),
];
const API_KEY_FIELDS: &[Field] = &[
    field("api_key", Kind::Text, true, true),
    field("api_secret", Kind::Text, false, true),
    field("organization_id", Kind::Text, false, true),
    field("project_id", Kind::Text, false, true),
];
const JWT_FIELDS: &[Field] = &[
    field("token", Kind::Text, true, true),
    field("algorithm", Kind::Text, false, true),
    field("public_key", Kind::Text, false, true),
    field("issuer", Kind::Text, false, true),
    field("audience", Kind::Text, false, true),
];

/// Longest single `token_data` string accepted (the body limit bounds the total anyway).
const MAX_FIELD_LEN: usize = 16 * 1024;
/// Longest `expires_in` accepted: ten years.
const MAX_EXPIRES_IN: u64 = 10 * 365 * 24 * 3600;

/// Checks `token_data` against the schema of `token_type`. Messages name fields, never values.
pub fn validate(token_type: TokenType, data: &Value) -> Result<Map<String, Value>, ApiError> {
    let structure =
        |why: String| ApiError::InvalidRequest(format!("Invalid token data structure: {why}"));
    let map = match data {
        Value::Null => {
            return Err(ApiError::InvalidRequest(
                "Token data cannot be empty".into(),
            ));
        }
        Value::Object(map) if map.is_empty() => {
            return Err(ApiError::InvalidRequest(
                "Token data cannot be empty".into(),
            ));
        }
        Value::Object(map) => map,
        _ => return Err(structure("token_data must be a JSON object".into())),
    };
    let fields = token_type.fields();
    for (name, value) in map {
        let Some(spec) = fields.iter().find(|f| f.name == name) else {
            let known: Vec<_> = fields.iter().map(|f| f.name).collect();
            return Err(structure(format!(
                "unknown field {name:?} for token type {}; allowed: {}",
                token_type.as_str(),
                known.join(", ")
            )));
        };
        let ok = match (spec.kind, value) {
            (_, Value::Null) => !spec.required,
            (Kind::Text, Value::String(s)) => {
                (!spec.required || !s.trim().is_empty()) && s.len() <= MAX_FIELD_LEN
            }
            (Kind::Seconds, Value::Number(n)) => n.as_u64().is_some_and(|s| s <= MAX_EXPIRES_IN),
            _ => false,
        };
        if !ok {
            let expected = match spec.kind {
                Kind::Text if spec.required => "a non-empty string",
                Kind::Text => "a string",
                Kind::Seconds => "a whole number of seconds (0 to ten years)",
            };
            return Err(structure(format!("field {name:?} must be {expected}")));
        }
    }
    if let Some(missing) = fields
        .iter()
        .find(|f| f.required && map.get(f.name).is_none_or(Value::is_null))
    {
        return Err(structure(format!(
            "field {:?} is required for token type {}",
            missing.name,
            token_type.as_str()
        )));
    }
    // Nulls carry nothing: drop them so what is stored is what was given.
    Ok(map
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect())
}

/// `expires_in` of an OAuth2 `token_data`, if given.
pub fn expires_in(data: &Map<String, Value>) -> Option<u64> {
    data.get("expires_in").and_then(Value::as_u64)
}

/// The part of a stored `token_data` a GET returns: the usable secret, never client credentials.
pub fn usable_view(token_type: TokenType, data: &Value) -> Map<String, Value> {
    let Some(map) = data.as_object() else {
        return Map::new();
    };
    token_type
        .fields()
        .iter()
        .filter(|f| f.returned)
        .filter_map(|f| map.get(f.name).map(|v| (f.name.to_string(), v.clone())))
        .collect()
}

/// Checks a path or body identifier: 1..=`max` characters of letters, digits and `._-@:+`.
fn check_identifier(what: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-@:+".contains(c);
    if value.is_empty() || value.len() > max || !value.chars().all(allowed) {
        return Err(ApiError::InvalidRequest(format!(
            "{what} must be 1 to {max} characters of letters, digits and . _ - @ : +"
        )));
    }
    Ok(())
}

pub const MAX_USER_ID_LEN: usize = 128;
pub const MAX_INTEGRATION_KEY_LEN: usize = 64;

pub fn check_user_id(value: &str) -> Result<(), ApiError> {
    check_identifier("user_id", value, MAX_USER_ID_LEN)
}

pub fn check_integration_key(value: &str) -> Result<(), ApiError> {
    check_identifier("integration_key", value, MAX_INTEGRATION_KEY_LEN)
}

// Documentation-only schemas of `token_data`, one per type (validation is `validate`).

/// `token_data` of an `oauth2` credential.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
pub struct OAuth2TokenData {
    /// The access token.
    #[schema(example = "ya29.a0AfH6SM...")]
    access_token: String,
    #[schema(example = "1//0dx2Xj...")]
    refresh_token: Option<String>,
    #[schema(example = "Bearer")]
    token_type: Option<String>,
    /// Seconds until the access token expires; sets `expires_at` when that is not given.
    #[schema(example = 3600)]
    expires_in: Option<u64>,
    scope: Option<String>,
    /// Used for refresh; never returned.
    client_id: Option<String>,
    /// Used for refresh; never returned.
    client_secret: Option<String>,
}

/// `token_data` of an `api_key` credential.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
pub struct ApiKeyTokenData {
    #[schema(example = "sk-...")]
    api_key: String,
    api_secret: Option<String>,
    organization_id: Option<String>,
    project_id: Option<String>,
}

/// `token_data` of a `jwt` credential.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
pub struct JwtTokenData {
    token: String,
    algorithm: Option<String>,
    public_key: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
}

/// Token credentials; the fields allowed depend on `token_type`. Unknown fields are refused.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum TokenData {
    OAuth2(OAuth2TokenData),
    ApiKey(ApiKeyTokenData),
    Jwt(JwtTokenData),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(result: Result<Map<String, Value>, ApiError>) -> String {
        result.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn empty_token_data_is_refused() {
        assert_eq!(
            message(validate(TokenType::OAuth2, &json!({}))),
            "Token data cannot be empty"
        );
        assert_eq!(
            message(validate(TokenType::Jwt, &Value::Null)),
            "Token data cannot be empty"
        );
    }

    #[test]
    fn unknown_and_mistyped_fields_are_refused_without_echoing_values() {
        let m = message(validate(
            TokenType::ApiKey,
            &json!({"api_key": "k", "extra": 1}),
        ));
        assert!(m.starts_with("Invalid token data structure"), "{m}");
        let m = message(validate(
            TokenType::OAuth2,
            &json!({"access_token": "a", "expires_in": "sk-SECRET"}),
        ));
        assert!(m.contains("expires_in") && !m.contains("sk-SECRET"), "{m}");
        let m = message(validate(TokenType::OAuth2, &json!({"refresh_token": "r"})));
        assert!(m.contains("access_token"), "{m}");
    }

    #[test]
    fn usable_view_never_contains_client_credentials() {
        let data = json!({"access_token": "a", "refresh_token": "r", "client_id": "c", "client_secret": "s", "expires_in": 5});
        let view = usable_view(TokenType::OAuth2, &data);
        assert_eq!(
            Value::Object(view),
            json!({"access_token": "a", "refresh_token": "r"})
        );
    }

    #[test]
    fn identifiers_are_limited() {
        assert!(check_user_id("user-42@example.com").is_ok());
        assert!(check_user_id("").is_err());
        assert!(check_user_id("a/b").is_err());
        assert!(check_integration_key(&"k".repeat(65)).is_err());
    }
}
