//! The limiter's behaviour (README.md, "Rate limits"), written once and run against both backends:
//! `local::*` on the in-process limiter, `redis::*` on the Redis one (skipped unless
//! `REGPILOT_TEST_REDIS_URL` is set). Time is virtual: nothing sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use regpilot_limits::{LimitKind, LimitSpec, LocalLimiter, Micros, RateLimiter, RedisLimiter, Verdict};

/// One backend, a runtime to drive it from plain test code, and how many cases a property gets
/// (fewer and smaller over the network).
struct Harness<L> {
    rt: tokio::runtime::Runtime,
    limiter: Arc<L>,
    cases: u32,
    remote: bool,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// `PROPTEST_CASES` overrides a backend's number of cases (for a long soak run).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(default)
}

fn local_harness() -> Harness<LocalLimiter> {
    Harness { rt: runtime(), limiter: Arc::new(LocalLimiter::new()), cases: cases(128), remote: false }
}

fn redis_harness() -> Option<Harness<RedisLimiter>> {
    let url = redis_url()?;
    let rt = runtime();
    let prefix = format!("{}:", unique("regpilot-test"));
    let limiter = rt
        .block_on(RedisLimiter::connect(&url, &prefix, Duration::from_secs(5)))
        .unwrap_or_else(|e| panic!("connect to the test Redis: {e}"));
    Some(Harness { rt, limiter: Arc::new(limiter), cases: cases(12), remote: true })
}

impl<L: RateLimiter + 'static> Harness<L> {
    fn check(&self, key: &str, spec: LimitSpec, now: Micros) -> Verdict {
        self.rt.block_on(self.limiter.check(key, spec, now)).unwrap_or_else(|e| panic!("check: {e}"))
    }

    /// Runs a property with this backend's number of cases.
    fn property<S: Strategy>(&self, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
    where
        S::Value: std::fmt::Debug,
    {
        let mut runner = TestRunner::new(Config { cases: self.cases, failure_persistence: None, ..Config::default() });
        if let Err(e) = runner.run(&strategy, test) {
            panic!("{e}");
        }
    }
}

/// Declares each test once per backend: `local::name` and `redis::name`.
macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod local {
            $( #[test] fn $name() { super::$name(&super::local_harness()); } )*
        }
        mod redis {
            $( #[test] fn $name() { if let Some(h) = super::redis_harness() { super::$name(&h); } } )*
        }
    };
}

suite!(
    burst_arrives_at_once_then_refills_smoothly,
    verdict_reports_the_day,
    keys_are_independent,
    daily_reset_exactly_at_utc_midnight,
    burst_spent_at_23_59_59_9_is_back_at_midnight,
    refused_requests_use_up_nothing,
    unlimited_daily,
    steady_rate_is_exact_at_2026_epoch_times,
    concurrent_requests_admit_exactly_the_burst,
    prop_window_never_exceeds_burst_plus_rate,
    prop_saturating_demand_gets_at_least_95_percent,
    prop_midnight_reset_once_per_day,
    prop_refusals_change_nothing,
    prop_waiting_retry_after_is_enough_and_not_too_much,
);

fn spec(burst: u32, daily: Option<u64>) -> LimitSpec {
    LimitSpec { burst, daily }
}

fn fresh_key() -> String {
    unique("key")
}

// ---- examples -------------------------------------------------------------------------------

fn burst_arrives_at_once_then_refills_smoothly<L: RateLimiter + 'static>(h: &Harness<L>) {
    let key = fresh_key();
    let s = spec(10, Some(1_000));
    let t0 = NOON_2026 + 123_457;
    for i in 0..10 {
        let v = h.check(&key, s, t0);
        assert!(v.admitted, "request {i} of the burst");
        assert_eq!(v.remaining, Some(999 - i));
    }
    let v = h.check(&key, s, t0);
    assert_eq!((v.admitted, v.limit, v.retry_after_s, v.remaining), (false, Some(LimitKind::Burst), 1, Some(990)));
    // One request per 100 ms after the burst: not a microsecond before.
    assert!(!h.check(&key, s, t0 + 99_999).admitted);
    assert!(h.check(&key, s, t0 + 100_000).admitted);
    assert!(!h.check(&key, s, t0 + 100_000).admitted);
    assert!(h.check(&key, s, t0 + 200_000).admitted);
    // After a full second idle the whole burst is back.
    let later = t0 + 200_000 + SECOND;
    assert_eq!((0..12).filter(|_| h.check(&key, s, later).admitted).count(), 10);
}

