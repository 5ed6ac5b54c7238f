//! The device authorization grant (RFC 8628) at a provider: the device authorization request
//! (§3.1–3.2) and one poll of the token endpoint (§3.4–3.5), its answer classified. Providers
//! differ: GitHub answers pending with HTTP 200, Google with 428 and names the URL
//! `verification_url`, Microsoft says `authorization_declined` for a denial.

use std::time::Duration;

use serde_json::{Map, Value};

use super::client::{
    Exchanged, Failure, ProviderClient, authenticate_client, check_reply, json_reply,
    oauth_error_code, parse_body, parse_token_reply, seconds, send, with_body,
};
use super::{ClientAuth, OAuthClient, Provider};
use crate::secret::Secret;

/// Answers to a device authorization that no retry changes: the client is not allowed the
/// device flow (Google's wrong client type, GitHub's disabled device flow) or the scopes are not
/// (Google allows few there).
const START_REFUSALS: &[&str] = &[
    "invalid_client",
    "unauthorized_client",
    "invalid_scope",
    "device_flow_disabled",
];

/// The `grant_type` of RFC 8628 §3.4.
pub const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// §3.2: the interval when the provider names none.
pub const DEFAULT_INTERVAL_SECS: u64 = 5;
/// The longest wait between polls a provider may ask for.
pub const MAX_INTERVAL_SECS: u64 = 300;
/// The longest life of a device code accepted (a provider's `expires_in` is capped).
pub const MAX_DEVICE_CODE_SECS: u64 = 3600;

/// What the device authorization endpoint answered.
#[derive(Debug)]
pub struct DeviceAuthorization {
    /// A bearer secret: kept sealed, never shown.
    pub device_code: Secret<String>,
    /// What the user types at `verification_uri`.
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: u64,
    pub interval: u64,
}

/// One poll's answer.
#[derive(Debug)]
pub enum Poll {
    /// The user approved: the tokens.
    Tokens(Box<Exchanged>),
    /// `authorization_pending`: ask again after the interval.
    Pending,
    /// `slow_down`: ask again after the interval plus five seconds (or the one the reply names).
    SlowDown(Option<u64>),
    /// `access_denied` (Microsoft: `authorization_declined`).
    Denied,
    /// `expired_token`: the code is dead.
    Expired,
    /// Any other OAuth error ends the connect (§3.5): its code.
    Failed(String),
    /// No answer, 5xx, 429, garbage: ask again later.
    Transient(String),
}

impl ProviderClient {
    /// Starts a device authorization: the codes and where the user enters them.
    pub async fn device_authorization(
        &self,
        provider: &Provider,
        client: &OAuthClient,
        scopes: &[String],
        timeout: Duration,
    ) -> Result<DeviceAuthorization, Failure> {
        let url = provider
            .device_authorization_url
            .as_deref()
            .ok_or_else(|| {
                Failure::transient(format!(
                    "{} has no device authorization endpoint",
                    provider.key
                ))
            })?;
        let joined = scopes.join(&provider.scope_separator);
        let mut params = vec![("client_id", client.client_id.as_str())];
        if !scopes.is_empty() {
            params.push(("scope", joined.as_str()));
        }
        let request = self.request(provider, (reqwest::Method::POST, url), timeout)?;
        let request = with_body(request, provider.request_format, &params);
        let (status, retry_after, body) = send(request, timeout).await?;
        let reply = json_reply(check_reply(status, retry_after, &body, START_REFUSALS)?)?;
        device_authorization(&reply)
            .ok_or_else(|| Failure::transient("malformed device authorization reply"))
    }

