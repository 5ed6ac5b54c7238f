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
    /// The `url` is not an absolute http(s) URL without credentials, or too long.
    #[error("{0}")]
    BadUrl(String),
    /// `events` is empty or names an unknown event type.
    #[error("{0}")]
    BadEvents(String),
    /// The target is on a loopback, private or otherwise internal address.
    #[error("{0}")]
    RefusedTarget(String),
    #[error("A tenant can have at most {0} webhooks; delete one first")]
    TooManyWebhooks(usize),
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
