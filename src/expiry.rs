//! Durations as people write them for key and token lifetimes: "90s", "15m", "1h", "30d", "1w",
//! "1M" (a month of 30 days).

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

/// Parses `<number><unit>` with unit s, m, h, d, w or M.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad = || {
        format!(
            "{text:?} is not a duration: use a number and a unit, e.g. 90s, 15m, 1h, 30d, 1w, 1M"
        )
    };
    let unit_at = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(unit_at);
    let number: i64 = number.parse().map_err(|_| bad())?;
    let unit_secs: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "M" => 30 * 86_400,
        _ => return Err(bad()),
    };
    number
        .checked_mul(unit_secs)
        .filter(|secs| *secs > 0 && *secs <= 100 * 365 * 86_400)
        .map(Duration::seconds)
        .ok_or_else(bad)
}

/// Bounds on a requested lifetime.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub min: Duration,
    pub max: Duration,
}

/// Parses a time given by a client: RFC 3339, or without offset (taken as UTC).
pub fn parse_time(text: &str) -> Result<NaiveDateTime, chrono::ParseError> {
    let text = text.trim();
    match DateTime::parse_from_rfc3339(text) {
        Ok(at) => Ok(at.with_timezone(&Utc).naive_utc()),
        Err(_) => NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"),
    }
}

/// Resolves an expiry given as `expires_in` ("15m") or `expires_at` (RFC 3339), at most one of
/// them, within `bounds` of `now`; `default` when neither is given (`None`: no expiry).
pub fn resolve(
    expires_in: Option<&str>,
    expires_at: Option<&str>,
    now: NaiveDateTime,
    bounds: Bounds,
    default: Option<Duration>,
) -> Result<Option<NaiveDateTime>, String> {
    let lifetime = match (expires_in, expires_at) {
        (Some(_), Some(_)) => return Err("give expires_in or expires_at, not both".into()),
        (Some(text), None) => parse_duration(text)?,
        (None, Some(text)) => {
            let at = parse_time(text)
                .map_err(|_| format!("expires_at {text:?} is not an RFC 3339 time"))?;
            at.signed_duration_since(now)
        }
        (None, None) => match default {
            Some(lifetime) => lifetime,
            None => return Ok(None),
        },
    };
    // A few seconds of slack for the clock between the client and us.
    let slack = Duration::seconds(5);
    if lifetime < bounds.min - slack || lifetime > bounds.max + slack {
        return Err(format!(
            "the expiry must be between {} and {} from now",
            describe(bounds.min),
            describe(bounds.max)
        ));
    }
    Ok(Some(now + lifetime))
}

fn describe(duration: Duration) -> String {
    let secs = duration.num_seconds();
    match secs {
        s if s % 86_400 == 0 => format!("{} day(s)", s / 86_400),
        s if s % 3600 == 0 => format!("{} hour(s)", s / 3600),
        s if s % 60 == 0 => format!("{} minute(s)", s / 60),
        s => format!("{s} second(s)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCESS: Bounds = Bounds {
        min: Duration::minutes(1),
        max: Duration::days(30),
    };

    #[test]
    fn resolve_applies_default_bounds_and_exclusivity() {
        let now = Utc::now().naive_utc();
        let hour = Some(Duration::hours(1));
        assert_eq!(
            resolve(None, None, now, ACCESS, hour),
            Ok(Some(now + Duration::hours(1)))
        );
        assert_eq!(resolve(None, None, now, ACCESS, None), Ok(None));
        assert_eq!(
            resolve(Some("1M"), None, now, ACCESS, hour),
            Ok(Some(now + Duration::days(30)))
        );
        assert!(resolve(Some("30s"), None, now, ACCESS, hour).is_err());
        assert!(resolve(Some("5w"), None, now, ACCESS, hour).is_err());
        assert!(resolve(Some("1h"), Some("2030-01-01T00:00:00Z"), now, ACCESS, hour).is_err());
        let at = (Utc::now() + Duration::days(2)).to_rfc3339();
        assert!(
            resolve(None, Some(&at), now, ACCESS, hour)
                .unwrap()
                .is_some()
        );
        assert!(resolve(None, Some("tomorrow"), now, ACCESS, hour).is_err());
        assert!(resolve(None, Some("2001-01-01T00:00:00Z"), now, ACCESS, hour).is_err());
    }

    #[test]
    fn every_unit_parses() {
        assert_eq!(parse_duration("90s"), Ok(Duration::seconds(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::minutes(15)));
        assert_eq!(parse_duration("1h"), Ok(Duration::hours(1)));
        assert_eq!(parse_duration("30d"), Ok(Duration::days(30)));
        assert_eq!(parse_duration("1w"), Ok(Duration::weeks(1)));
        assert_eq!(parse_duration("1M"), Ok(Duration::days(30)));
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "",
            "h",
            "10",
            "1y",
            "-5m",
            "0s",
            "1.5h",
            "99999999999999999w",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