fn verdict_reports_the_day<L: RateLimiter + 'static>(h: &Harness<L>) {
    let key = fresh_key();
    let s = spec(5, Some(3));
    let now = NOON_2026 + 7;
    let v = h.check(&key, s, now);
    let reset = (MIDNIGHT_2026 + DAY) / SECOND;
    assert_eq!(
        v,
        Verdict {
            admitted: true,
            limit: None,
            daily_limit: Some(3),
            remaining: Some(2),
            reset_unix_s: reset,
            retry_after_s: 0
        }
    );
    h.check(&key, s, now);
    assert_eq!(h.check(&key, s, now).remaining, Some(0));
    let v = h.check(&key, s, now);
    assert_eq!((v.admitted, v.limit, v.remaining, v.reset_unix_s), (false, Some(LimitKind::Daily), Some(0), reset));
    assert_eq!(v.retry_after_s, 12 * 3_600, "noon + 7 µs: 12 h to midnight, rounded up to whole seconds");
    assert_eq!(LimitKind::Daily.as_str(), "daily");
    assert_eq!(LimitKind::Burst.as_str(), "burst");
}

fn keys_are_independent<L: RateLimiter + 'static>(h: &Harness<L>) {
    let (a, b) = (fresh_key(), fresh_key());
    let s = spec(2, Some(2));
    assert!(h.check(&a, s, NOON_2026).admitted);
    assert!(h.check(&a, s, NOON_2026).admitted);
    assert!(!h.check(&a, s, NOON_2026).admitted);
    assert!(h.check(&b, s, NOON_2026).admitted);
    assert_eq!(h.check(&b, s, NOON_2026).remaining, Some(0));
}

fn daily_reset_exactly_at_utc_midnight<L: RateLimiter + 'static>(h: &Harness<L>) {
    let key = fresh_key();
    let s = spec(100, Some(5));
    let last_instant = MIDNIGHT_2026 + DAY - 1;
    for i in 0..5 {
        assert!(h.check(&key, s, MIDNIGHT_2026 + 8 * HOUR + i).admitted);
    }
    let v = h.check(&key, s, MIDNIGHT_2026 + DAY - 100_000);
    assert_eq!((v.admitted, v.limit, v.retry_after_s), (false, Some(LimitKind::Daily), 1));
    let v = h.check(&key, s, last_instant);
    assert_eq!((v.admitted, v.limit, v.retry_after_s), (false, Some(LimitKind::Daily), 1), "not before midnight");
    let v = h.check(&key, s, MIDNIGHT_2026 + DAY);
    assert!(v.admitted, "exactly at midnight");
    assert_eq!(v.remaining, Some(4));
    assert_eq!(v.reset_unix_s, (MIDNIGHT_2026 + 2 * DAY) / SECOND);
}

fn burst_spent_at_23_59_59_9_is_back_at_midnight<L: RateLimiter + 'static>(h: &Harness<L>) {
    // The whole daily quota spent in one burst, a tenth of a second before midnight: the next
    // day starts with the next instant the burst limiter allows, which is midnight itself.
    let key = fresh_key();
    let s = spec(10, Some(10));
    let t = MIDNIGHT_2026 + DAY - 100_000;
    assert_eq!((0..10).filter(|_| h.check(&key, s, t).admitted).count(), 10);
    let v = h.check(&key, s, t);
    assert_eq!((v.limit, v.retry_after_s), (Some(LimitKind::Daily), 1));
    assert!(!h.check(&key, s, MIDNIGHT_2026 + DAY - 1).admitted);
    assert!(h.check(&key, s, t + v.retry_after_s as i64 * SECOND).admitted);
}

fn refused_requests_use_up_nothing<L: RateLimiter + 'static>(h: &Harness<L>) {
    let key = fresh_key();
    let s = spec(2, Some(5));
    let t = NOON_2026;
    assert!(h.check(&key, s, t).admitted);
    assert!(h.check(&key, s, t).admitted);
    for _ in 0..20 {
        let v = h.check(&key, s, t + 1_000);
        assert_eq!((v.limit, v.remaining), (Some(LimitKind::Burst), Some(3)), "a burst refusal takes no quota");
    }
    // The refusals took no burst capacity either: the next slot is still T after the burst.
    assert!(h.check(&key, s, t + 500_000).admitted);
    assert!(h.check(&key, s, t + 1_000_000).admitted);
    assert_eq!(h.check(&key, s, t + 1_500_000).remaining, Some(0));
    for _ in 0..20 {
        assert_eq!(h.check(&key, s, t + 5 * SECOND).limit, Some(LimitKind::Daily));
    }
    // Tomorrow: exactly the quota again, however many refusals came before.
    let tomorrow = t + DAY;
    let admitted = (0..10).filter(|i| h.check(&key, s, tomorrow + i * SECOND).admitted).count();
    assert_eq!(admitted, 5);
}

