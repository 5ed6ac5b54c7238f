//! `/v2/users/{user_id}/proxy/{integration_key}/{path…}`: a request to the provider's API with
//! the credential put in by tokenvault; the caller never sees it. The HTTP plumbing lives here
//! (reading the caller's body, streaming the answer back); `proxy::ProxyService` does the rest.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, route, web};
use futures_util::StreamExt;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::IntoParams;

use crate::api::AuthErrors;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::model::{CredentialKey, Scope};
use crate::proxy::{
    Answer, Body, BodyFault, Error as ProxyError, MAX_RETRIES, Outgoing, REPLAYABLE,
};
use crate::state::AppState;

/// The header asking tokenvault to retry 429 and 503 answers.
pub const RETRIES_HEADER: &str = "x-tokenvault-retries";

/// The path of a proxied request.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProxyPath {
    /// Your application's id for the user.
    user_id: String,
    /// The integration the credential is stored under.
    integration_key: String,
}

/// Call the provider's API with a stored credential, without reading it.
///
/// The request goes to the provider's `api_base_url` + `path` (+ the query string) with the
/// credential where the provider wants it (`Authorization: Bearer`, a header, a query parameter
/// or HTTP Basic); the caller's `X-API-Key`, `Authorization` and `Cookie` never go upstream.
/// An expiring token is refreshed first; a 401 from the API renews it once and sends again
/// (bodies up to 1 MiB). `X-Tokenvault-Retries: N` (≤ 3) retries 429 and 503 answers, honouring
/// `Retry-After` up to 10 s. The API's status, headers (minus hop-by-hop and `Set-Cookie`) and
/// body come back as they were, streamed; redirects are returned, never followed. Errors
/// tokenvault makes itself carry `X-Tokenvault-Error: true`. Needs `tokens:proxy` (or
/// `tokens:read`).
#[utoipa::path(
    operation_id = "proxy",
    tag = "proxy",
    params(
        ProxyPath,
        ("path" = String, Path, description = "The path under the provider's API base URL (`user/repos` for GitHub's `https://api.github.com/user/repos`); the query string is passed on"),
        ("X-Tokenvault-Retries" = Option<u8>, Header, description = "Retry 429 and 503 answers up to this many times (0 to 3)", maximum = 3),
    ),
    request_body(content = Vec<u8>, description = "Passed to the provider's API as it is", content_type = "application/octet-stream"),
    responses(
        (status = 400, description = "A path that would leave the provider's API, a provider without `api_base_url`, or a credential that cannot be sent (`X-Tokenvault-Error: true`)", body = ErrorBody),
        (status = 404, description = "Token not found (`X-Tokenvault-Error: true`)", body = ErrorBody),
        (status = 410, description = "The provider rejected the refresh token (`connection_error`): the user must re-authorize", body = ErrorBody),
        (status = 413, description = "Body over `TOKENVAULT_PROXY_MAX_BODY`", body = ErrorBody),
        (status = 502, description = "The provider's API cannot be reached (`upstream_unavailable`)", body = ErrorBody),
        (status = 504, description = "The provider's API did not answer in time (`upstream_timeout`)", body = ErrorBody),
        (status = "default", description = "The provider API's own answer, passed through"),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[route(
    "/v2/users/{user_id}/proxy/{integration_key}/{path:.*}",
    method = "GET",
    method = "POST",
    method = "PUT",
    method = "PATCH",
    method = "DELETE",
    method = "HEAD",
    method = "OPTIONS"
)]
pub async fn forward(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<ProxyPath>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    caller.require_for_user(Scope::TokensProxy, &path.user_id)?;
    let key = CredentialKey::parse(&caller.tenant, &path.user_id, &path.integration_key)
        .map_err(ApiError::InvalidRequest)?;
    let outgoing = Outgoing {
        method: method_of(&req)?,
        tail: raw_tail(&req),
        query: Some(req.query_string().to_string()).filter(|q| !q.is_empty()),
        headers: headers_of(&req),
        retries: retries_of(&req)?,
        body: read_body(&state, &req, payload).await?,
    };
    let answer = state.proxy.forward(&key, outgoing).await?;
    respond(answer).await
}

/// Whether `path` is a proxied request's (`/v2/users/{user_id}/proxy/…`).
pub fn is_proxy_path(path: &str) -> bool {
    let mut segments = path.split('/');
    segments.nth(1) == Some("v2")
        && segments.next() == Some("users")
        && segments.nth(1) == Some("proxy")
}

fn method_of(req: &HttpRequest) -> Result<reqwest::Method, ApiError> {
    reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .map_err(|_| ApiError::MethodNotAllowed)
}

/// The path after `/proxy/{integration_key}/` as received (still percent-encoded).
fn raw_tail(req: &HttpRequest) -> String {
    req.uri()
        .path()
        .splitn(7, '/')
        .nth(6)
        .unwrap_or_default()
        .to_string()
}

/// The caller's headers, as reqwest types.
fn headers_of(req: &HttpRequest) -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::with_capacity(req.headers().len());
    for (name, value) in req.headers() {
        let name = reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes());
        let value = reqwest::header::HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.append(name, value);
        }
    }
    headers
}

