//! Which targets may be called at all: loopback, private, link-local and other internal
//! addresses are refused (by literal address, or by what a name resolves to) unless allowed.

use super::Error;
use crate::providers::outbound::{internal_literal, is_internal, resolve};

/// How long registering waits for a target's name to resolve.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// The longest URL accepted.
const MAX_URL_LEN: usize = 2048;

/// An absolute http(s) URL with a host and no credentials in it.
pub(super) fn check_url(url: &str) -> Result<reqwest::Url, Error> {
    let bad = |why: &str| Error::BadUrl(format!("url {why}"));
    if url.chars().count() > MAX_URL_LEN {
        return Err(bad(&format!("is longer than {MAX_URL_LEN} characters")));
    }
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|_| bad("must be an absolute http(s) URL, e.g. https://app.example.com/hooks"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad(
            "must be an absolute http(s) URL, e.g. https://app.example.com/hooks",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("must not contain a user name or password"));
    }
    Ok(parsed)
}

/// Refuses a target on loopback, private, link-local or otherwise internal addresses (by the
/// literal address, or every address its name resolves to), unless allowed.
pub async fn check_target(url: &reqwest::Url, allow_private: bool) -> Result<(), Error> {
    if allow_private {
        return Ok(());
    }
    if let Some(what) = internal_literal(url) {
        return Err(refused(&what));
    }
    let Some(url::Host::Domain(name)) = url.host() else {
        return Ok(());
    };
    let port = url.port_or_known_default().unwrap_or(443);
    // A name that does not resolve in time is checked again at every delivery (the delivery
    // client's resolver connects to public addresses only).
    let addresses = tokio::time::timeout(RESOLVE_TIMEOUT, resolve(name, port))
        .await
        .unwrap_or_default();
    match addresses.iter().find(|ip| is_internal(**ip)) {
        Some(ip) => Err(refused(&format!("the internal address {ip}"))),
        None => Ok(()),
    }
}

fn refused(what: &str) -> Error {
    Error::RefusedTarget(format!(
        "url points to {what}; webhook targets must be public addresses \
         (TOKENVAULT_WEBHOOK_ALLOW_PRIVATE=true allows private ones)"
    ))
}
