//! What an API key may do: its scopes, stored as a comma-separated list.

use super::{UnknownValue, text_enum};

text_enum! {
    /// A permission an API key may hold. `admin` implies all others.
    pub enum Scope {
        TokensRead = "tokens:read",
        TokensWrite = "tokens:write",
        TokensRefresh = "tokens:refresh",
        TokensDelete = "tokens:delete",
        /// Use a credential through the proxy without reading it (`tokens:read` allows this
        /// too).
        TokensProxy = "tokens:proxy",
        Admin = "admin",
    }
}

/// Scopes of a key created without saying which: everything but `admin`.
pub const DEFAULT_KEY_SCOPES: &str = "tokens:read,tokens:write,tokens:refresh,tokens:delete";

impl Default for KeyScopes {
    /// `DEFAULT_KEY_SCOPES`.
    fn default() -> Self {
        KeyScopes(vec![
            Scope::TokensRead,
            Scope::TokensWrite,
            Scope::TokensRefresh,
            Scope::TokensDelete,
        ])
    }
}

/// The scopes of one key: known, without duplicates, never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyScopes(Vec<Scope>);

impl KeyScopes {
    /// Parses a comma-separated list (the CLI's `--scopes`), refusing unknown names and an
    /// empty list.
    pub fn parse_list(list: &str) -> Result<KeyScopes, String> {
        KeyScopes::parse_names(list.split(','))
    }

    /// Parses scope names, refusing unknown names and an empty list; duplicates are dropped.
    pub fn parse_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<KeyScopes, String> {
        let mut scopes = Vec::new();
        for name in names.into_iter().map(str::trim).filter(|s| !s.is_empty()) {
            let scope: Scope = name.parse().map_err(|_| {
                let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown scope {name:?}; known scopes: {}", known.join(", "))
            })?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if scopes.is_empty() {
            return Err("at least one scope is required".into());
        }
        Ok(KeyScopes(scopes))
    }

    pub fn only(scope: Scope) -> KeyScopes {
        KeyScopes(vec![scope])
    }

    /// Whether these scopes allow `scope` (`admin` allows everything; `tokens:read`, which
    /// hands out the secret, allows using it through the proxy).
    pub fn allows(&self, scope: Scope) -> bool {
        self.0.contains(&Scope::Admin)
            || self.0.contains(&scope)
            || (scope == Scope::TokensProxy && self.0.contains(&Scope::TokensRead))
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|s| s.as_str().to_string()).collect()
    }

    /// The column text: the names, comma-separated.
    pub fn to_column(&self) -> String {
        self.names().join(",")
    }
}

impl TryFrom<String> for KeyScopes {
    type Error = UnknownValue;

    fn try_from(column: String) -> Result<Self, UnknownValue> {
        let scopes = column
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<Scope>, _>>()?;
        Ok(KeyScopes(scopes))
    }
}

impl std::fmt::Display for KeyScopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_column())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_list_is_normalised_and_checked() {
        let scopes = KeyScopes::parse_list(" tokens:read ,admin,tokens:read").unwrap();
        assert_eq!(scopes.to_column(), "tokens:read,admin");
        assert_eq!(KeyScopes::try_from(scopes.to_column()), Ok(scopes));
        assert!(KeyScopes::parse_list("tokens:everything").is_err());
        assert!(KeyScopes::parse_list(" , ").is_err());
        assert!(KeyScopes::try_from("tokens:everything".to_string()).is_err());
    }
}
