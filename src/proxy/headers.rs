//! What crosses the proxy: the caller's headers minus its credentials, tokenvault's own and the
//! hop-by-hop ones; the credential put where the provider wants it; the upstream's answer minus
//! hop-by-hop headers and cookies.

use base64::Engine;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

use super::Error;
use crate::credentials::data::TokenData;
use crate::providers::ApiAuth;
use crate::secret::Secret;

/// Hop-by-hop headers (RFC 9110 §7.6.1) and others that describe one connection only.
const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
];

/// The caller's headers that never go upstream: its credentials for tokenvault, its cookies,
/// where it came from, and the framing reqwest sets itself.
const CALLER_ONLY: [&str; 8] = [
    "x-api-key",
    "authorization",
    "cookie",
    "host",
    "content-length",
    "forwarded",
    "x-real-ip",
    "x-request-id",
];

/// Whether a header of the caller's request may be forwarded.
fn forwardable(name: &str, connection: &[String]) -> bool {
    !(HOP_BY_HOP.contains(&name)
        || CALLER_ONLY.contains(&name)
        || name.starts_with("x-forwarded-")
        || name.starts_with("x-tokenvault-")
        || connection.iter().any(|c| c == name))
}

/// The header names a `Connection` header lists (they are hop-by-hop too).
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(reqwest::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect()
}

/// The caller's headers as they go upstream (before the credential is added).
pub fn outgoing(caller: &HeaderMap) -> HeaderMap {
    let connection = connection_listed(caller);
    let mut out = HeaderMap::with_capacity(caller.len());
    for (name, value) in caller {
        if forwardable(name.as_str(), &connection) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// The upstream's headers as they go back to the caller: no hop-by-hop headers, no cookies,
/// nothing that could pass for tokenvault's own (`X-Tokenvault-*`), no framing (set anew).
pub fn incoming(upstream: &HeaderMap) -> HeaderMap {
    let connection = connection_listed(upstream);
    let mut out = HeaderMap::with_capacity(upstream.len());
    for (name, value) in upstream {
        let name_text = name.as_str();
        let dropped = HOP_BY_HOP.contains(&name_text)
            || connection.iter().any(|c| c == name_text)
            || matches!(name_text, "set-cookie" | "set-cookie2" | "content-length")
            || name_text.starts_with("x-tokenvault-");
        if !dropped {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// The secret a credential contributes to an API request: a token (an API key may carry a
/// password for Basic), or a username and password that only HTTP Basic can carry.
enum Presented<'a> {
    Token(&'a str, Option<&'a str>),
    Pair(&'a str, &'a str),
}

fn presented(data: &TokenData) -> Option<Presented<'_>> {
    Some(match data {
        TokenData::OAuth2(d) => Presented::Token(d.access_token.as_str(), None),
        TokenData::ApiKey(d) => Presented::Token(
            d.api_key.as_str(),
            d.api_secret.as_ref().map(Secret::as_str),
        ),
        TokenData::Jwt(d) => Presented::Token(d.token.as_str(), None),
        TokenData::Basic(d) => Presented::Pair(&d.username, d.password.as_str()),
        TokenData::ClientCredentials(_) | TokenData::ServiceAccount(_) => {
            Presented::Token(data.minted()?.access_token.as_str(), None)
        }
    })
}

/// Where the credential goes on one request: a header, or query parameters.
pub enum Injection {
    Header(HeaderName, Secret<HeaderValue>),
    Query(Vec<(String, Secret<String>)>),
}

/// Puts `data` where `auth` says. A `basic` credential always travels as HTTP Basic.
pub fn injection(auth: &ApiAuth, data: &TokenData) -> Result<Injection, Error> {
    let not_injectable = |why: &str| Error::NotProxied(why.to_string());
    let secret = presented(data)
        .ok_or_else(|| not_injectable("no access token has been minted for this credential yet"))?;
    let header = |name: HeaderName, value: String| {
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| not_injectable("the credential cannot be sent in an HTTP header"))?;
        value.set_sensitive(true);
        Ok(Injection::Header(name, Secret::new(value)))
    };
    match (auth, secret) {
        (ApiAuth::Basic, Presented::Token(token, password)) => {
            header(AUTHORIZATION, basic(token, password.unwrap_or_default()))
        }
        (_, Presented::Pair(user, password)) => header(AUTHORIZATION, basic(user, password)),
        (ApiAuth::Bearer, Presented::Token(token, _)) => {
            header(AUTHORIZATION, format!("Bearer {token}"))
        }
        (ApiAuth::Header { name, prefix }, Presented::Token(token, _)) => {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| not_injectable("the provider's api_auth header name is invalid"))?;
            let value = match prefix {
                Some(prefix) => format!("{prefix} {token}"),
                None => token.to_string(),
            };
            header(name, value)
        }
        (
            ApiAuth::Query {
                param,
                secret_param,
            },
            Presented::Token(token, secret),
        ) => {
            let mut pairs = vec![(param.clone(), Secret::new(token.to_string()))];
            if let Some(name) = secret_param {
                let secret = secret.ok_or_else(|| {
                    not_injectable("this provider's API needs the key's api_secret as well")
                })?;
                pairs.push((name.clone(), Secret::new(secret.to_string())));
            }
            Ok(Injection::Query(pairs))
        }
    }
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// Applies `injection` to a request about to go: the header (replacing any the caller sent
/// under that name), or the query parameter (replacing any the caller sent under that name).
pub fn inject(injection: &Injection, headers: &mut HeaderMap, url: &mut url::Url) {
    match injection {
        Injection::Header(name, value) => {
            headers.insert(name.clone(), value.expose().clone());
        }
        Injection::Query(injected) => {
            let ours = |name: &str| injected.iter().any(|(param, _)| param == name);
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(name, _)| !ours(name))
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect();
            let mut pairs = url.query_pairs_mut();
            pairs.clear();
            for (name, value) in &kept {
                pairs.append_pair(name, value);
            }
            for (param, value) in injected {
                pairs.append_pair(param, value.as_str());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        headers
    }

    #[test]
    fn callers_credentials_and_hop_by_hop_headers_stay_behind() {
        let caller = map(&[
            ("x-api-key", "agk_secret"),
            ("authorization", "Bearer agat_x"),
            ("cookie", "session=1"),
            ("connection", "keep-alive, x-custom"),
            ("x-custom", "hop"),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-tokenvault-retries", "2"),
            ("accept", "application/json"),
            ("notion-version", "2022-06-28"),
            ("user-agent", "app/1"),
        ]);
        let out = outgoing(&caller);
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept", "notion-version", "user-agent"]);
    }

    #[test]
    fn upstream_cookies_and_framing_do_not_come_back() {
        let upstream = map(&[
            ("set-cookie", "a=b"),
            ("transfer-encoding", "chunked"),
            ("content-length", "3"),
            ("x-tokenvault-error", "true"),
            ("retry-after", "5"),
            ("x-ratelimit-remaining", "0"),
        ]);
        let back = incoming(&upstream);
        let names: Vec<&str> = back.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["retry-after", "x-ratelimit-remaining"]);
    }

    #[test]
    fn query_injection_replaces_the_callers_parameter() {
        let mut url = url::Url::parse("https://x.test/a?key=mine&q=1&token=t").unwrap();
        let injection = Injection::Query(vec![
            ("key".into(), Secret::new("theirs".into())),
            ("token".into(), Secret::new("their-token".into())),
        ]);
        inject(&injection, &mut HeaderMap::new(), &mut url);
        assert_eq!(url.query(), Some("q=1&key=theirs&token=their-token"));
    }
}
