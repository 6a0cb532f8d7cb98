//! What a decision is about and what it answers: a key's limits, the verdict, and the time
//! arithmetic both backends share (UTC days, the GCRA emission interval, rounding of waits).

use crate::Micros;

pub(crate) const SECOND: Micros = 1_000_000;
pub(crate) const DAY: Micros = 86_400 * SECOND;

/// A key's limits.
///
/// `burst`: requests that may arrive at once, and the sustained rate per second (a smooth
/// limit, GCRA: after a full burst one request every `1/burst` s). A `burst` of 0 is treated as
/// 1. `daily`: admitted requests per UTC day; `None` = unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LimitSpec {
    pub burst: u32,
    pub daily: Option<u64>,
}

impl LimitSpec {
    /// Development keys: one tenth of both figures, rounded down, at least 1 (README.md, "Rate
    /// limits"). A daily limit of 0 stays 0 (a key that may make no requests does not gain one).
    pub fn development(self) -> LimitSpec {
        LimitSpec {
            burst: (self.burst / 10).max(1),
            daily: self.daily.map(|d| if d == 0 { 0 } else { (d / 10).max(1) }),
        }
    }

    /// The GCRA emission interval: the time one request "costs", rounded up to a whole
    /// microsecond so the sustained rate never exceeds `burst` per second.
    pub(crate) fn emission_interval(self) -> Micros {
        let burst = Micros::from(self.burst.max(1));
        (SECOND + burst - 1) / burst
    }

    /// How far ahead of `now` the theoretical arrival time may run: `burst` intervals, so
    /// exactly `burst` requests fit at one instant.
    pub(crate) fn tolerance(self) -> Micros {
        Micros::from(self.burst.max(1)) * self.emission_interval()
    }
}

/// Which limit refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    Burst,
    Daily,
}

impl LimitKind {
    /// `"burst"` or `"daily"`, as the 429 body names it (README.md, "Errors").
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Burst => "burst",
            LimitKind::Daily => "daily",
        }
    }
}

/// The answer for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub admitted: bool,
    /// `Some(kind)` exactly when refused.
    pub limit: Option<LimitKind>,
    /// The spec's daily figure (`None` = unlimited): `x-ratelimit-limit`.
    pub daily_limit: Option<u64>,
    /// Left today after this decision (`None` when unlimited, or unknown because Redis is down
    /// in `Open` mode): `x-ratelimit-remaining`.
    pub remaining: Option<u64>,
    /// Unix seconds of the next UTC midnight: `x-ratelimit-reset`.
    pub reset_unix_s: i64,
    /// When refused: whole seconds, rounded up, at least 1, never shorter than the true wait.
    /// 0 when admitted.
    pub retry_after_s: u64,
}

impl Verdict {
    /// `used` is today's admitted count including this request.
    pub(crate) fn admit(spec: LimitSpec, used: u64, now: Micros) -> Verdict {
        Verdict {
            admitted: true,
            limit: None,
            daily_limit: spec.daily,
            remaining: spec.daily.map(|d| d.saturating_sub(used)),
            reset_unix_s: next_midnight(now) / SECOND,
            retry_after_s: 0,
        }
    }

    /// `wait`: microseconds until the same request would be admitted (> 0).
    pub(crate) fn refuse(kind: LimitKind, spec: LimitSpec, used: u64, now: Micros, wait: Micros) -> Verdict {
        Verdict {
            admitted: false,
            limit: Some(kind),
            daily_limit: spec.daily,
            remaining: spec.daily.map(|d| d.saturating_sub(used)),
            reset_unix_s: next_midnight(now) / SECOND,
            retry_after_s: retry_after_s(wait),
        }
    }

    /// Admitted without a decision (Redis down, `Open` mode): nothing is known about today.
    pub(crate) fn unchecked(spec: LimitSpec, now: Micros) -> Verdict {
        Verdict { remaining: None, ..Verdict::admit(spec, 0, now) }
    }
}

/// The UTC day `now` falls in (days since the epoch).
pub(crate) fn day_number(now: Micros) -> i64 {
    now.div_euclid(DAY)
}

pub(crate) fn next_midnight(now: Micros) -> Micros {
    (day_number(now) + 1) * DAY
}

/// Whole seconds, rounded up, at least 1.
fn retry_after_s(wait: Micros) -> u64 {
    let secs = (wait.max(1) + SECOND - 1) / SECOND;
    u64::try_from(secs).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emission_interval_never_exceeds_the_rate() {
        for burst in [0, 1, 3, 7, 10, 100, 999, 1_000, 1_000_000, 3_000_000, u32::MAX] {
            let spec = LimitSpec { burst, daily: None };
            let t = spec.emission_interval();
            assert!(t >= 1);
            assert!(t as f64 >= 1e6 / f64::from(burst.max(1)), "burst {burst}: T {t}");
        }
        assert_eq!(LimitSpec { burst: 10, daily: None }.emission_interval(), 100_000);
        assert_eq!(LimitSpec { burst: 3, daily: None }.emission_interval(), 333_334);
    }

    #[test]
    fn retry_rounds_up() {
        assert_eq!(retry_after_s(1), 1);
        assert_eq!(retry_after_s(999_999), 1);
        assert_eq!(retry_after_s(1_000_000), 1);
        assert_eq!(retry_after_s(1_000_001), 2);
        assert_eq!(retry_after_s(DAY), 86_400);
    }

    #[test]
    fn days_split_at_utc_midnight() {
        assert_eq!(day_number(DAY - 1), 0);
        assert_eq!(day_number(DAY), 1);
        assert_eq!(next_midnight(DAY - 1), DAY);
        assert_eq!(next_midnight(DAY), 2 * DAY);
    }
}
