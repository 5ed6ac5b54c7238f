//! Which targets may be called at all: loopback, private, link-local and other internal
//! addresses are refused (by literal address, or by what a name resolves to) unless allowed.

use std::net::IpAddr;

use super::Error;

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

/// What is internal about a URL's host without resolving it: an internal literal address, or
/// `localhost`.
pub fn internal_literal(url: &reqwest::Url) -> Option<String> {
    let ip = match url.host()? {
        url::Host::Ipv4(ip) => IpAddr::V4(ip),
        url::Host::Ipv6(ip) => IpAddr::V6(ip),
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let local = name == "localhost" || name.ends_with(".localhost");
            return local.then(|| "localhost".to_string());
        }
    };
    is_internal(ip).then(|| format!("the internal address {ip}"))
}

fn refused(what: &str) -> Error {
    Error::RefusedTarget(format!(
        "url points to {what}; webhook targets must be public addresses \
         (TOKENVAULT_WEBHOOK_ALLOW_PRIVATE=true allows private ones)"
    ))
}

/// The addresses `name` resolves to (none if it does not resolve: the delivery will fail and
/// be retried, and checked again).
pub async fn resolve(name: &str, port: u16) -> Vec<IpAddr> {
    use std::net::ToSocketAddrs;
    let target = format!("{name}:{port}");
    tokio::task::spawn_blocking(move || {
        target
            .to_socket_addrs()
            .map(|addrs| addrs.map(|a| a.ip()).collect())
            .unwrap_or_default()
    })
    .await
    .unwrap_or_default()
}

/// Loopback, private, link-local, shared, unspecified, multicast and documentation addresses.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let first = segments[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                // NAT64 for local use (RFC 8215): 64:ff9b:1::/48.
                || segments[..3] == [0x64, 0xff9b, 1]
                || embedded_ipv4(v6)
                    .into_iter()
                    .any(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

/// The IPv4 addresses an IPv6 address carries, by the forms that route to them: mapped
/// (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`, RFC 6052), 6to4
/// (`2002:AABB:CCDD::`, RFC 3056) and Teredo (`2001:0::`, server and obfuscated client,
/// RFC 4380).
fn embedded_ipv4(v6: std::net::Ipv6Addr) -> Vec<std::net::Ipv4Addr> {
    let s = v6.segments();
    let v4 = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        std::net::Ipv4Addr::new(a, b, c, d)
    };
    let mut found = Vec::new();
    if let Some(mapped) = v6.to_ipv4_mapped() {
        found.push(mapped);
    }
    if s[..6] == [0; 6] {
        found.push(v4(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        found.push(v4(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        found.push(v4(s[1], s[2]));
    }
    if s[0] == 0x2001 && s[1] == 0 {
        found.push(v4(s[2], s[3]));
        found.push(v4(!s[6], !s[7]));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::8.8.8.8",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "2001:0:7f00:1::1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1::1",
            "8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
