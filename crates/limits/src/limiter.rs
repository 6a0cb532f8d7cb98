//! What the gateway holds: the local limiter, or Redis with a failure mode, a circuit breaker
//! and counters for `/metrics`.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::breaker::{Breaker, Transition};
use crate::lease::Decided;
use crate::{LimitSpec, LimiterError, LocalLimiter, Micros, RedisLimiter, Verdict};
use compact_str::CompactString;

/// The key prefix used in Redis unless told otherwise.
pub const DEFAULT_PREFIX: &str = "regpilot:";

/// What to do while Redis cannot be reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailureMode {
    /// Decide with an in-process limiter: limits then hold per instance.
    #[default]
    Local,
    /// Admit every request (no limits).
    Open,
    /// Refuse every request with [`Unavailable`] (the gateway answers 503).
    Closed,
}

impl FailureMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureMode::Local => "local",
            FailureMode::Open => "open",
            FailureMode::Closed => "closed",
        }
    }
}

impl FromStr for FailureMode {
    type Err = LimiterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "local" => Ok(FailureMode::Local),
            "open" => Ok(FailureMode::Open),
            "closed" => Ok(FailureMode::Closed),
            other => Err(LimiterError::BadFailureMode(other.to_owned())),
        }
    }
}

impl fmt::Display for FailureMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request could not be decided: Redis is unreachable and the failure mode is `Closed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unavailable;

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("The rate limiter (Redis) is unreachable, so no request can be admitted; try again shortly.")
    }
}

impl std::error::Error for Unavailable {}

/// How often leases are checked for idleness, and how long unused makes a lease idle: what a
/// lease holds is given back within 1 s of its key's last request (crate docs, "Leases").
const SWEEP_EVERY: Duration = Duration::from_millis(250);
const IDLE_AFTER: Duration = Duration::from_millis(500);

/// Plain counters since start, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimiterStats {
    /// Redis script calls (leases taken, leases given back), answered or not: divided by the
    /// admitted requests, the Redis commands each costs.
    pub redis_calls: u64,
    /// Redis calls that failed or timed out.
    pub redis_errors: u64,
    /// Requests decided by the in-process fallback (`Local` mode).
    pub fallback_decisions: u64,
    /// Requests admitted unchecked (`Open` mode).
    pub open_admits: u64,
    /// Requests refused as unavailable (`Closed` mode).
    pub closed_refusals: u64,
}

/// The rate limiter the request path calls. See the crate documentation for the Redis failure
/// handling.
pub struct Limiter {
    backend: Backend,
}

enum Backend {
    Local(LocalLimiter),
    Redis(Arc<Shared>),
}

struct Shared {
    redis: RedisLimiter,
    mode: FailureMode,
    fallback: LocalLimiter,
    breaker: Breaker,
    epoch: Instant,
    redis_errors: AtomicU64,
    fallback_decisions: AtomicU64,
    open_admits: AtomicU64,
    closed_refusals: AtomicU64,
}

impl Limiter {
    /// Limits in this process only.
    pub fn local() -> Limiter {
        Limiter { backend: Backend::Local(LocalLimiter::new()) }
    }

    /// Limits in Redis at `url` (keys prefixed `regpilot:`), each call bounded by `timeout`.
    /// Waits for the first connection at most `timeout` or 2 s, whichever is longer. Fails only
    /// on a malformed URL: an unreachable Redis is logged and handled by `mode` until it answers.
    pub async fn redis(url: &str, timeout: Duration, mode: FailureMode) -> Result<Limiter, LimiterError> {
        Self::redis_with_prefix(url, DEFAULT_PREFIX, timeout, mode).await
    }

    /// [`Limiter::redis`] with another key prefix (tests use a fresh one each).
    pub async fn redis_with_prefix(
        url: &str,
        prefix: &str,
        timeout: Duration,
        mode: FailureMode,
    ) -> Result<Limiter, LimiterError> {
        let redis = RedisLimiter::lazy(url, prefix, timeout)?;
        let shared = Shared {
            redis,
            mode,
            fallback: LocalLimiter::new(),
            breaker: Breaker::default(),
            epoch: Instant::now(),
            redis_errors: AtomicU64::new(0),
            fallback_decisions: AtomicU64::new(0),
            open_admits: AtomicU64::new(0),
            closed_refusals: AtomicU64::new(0),
        };
        // The first connection, with more time than a request gets; on failure the breaker
        // opens and the warning is logged now rather than on the first request.
        match shared.redis.connect_first().await {
            Ok(()) => tracing::info!(url = %shared.redis.redacted_url(), mode = mode.as_str(), "rate limits in Redis"),
            Err(e) => shared.failed(&e),
        }
        let shared = Arc::new(shared);
        tokio::spawn(sweep(Arc::downgrade(&shared)));
        Ok(Limiter { backend: Backend::Redis(shared) })
    }

    /// Decides one authenticated request. `Err` only in `Closed` mode while Redis is
    /// unreachable.
    pub async fn check(&self, key_id: &str, spec: LimitSpec, now: Micros) -> Result<Verdict, Unavailable> {
        match &self.backend {
            Backend::Local(local) => Ok(local.decide(key_id, spec, now)),
            Backend::Redis(shared) => shared.check(key_id, spec, now).await,
        }
    }

    /// Decides one request at once when that needs no I/O: always with the local backend, and
    /// with Redis whenever the key's lease can decide (most requests of a busy key); `None`
    /// otherwise, and [`Limiter::check`] decides. Lets the request path skip a future.
    pub fn check_now(&self, key_id: &str, spec: LimitSpec, now: Micros) -> Option<Verdict> {
        match &self.backend {
            Backend::Local(local) => Some(local.decide(key_id, spec, now)),
            Backend::Redis(shared) => {
                let (verdict, ahead) = shared.redis.decide_local_ahead(key_id, spec, now)?;
                if ahead {
                    shared.spawn_renew_ahead(key_id, spec, now);
                }
                Some(verdict)
            }
        }
    }

    /// At shutdown: gives back to Redis everything this instance's leases hold, so no daily
    /// quota stays held by an instance that is gone (one script call per 256 keys). Nothing to
    /// do for the local backend, or while Redis is unreachable (the leases' burst segments
    /// expire on their own; their unused daily units stay counted for the day).
    pub async fn shutdown(&self) {
        if let Backend::Redis(shared) = &self.backend {
            shared.give_back(Duration::ZERO).await;
        }
    }

    /// Seeds today's admitted count (see [`LocalLimiter::seed_daily`]): the local backend, or
    /// the in-process fallback of the Redis backend (Redis keeps its own counts).
    pub fn seed_daily(&self, key_id: &str, used: u64, now: Micros) {
        match &self.backend {
            Backend::Local(local) => local.seed_daily(key_id, used, now),
            Backend::Redis(shared) => shared.fallback.seed_daily(key_id, used, now),
        }
    }

    /// Drops in-process state that no longer matters (see [`LocalLimiter::forget_idle`]), so
    /// memory follows the keys in use, not every key ever used. The gateway calls it now and then.
    pub fn forget_idle(&self, now: Micros) {
        match &self.backend {
            Backend::Local(local) => local.forget_idle(now),
            Backend::Redis(shared) => shared.fallback.forget_idle(now),
        }
    }

    /// Keys with in-process state (the local backend, or the Redis backend's fallback).
    pub fn local_keys(&self) -> usize {
        match &self.backend {
            Backend::Local(local) => local.len(),
            Backend::Redis(shared) => shared.fallback.len(),
        }
    }

    /// `"local"` or `"redis"`.
    pub fn backend(&self) -> &'static str {
        match &self.backend {
            Backend::Local(_) => "local",
            Backend::Redis(_) => "redis",
        }
    }

    /// The failure mode, for the Redis backend.
    pub fn failure_mode(&self) -> Option<FailureMode> {
        match &self.backend {
            Backend::Local(_) => None,
            Backend::Redis(shared) => Some(shared.mode),
        }
    }

    /// For readiness: always Ok locally; with Redis, a PING within the timeout.
    pub async fn health(&self) -> Result<(), LimiterError> {
        match &self.backend {
            Backend::Local(_) => Ok(()),
            Backend::Redis(shared) => shared.redis.ping().await,
        }
    }

    pub fn stats(&self) -> LimiterStats {
        match &self.backend {
            Backend::Local(_) => LimiterStats::default(),
            Backend::Redis(s) => LimiterStats {
                redis_calls: s.redis.script_calls(),
                redis_errors: s.redis_errors.load(Ordering::Relaxed),
                fallback_decisions: s.fallback_decisions.load(Ordering::Relaxed),
                open_admits: s.open_admits.load(Ordering::Relaxed),
                closed_refusals: s.closed_refusals.load(Ordering::Relaxed),
            },
        }
    }
}

impl Shared {
    fn clock(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    async fn check(self: &Arc<Self>, key_id: &str, spec: LimitSpec, now: Micros) -> Result<Verdict, Unavailable> {
        if let Some((verdict, ahead)) = self.redis.decide_local_ahead(key_id, spec, now) {
            if ahead {
                self.spawn_renew_ahead(key_id, spec, now);
            }
            return Ok(verdict);
        }
        // The lease decides when it can, Redis or not; a lease call only if the breaker lets
        // this request through, asked when its turn comes (after any call in flight for the key).
        match self.redis.decide(key_id, spec, now, || self.breaker.should_try(self.clock())).await {
            Ok(Decided::Lease(verdict)) => return Ok(verdict),
            Ok(Decided::Redis(verdict)) => {
                if let Transition::CameBack = self.breaker.success() {
                    tracing::info!(url = %self.redis.redacted_url(), "Redis is reachable again; rate limits are shared again");
                }
                return Ok(verdict);
            }
            Ok(Decided::NotCalled) => {}
            Err(e) => self.failed(&e),
        }
        match self.mode {
            FailureMode::Local => {
                self.fallback_decisions.fetch_add(1, Ordering::Relaxed);
                Ok(self.fallback.decide(key_id, spec, now))
            }
            FailureMode::Open => {
                self.open_admits.fetch_add(1, Ordering::Relaxed);
                Ok(Verdict::unchecked(spec, now))
            }
            FailureMode::Closed => {
                self.closed_refusals.fetch_add(1, Ordering::Relaxed);
                Err(Unavailable)
            }
        }
    }

    /// Renews a busy key's lease in the background before it runs out, so its requests do not
    /// wait for Redis; not while Redis is considered down (the breaker's probe is a request's).
    fn spawn_renew_ahead(self: &Arc<Self>, key_id: &str, spec: LimitSpec, now: Micros) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if !self.breaker.is_closed() {
            return;
        }
        let (shared, key) = (self.clone(), CompactString::from(key_id));
        runtime.spawn(async move {
            match shared.redis.renew_ahead(&key, spec, now).await {
                Ok(_) => {}
                Err(e) => shared.failed(&e),
            }
        });
    }

    /// Gives back what the leases unused for `idle` hold, if Redis is considered up.
    async fn give_back(&self, idle: Duration) {
        if !self.breaker.is_closed() {
            return;
        }
        match self.redis.give_back_idle(idle).await {
            Ok(n) if n > 0 => tracing::debug!(leases = n, "leases given back"),
            Ok(_) => {}
            Err(e) => self.failed(&e),
        }
    }

    fn failed(&self, err: &LimiterError) {
        self.redis_errors.fetch_add(1, Ordering::Relaxed);
        match self.breaker.failure(self.clock()) {
            Transition::WentDown => tracing::warn!(
                url = %self.redis.redacted_url(),
                error = %err,
                failure_mode = self.mode.as_str(),
                "Redis is unreachable; rate limits follow the failure mode until it answers (retried every second)"
            ),
            _ => tracing::debug!(error = %err, "Redis call failed"),
        }
    }
}

/// Gives back idle leases every [`SWEEP_EVERY`], for as long as the limiter lives.
async fn sweep(shared: Weak<Shared>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else { return };
        shared.give_back(IDLE_AFTER).await;
    }
}
