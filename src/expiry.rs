//! Durations as people write them for key and token lifetimes: "90s", "15m", "1h", "30d", "1w",
//! "1M" (a month of 30 days).

use chrono::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;

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
