//! When to refresh, and what a provider's answer means for the credential: pure functions of
//! the row, the clock and the settings, so every rule can be tested without a database.

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::credentials::data::{MAX_EXPIRES_IN, TokenData};
use crate::credentials::{Credential, Error};
use crate::model::{Outcome, TokenStatus};
use crate::providers::Registry;
use crate::providers::client::Failure;

/// The longest pause a provider's `Retry-After` can impose on a credential.
const MAX_PROVIDER_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

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

/// The longest pause of the background refresher after failures.
const MAX_BACKGROUND_BACKOFF: Duration = Duration::from_secs(3600);

/// When the background refresher may try again after `failures` consecutive failures:
/// `base` doubled per failure up to an hour, the second half of it random ("equal jitter", so
/// instances and credentials that failed together do not retry together), and never before the
/// cooldown ends. `jitter` is a random number in [0, 1).
pub fn background_retry_at(
    now_ms: i64,
    failures: i32,
    base: Duration,
    cooldown_until: Option<i64>,
    jitter: f64,
) -> i64 {
    let pause = backoff(
        base,
        failures.saturating_sub(1),
        MAX_BACKGROUND_BACKOFF,
        jitter,
    );
    let pause_ms = i64::try_from(pause.as_millis()).unwrap_or(i64::MAX);
    now_ms
        .saturating_add(pause_ms)
        .max(cooldown_until.unwrap_or(i64::MIN))
}

/// Exponential backoff with equal jitter: `base` doubled `doublings` times (at most 20), capped
/// at `max`; half of it fixed, the other half scaled by `jitter` in [0, 1).
pub fn backoff(base: Duration, doublings: i32, max: Duration, jitter: f64) -> Duration {
    let doublings = u32::try_from(doublings.clamp(0, 20)).unwrap_or(0);
    let pause = base.saturating_mul(1u32 << doublings).min(max);
    pause / 2 + pause.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
}

/// When the background refresher looks at a just-refreshed credential again: when it enters
/// the `ahead` window, or, for tokens that live shorter than that, halfway through their life
/// (never a refresh on every scan).
pub fn background_after_success(
    asked_at_ms: i64,
    expires_at: Option<NaiveDateTime>,
    ahead: Duration,
) -> Option<i64> {
    let expires_ms = expires_at?.and_utc().timestamp_millis();
    let ahead_ms = i64::try_from(ahead.as_millis()).unwrap_or(i64::MAX);
    let halfway = asked_at_ms.saturating_add(expires_ms.saturating_sub(asked_at_ms) / 2);
    Some(expires_ms.saturating_sub(ahead_ms).max(halfway))
}

/// A random number in [0, 1) for jitter (0.5 if the generator fails: jitter is not security).
pub fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    match getrandom::getrandom(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.5,
    }
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
    let data = &credential.data;
    if !data.token_type().renewed() {
        return Some(format!(
            "Token type {} does not support refresh",
            row.token_type
        ));
    }
    if data.oauth2().is_some_and(|d| d.refresh_token().is_none()) {
        return Some("This credential has no refresh token to refresh with".into());
    }
    let installs = matches!(data, TokenData::ServiceAccount(d) if d.installation_id.is_some());
    match registry
        .lookup(row.tenant.as_str(), &row.provider)
        .as_deref()
    {
        Some(p) if installs && p.installation_token_url.is_some() => None,
        Some(p) if !installs && (p.token_url.is_some() || p.client_credentials_url.is_some()) => {
            None
        }
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
    fn background_backoff_doubles_with_jitter_and_respects_the_cooldown() {
        let base = Duration::from_secs(30);
        let at = |failures, jitter| background_retry_at(0, failures, base, None, jitter);
        assert_eq!(at(1, 0.0), 15_000);
        assert_eq!(at(1, 0.999_999), 29_999);
        assert_eq!(at(2, 0.0), 30_000);
        assert_eq!(at(3, 0.0), 60_000);
        assert_eq!(at(i32::MAX, 0.0), 1_800_000);
        assert_eq!(at(0, 0.0), 15_000);
        assert_eq!(background_retry_at(0, 1, base, Some(99_000), 0.0), 99_000);
        assert_eq!(background_retry_at(i64::MAX, 9, base, None, 0.9), i64::MAX);
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }

    #[test]
    fn after_success_the_next_look_is_at_the_window_or_halfway() {
        let now = crate::db::now();
        let now_ms = now.and_utc().timestamp_millis();
        let ahead = Duration::from_secs(600);
        let in_secs = |s| Some(now + chrono::Duration::seconds(s));
        assert_eq!(
            background_after_success(now_ms, in_secs(3600), ahead),
            Some(now_ms + 3_000_000)
        );
        assert_eq!(
            background_after_success(now_ms, in_secs(300), ahead),
            Some(now_ms + 150_000)
        );
        assert_eq!(background_after_success(now_ms, None, ahead), None);
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
