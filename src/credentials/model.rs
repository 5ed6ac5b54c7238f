//! The vocabulary of credentials: the one key that names a credential, and the domain values
//! stored in text columns (token type, status, event kind and outcome, scopes). Each maps to its
//! column text in one place; an unknown stored value is an error, never a panic.
//!
//! This module imports nothing else of the crate, so every layer (db, crypto, the refresh
//! engine, the HTTP layer) can share it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A text column held a value this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownValue {
    what: &'static str,
    value: String,
}

impl UnknownValue {
    pub(crate) fn new(what: &'static str, value: &str) -> UnknownValue {
        UnknownValue {
            what,
            value: value.chars().take(32).collect(),
        }
    }
}

/// An enum stored as text: its column text, parsing (`FromStr`, `TryFrom<String>` for diesel's
/// `deserialize_as`) and `Display`, all from one table of variants.
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::credentials::model::UnknownValue;

            fn from_str(text: &str) -> Result<Self, $crate::credentials::model::UnknownValue> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::credentials::model::UnknownValue::new(
                        stringify!($name),
                        text,
                    )),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::credentials::model::UnknownValue;

            fn try_from(text: String) -> Result<Self, $crate::credentials::model::UnknownValue> {
                text.parse()
            }
        }

        /// In the OpenAPI document: a string enum of the column texts.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
                let object = ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([$($text,)+]))
                    .build();
                utoipa::openapi::RefOr::T(Schema::Object(object))
            }
        }

        impl utoipa::ToSchema for $name {}

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum! {
    /// The kind of credential.
    #[derive(Serialize, Deserialize)]
    pub enum TokenType {
        #[serde(rename = "oauth2")]
        OAuth2 = "oauth2",
        #[serde(rename = "api_key")]
        ApiKey = "api_key",
        #[serde(rename = "jwt")]
        Jwt = "jwt",
    }
}

impl TokenType {
    /// Case-insensitive parse of a request value.
    pub fn parse_request(value: &str) -> Option<TokenType> {
        value.trim().to_ascii_lowercase().parse().ok()
    }
}

text_enum! {
    /// Whether a credential works.
    pub enum TokenStatus {
        /// It works (or can be refreshed).
        Active = "active",
        /// A transient refresh failure left it past its expiry.
        Expired = "expired",
        /// The provider rejected the refresh token: the user must re-authorize.
        Invalid = "invalid",
    }
}

text_enum! {
    /// What happened to a credential (the `event` of an audit event).
    pub enum EventKind {
        Stored = "stored",
        Refresh = "refresh",
        Revoke = "revoke",
        Deleted = "deleted",
        /// Stored by the connect flow (or a connect that failed: denied, exchange failed).
        Connected = "connected",
    }
}

text_enum! {
    /// How it went (the `outcome` of an audit event).
    pub enum Outcome {
        Created = "created",
        Replaced = "replaced",
        Success = "success",
        /// The provider rejected the grant.
        Invalid = "invalid",
        /// A failure that may pass.
        Transient = "transient",
        Revoked = "revoked",
        Failed = "failed",
        Skipped = "skipped",
        NotSupported = "not_supported",
        /// The user (or the provider) refused the authorization.
        Denied = "denied",
    }
}

text_enum! {
    /// What a webhook is told about (the `type` of a delivery).
    pub enum WebhookEvent {
        /// Stored (POST or the connect flow).
        Connected = "credential.connected",
        /// The provider rejected the refresh token: the user must re-authorize.
        Invalid = "credential.invalid",
        /// A transient refresh failure left the token expired.
        RefreshFailed = "credential.refresh_failed",
        /// The first success after a failure, or stored anew after `invalid`.
        Recovered = "credential.recovered",
        Deleted = "credential.deleted",
    }
}

text_enum! {
    /// What deleting a credential did at its provider.
    pub enum Revocation {
        Revoked = "revoked",
        /// Revocation failed; the credential was deleted here anyway.
        Failed = "failed",
        /// `?revoke=false`.
        Skipped = "skipped",
        /// No revocation endpoint, or not an OAuth2 credential.
        NotSupported = "not_supported",
    }
}

impl From<Revocation> for Outcome {
    fn from(revocation: Revocation) -> Outcome {
        match revocation {
            Revocation::Revoked => Outcome::Revoked,
            Revocation::Failed => Outcome::Failed,
            Revocation::Skipped => Outcome::Skipped,
            Revocation::NotSupported => Outcome::NotSupported,
        }
    }
}

/// Names one credential: (tenant, user_id, integration_key), the primary key of the `tokens`
/// table, the binding inside every ciphertext, and the unit of single flight. Not secret: it may
/// be logged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CredentialKey {
    pub tenant: String,
    pub user_id: String,
    pub integration_key: String,
}

