//! Where a proxied request goes: the provider's API base URL and the caller's path under it,
//! with every way a path could leave the base URL refused.

use super::Error;

/// The longest path tail accepted.
const MAX_TAIL: usize = 4096;

/// The upstream URL for `tail` (the raw, still percent-encoded path after
/// `/proxy/{integration_key}/`) and `query` (raw) under `base` (no trailing `/`).
///
/// Refused: `..` and `.` segments (also percent-encoded), empty segments (`//`), `\`, `@`,
/// `#`, control characters, encoded `/` `\` `@` and `%00`, a first segment that reads as a
/// URL scheme (`http:`), and anything whose parsed result is not under `base` after all.
pub fn upstream_url(base: &str, tail: &str, query: Option<&str>) -> Result<url::Url, Error> {
    check_tail(tail)?;
    let mut text = format!("{base}/{tail}");
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        if query.contains('#') || query.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(bad("the query string has characters a URL cannot carry"));
        }
        text.push('?');
        text.push_str(query);
    }
    let base = url::Url::parse(base).map_err(|_| Error::NotProxied("bad api_base_url".into()))?;
    let url = url::Url::parse(&text).map_err(|_| bad("the path does not form a URL"))?;
    if !stays_under(&base, &url) {
        return Err(bad("the path leaves the provider's API base URL"));
    }
    Ok(url)
}

fn bad(why: &str) -> Error {
    Error::BadPath(format!("Invalid proxy path: {why}"))
}

/// The path rules, on the raw tail and on each segment decoded once.
fn check_tail(tail: &str) -> Result<(), Error> {
    if tail.len() > MAX_TAIL {
        return Err(bad(&format!("longer than {MAX_TAIL} bytes")));
    }
    if tail.is_empty() {
        return Ok(());
    }
    if tail.contains(['\\', '@', '#', '?']) || tail.bytes().any(|b| b.is_ascii_control()) {
        return Err(bad("\\, @, # and control characters are not allowed"));
    }
    let segments: Vec<&str> = tail.split('/').collect();
    let last = segments.len() - 1;
    for (index, segment) in segments.iter().enumerate() {
        // One trailing `/` is a path's own (`/repos/`); an empty segment elsewhere is `//`.
        if segment.is_empty() && index != last {
            return Err(bad("empty segments (//) are not allowed"));
        }
        let decoded = percent_decode(segment).ok_or_else(|| bad("a malformed %-escape"))?;
        if decoded == b"." || decoded == b".." {
            return Err(bad(". and .. segments are not allowed"));
        }
        if decoded
            .iter()
            .any(|b| b"/\\@".contains(b) || b.is_ascii_control())
        {
            return Err(bad(
                "encoded /, \\, @ or control characters are not allowed",
            ));
        }
    }
    if looks_like_scheme(segments[0]) {
        return Err(bad("the path may not start with a URL scheme"));
    }
    Ok(())
}

/// `scheme:` at the start of a segment (RFC 3986 §3.1).
fn looks_like_scheme(segment: &str) -> bool {
    let Some((scheme, _)) = segment.split_once(':') else {
        return false;
    };
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// `%XX` escapes decoded; `None` when one is malformed.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Same scheme, host and port as `base`, and a path at or below `base`'s.
fn stays_under(base: &url::Url, url: &url::Url) -> bool {
    let root = base.path().trim_end_matches('/');
    let path = url.path();
    base.scheme() == url.scheme()
        && base.host() == url.host()
        && base.port_or_known_default() == url.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none()
        && (path == root || path.starts_with(&format!("{root}/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://api.example.com/v1";

    fn url(tail: &str, query: Option<&str>) -> Result<String, String> {
        upstream_url(BASE, tail, query)
            .map(|u| u.to_string())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn ordinary_paths_stay_under_the_base() {
        assert_eq!(
            url("user", None).unwrap(),
            "https://api.example.com/v1/user"
        );
        assert_eq!(
            url("repos/a/b/issues", Some("state=open&per_page=5")).unwrap(),
            "https://api.example.com/v1/repos/a/b/issues?state=open&per_page=5"
        );
        assert_eq!(url("", None).unwrap(), "https://api.example.com/v1/");
        assert_eq!(
            url("files/", None).unwrap(),
            "https://api.example.com/v1/files/"
        );
        assert_eq!(
            url("spreadsheets/x/values:batchGet", None).unwrap(),
            "https://api.example.com/v1/spreadsheets/x/values:batchGet"
        );
        assert_eq!(
            url("search/a%20b", None).unwrap(),
            "https://api.example.com/v1/search/a%20b"
        );
    }

    #[test]
    fn hostile_paths_are_refused() {
        for tail in [
            "..",
            "../admin",
            "a/../../admin",
            "./x",
            "%2e%2e/admin",
            "%2E%2E/admin",
            ".%2e/admin",
            "a/%2e",
            "a//b",
            "/evil.com/x",
            "//evil.com",
            "a%2fb",
            "a%2F..%2Fb",
            "a%5cb",
            "a\\b",
            "@evil.com",
            "user@evil.com/x",
            "a%40b",
            "http://evil.com/x",
            "http:evil.com",
            "javascript:alert(1)",
            "a%00b",
            "a%zz",
            "a%2",
            "a\tb",
            "a#frag",
        ] {
            assert!(url(tail, None).is_err(), "{tail} was accepted");
        }
        assert!(url("x", Some("a=1#frag")).is_err());
    }
}
