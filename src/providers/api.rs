//! How a provider's API is called with a credential: its base URL and where the secret goes
//! (`api_base_url`, `api_auth` in the registry). The proxy reads these.

use serde::Deserialize;

/// Where a credential goes on an API request: `bearer` | `header:NAME[:PREFIX]` |
/// `query:PARAM[:SECRET_PARAM]` | `basic`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ApiAuth {
    /// `Authorization: Bearer <token>`.
    #[default]
    Bearer,
    /// `NAME: <token>`, or `NAME: PREFIX <token>` (Discord's `Authorization: Bot …`).
    Header {
        name: String,
        prefix: Option<String>,
    },
    /// `?PARAM=<token>` added to the query string; with `secret_param`, an API key's
    /// `api_secret` goes beside it (Trello's `?key=…&token=…`).
    Query {
        param: String,
        secret_param: Option<String>,
    },
    /// HTTP Basic: a `basic` credential's username and password; a key as the username with
    /// its `api_secret` (or nothing) as the password (Stripe, Twilio).
    Basic,
}

impl ApiAuth {
    /// Parses the registry's text form.
    pub fn parse(text: &str) -> Result<ApiAuth, String> {
        let bad = || {
            format!(
                "api_auth {text:?} must be bearer, basic, header:NAME[:PREFIX] or query:PARAM[:SECRET_PARAM]"
            )
        };
        let mut parts = text.splitn(3, ':');
        let kind = parts.next().unwrap_or_default();
        let name = parts.next().map(str::trim);
        let rest = parts.next().map(str::trim);
        match (kind, name, rest) {
            ("bearer", None, None) => Ok(ApiAuth::Bearer),
            ("basic", None, None) => Ok(ApiAuth::Basic),
            ("header", Some(name), prefix) if is_token(name) => Ok(ApiAuth::Header {
                name: name.to_ascii_lowercase(),
                prefix: prefix
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        p.bytes()
                            .all(|b| b.is_ascii_graphic())
                            .then(|| p.to_string())
                            .ok_or_else(bad)
                    })
                    .transpose()?,
            }),
            ("query", Some(param), secret) if is_token(param) => {
                let secret_param = match secret {
                    Some(s) if is_token(s) && s != param => Some(s.to_string()),
                    Some(_) => return Err(bad()),
                    None => None,
                };
                Ok(ApiAuth::Query {
                    param: param.to_string(),
                    secret_param,
                })
            }
            _ => Err(bad()),
        }
    }
}

/// An HTTP token (RFC 9110 §5.6.2): what a header name or a plain query name may be.
pub fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl<'de> Deserialize<'de> for ApiAuth {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ApiAuth::parse(text.trim()).map_err(serde::de::Error::custom)
    }
}

/// Checks an `api_base_url`: an absolute http(s) URL with a host, no user info, query or
/// fragment; returned without a trailing `/`.
pub fn check_base_url(text: &str) -> Result<String, String> {
    let bad = || {
        format!(
            "api_base_url {text:?} must be an absolute http(s) URL without query or fragment, \
             e.g. https://api.example.com/v1"
        )
    };
    let url = url::Url::parse(text.trim()).map_err(|_| bad())?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    if !plain {
        return Err(bad());
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_auth_forms_parse() {
        assert_eq!(ApiAuth::parse("bearer"), Ok(ApiAuth::Bearer));
        assert_eq!(ApiAuth::parse("basic"), Ok(ApiAuth::Basic));
        assert_eq!(
            ApiAuth::parse("header:X-Api-Key"),
            Ok(ApiAuth::Header {
                name: "x-api-key".into(),
                prefix: None
            })
        );
        assert_eq!(
            ApiAuth::parse("header:Authorization:Bot"),
            Ok(ApiAuth::Header {
                name: "authorization".into(),
                prefix: Some("Bot".into())
            })
        );
        assert_eq!(
            ApiAuth::parse("query:key"),
            Ok(ApiAuth::Query {
                param: "key".into(),
                secret_param: None
            })
        );
        assert_eq!(
            ApiAuth::parse("query:key:token"),
            Ok(ApiAuth::Query {
                param: "key".into(),
                secret_param: Some("token".into())
            })
        );
        for bad in [
            "",
            "bearer:x",
            "header:",
            "header:a b",
            "query:",
            "query:a=b",
            "query:key:key",
            "query:key:",
            "cookie:x",
        ] {
            assert!(ApiAuth::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base_urls_are_checked() {
        assert_eq!(
            check_base_url("https://api.example.com/v1/").as_deref(),
            Ok("https://api.example.com/v1")
        );
        assert_eq!(
            check_base_url("https://api.example.com").as_deref(),
            Ok("https://api.example.com")
        );
        for bad in [
            "api.example.com",
            "ftp://x.com",
            "https://u:p@x.com",
            "https://x.com/?a=1",
            "https://x.com/#f",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }
}
