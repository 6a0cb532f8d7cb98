//! Per-key rate limits (README.md, "Rate limits"): a smooth burst limiter and a daily quota,
//! decided in this process or in Redis.
//!
//! # The decision
//!
//! Every authenticated request is checked once, in this order:
//! 1. **Daily quota**: if the key's admitted count for the current UTC day (day number =
//!    `floor(now / 86 400 s)`) has reached `daily`, refuse (`daily`) until the next UTC midnight.
//! 2. **Burst** (GCRA, the generic cell rate algorithm): each request costs an emission interval
//!    `T = 1 s / burst`; exactly `burst` requests may arrive at once, then `burst` per second,
//!    smoothly (no fixed one-second window). In any window of length `t`, at most
//!    `burst + burst·t` requests are admitted. Refuse (`burst`) with the true wait.
//! 3. Otherwise **admit**: the day's count goes up by one and the burst state advances.
//!
//! A refusal changes nothing: refused requests use up neither the daily quota nor burst
//! capacity. `retry_after_s` is the wait in whole seconds rounded up (at least 1), so a client
//! that waits exactly that long is admitted (unless other requests take the capacity first).
//! The count restarts exactly when the UTC day number changes. Time is a parameter of every
//! decision ([`Micros`]); [`now_micros`] gives the real one, tests drive a virtual clock.
//!
//! # Backends
//!
//! [`LocalLimiter`]: a sharded in-process map, the default; limits hold per instance. At start
//! the gateway seeds it with each key's admitted count for today ([`Limiter::seed_daily`]), so
//! a restart does not hand out a fresh quota.
//!
//! [`RedisLimiter`]: the same decision in one Lua script, atomic in Redis, so limits hold across
//! every instance sharing the Redis. The current time is sent by the calling instance, so the
//! instances' clocks are assumed to be NTP-synced (a skew of a few milliseconds shifts a burst
//! refill by as much; the daily reset happens at each caller's own midnight).
//!
//! # When Redis fails
//!
//! [`Limiter`] bounds every Redis call by a timeout (the gateway's default is 25 ms). After a
//! failure or timeout it skips Redis for 1 s (a circuit breaker: requests are answered from the
//! failure mode at once, with no added latency), then lets one request try Redis again. The
//! failure mode decides the answers meanwhile:
//! - `local` (default): an in-process limiter decides, so limits still hold, per instance;
//!   requests admitted meanwhile are not added to the counts in Redis.
//! - `open`: every request is admitted, with no remaining count.
//! - `closed`: every request is refused as unavailable (the gateway answers 503, never a
//!   misleading 429).
//!
//! A warning is logged once when Redis becomes unreachable and an info line once when it
//! answers again; never one per request. The Redis URL appears in logs and errors only with its
//! user and password redacted. An unreachable Redis at start is not an error: the first
//! connection is given up to 2 s, then the limiter starts with the breaker open and keeps
//! trying. A dropped connection is re-established in the background (Redis is used again within
//! about two seconds of answering); a connection that stays silent for two calls in a row is
//! replaced, since a half-open TCP connection never reports an error.

mod breaker;
mod error;
mod gcra;
mod lease;
mod limiter;
mod local;
mod redis;
mod spec;

pub use error::{redact_url, LimiterError};
pub use limiter::{FailureMode, Limiter, LimiterStats, Unavailable, DEFAULT_PREFIX};
pub use local::LocalLimiter;
pub use redis::RedisLimiter;
pub use spec::{LimitKind, LimitSpec, Verdict};

/// Microseconds since the Unix epoch (UTC). Every decision takes the time as a parameter: tests
/// drive a virtual clock, nothing sleeps.
pub type Micros = i64;

/// The current time, in [`Micros`].
pub fn now_micros() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| Micros::try_from(d.as_micros()).unwrap_or(Micros::MAX))
        .unwrap_or(0)
}

/// One interface, two backends ([`LocalLimiter`], [`RedisLimiter`]), one shared behavioural
/// test suite.
pub trait RateLimiter: Send + Sync {
    /// Decides one request for `key_id` at `now` under `spec`, recording it if admitted.
    fn check(
        &self,
        key_id: &str,
        spec: LimitSpec,
        now: Micros,
    ) -> impl std::future::Future<Output = Result<Verdict, LimiterError>> + Send;
}
