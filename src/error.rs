//! The HTTP error: the one type every handler returns, and its JSON shape.
//!
//! Which error to use where:
//! - `db/` returns `DbError` (unreachable database vs failed query);
//! - the domain returns its own: `credentials::Error`, `auth::AuthError`;
//! - only the HTTP layer (`api/`, the `Caller` extractor) speaks `ApiError`; each variant has a
//!   stable machine code (`error`) and a sentence for a person (`message`). The `From` impls
//!   below are the one place domain errors become statuses;
//! - `Internal` keeps its cause chain for the log only: the response says nothing about SQL or
//!   secrets.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthError;
use crate::credentials::{Error as CredentialError, ErrorChain};
use crate::db::DbError;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `invalid_request`, `not_found`.
    #[schema(example = "not_found")]
    pub error: &'static str,
    /// What went wrong, for a person.
    #[schema(example = "Token not found")]
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: malformed input.
    #[error("{0}")]
    InvalidRequest(String),
    /// 422: well-formed input naming something that does not exist (provider, token type).
    #[error("{0}")]
    Unprocessable(String),
    /// 401: no, unknown, revoked or expired credential.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: authenticated, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request conflicts with what exists (a provider key taken, or still in use).
    #[error("{0}")]
    Conflict(String),
    /// 405.
    #[error("Method not allowed on this path")]
    MethodNotAllowed,
    /// 410: the provider rejected the refresh token; the user must re-authorize.
    #[error("{0}")]
    ConnectionError(String),
    /// 408: the client did not send its body in time.
    #[error("The request body did not arrive within {secs}s")]
    RequestTimeout { secs: u64 },
    /// 413.
    #[error("Request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 503: transient provider failure and no still-valid token to fall back on.
    #[error("{message}")]
    RefreshUnavailable {
        message: String,
        /// Seconds until the next attempt is allowed (`Retry-After`).
        retry_after: Option<u64>,
    },
    /// 429: too many attempts; retry after `retry_after` seconds.
    #[error("{message}")]
    RateLimited { message: String, retry_after: u64 },
    /// 503: the database cannot be reached right now.
    #[error("The database is unavailable; retry shortly")]
    DatabaseUnavailable,
    /// 503: every database connection is in use past the wait bound (or a row stayed locked).
    #[error("The server is busy; retry shortly")]
    ServerBusy,
    /// 502: the proxy could not reach the provider's API (refused, unreachable, private).
    #[error("{0}")]
    UpstreamUnavailable(String),
    /// 504: the provider's API did not answer the proxy in time.
    #[error("{0}")]
    UpstreamTimeout(String),
    /// 500: a bug or an inconsistency. The string is logged, never sent.
    #[error("Internal error")]
    Internal(String),
}

/// On every error tokenvault answers itself, so a proxied API's own error is told apart.
pub const TOKENVAULT_ERROR_HEADER: (&str, &str) = ("X-Tokenvault-Error", "true");

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) | ApiError::Unprocessable(_) => "invalid_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::ConnectionError(_) => "connection_error",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::RefreshUnavailable { .. } => "refresh_unavailable",
            ApiError::DatabaseUnavailable => "database_unavailable",
            ApiError::ServerBusy => "server_busy",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::RequestTimeout { .. } => "request_timeout",
            ApiError::UpstreamUnavailable(_) => "upstream_unavailable",
            ApiError::UpstreamTimeout(_) => "upstream_timeout",
            ApiError::Internal(_) => "internal_error",
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    pub fn token_not_found() -> Self {
        ApiError::NotFound("Token not found".into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::ConnectionError(_) => StatusCode::GONE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::RefreshUnavailable { .. }
            | ApiError::DatabaseUnavailable
            | ApiError::ServerBusy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::UpstreamUnavailable(_) => StatusCode::BAD_GATEWAY,
            ApiError::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // The cause of a 500 is logged here, once; the causes are written by our own code and
        // never carry a secret (see crypto.rs and db/mod.rs).
        if let ApiError::Internal(cause) = self {
            tracing::error!(cause = %cause, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header(TOKENVAULT_ERROR_HEADER);
        match self {
            ApiError::Unauthorized(_) => {
                response.insert_header(("WWW-Authenticate", "ApiKey header=\"X-API-Key\""));
            }
            ApiError::RefreshUnavailable {
                retry_after: Some(secs),
                ..
            } => {
                response.insert_header(("Retry-After", secs.to_string()));
            }
            ApiError::DatabaseUnavailable => {
                response.insert_header(("Retry-After", "2"));
            }
            ApiError::ServerBusy => {
                response.insert_header(("Retry-After", "1"));
            }
            ApiError::RateLimited { retry_after, .. } => {
                response.insert_header(("Retry-After", retry_after.to_string()));
            }
            _ => {}
        }
        response.json(ErrorBody {
            error: self.code(),
            message: self.to_string(),
        })
    }
}

/// An error and its sources, for a log line.
fn with_causes(error: &dyn std::error::Error) -> String {
    ErrorChain(error).to_string()
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Unavailable(cause) => {
                tracing::debug!(cause = %cause, "database unavailable");
                ApiError::DatabaseUnavailable
            }
            DbError::Busy(cause) => {
                tracing::debug!(cause = %cause, "database busy");
                ApiError::ServerBusy
            }
            other => ApiError::Internal(with_causes(&other)),
        }
    }
}

