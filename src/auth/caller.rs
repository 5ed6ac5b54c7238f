//! The authenticated caller of a request and the checks a route makes on it, plus the actix
//! extractor that reads `X-API-Key: agk_…` or `Authorization: Bearer agat_…`.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::{AUTHORIZATION, HeaderMap};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::AuthError;
use super::scope::{KeyScopes, Scope};
use super::throttle::client_address;
use crate::db::api_keys::ApiKeyRow;
use crate::error::ApiError;
use crate::state::AppState;

pub const API_KEY_HEADER: &str = "X-API-Key";

/// An API key, used directly or through an access token minted from it (same tenant, scopes
/// and user binding).
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: String,
    pub tenant: String,
    scopes: KeyScopes,
    pub bound_user: Option<String>,
    /// The access token used, when the request came with one.
    pub access_token_id: Option<String>,
}

impl Caller {
    pub fn from_row(row: &ApiKeyRow, access_token_id: Option<String>) -> Caller {
        Caller {
            key_id: row.id.clone(),
            tenant: row.tenant.clone(),
            scopes: row.scopes.clone(),
            bound_user: row.user_id.clone(),
            access_token_id,
        }
    }

    /// Forbidden when the request came with an access token: some things need the API key.
    pub fn require_api_key(&self, what: &str) -> Result<(), AuthError> {
        match self.access_token_id {
            Some(_) => Err(AuthError::Forbidden(format!(
                "An access token cannot {what}; use the API key"
            ))),
            None => Ok(()),
        }
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.allows(scope)
    }

    /// Forbidden unless the key holds `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), AuthError> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(AuthError::Forbidden(format!(
                "This API key lacks the {scope} scope"
            )))
        }
    }

    /// Forbidden when the key is bound to a user other than `user_id`.
    pub fn require_user(&self, user_id: &str) -> Result<(), AuthError> {
        match &self.bound_user {
            Some(bound) if bound != user_id => Err(AuthError::Forbidden(
                "This API key is bound to another user".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Both checks a `/v2/users/{user_id}/…` route needs.
    pub fn require_for_user(&self, scope: Scope, user_id: &str) -> Result<(), AuthError> {
        self.require(scope)?;
        self.require_user(user_id)
    }
}

/// The secret a request presents: `X-API-Key`, or `Authorization: Bearer …`.
pub fn presented_secret(headers: &HeaderMap) -> Result<&str, AuthError> {
    let unauthorized = |message: &str| AuthError::Unauthorized(message.into());
    let text = |name| headers.get(name).map(|v| v.to_str().map(str::trim));
    if let Some(value) = text(API_KEY_HEADER) {
        return value.map_err(|_| unauthorized("Invalid API key"));
    }
    if let Some(value) = text(AUTHORIZATION.as_str()) {
        let value = value.map_err(|_| unauthorized("Invalid Authorization header"))?;
        return value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| unauthorized("The Authorization header must be: Bearer agat_…"));
    }
    Err(unauthorized(
        "Missing credentials: send an API key in the X-API-Key header, or an access token as \
         Authorization: Bearer agat_…",
    ))
}

/// A request's authentication attempt: the instance's cache and throttle, and the client's
/// address (behind a trusted proxy, from `X-Forwarded-For`).
pub fn attempt_of<'a>(req: &HttpRequest, state: &'a AppState) -> super::Attempt<'a> {
    let forwarded = req
        .headers()
        .get("X-Forwarded-For")
        .and_then(|v| v.to_str().ok());
    let peer = req.peer_addr().map(|addr| addr.ip());
    super::Attempt {
        cache: &state.auth,
        throttle: &state.throttle,
        client: client_address(peer, forwarded, &state.config.trusted_proxies),
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let secret = presented_secret(req.headers()).map(String::from);
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let attempt = attempt_of(&req, &state);
            let secret = secret.inspect_err(|_| crate::metrics::auth_failure("missing"))?;
            let caller = super::authenticate(&state.db, &attempt, &secret).await?;
            tracing::Span::current().record("key_id", caller.key_id.as_str());
            Ok(caller)
        })
    }
}
