//! Cost of one decision: the local limiter for a hot key and across 100,000 keys, and, when
//! `REGPILOT_TEST_REDIS_URL` is set, the Redis backend for a hot key (decided from its lease,
//! with a script call now and then; the calls per decision are printed).
//!
//!     cargo bench -p regpilot-limits --bench decision
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use compact_str::{format_compact, CompactString};
use criterion::{criterion_group, criterion_main, Criterion};
use regpilot_limits::{now_micros, LimitSpec, LocalLimiter, Micros, RateLimiter, RedisLimiter};

/// Admitted every time: 1 ms between requests at 1,000 per second.
const SPEC: LimitSpec = LimitSpec { burst: 1_000, daily: Some(1_000_000_000) };

fn local(c: &mut Criterion) {
    let limiter = LocalLimiter::new();
    let mut now: Micros = now_micros();
    c.bench_function("local/hot_key", |b| {
        b.iter(|| {
            now += 1_000;
            black_box(limiter.decide(black_box("key_0123456789abcdef"), SPEC, now))
        })
    });

    // Ids shaped like the server's (`key_` + 16 base62), held inline as the gateway's key index
    // holds them, so the id is in cache when the limiter is called.
    let keys: Vec<CompactString> = (0..100_000).map(|i| format_compact!("key_{i:016x}")).collect();
    for key in &keys {
        limiter.decide(key, SPEC, now);
    }
    let mut i = 0;
    c.bench_function("local/100k_keys", |b| {
        b.iter(|| {
            // In key order: the ids are in cache (as in the gateway); the map entries, spread by the
            // hash, are not.
            i = (i + 1) % keys.len();
            now += 10;
            black_box(limiter.decide(black_box(&keys[i]), SPEC, now))
        })
    });
}

fn redis(c: &mut Criterion) {
    let Ok(url) = std::env::var("REGPILOT_TEST_REDIS_URL") else {
        eprintln!("note: REGPILOT_TEST_REDIS_URL not set; Redis round trip not measured");
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let prefix = format!("regpilot-bench-{}:", std::process::id());
    let limiter = rt.block_on(RedisLimiter::connect(&url, &prefix, Duration::from_secs(2))).unwrap();
    let mut now: Micros = now_micros();
    let mut decisions = 0u64;
    c.bench_function("redis/leased_hot_key", |b| {
        b.iter(|| {
            now += 1_000;
            decisions += 1;
            match limiter.decide_local(black_box("key_hot"), SPEC, now) {
                Some(v) => black_box(v),
                None => black_box(rt.block_on(limiter.check("key_hot", SPEC, now)).unwrap()),
            }
        })
    });
    let calls = limiter.script_calls();
    eprintln!(
        "redis/leased_hot_key: {calls} script calls for {decisions} decisions ({:.4} each)",
        calls as f64 / decisions.max(1) as f64
    );
}

criterion_group!(benches, local, redis);
criterion_main!(benches);