fn unlimited_daily<L: RateLimiter + 'static>(h: &Harness<L>) {
    let key = fresh_key();
    let s = spec(1_000, None);
    let mut now = NOON_2026;
    for day in 0..3 {
        for _ in 0..700 {
            let v = h.check(&key, s, now);
            assert!(v.admitted, "day {day}");
            assert_eq!((v.daily_limit, v.remaining), (None, None));
            now += 1_000;
        }
        now += DAY;
    }
    let refused = (0..1_001).map(|_| h.check(&key, s, now)).find(|v| !v.admitted).unwrap();
    assert_eq!((refused.limit, refused.remaining, refused.retry_after_s), (Some(LimitKind::Burst), None, 1));
}

fn steady_rate_is_exact_at_2026_epoch_times<L: RateLimiter + 'static>(h: &Harness<L>) {
    // At exactly the sustained rate every request fits, and one more at the same instant never
    // does: off-by-one-microsecond errors (float rounding in Redis) would show here.
    for burst in [1_000, 3, 7] {
        let key = fresh_key();
        let s = spec(burst, None);
        let interval = (SECOND + i64::from(burst) - 1) / i64::from(burst);
        let t0 = NOON_2026 + 987_653;
        for _ in 0..burst {
            assert!(h.check(&key, s, t0).admitted);
        }
        for i in 1..=300 {
            let now = t0 + i * interval;
            assert!(!h.check(&key, s, now - 1).admitted, "burst {burst}, step {i}: a microsecond early");
            assert!(h.check(&key, s, now).admitted, "burst {burst}, step {i}");
            assert!(!h.check(&key, s, now).admitted, "burst {burst}, step {i}: one too many");
        }
    }
}

fn concurrent_requests_admit_exactly_the_burst<L: RateLimiter + 'static>(h: &Harness<L>) {
    let key: Arc<str> = fresh_key().into();
    let s = spec(50, Some(70));
    let admitted = h.rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..200 {
            let (limiter, key) = (h.limiter.clone(), key.clone());
            set.spawn(async move { limiter.check(&key, s, NOON_2026).await.unwrap().admitted });
        }
        let mut n = 0;
        while let Some(ok) = set.join_next().await {
            n += usize::from(ok.unwrap());
        }
        n
    });
    assert_eq!(admitted, 50);
    assert_eq!(h.check(&key, s, NOON_2026 + SECOND).remaining, Some(19));
}

// ---- properties -----------------------------------------------------------------------------

/// Gaps between arrivals, in µs: many simultaneous, some close, some far apart.
fn gaps(max_len: usize) -> impl Strategy<Value = Vec<i64>> {
    prop::collection::vec(
        prop_oneof![3 => Just(0i64), 3 => 0..20_000i64, 2 => 0..400_000i64, 1 => 0..3_000_000i64],
        1..max_len,
    )
}

/// In any window [a, a+t], admitted ≤ burst + burst·t (t in seconds). The worst windows start
/// and end on admissions; with g(i) = i·1e6 − burst·ts[i] the condition for admissions i ≤ j
/// is g(j) − g(i) ≤ (burst − 1)·1e6, checked against the running minimum of g.
fn assert_window_bound(admitted_at: &[Micros], burst: u32) -> Result<(), TestCaseError> {
    let b = i128::from(burst);
    let mut min_g = i128::MAX;
    for (j, &t) in admitted_at.iter().enumerate() {
        let g = j as i128 * 1_000_000 - b * i128::from(t);
        min_g = min_g.min(g);
        prop_assert!(g - min_g <= (b - 1) * 1_000_000, "window ending at admission {j} exceeds burst + rate·t");
    }
    Ok(())
}

