//! What a credential may do at its provider, and whose account it is.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::UnknownValue;

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
