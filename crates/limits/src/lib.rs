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
//! [`RedisLimiter`]: limits held in Redis, so they hold across every instance sharing it. Most
//! requests are decided in this process from a **lease** (below); a request waits for Redis
//! only when its key's lease cannot decide it. The current time is sent by the calling instance,
//! so the instances' clocks are assumed to be NTP-synced (a skew of a few milliseconds shifts a
//! burst refill by as much; the daily reset happens at each caller's own midnight). All
//! instances sharing a Redis must run the same version (the keys' layout is the scripts').
//!
//! # Leases
//!
//! In Redis each key has its GCRA TAT (with the token of the last lease granted on it) and its
//! count for the UTC day. One script call (`lease.lua`), atomic, gives back what the instance
//! holds for the key and takes a fresh lease, deciding exactly as one shared GCRA would:
//! - a **segment** `[start, start + n·T)` of the key's time axis, `start = max(TAT, now)`, only
//!   if a request conforms at `start` (else a burst refusal), never reaching past `now + τ`
//!   (`τ = burst·T`, as far as one GCRA's TAT may run ahead); the TAT in Redis moves to its end;
//! - **units** of the daily quota, at most an eighth of what is left and at least one (none
//!   left: a daily refusal); the day's count in Redis goes up by them at once. Near the end of
//!   the quota every lease is one unit, used at once by the request that asked for it, so the
//!   last requests of a day are decided one by one, exactly.
//!
//! The instance then runs the same GCRA inside its segment: a request at `now` takes the slot
//! `[x, x + T)`, `x = max(local TAT, now)`, if it conforms (`x + T − τ ≤ now`), fits
//! (`x + T ≤` the segment's end) and a unit is left. A request that does not conform, while a
//! unit is left (or the key has no daily limit), is refused in process: the key's TAT in Redis
//! is at or past the local one, so one shared GCRA refuses too. Otherwise, when the lease
//! cannot serve it, the request makes the script call (one per key at a time; the others for
//! that key wait for its answer). A busy key's lease is renewed **ahead**: when a quarter of its
//! slots (or of its units) is left, [`Limiter`] makes the call in the background, giving back
//! nothing and continuing the segment from Redis's TAT (its end, if no other lease was granted
//! since; otherwise the rest of the old segment lapses), while requests go on being decided from
//! the lease; so a busy key's requests rarely wait for Redis. A lease is sized to last
//! 200 ms at the rate the instance sees for the key: a key seen less than once in 200 ms takes
//! one slot and one unit (exactly the per-request decision), a busier one a segment of 200 ms
//! (at most a quarter of the burst) and units for twice the requests expected in 200 ms. So a
//! busy key costs about five script calls a second per instance, whatever its rate: at `r`
//! requests a second on an instance, about `5/r` calls per admitted request (≤ 0.1 from
//! 50 a second; `tests/lease.rs` measures it). What a lease holds is given back when its key has
//! been idle for 500 ms (a sweep every 250 ms, one script call, `giveback.lua`, per 256 keys),
//! so within 1 s of idleness, and at shutdown ([`Limiter::shutdown`]). The tail of a segment
//! comes back only if no lease was granted on the key since (the token says so): its slots are
//! then unused; otherwise it lapses as time passes it.
//!
//! **The bound.** Across all instances together, in any window of length `t`, at most
//! `burst + ⌊t / T⌋ ≤ burst + burst·t` requests of a key are admitted: the same bound as one
//! GCRA, not loosened by the leases. Proof sketch: each admission at `s` takes a slot
//! `[x, x + T)` with `s ≤ x` and `x + T ≤ s + τ`. Slots never overlap, whichever instance
//! admitted them: an instance's slots lie inside its segments, one after the other; Redis hands
//! out segments from its TAT up, moving the TAT to their end, and lowers the TAT again only by a
//! give-back from the holder of the last lease granted, to that holder's local TAT, at or after
//! every slot admitted. So the admissions in `[a, a + t]` have disjoint slots of length `T`
//! inside `[a, a + t + τ]`: at most `(t + τ) / T = t / T + burst` of them (`T ≥ 1/burst` s).
//! What leases cost instead is some refusals one GCRA would not give: a segment reserved by one
//! instance (at most 200 ms and a quarter of the burst ahead, for a busy key) is not available
//! to another until it is used, given back or past.
//!
//! **The daily quota** is never exceeded: Redis's count is what was admitted plus the units
//! instances hold, and units are handed out only while that is below the limit. It falls short
//! only by the units unexpired leases hold (given back within 1 s of idleness, or at shutdown),
//! or that were lost: an instance killed without shutdown, or a lease call whose answer never
//! came back (what it held is then dropped, never used twice); those stay counted for the day.
//! Units of a past day are dropped at midnight (that day's count expires). With one instance
//! (or instances idle in turn) every verdict, wait and remaining count is the per-request
//! decision's exactly. With several, `remaining` counts the units other instances hold as used,
//! and a burst wait answered from a lease knows only this instance's slots (the capacity may be
//! taken meanwhile, as by other requests).
//!
//! **Refusals** consume nothing: refused in process, nothing changes; refused by the script,
//! nothing is granted (what the instance held is still given back).
//!
//! # When Redis fails
//!
//! [`Limiter`] bounds every Redis call by a timeout (the gateway's default is 25 ms). Leases
//! already held keep deciding (their capacity is counted in Redis); a request that needs a
//! script call follows the breaker and the failure mode. After a
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
//! trying. Idle leases are not given back while the breaker is open (their segments lapse on
//! their own; their units stay counted for the day). A dropped connection is re-established in the background (Redis is used again within
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
