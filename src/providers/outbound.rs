//! Which addresses tokenvault may call on a caller's behalf (webhook targets, the proxy's
//! upstreams): loopback, private, link-local and other internal addresses are refused unless an
//! operator allows them, by the literal address in a URL and again by what a name resolves to
//! when connecting (`PublicOnly`), so a public name that resolves to a private address is
//! refused too.

use std::net::IpAddr;

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

/// Why `url` is refused as a target, when its host is an internal literal: `"{subject}
/// {internal}; private targets are refused …"` (`subject`: "token_url is", "The provider's API
/// is at").
pub fn private_refusal(subject: &str, url: &reqwest::Url) -> Option<String> {
    let internal = internal_literal(url)?;
    Some(format!(
        "{subject} {internal}; private targets are refused \
         (TOKENVAULT_OUTBOUND_ALLOW_PRIVATE=true allows them)"
    ))
}

/// The base of every HTTP client tokenvault calls out with (providers, webhook receivers, the
/// proxy's upstreams): ring as the TLS crypto provider, tokenvault's `User-Agent`, redirects
/// never followed, and — with `public_only` — names resolved to public addresses only.
pub fn client_builder(public_only: bool) -> reqwest::ClientBuilder {
    // reqwest is built without a bundled crypto provider; ring is ours. Installing twice
    // (several apps in one process) is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let builder = reqwest::Client::builder()
        .user_agent(concat!("tokenvault/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none());
    match public_only {
        true => builder.dns_resolver(PublicOnly),
        false => builder,
    }
}

/// Resolves names for outbound requests, refusing internal addresses: a name that resolves to
/// no public address fails to connect.
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_string();
        Box::pin(async move {
            let all = resolve(&name, 0).await;
            let public: Vec<_> = all
                .into_iter()
                .filter(|ip| !is_internal(*ip))
                .map(|ip| std::net::SocketAddr::new(ip, 0))
                .collect();
            if public.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{name} resolves to no public address").into();
                return Err(refused);
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
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

/// A `Retry-After` (RFC 9110 §10.2.3): delay seconds, or an HTTP date (as far from `now`; a
/// date in the past is no wait).
pub fn retry_after(
    headers: &reqwest::header::HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<std::time::Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(std::time::Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - now;
    Some(wait.to_std().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let read = |value: &str| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::RETRY_AFTER, value.parse().unwrap());
            retry_after(&headers, now).map(|d| d.as_secs())
        };
        assert_eq!(read("120"), Some(120));
        assert_eq!(read("Wed, 21 Oct 2015 07:28:00 GMT"), Some(60));
        assert_eq!(read("Wed, 21 Oct 2015 07:26:00 GMT"), Some(0));
        assert_eq!(read("soon"), None);
        assert_eq!(read("-1"), None);
    }

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
