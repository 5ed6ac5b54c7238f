//! Failed authentication, throttled per client address: past the limit in a minute, further
//! failures from that address answer 429 for a cool-down. Valid keys from the same address keep
//! working: only failures are refused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The counting window, and the cool-down once an address is over the limit.
const WINDOW: Duration = Duration::from_secs(60);
/// Above this many addresses, stale ones are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Debug)]
struct Tally {
    since: Instant,
    failures: u32,
    blocked_until: Option<Instant>,
}

#[derive(Debug)]
pub struct Throttle {
    per_minute: u32,
    addresses: Mutex<HashMap<IpAddr, Tally>>,
}

impl Throttle {
    pub fn new(per_minute: u32) -> Throttle {
        Throttle {
            per_minute,
            addresses: Mutex::new(HashMap::new()),
        }
    }

    /// Records a failure from `client`: seconds to wait when it is now over the limit.
    pub fn failed(&self, client: IpAddr) -> Option<u64> {
        let now = Instant::now();
        let mut addresses = self.addresses.lock().ok()?;
        if addresses.len() >= SWEEP_AT {
            addresses.retain(|_, t| {
                now.duration_since(t.since) < WINDOW || t.blocked_until.is_some_and(|b| b > now)
            });
        }
        let tally = addresses.entry(client).or_insert(Tally {
            since: now,
            failures: 0,
            blocked_until: None,
        });
        if let Some(until) = tally.blocked_until.filter(|until| *until > now) {
            return Some(until.duration_since(now).as_secs().max(1));
        }
        if now.duration_since(tally.since) >= WINDOW {
            *tally = Tally {
                since: now,
                failures: 0,
                blocked_until: None,
            };
        }
        tally.failures = tally.failures.saturating_add(1);
        if tally.failures > self.per_minute {
            tally.blocked_until = Some(now + WINDOW);
            return Some(WINDOW.as_secs());
        }
        None
    }
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the rightmost
/// address of `X-Forwarded-For` that is not one.
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = forwarded_for
        .into_iter()
        .flat_map(|list| list.rsplit(','))
        .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
        .find(|ip| !trusted.contains(ip));
    Some(forwarded.unwrap_or(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_over_the_limit_is_told_to_wait() {
        let throttle = Throttle::new(3);
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(throttle.failed(a), None);
        }
        assert_eq!(throttle.failed(a), Some(60));
        assert!(throttle.failed(a).is_some());
        assert_eq!(throttle.failed(b), None);
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.9".parse().unwrap();
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let xff = Some("198.51.100.1, 203.0.113.7");
        assert_eq!(client_address(Some(client), xff, &[proxy]), Some(client));
        assert_eq!(client_address(Some(proxy), xff, &[proxy]), Some(client));
        assert_eq!(client_address(Some(proxy), None, &[proxy]), Some(proxy));
        assert_eq!(client_address(None, xff, &[proxy]), None);
    }
}
