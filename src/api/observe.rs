//! What every request leaves behind: a request id (the client's `X-Request-Id` when sane, else
//! one made here) echoed on the response and carried by every log line of the request, together
//! with the key id once authenticated; one log line; and the HTTP metrics.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client request id kept.
const MAX_REQUEST_ID_LEN: usize = 128;

/// A client's request id is kept when it is 1 to 128 characters of letters, digits and `-_.:`;
/// anything else (empty, too long, spaces, control characters) is replaced.
fn is_sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// A new request id: this process's random prefix and a counter (unique across instances without
/// a random draw per request).
fn new_request_id() -> String {
    static PREFIX: LazyLock<String> = LazyLock::new(|| {
        crate::secret::random_base62(10).unwrap_or_else(|_| format!("p{}", std::process::id()))
    });
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{}-{:x}", *PREFIX, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The request id of `req`: the client's when sane, else a new one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| is_sane(id))
        .map_or_else(new_request_id, String::from)
}

/// The path as logged: a connect link's token (`/connect/<token>…`) is a secret and left out.
fn logged_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/connect/") {
        Some(rest) if !rest.is_empty() && !rest.starts_with("sessions/") => {
            let after = rest.find('/').map_or("", |at| &rest[at..]);
            format!("/connect/{{token}}{after}").into()
        }
        _ => path.into(),
    }
}

/// Request id, span, log line and metrics around every request. Never logs headers, bodies or
/// query strings.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let id = request_id(&req);
    let span = tracing::info_span!("request", request_id = %id, key_id = tracing::field::Empty);
    let mut response = next.call(req).instrument(span.clone()).await?;
    let took = started.elapsed();
    let request = response.request();
    let status = response.status().as_u16();
    crate::metrics::http_request(
        request.match_pattern(),
        request.method().as_str(),
        status,
        took,
    );
    span.in_scope(|| {
        tracing::info!(
            method = %request.method(),
            path = %logged_path(request.path()),
            status,
            elapsed_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            "request"
        )
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_client_ids_are_kept() {
        assert!(is_sane("req-7f3a.b_c:1"));
        for bad in ["", "a b", "x\u{7f}", "é", &"a".repeat(129), "a\r\nb"] {
            assert!(!is_sane(bad), "{bad:?}");
        }
        assert_ne!(new_request_id(), new_request_id());
    }

    #[test]
    fn a_connect_links_token_is_not_logged() {
        assert_eq!(logged_path("/connect/s3cr3t"), "/connect/{token}");
        assert_eq!(logged_path("/connect/s3cr3t/done"), "/connect/{token}/done");
        assert_eq!(logged_path("/connect.js"), "/connect.js");
        let by_id = "/connect/sessions/cs_1/done";
        assert_eq!(logged_path(by_id), by_id);
        assert_eq!(logged_path("/v2/users/u/tokens"), "/v2/users/u/tokens");
    }
}