pub const MAX_USER_ID_LEN: usize = 128;
pub const MAX_INTEGRATION_KEY_LEN: usize = 64;

impl CredentialKey {
    /// A key from request values, checking the user id and integration key.
    pub fn parse(tenant: &str, user_id: &str, integration_key: &str) -> Result<Self, String> {
        check_user_id(user_id)?;
        check_integration_key(integration_key)?;
        Ok(CredentialKey {
            tenant: tenant.to_string(),
            user_id: user_id.to_string(),
            integration_key: integration_key.to_string(),
        })
    }
}

impl std::fmt::Display for CredentialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "tenant={} user_id={} integration_key={}",
            self.tenant, self.user_id, self.integration_key
        )
    }
}

/// The JSON Schema pattern of what `check_identifier` accepts, for the OpenAPI document.
pub fn identifier_pattern(max: usize) -> String {
    format!("^[A-Za-z0-9._@:+-]{{1,{max}}}$")
}

/// Checks a path or body identifier: 1..=`max` characters of letters, digits and `._-@:+`.
fn check_identifier(what: &str, value: &str, max: usize) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-@:+".contains(c);
    if value.is_empty() || value.len() > max || !value.chars().all(allowed) {
        return Err(format!(
            "{what} must be 1 to {max} characters of letters, digits and . _ - @ : +"
        ));
    }
    Ok(())
}

pub fn check_user_id(value: &str) -> Result<(), String> {
    check_identifier("user_id", value, MAX_USER_ID_LEN)
}

pub fn check_integration_key(value: &str) -> Result<(), String> {
    check_identifier("integration_key", value, MAX_INTEGRATION_KEY_LEN)
}

/// The permission scopes of a credential, stored as a JSON array of strings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct Scopes(Vec<String>);

impl Scopes {
    pub fn new(scopes: Vec<String>) -> Scopes {
        Scopes(scopes)
    }

    /// The `scope` of an OAuth reply: separated by spaces (RFC 6749) or commas (GitHub, Slack).
    pub fn from_reply(scope: &str) -> Scopes {
        Scopes(
            scope
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        )
    }

    /// The column text: a JSON array.
    pub fn to_column(&self) -> String {
        let quoted: Vec<String> = self
            .0
            .iter()
            .map(|s| serde_json::Value::String(s.clone()).to_string())
            .collect();
        format!("[{}]", quoted.join(","))
    }

    /// Reads the column text back.
    pub fn from_column(text: &str) -> Result<Scopes, UnknownValue> {
        serde_json::from_str(text).map_err(|_| UnknownValue::new("scope list", text))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_enums_round_trip_and_refuse_unknown_values() {
        for status in TokenStatus::ALL {
            assert_eq!(status.as_str().parse::<TokenStatus>(), Ok(*status));
        }
        for outcome in Outcome::ALL {
            assert_eq!(outcome.as_str().parse::<Outcome>(), Ok(*outcome));
        }
        assert!("Active".parse::<TokenStatus>().is_err());
        assert_eq!(
            TokenType::parse_request(" OAuth2 "),
            Some(TokenType::OAuth2)
        );
        assert!(TokenType::try_from("bearer".to_string()).is_err());
    }

    #[test]
    fn scopes_round_trip_through_their_column() {
        let scopes = Scopes::new(vec!["calendar".into(), "a \"quoted\" one".into()]);
        assert_eq!(Scopes::from_column(&scopes.to_column()), Ok(scopes));
        assert_eq!(
            Scopes::from_reply("read,write  admin").as_slice(),
            ["read", "write", "admin"]
        );
        assert!(Scopes::from_column("not json").is_err());
    }

    #[test]
    fn identifiers_are_limited() {
        assert!(check_user_id("user-42@example.com").is_ok());
        assert!(check_user_id("").is_err());
        assert!(check_user_id("a/b").is_err());
        assert!(check_integration_key(&"k".repeat(65)).is_err());
    }
}

/// Who a credential belongs to at its provider (from the connect flow), as far as known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Account {
    /// The provider's id of the account.
    pub id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl Account {
    /// The stored form (a JSON object), or `None` when nothing is known.
    pub fn to_column(&self) -> Option<String> {
        let known = self.id.is_some() || self.email.is_some() || self.name.is_some();
        known.then(|| serde_json::to_string(self).unwrap_or_default())
    }

    /// Reads the stored form; an unreadable one counts as unknown.
    pub fn from_column(column: Option<&str>) -> Option<Account> {
        column.and_then(|text| serde_json::from_str(text).ok())
    }
}