/// `X-Tokenvault-Retries`, checked.
fn retries_of(req: &HttpRequest) -> Result<u8, ApiError> {
    let Some(value) = req.headers().get(RETRIES_HEADER) else {
        return Ok(0);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u8>().ok())
        .filter(|n| *n <= MAX_RETRIES)
        .ok_or_else(|| {
            ApiError::InvalidRequest(format!(
                "X-Tokenvault-Retries must be a whole number from 0 to {MAX_RETRIES}"
            ))
        })
}

/// The caller's body: whole when it fits the replay buffer, else streamed on as it arrives
/// (bounded by `TOKENVAULT_PROXY_MAX_BODY`, each pause by the client timeout).
async fn read_body(
    state: &AppState,
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<Body, ApiError> {
    let settings = *state.proxy.settings();
    let too_large = || ProxyError::TooLarge {
        limit: settings.max_body,
    };
    let length = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if length.is_some_and(|n| n > settings.max_body) {
        return Err(too_large().into());
    }
    let idle = settings.client_idle;
    let mut first = web::BytesMut::new();
    loop {
        let chunk = match tokio::time::timeout(idle, payload.next()).await {
            Err(_) => {
                let secs = idle.as_secs();
                return Err(ProxyError::ClientTimeout { secs }.into());
            }
            Ok(None) => return Ok(Body::Whole(first.freeze())),
            Ok(Some(Err(_))) => {
                return Err(ProxyError::ClientBody.into());
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        first.extend_from_slice(&chunk);
        if first.len() as u64 > settings.max_body {
            return Err(too_large().into());
        }
        if first.len() > REPLAYABLE {
            break;
        }
    }
    Ok(stream_rest(
        first.freeze(),
        payload,
        (settings.max_body, idle),
        length,
    ))
}

/// The rest of a body too large to buffer, fed through a channel (the caller's payload lives
/// on this worker; the upstream request may be polled elsewhere).
fn stream_rest(
    first: web::Bytes,
    mut payload: web::Payload,
    (max_body, idle): (u64, std::time::Duration),
    length: Option<u64>,
) -> Body {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(4);
    let fault = Arc::new(BodyFault::default());
    let feeder_fault = Arc::clone(&fault);
    actix_web::rt::spawn(async move {
        let mut sent = first.len() as u64;
        if sender.send(Ok(first)).await.is_err() {
            return;
        }
        let broken = |why: &str| std::io::Error::other(why.to_string());
        loop {
            let item = match tokio::time::timeout(idle, payload.next()).await {
                Err(_) => {
                    feeder_fault.timed_out();
                    Err(broken("the caller's body stopped arriving"))
                }
                Ok(None) => return,
                Ok(Some(Err(_))) => {
                    feeder_fault.broken();
                    Err(broken("the caller's body could not be read"))
                }
                Ok(Some(Ok(chunk))) => {
                    sent = sent.saturating_add(chunk.len() as u64);
                    if sent > max_body {
                        feeder_fault.too_large();
                        Err(broken("the body is over the limit"))
                    } else {
                        Ok(chunk)
                    }
                }
            };
            let last = item.is_err();
            if sender.send(item).await.is_err() || last {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    Body::Stream {
        body: reqwest::Body::wrap_stream(stream),
        length,
        fault,
    }
}

/// Answers up to this size are read whole and sent in one write; larger ones stream.
const SMALL_ANSWER: u64 = 64 * 1024;

/// The API's answer as the caller's response: a small body whole, a large one streamed.
async fn respond(answer: Answer) -> Result<HttpResponse, ApiError> {
    let status = actix_web::http::StatusCode::from_u16(answer.status.as_u16())
        .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
    let mut response = HttpResponse::build(status);
    for (name, value) in &answer.headers {
        let name = HeaderName::from_bytes(name.as_str().as_bytes());
        let value = HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            response.append_header((name, value));
        }
    }
    match answer.length {
        Some(length) if length <= SMALL_ANSWER => {
            let body = answer.response.bytes().await.map_err(|_| {
                ApiError::UpstreamUnavailable("the provider's API broke off its answer".into())
            })?;
            Ok(response.body(body))
        }
        Some(length) => {
            response.no_chunking(length);
            Ok(response.streaming(answer.response.bytes_stream()))
        }
        None => Ok(response.streaming(answer.response.bytes_stream())),
    }
}
