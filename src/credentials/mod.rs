//! The credential domain: what a credential is (`model`, `data`), what can be done with one
//! (`service`: store, load, use, delete), refreshing it at its provider (`refresh`), and
//! re-encrypting every stored one under a new key (`rotation`). Nothing here knows about HTTP.

pub mod cache;
pub mod data;
pub mod key_check;
pub mod refresh;
pub mod rotation;
pub mod service;

use std::sync::Arc;

use crate::db::DbError;

pub use service::{Credential, CredentialService, Usable, Want};

/// What a client must do after the provider rejected the grant.
pub const REAUTHORIZE: &str =
    "The provider rejected the refresh token; the user must re-authorize this connection";

/// Why a credential operation did not succeed. `Clone`: every waiter of one refresh gets a copy.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Malformed input, or an operation this credential does not support.
    #[error("{0}")]
    Invalid(String),
    /// Well-formed input naming something that does not exist (provider, token type).
    #[error("{0}")]
    Unprocessable(String),
    #[error("Token not found")]
    NotFound,
    /// The provider rejected the grant: the user must re-authorize.
    #[error("{0}")]
    Rejected(String),
    /// A transient refresh failure and no still-valid token to fall back on.
    #[error("Token refresh is temporarily unavailable: {reason}")]
    Unavailable {
        reason: String,
        /// Seconds until the next attempt is allowed.
        retry_after: Option<u64>,
    },
    /// A forced refresh inside the minimum interval since the last one.
    #[error(
        "This credential was refreshed less than {min_secs}s ago; the next forced refresh is \
         allowed in {retry_after}s"
    )]
    TooSoon { min_secs: u64, retry_after: u64 },
    #[error(transparent)]
    Database(#[from] DbError),
    /// A bug or an inconsistency (an undecryptable row, an unknown stored value).
    #[error("internal error")]
    Internal(#[source] Arc<dyn std::error::Error + Send + Sync>),
}

/// An inconsistency described in words.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Inconsistency(pub String);

impl Error {
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Internal(Arc::new(cause))
    }

    /// 410 after a rejected grant, with the provider's reason when there is one.
    pub fn rejected(reason: Option<&str>) -> Error {
        match reason {
            Some(reason) => Error::Rejected(format!("{REAUTHORIZE} ({reason})")),
            None => Error::Rejected(REAUTHORIZE.into()),
        }
    }
}

/// An error and its sources on one line, for a log.
pub struct ErrorChain<'a>(pub &'a dyn std::error::Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