    /// Polls the token endpoint once with the device code.
    pub async fn device_poll(
        &self,
        provider: &Provider,
        client: &OAuthClient,
        device_code: &Secret<String>,
        timeout: Duration,
    ) -> Poll {
        let Some(url) = provider.device_token_url() else {
            return Poll::Failed("no_token_endpoint".into());
        };
        let mut params = vec![
            ("grant_type", DEVICE_CODE),
            ("device_code", device_code.as_str()),
        ];
        let request = match self.request(provider, (reqwest::Method::POST, url), timeout) {
            Ok(request) => request,
            Err(failure) => return Poll::Failed(failure.reason().to_string()),
        };
        let request = match provider.device_client_secret {
            true => {
                let basic = provider.client_auth == ClientAuth::Basic;
                authenticate_client(request, &mut params, client, basic)
            }
            // A public client (GitHub, Microsoft): the client id alone.
            false => {
                params.push(("client_id", client.client_id.as_str()));
                request
            }
        };
        let request = with_body(request, provider.request_format, &params);
        let (status, retry_after, body) = match send(request, timeout).await {
            Ok(answer) => answer,
            Err(failure) => return Poll::Transient(failure.reason().to_string()),
        };
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Poll::Transient(format!("provider answered HTTP {}", status.as_u16()));
        }
        let parsed = parse_body(&body);
        if let Some(error) = parsed.as_ref().and_then(|p| p.get("error")) {
            return classify(
                &oauth_error_code(error.as_str().unwrap_or_default()),
                parsed.as_ref(),
            );
        }
        match check_reply(status, retry_after, &body, &[]).and_then(json_reply) {
            Ok(reply) => match parse_token_reply(reply.clone()) {
                Ok(tokens) => Poll::Tokens(Box::new(Exchanged {
                    tokens,
                    reply: Value::Object(reply),
                })),
                Err(failure) => Poll::Transient(failure.reason().to_string()),
            },
            Err(failure) => Poll::Transient(failure.reason().to_string()),
        }
    }
}

/// What an OAuth error on a poll means (RFC 8628 §3.5 and the providers' names).
fn classify(code: &str, reply: Option<&Map<String, Value>>) -> Poll {
    match code {
        "authorization_pending" => Poll::Pending,
        "slow_down" => Poll::SlowDown(reply.and_then(|r| seconds(r.get("interval")))),
        "access_denied" | "authorization_declined" => Poll::Denied,
        "expired_token" | "token_expired" => Poll::Expired,
        "temporarily_unavailable" | "server_error" | "rate_limited" | "ratelimited" => {
            Poll::Transient(format!("provider answered {code}"))
        }
        other => Poll::Failed(other.to_string()),
    }
}

fn device_authorization(reply: &Map<String, Value>) -> Option<DeviceAuthorization> {
    let text = |field: &str| {
        reply
            .get(field)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    Some(DeviceAuthorization {
        device_code: Secret::new(text("device_code")?),
        user_code: text("user_code")?,
        // Google says `verification_url`.
        verification_uri: text("verification_uri").or_else(|| text("verification_url"))?,
        verification_uri_complete: text("verification_uri_complete"),
        expires_in: seconds(reply.get("expires_in"))?.clamp(1, MAX_DEVICE_CODE_SECS),
        interval: seconds(reply.get("interval"))
            .unwrap_or(DEFAULT_INTERVAL_SECS)
            .clamp(1, MAX_INTERVAL_SECS),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn each_providers_device_reply_is_understood() {
        let google = map(json!({"device_code": "4/4-GMMh", "user_code": "GQVQ-JKEC",
            "verification_url": "https://www.google.com/device", "expires_in": 1800, "interval": 5}));
        let parsed = device_authorization(&google).unwrap();
        assert_eq!(parsed.verification_uri, "https://www.google.com/device");
        assert_eq!((parsed.expires_in, parsed.interval), (1800, 5));
        let github = map(json!({"device_code": "3584d8", "user_code": "WDJB-MJHT",
            "verification_uri": "https://github.com/login/device", "expires_in": "900"}));
        let parsed = device_authorization(&github).unwrap();
        assert_eq!(
            (parsed.expires_in, parsed.interval),
            (900, DEFAULT_INTERVAL_SECS)
        );
        assert!(device_authorization(&map(json!({"user_code": "x"}))).is_none());
        assert!(!format!("{parsed:?}").contains("3584d8"));
    }

    #[test]
    fn poll_errors_are_classified_as_rfc_8628_and_the_providers_say() {
        assert!(matches!(
            classify("authorization_pending", None),
            Poll::Pending
        ));
        let slow = map(json!({"error": "slow_down", "interval": 10}));
        assert!(matches!(
            classify("slow_down", Some(&slow)),
            Poll::SlowDown(Some(10))
        ));
        assert!(matches!(
            classify("authorization_declined", None),
            Poll::Denied
        ));
        assert!(matches!(classify("expired_token", None), Poll::Expired));
        assert!(matches!(classify("unknown_error", None), Poll::Failed(_)));
    }
}
