//! The circuit breaker in front of Redis: after a failure, Redis is skipped for a second
//! (requests are answered from the failure mode at once), then one request probes it again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// How long Redis is skipped after a failure.
pub(crate) const RETRY_AFTER_US: u64 = 1_000_000;

/// Times are microseconds on a monotonic clock, passed in so the logic is testable.
#[derive(Default)]
pub(crate) struct Breaker {
    /// 0 while Redis is healthy; otherwise the instant from which one caller may probe it.
    open_until: AtomicU64,
    /// Whether Redis is considered down, so the transitions are logged once each.
    down: AtomicBool,
}

pub(crate) enum Transition {
    None,
    WentDown,
    CameBack,
}

impl Breaker {
    /// Whether this request should call Redis. While open, no; once the second is over, exactly
    /// one caller gets to probe (the others keep the fast answer until it succeeds).
    pub fn should_try(&self, now: u64) -> bool {
        let until = self.open_until.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        if now < until {
            return false;
        }
        self.open_until
            .compare_exchange(until, now.saturating_add(RETRY_AFTER_US).max(1), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Whether Redis is considered up (no failure since the last success).
    pub fn is_closed(&self) -> bool {
        self.open_until.load(Ordering::Acquire) == 0
    }

    pub fn success(&self) -> Transition {
        if self.open_until.load(Ordering::Acquire) != 0 {
            self.open_until.store(0, Ordering::Release);
        }
        if self.down.load(Ordering::Relaxed) && self.down.swap(false, Ordering::AcqRel) {
            return Transition::CameBack;
        }
        Transition::None
    }

    pub fn failure(&self, now: u64) -> Transition {
        self.open_until.store(now.saturating_add(RETRY_AFTER_US).max(1), Ordering::Release);
        if self.down.swap(true, Ordering::AcqRel) {
            Transition::None
        } else {
            Transition::WentDown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_for_a_second_then_lets_one_probe() {
        let b = Breaker::default();
        assert!(b.should_try(0));
        assert!(matches!(b.failure(10), Transition::WentDown));
        assert!(!b.should_try(11));
        assert!(!b.should_try(10 + RETRY_AFTER_US - 1));
        assert!(b.should_try(10 + RETRY_AFTER_US), "the probe");
        assert!(!b.should_try(10 + RETRY_AFTER_US), "only one probe at a time");
        assert!(matches!(b.failure(10 + RETRY_AFTER_US + 5), Transition::None), "logged once");
        assert!(!b.should_try(10 + 2 * RETRY_AFTER_US));
        assert!(b.should_try(15 + 2 * RETRY_AFTER_US));
        assert!(matches!(b.success(), Transition::CameBack));
        assert!(matches!(b.success(), Transition::None));
        assert!(b.should_try(16 + 2 * RETRY_AFTER_US));
    }
}
