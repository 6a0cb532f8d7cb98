//! The Redis backend's leases against a real Redis (skipped unless `REGPILOT_TEST_REDIS_URL` is
//! set): several instances sharing one key keep the window bound and the daily quota exactly,
//! and at steady load a request costs far less than one Redis call. Time is virtual. The same
//! properties run on many more cases against an in-memory model of the script in `lease.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use regpilot_limits::{FailureMode, LimitKind, LimitSpec, Limiter, Micros, RedisLimiter};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// In any window [a, a+t], admitted ≤ burst + burst·t (as in the suite).
fn window_bound_holds(admitted_at: &[Micros], burst: u32) -> bool {
    let b = i128::from(burst);
    let mut min_g = i128::MAX;
    admitted_at.iter().enumerate().all(|(j, &t)| {
        let g = j as i128 * 1_000_000 - b * i128::from(t);
        min_g = min_g.min(g);
        g - min_g <= (b - 1) * 1_000_000
    })
}

#[test]
fn instances_sharing_a_key_keep_the_bound_and_the_exact_quota() {
    let Some(url) = redis_url() else { return };
    let rt = runtime();
    let gap = prop_oneof![3 => Just(0i64), 3 => 0..20_000i64, 2 => 0..400_000i64, 1 => 0..2_000_000i64];
    let events = prop::collection::vec((gap, 0..3usize, prop::bool::weighted(0.1)), 1..250);
    let strategy = (1u32..=30, 1u64..=80, events, 0..20 * HOUR);
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(10);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let result = runner.run(&strategy, |(burst, daily, events, offset)| {
        let prefix = format!("{}:", unique("regpilot-lease"));
        let connect = || rt.block_on(RedisLimiter::connect(&url, &prefix, Duration::from_secs(5))).unwrap();
        let instances = [connect(), connect(), connect()];
        let spec = LimitSpec { burst, daily: Some(daily) };
        let mut now = MIDNIGHT_2026 + offset;
        let mut admitted_at = Vec::new();
        for (gap, i, idle) in events {
            now += gap;
            let v = rt.block_on(regpilot_limits::RateLimiter::check(&instances[i], "k", spec, now)).unwrap();
            if v.admitted {
                admitted_at.push(now);
            }
            if idle {
                rt.block_on(instances[i].give_back_idle(Duration::ZERO)).unwrap();
            }
        }
        prop_assert!(admitted_at.len() as u64 <= daily, "over the quota: {} of {daily}", admitted_at.len());
        prop_assert!(window_bound_holds(&admitted_at, burst), "window bound: {:?}", admitted_at);
        // Everything given back, a fresh instance gets exactly what is left of the day.
        for l in &instances {
            rt.block_on(l.give_back_idle(Duration::ZERO)).unwrap();
        }
        let fresh = connect();
        let mut left = 0;
        loop {
            now += SECOND;
            let v = rt.block_on(regpilot_limits::RateLimiter::check(&fresh, "k", spec, now)).unwrap();
            if !v.admitted {
                prop_assert_eq!(v.limit, Some(LimitKind::Daily));
                break;
            }
            left += 1;
        }
        prop_assert_eq!(admitted_at.len() as u64 + left, daily, "the day's count is exact once all is given back");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Two gateways' limiters sharing one Redis, each at a steady `per_instance` requests a second
/// (virtual time) for `seconds`: the script calls, the admitted requests, the calls per admitted
/// request, and how many requests waited for a call (the others were decided at once).
fn calls_per_admitted(url: &str, spec: LimitSpec, per_instance: i64, seconds: i64) -> (u64, u64, f64, u64) {
    let rt = runtime();
    rt.block_on(async {
        let prefix = unique("regpilot-lease");
        let open = || Limiter::redis_with_prefix(url, &prefix, Duration::from_secs(2), FailureMode::Closed);
        let instances = [open().await.unwrap(), open().await.unwrap()];
        let step = SECOND / per_instance / 2;
        let mut now = NOON_2026;
        let mut admitted = 0u64;
        let mut waited = 0u64;
        for i in 0..(seconds * per_instance * 2) {
            now += step;
            let limiter = &instances[(i % 2) as usize];
            let v = match limiter.check_now("key_0123456789abcdef", spec, now) {
                Some(v) => v,
                None => {
                    waited += 1;
                    limiter.check("key_0123456789abcdef", spec, now).await.unwrap()
                }
            };
            admitted += u64::from(v.admitted);
        }
        let calls: u64 = instances.iter().map(|l| l.stats().redis_calls).sum();
        for l in &instances {
            assert_eq!(l.stats().redis_errors, 0);
            l.shutdown().await;
        }
        (calls, admitted, calls as f64 / admitted.max(1) as f64, waited)
    })
}

#[test]
fn steady_load_costs_at_most_a_tenth_of_a_call_per_admitted_request() {
    let Some(url) = redis_url() else { return };
    // The bench's key (a burst no run reaches, no daily limit), 10,000 requests a second per
    // instance; a pro key (100 a second, 100,000 a day) at 80% of its rate.
    for (name, spec, per_instance) in [
        ("bench key", LimitSpec { burst: 1_000_000_000, daily: None }, 10_000),
        ("pro key", LimitSpec { burst: 100, daily: Some(100_000) }, 40),
    ] {
        let (calls, admitted, ratio, waited) = calls_per_admitted(&url, spec, per_instance, 20);
        eprintln!(
            "{name}: {calls} script calls for {admitted} admitted requests: {ratio:.4} per request; \
             {waited} requests waited for one"
        );
        assert!(admitted as f64 >= 0.99 * (40 * per_instance) as f64, "{name}: admitted {admitted}");
        assert!(ratio <= 0.1, "{name}: {ratio:.4} calls per admitted request");
    }
}

/// Instance a admits `first` requests of a key at 1,000 a second (virtual), then goes quiet:
/// what instance b can still get of the day's `daily`, one request a second, after `pause`.
async fn left_for_the_other(url: &str, prefix: &str, daily: u64, first: u64, pause: impl std::future::Future) -> u64 {
    let spec = LimitSpec { burst: 1_000, daily: Some(daily) };
    let open = || Limiter::redis_with_prefix(url, prefix, Duration::from_secs(2), FailureMode::Closed);
    let (a, b) = (open().await.unwrap(), open().await.unwrap());
    let mut now = NOON_2026;
    for _ in 0..first {
        now += 1_000;
        assert!(a.check("k", spec, now).await.unwrap().admitted);
    }
    pause.await;
    let mut left = 0;
    loop {
        now += SECOND;
        let v = b.check("k", spec, now).await.unwrap();
        if !v.admitted {
            assert_eq!(v.limit, Some(LimitKind::Daily));
            return left;
        }
        left += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unused_quota_comes_back_within_a_second_of_idleness() {
    let Some(url) = redis_url() else { return };
    // Without waiting, a's lease still holds units ahead: b gets less than what is left.
    let held = left_for_the_other(&url, &unique("t"), 1_000, 100, std::future::ready(())).await;
    assert!(held < 900, "a's lease held nothing ahead ({held} left for b)");
    let back =
        left_for_the_other(&url, &unique("t"), 1_000, 100, tokio::time::sleep(Duration::from_millis(1_000))).await;
    assert_eq!(back, 900, "idle for a second: all of a's unused units are back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_gives_back_what_the_leases_hold() {
    let Some(url) = redis_url() else { return };
    let prefix = unique("t");
    let spec = LimitSpec { burst: 1_000, daily: Some(1_000) };
    let a = Limiter::redis_with_prefix(&url, &prefix, Duration::from_secs(2), FailureMode::Closed).await.unwrap();
    let mut now = NOON_2026;
    for _ in 0..100 {
        now += 1_000;
        assert!(a.check("k", spec, now).await.unwrap().admitted);
    }
    // A renewal ahead may still be in flight (it runs in the background); shutdown gives back
    // what the leases hold once it has landed. (One that lands after shutdown keeps its units
    // for the day: docs/limits.md, "Rate limits with Redis".)
    tokio::time::sleep(Duration::from_millis(300)).await;
    let calls = a.stats().redis_calls;
    a.shutdown().await;
    assert_eq!(a.stats().redis_calls, calls + 1, "one script call gives every lease back");
    let b = RedisLimiter::connect(&url, &prefix, Duration::from_secs(2)).await.unwrap();
    let mut left = 0;
    while regpilot_limits::RateLimiter::check(&b, "k", spec, now + SECOND * (left + 1)).await.unwrap().admitted {
        left += 1;
    }
    assert_eq!(left, 900);
}
