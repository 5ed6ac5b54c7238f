//! The vocabulary every layer shares: the key that names a credential and its parts, the domain
//! values stored in text columns (token type, status, event kind and outcome, webhook events,
//! API key scopes), a credential's scopes and account, and the `Clock`.
//!
//! This module imports nothing else of the crate but `secret`, so db, crypto, providers, the
//! domain and the HTTP layer can all use it.

mod clock;
mod credential;
mod key_scopes;
mod kinds;
mod scopes;
mod text;

pub use clock::Clock;
pub use credential::*;
pub use key_scopes::{DEFAULT_KEY_SCOPES, KeyScopes, Scope};
pub use kinds::*;
pub use scopes::{Account, Scopes};
pub use text::UnknownValue;
pub(crate) use text::text_enum;

/// How every API response and CLI output writes a time: RFC 3339, UTC, whole seconds, `Z`.
pub fn timestamp(at: chrono::NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
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