impl From<CredentialError> for ApiError {
    fn from(error: CredentialError) -> Self {
        match error {
            CredentialError::Invalid(message) => ApiError::InvalidRequest(message),
            CredentialError::Unprocessable(message) => ApiError::Unprocessable(message),
            CredentialError::NotFound => ApiError::token_not_found(),
            CredentialError::Rejected(message) => ApiError::ConnectionError(message),
            CredentialError::Unavailable { retry_after, .. } => ApiError::RefreshUnavailable {
                message: error.to_string(),
                retry_after,
            },
            CredentialError::TooSoon { retry_after, .. } => ApiError::RateLimited {
                message: error.to_string(),
                retry_after,
            },
            CredentialError::Database(db) => db.into(),
            CredentialError::Internal(_) => ApiError::Internal(with_causes(&error)),
        }
    }
}

impl From<crate::webhooks::Error> for ApiError {
    fn from(error: crate::webhooks::Error) -> Self {
        use crate::webhooks::Error as WebhookError;
        match error {
            WebhookError::BadUrl(message) | WebhookError::BadEvents(message) => {
                ApiError::InvalidRequest(message)
            }
            WebhookError::RefusedTarget(message) => ApiError::Unprocessable(message),
            WebhookError::TooManyWebhooks(_) => ApiError::Unprocessable(error.to_string()),
            WebhookError::NotFound => ApiError::NotFound(error.to_string()),
            WebhookError::Database(db) => db.into(),
            WebhookError::Internal(_) => ApiError::Internal(with_causes(&error)),
        }
    }
}

impl From<crate::proxy::Error> for ApiError {
    fn from(error: crate::proxy::Error) -> Self {
        use crate::proxy::Error as ProxyError;
        match error {
            ProxyError::BadPath(message) | ProxyError::NotProxied(message) => {
                ApiError::InvalidRequest(message)
            }
            ProxyError::TooLarge { limit } => ApiError::PayloadTooLarge {
                limit: usize::try_from(limit).unwrap_or(usize::MAX),
            },
            ProxyError::ClientTimeout { secs } => ApiError::RequestTimeout { secs },
            ProxyError::ClientBody => ApiError::InvalidRequest(error.to_string()),
            ProxyError::Timeout { .. } => ApiError::UpstreamTimeout(error.to_string()),
            ProxyError::Unavailable(message) => ApiError::UpstreamUnavailable(message),
            ProxyError::Credential(e) => e.into(),
        }
    }
}

impl From<crate::providers::tenant_store::Error> for ApiError {
    fn from(error: crate::providers::tenant_store::Error) -> Self {
        use crate::providers::tenant_store::Error as TenantError;
        match error {
            TenantError::Invalid(_) => ApiError::Unprocessable(error.to_string()),
            TenantError::Exists(_) | TenantError::InUse { .. } => {
                ApiError::Conflict(error.to_string())
            }
            TenantError::NotFound(_) => ApiError::NotFound(error.to_string()),
            TenantError::Database(db) => db.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Unauthorized(message) => ApiError::Unauthorized(message),
            AuthError::Forbidden(message) => ApiError::Forbidden(message),
            AuthError::InvalidRequest(message) => ApiError::InvalidRequest(message),
            AuthError::NotFound(message) => ApiError::NotFound(message),
            AuthError::Throttled { retry_after } => ApiError::RateLimited {
                message: error.to_string(),
                retry_after,
            },
            AuthError::Database(db) => db.into(),
            AuthError::Random(cause) => ApiError::Internal(with_causes(&cause)),
        }
    }
}
