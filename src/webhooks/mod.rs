//! Webhooks (Standard Webhooks): a tenant's endpoints (`service`), which targets may be called
//! (`target`), signing (`signing`) and the outbox's delivery by any instance (`delivery`).
//! Nothing here knows about HTTP.

pub mod delivery;
mod service;
mod signing;
pub mod target;

use std::sync::Arc;

use crate::db::DbError;

pub use service::{Delivery, WebhookService, reseal_secrets};
pub use signing::{SECRET_PREFIX, sign};

/// Why a webhook operation did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Malformed input.
    #[error("{0}")]
    Invalid(String),
    /// Well-formed input that cannot be served (a refused target, too many webhooks).
    #[error("{0}")]
    Unprocessable(String),
    #[error("Webhook not found")]
    NotFound,
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("internal error")]
    Internal(#[source] Arc<dyn std::error::Error + Send + Sync>),
}

impl Error {
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Internal(Arc::new(cause))
    }
}