fn prop_window_never_exceeds_burst_plus_rate<L: RateLimiter + 'static>(h: &Harness<L>) {
    let max_len = if h.remote { 200 } else { 600 };
    h.property((1u32..=60, 0..DAY, gaps(max_len)), |(burst, offset, gaps)| {
        let key = fresh_key();
        let s = spec(burst, None);
        let mut now = MIDNIGHT_2026 + offset;
        let mut admitted_at = Vec::new();
        for gap in gaps {
            now += gap;
            if h.check(&key, s, now).admitted {
                admitted_at.push(now);
            }
        }
        assert_window_bound(&admitted_at, burst)
    });
}

fn prop_saturating_demand_gets_at_least_95_percent<L: RateLimiter + 'static>(h: &Harness<L>) {
    // Demand at every tick until refused, over a window long enough that the bound
    // burst + rate·t is at least 50 requests. Ticks are at most one emission interval apart
    // (any phase), except for burst 1: with no tolerance to absorb it, the time between the
    // instant a request would fit and the next tick is lost at every admission (a bucket of
    // one token loses it the same way), so there ticks are at most a twentieth of an interval.
    let (max_burst, max_periods) = if h.remote { (60u32, 120i64) } else { (200, 400) };
    h.property((1..=max_burst, 1i64..=7, 50..=max_periods, 0..DAY), |(burst, per_interval, periods, offset)| {
        let key = fresh_key();
        let s = spec(burst, None);
        let interval = (SECOND + i64::from(burst) - 1) / i64::from(burst);
        let per_interval = if burst == 1 { 20 * per_interval } else { per_interval };
        let tick = (interval / per_interval).max(1);
        let start = MIDNIGHT_2026 + offset;
        let end = start + periods * SECOND / i64::from(burst);
        let mut admitted_at = Vec::new();
        let mut now = start;
        while now <= end {
            while h.check(&key, s, now).admitted {
                admitted_at.push(now);
            }
            now += tick;
        }
        assert_window_bound(&admitted_at, burst)?;
        let bound = f64::from(burst) + f64::from(burst) * (end - start) as f64 / 1e6;
        prop_assert!(
            admitted_at.len() as f64 >= 0.95 * bound,
            "admitted {} of a possible {bound:.1} (burst {burst})",
            admitted_at.len()
        );
        Ok(())
    });
}

fn prop_midnight_reset_once_per_day<L: RateLimiter + 'static>(h: &Harness<L>) {
    h.property((1u32..=20, 1u64..=15, 1i64..=4, 0..20 * HOUR), |(burst, daily, days, start)| {
        let key = fresh_key();
        let s = spec(burst, Some(daily));
        for d in 0..days {
            let midnight = MIDNIGHT_2026 + d * DAY;
            let mut now = midnight + if d == 0 { start } else { 0 };
            let mut admitted = 0;
            // One request a second (never burst-limited) until the day's quota is gone.
            loop {
                let v = h.check(&key, s, now);
                if !v.admitted {
                    prop_assert_eq!(v.limit, Some(LimitKind::Daily));
                    break;
                }
                prop_assert!(now >= midnight && now < midnight + DAY);
                admitted += 1;
                now += SECOND;
            }
            prop_assert_eq!(admitted, daily, "day {}", d);
            let next = midnight + DAY;
            for probe in [next - 100_000, next - 1] {
                let v = h.check(&key, s, probe);
                prop_assert_eq!((v.admitted, v.retry_after_s), (false, 1), "day {} not over at {}", d, next - probe);
            }
        }
        Ok(())
    });
}

fn prop_refusals_change_nothing<L: RateLimiter + 'static>(h: &Harness<L>) {
    // The same arrivals on two keys; on the second, every refused request is repeated a few
    // times. The original requests must get the same verdicts on both.
    h.property((1u32..=20, prop::option::of(1u64..=40), gaps(150), 1usize..=4), |(burst, daily, gaps, repeats)| {
        let (plain, noisy) = (fresh_key(), fresh_key());
        let s = spec(burst, daily);
        let mut now = NOON_2026;
        for gap in gaps {
            now += gap * 20; // stretch to span several days now and then
            let a = h.check(&plain, s, now);
            let b = h.check(&noisy, s, now);
            prop_assert_eq!(a, b);
            if !b.admitted {
                for _ in 0..repeats {
                    prop_assert_eq!(h.check(&noisy, s, now), b);
                }
            }
        }
        Ok(())
    });
}

