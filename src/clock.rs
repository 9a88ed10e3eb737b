//! What time it is, for every timestamp a client can see (createdAt,
//! registeredAt, creationTime, ...) and every deadline computed from them.
//!
//! One place answers so that the answer can be controlled: tests that wait
//! on schedules (deployments, retention, expiry) can move ecsbox's time
//! forward with `advance` instead of sleeping. The clock is the system
//! clock plus an offset that only grows, so time never runs backwards and
//! timestamps stay close to what a client's own clock reads.
//!
//! Not everything asks here, on purpose:
//! - SigV4's clock-skew check compares with the client's real clock.
//! - Docker reports its containers' times from the engine's clock (and the
//!   fake runtime stands in for the engine).
//! - Sleeping and timeouts use tokio's time, which tests pause on their own.
//!
//! The offset is process-wide: every server in the process shares it.
//!
//! Code that waits for a deadline on this clock (a target draining for its
//! deregistration delay) cannot sleep on tokio's time alone, which
//! `advance` does not move: it also waits on `advanced()`, which every
//! `advance` fires, and looks at the clock again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The system clock plus an offset that can be advanced.
struct Clock {
    /// Nanoseconds added to the system clock (u64: over 500 years).
    offset_nanos: AtomicU64,
}

impl Clock {
    const fn new() -> Self {
        Clock {
            offset_nanos: AtomicU64::new(0),
        }
    }

    fn now(&self) -> SystemTime {
        SystemTime::now() + self.offset()
    }

    fn offset(&self) -> Duration {
        Duration::from_nanos(self.offset_nanos.load(Ordering::Relaxed))
    }

    fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update, not fetch_add: saturate instead of wrapping back to the past.
        let _ = self
            .offset_nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                Some(o.saturating_add(nanos))
            });
    }
}

static CLOCK: Clock = Clock::new();

/// Now, as a point in time.
pub fn now_system() -> SystemTime {
    CLOCK.now()
}

/// Now in epoch seconds, fractional: how JSON 1.1 carries timestamps.
pub fn now_secs() -> f64 {
    epoch_secs(now_system())
}

/// Now in epoch milliseconds: how CloudWatch Logs carries timestamps.
pub fn now_millis() -> i64 {
    now_system()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A point in time in epoch seconds, fractional.
pub fn epoch_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Moves ecsbox's time forward by `by`, for every caller in the process,
/// and wakes everyone waiting on `advanced()`.
pub fn advance(by: Duration) {
    CLOCK.advance(by);
    ADVANCED.notify_waiters();
}

static ADVANCED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Fired by every `advance`: a timer waiting for a deadline on this clock
/// waits on this as well as on its (real-time) sleep, and checks the clock
/// again when either wakes it. Only waiters already registered are woken
/// (`notify_waiters`), so create the `notified()` future (and `enable` it)
/// before reading the clock.
pub fn advanced() -> &'static tokio::sync::Notify {
    &ADVANCED
}

/// Waits until ecsbox's time reaches `deadline`: on real time, or sooner
/// when `advance` moves the clock past it.
pub async fn sleep_until(deadline: SystemTime) {
    loop {
        let advanced = ADVANCED.notified();
        tokio::pin!(advanced);
        advanced.as_mut().enable();
        let Ok(left) = deadline.duration_since(now_system()) else {
            return;
        };
        if left.is_zero() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(left) => {}
            _ = advanced => {}
        }
    }
}

/// How far ecsbox's time is ahead of the system clock.
pub fn offset() -> Duration {
    CLOCK.offset()
}

#[cfg(test)]
mod tests {
    use super::*;

    // These use a clock of their own: advancing the process-wide one would
    // move the time of every other test running alongside.

    #[test]
    fn an_advanced_clock_is_ahead_of_the_system_clock_by_the_offset() {
        let clock = Clock::new();
        clock.advance(Duration::from_secs(3600));
        clock.advance(Duration::from_secs(60));
        assert_eq!(clock.offset(), Duration::from_secs(3660));
        let ahead = clock.now().duration_since(SystemTime::now()).unwrap();
        assert!(ahead > Duration::from_secs(3659) && ahead <= Duration::from_secs(3660));
    }

    #[test]
    fn the_offset_saturates_instead_of_wrapping_to_the_past() {
        let clock = Clock::new();
        clock.advance(Duration::from_secs(1));
        clock.advance(Duration::MAX);
        assert_eq!(clock.offset(), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn the_units_agree() {
        let (secs, millis) = (now_secs(), now_millis());
        assert!(
            (secs * 1000.0 - millis as f64).abs() < 1000.0,
            "{secs} {millis}"
        );
        assert_eq!(epoch_secs(UNIX_EPOCH + Duration::from_millis(1500)), 1.5);
    }
}
