//! What time it is, injected: services and workers take a `Clock`, so a test can move time
//! forward instead of rewriting rows or sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeDelta, Utc};

/// A source of the current time. Cheap to clone; all clones of a test clock move together.
#[derive(Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the system time (0 for the real clock).
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock (a test may still move a clone of it forward).
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Now, in UTC.
    pub fn now(&self) -> DateTime<Utc> {
        let offset = TimeDelta::milliseconds(self.offset_ms.load(Ordering::Relaxed));
        Utc::now()
            .checked_add_signed(offset)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Now as the naive UTC timestamp the database columns hold, to the microsecond.
    /// PostgreSQL keeps microseconds: a timestamp read back must equal the one written.
    pub fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc().trunc_subsecs(6)
    }

    /// Now in milliseconds since the Unix epoch.
    pub fn now_millis(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// Milliseconds on a monotonic count (since this process first asked), plus the offset:
    /// for ages and timeouts that a step of the system clock must not stretch or cut.
    pub fn ticks_ms(&self) -> i64 {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let elapsed = START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_millis();
        i64::try_from(elapsed)
            .unwrap_or(i64::MAX)
            .saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every clone of it) forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let _ = self
            .offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |offset| {
                Some(offset.saturating_add(millis))
            });
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock(+{} ms)", self.offset_ms.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_move_together_and_never_overflow() {
        let clock = Clock::system();
        let other = clock.clone();
        let before = other.now_millis();
        clock.advance(std::time::Duration::from_secs(3600));
        assert!(other.now_millis() - before >= 3_600_000);
        clock.advance(std::time::Duration::MAX);
        assert_eq!(other.now(), DateTime::<Utc>::MAX_UTC);
    }
}
