//! Helpers shared by the limits test files: the Redis server to test against, unique names and
//! a realistic virtual clock.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use regpilot_limits::Micros;

pub const SECOND: Micros = 1_000_000;
pub const HOUR: Micros = 3_600 * SECOND;
pub const DAY: Micros = 24 * HOUR;
/// 2026-03-14 00:00:00 UTC: realistic epoch values (about 1.77e15 µs) catch precision loss in
/// Lua's doubles.
pub const MIDNIGHT_2026: Micros = 20_526 * DAY;
pub const NOON_2026: Micros = MIDNIGHT_2026 + 12 * HOUR;

/// The Redis server named by `REGPILOT_TEST_REDIS_URL` (the test script starts one). Unset: the
/// Redis variant is skipped with a notice, or fails with `REGPILOT_REQUIRE_REDIS=1`.
pub fn redis_url() -> Option<String> {
    match std::env::var("REGPILOT_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("REGPILOT_REQUIRE_REDIS").as_deref() == Ok("1") => {
            panic!("REGPILOT_REQUIRE_REDIS=1 but REGPILOT_TEST_REDIS_URL is not set")
        }
        _ => {
            eprintln!("note: REGPILOT_TEST_REDIS_URL not set; Redis variant skipped");
            None
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other test (or test run) uses: for Redis key prefixes and key ids.
pub fn unique(tag: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{tag}-{}-{nanos}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}
