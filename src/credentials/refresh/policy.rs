//! When to refresh, and what a provider's answer means for the credential: pure functions of
//! the row, the clock and the settings, so every rule can be tested without a database.

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::credentials::data::MAX_EXPIRES_IN;
use crate::credentials::model::{Outcome, TokenStatus};
use crate::credentials::{Credential, Error};
use crate::providers::Registry;
use crate::providers::client::Failure;

/// The longest pause a provider's `Retry-After` can impose on a credential.
const MAX_PROVIDER_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Unix milliseconds now: the unit of lease and cooldown columns.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Whole seconds from `now_ms` until `until_ms`, rounded up; 0 when it has passed.
pub fn seconds_until(until_ms: i64, now_ms: i64) -> u64 {
    u64::try_from(until_ms.saturating_sub(now_ms))
        .unwrap_or(0)
        .div_ceil(1000)
}

/// Seconds of cooldown left, if a cooldown is running.
pub fn cooldown_left(cooldown_until: Option<i64>, now_ms: i64) -> Option<u64> {
    cooldown_until
        .filter(|until| *until > now_ms)
        .map(|until| seconds_until(until, now_ms))
}

/// Seconds until a forced refresh is allowed again, when the provider was asked less than `min`
/// ago.
pub fn forced_too_soon(last_refresh_at: Option<i64>, now_ms: i64, min: Duration) -> Option<u64> {
    let min_ms = i64::try_from(min.as_millis()).unwrap_or(i64::MAX);
    let allowed_at = last_refresh_at?.saturating_add(min_ms);
    (allowed_at > now_ms).then(|| seconds_until(allowed_at, now_ms))
}

/// When the cooldown after a transient failure ends: our own pause, or the provider's
/// `Retry-After` when longer (capped at a day).
pub fn cooldown_until(now_ms: i64, cooldown: Duration, retry_after: Option<u64>) -> i64 {
    let asked = Duration::from_secs(retry_after.unwrap_or(0)).min(MAX_PROVIDER_RETRY_AFTER);
    let pause = i64::try_from(cooldown.max(asked).as_millis()).unwrap_or(i64::MAX);
    now_ms.saturating_add(pause)
}

/// `now + expires_in`, with a provider's absurd values held to ten years.
pub fn expires_at_after(now: NaiveDateTime, expires_in: u64) -> Option<NaiveDateTime> {
    let secs = i64::try_from(expires_in.min(MAX_EXPIRES_IN)).ok()?;
    now.checked_add_signed(chrono::Duration::seconds(secs))
}

/// Whether a token expiring at `expires_at` still works at `now` (no expiry: it does).
pub fn still_valid(expires_at: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    expires_at.is_none_or(|at| at > now)
}

/// Whether a GET refreshes first: forced, or less than `window` left.
pub fn due(
    expires_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
    window: Duration,
    force: bool,
) -> bool {
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    force || expires_at.is_some_and(|at| at.signed_duration_since(now) <= window)
}

/// Why this credential cannot be refreshed at all, if it cannot.
pub fn not_refreshable(credential: &Credential, registry: &Registry) -> Option<String> {
    let row = &credential.row;
    let Some(data) = credential.data.oauth2() else {
        return Some(format!(
            "Token type {} does not support refresh",
            row.token_type
        ));
    };
    if data.refresh_token().is_none() {
        return Some("This credential has no refresh token to refresh with".into());
    }
    match registry.get(&row.provider) {
        Some(p) if p.token_url.is_some() => None,
        _ => Some(format!(
            "Provider {} does not support refresh",
            row.provider
        )),
    }
}

/// What a failed refresh writes: the new status, the cooldown, and the audit outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureRecord {
    pub status: TokenStatus,
    pub cooldown_until: Option<i64>,
    pub outcome: Outcome,
}

/// A rejected grant makes the credential invalid; anything else starts a cooldown and leaves
/// the status alone, unless the token has already expired.
pub fn on_failure(
    failure: &Failure,
    (status, expires_at): (TokenStatus, Option<NaiveDateTime>),
    (now, now_ms): (NaiveDateTime, i64),
    cooldown: Duration,
) -> FailureRecord {
    match failure {
        Failure::Rejected(_) => FailureRecord {
            status: TokenStatus::Invalid,
            cooldown_until: None,
            outcome: Outcome::Invalid,
        },
        Failure::Transient { retry_after, .. } => FailureRecord {
            status: match still_valid(expires_at, now) {
                true => status,
                false => TokenStatus::Expired,
            },
            cooldown_until: Some(cooldown_until(now_ms, cooldown, *retry_after)),
            outcome: Outcome::Transient,
        },
    }
}

/// The error a failed refresh answers with.
pub fn error_for(failure: Failure, record: &FailureRecord, now_ms: i64) -> Error {
    match failure {
        Failure::Rejected(reason) => Error::rejected(Some(&reason)),
        Failure::Transient { reason, .. } => Error::Unavailable {
            reason,
            retry_after: record
                .cooldown_until
                .map(|until| seconds_until(until, now_ms)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_is_due_inside_the_window_or_forced() {
        let now = crate::db::now();
        let window = Duration::from_secs(300);
        let at = |secs| Some(now + chrono::Duration::seconds(secs));
        assert!(due(at(120), now, window, false));
        assert!(!due(at(3600), now, window, false));
        assert!(due(at(3600), now, window, true));
        assert!(!due(None, now, window, false));
    }

    #[test]
    fn cooldown_arithmetic_never_overflows() {
        assert_eq!(seconds_until(2_500, 1_000), 2);
        assert_eq!(seconds_until(1_000, 2_000), 0);
        assert_eq!(cooldown_left(Some(1_000), 2_000), None);
        let until = cooldown_until(i64::MAX - 5, Duration::from_secs(30), Some(u64::MAX));
        assert_eq!(until, i64::MAX);
        let until = cooldown_until(0, Duration::from_secs(30), Some(u64::MAX));
        assert_eq!(until, 24 * 3600 * 1000);
        let now = crate::db::now();
        assert!(expires_at_after(now, u64::MAX).is_some());
    }
}
