//! The actix extractor of the authenticated `Caller`: reads `X-API-Key: agk_…` or
//! `Authorization: Bearer agat_…`, with the instance's cache and failed-auth throttle.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::{AUTHORIZATION, HeaderMap};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::auth::throttle::client_address;
use crate::auth::{self, AuthError, Caller};
use crate::error::ApiError;
use crate::state::AppState;

pub const API_KEY_HEADER: &str = "X-API-Key";

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
pub fn attempt_of<'a>(req: &HttpRequest, state: &'a AppState) -> crate::auth::Attempt<'a> {
    let forwarded = req
        .headers()
        .get("X-Forwarded-For")
        .and_then(|v| v.to_str().ok());
    let peer = req.peer_addr().map(|addr| addr.ip());
    crate::auth::Attempt {
        cache: &state.auth,
        throttle: &state.throttle,
        client: client_address(peer, forwarded, &state.config.trusted_proxies),
        clock: &state.clock,
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
            let caller = auth::authenticate(&state.db, &attempt, &secret).await?;
            tracing::Span::current().record("key_id", caller.key_id.as_str());
            Ok(caller)
        })
    }
}