fn prop_waiting_retry_after_is_enough_and_not_too_much<L: RateLimiter + 'static>(h: &Harness<L>) {
    // Whenever a request is refused with retry_after r: a second less is still refused (r − 1 is
    // shorter than the true wait), and a request after exactly r seconds is admitted.
    h.property((1u32..=20, prop::option::of(1u64..=30), gaps(150), 0..DAY), |(burst, daily, gaps, offset)| {
        let key = fresh_key();
        let s = spec(burst, daily);
        let mut now = MIDNIGHT_2026 + offset;
        for gap in gaps {
            now += gap;
            let v = h.check(&key, s, now);
            if v.admitted {
                continue;
            }
            let r = v.retry_after_s as i64;
            prop_assert!(r >= 1);
            if v.limit == Some(LimitKind::Burst) {
                prop_assert_eq!(r, 1, "a burst wait is at most one emission interval");
            }
            if r > 1 {
                prop_assert!(!h.check(&key, s, now + (r - 1) * SECOND).admitted, "r − 1 s was enough: r too long");
            }
            now += r * SECOND;
            let after = h.check(&key, s, now);
            prop_assert!(after.admitted, "refused ({:?}) again after waiting {} s", v.limit, r);
        }
        Ok(())
    });
}

// ---- backend-free and local-only ------------------------------------------------------------

#[test]
fn development_keys_get_a_tenth_at_least_one() {
    assert_eq!(spec(10, Some(1_000)).development(), spec(1, Some(100)));
    assert_eq!(spec(100, Some(100_000)).development(), spec(10, Some(10_000)));
    assert_eq!(spec(1_000, None).development(), spec(100, None));
    assert_eq!(spec(5, Some(7)).development(), spec(1, Some(1)));
    assert_eq!(spec(19, Some(19)).development(), spec(1, Some(1)));
    assert_eq!(spec(1, Some(0)).development(), spec(1, Some(0)));
    proptest!(|(burst in 1u32.., daily in 1u64..)| {
        let d = spec(burst, Some(daily)).development();
        prop_assert_eq!(d.burst, (burst / 10).max(1));
        prop_assert_eq!(d.daily, Some((daily / 10).max(1)));
        prop_assert!(d.burst <= burst && d.daily <= Some(daily));
    });
}

#[test]
fn seeded_count_is_today_s_and_only_today_s() {
    let l = LocalLimiter::new();
    let s = spec(100, Some(1_000));
    l.seed_daily("k", 995, NOON_2026);
    let admitted = (0..10).filter(|_| l.decide("k", s, NOON_2026 + 3 * HOUR).admitted).count();
    assert_eq!(admitted, 5, "a restart at noon does not hand out a fresh quota");
    assert_eq!(l.decide("k", s, NOON_2026 + 3 * HOUR).limit, Some(LimitKind::Daily));
    assert_eq!(l.decide("k", s, NOON_2026 + DAY).remaining, Some(999), "tomorrow starts afresh");

    // Yesterday's count is ignored; seeding never lowers a count held.
    let l = LocalLimiter::new();
    l.seed_daily("k", 900, NOON_2026 - DAY);
    assert_eq!(l.decide("k", s, NOON_2026).remaining, Some(999));
    l.seed_daily("k", 0, NOON_2026);
    assert_eq!(l.decide("k", s, NOON_2026 + 1).remaining, Some(998));

    let limiter = regpilot_limits::Limiter::local();
    limiter.seed_daily("k", 1_000, NOON_2026);
    let rt = runtime();
    let v = rt.block_on(limiter.check("k", s, NOON_2026)).unwrap();
    assert_eq!(v.limit, Some(LimitKind::Daily));
}

#[test]
fn idle_keys_can_be_forgotten() {
    let l = LocalLimiter::new();
    let s = spec(10, Some(100));
    l.decide("busy", s, NOON_2026);
    l.decide("yesterday", s, NOON_2026 - DAY);
    assert_eq!(l.len(), 2);
    l.forget_idle(NOON_2026 + 1);
    assert_eq!(l.len(), 1, "today's count must stay");
    assert_eq!(l.decide("busy", s, NOON_2026 + 2).remaining, Some(98));

    // Through the gateway's handle too.
    let limiter = regpilot_limits::Limiter::local();
    let rt = runtime();
    rt.block_on(limiter.check("yesterday", s, NOON_2026 - DAY)).unwrap();
    rt.block_on(limiter.check("busy", s, NOON_2026)).unwrap();
    assert_eq!(limiter.local_keys(), 2);
    limiter.forget_idle(NOON_2026 + 1);
    assert_eq!(limiter.local_keys(), 1);
}
