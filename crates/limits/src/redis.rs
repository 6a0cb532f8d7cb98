//! The Redis backend: each key's limits live in Redis, shared by every instance; an instance
//! leases slices of them in one Lua script call (EVALSHA) and decides from its lease in process
//! (`lease.rs`; the crate documentation, "Leases").
//!
//! Keys: `{prefix}burst:{key_id}`, a hash, holds the GCRA TAT and the token of the last lease
//! granted (expires a minute after the TAT stops mattering), `{prefix}day:{key_id}:{day_number}`
//! the day's count, admitted or leased (expires an hour after its UTC midnight). The time comes from the caller, not from Redis: instances are
//! assumed NTP-synced, and tests drive the same virtual clock as the local backend.

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisResult, Script};

use crate::error::{redact_url, scrub};
use crate::lease::{Ask, Decided, GiveBack, Grant, Leases, Store};
use crate::spec::{LimitSpec, Verdict};
use crate::{LimiterError, Micros, RateLimiter};

/// The least time allowed for the first connection.
const FIRST_CONNECT: Duration = Duration::from_secs(2);

/// After this many timeouts in a row the connection is presumed dead without having said so
/// (a half-open TCP connection never errors) and is replaced by a fresh one.
const SILENT_CALLS_BEFORE_RECONNECT: u32 = 2;

/// The connection in use, numbered so that calls still in flight on a replaced one do not count
/// against its successor.
#[derive(Clone)]
struct Connection {
    generation: u64,
    manager: ConnectionManager,
}

/// Limits held in Redis, shared by every instance that uses the same Redis and prefix.
pub struct RedisLimiter {
    client: Client,
    conn: RwLock<Connection>,
    silent_calls: AtomicU32,
    lease_script: Script,
    give_back_script: Script,
    script_calls: AtomicU64,
    leases: Leases,
    prefix: String,
    url: String,
    timeout: Duration,
}

impl RedisLimiter {
    /// Connects (bounded by `timeout`, or 2 s if that is shorter, since a first connection costs
    /// more than a call) and checks that Redis answers. Every later call is bounded by `timeout`;
    /// the connection is re-established in the background when it drops.
    pub async fn connect(url: &str, key_prefix: &str, timeout: Duration) -> Result<Self, LimiterError> {
        let limiter = Self::lazy(url, key_prefix, timeout)?;
        limiter.connect_first().await?;
        Ok(limiter)
    }

    /// Parses `url` and prepares the connection without touching the network (the first call
    /// connects). Needs a Tokio runtime.
    pub(crate) fn lazy(url: &str, key_prefix: &str, timeout: Duration) -> Result<Self, LimiterError> {
        let client = Client::open(url)
            .map_err(|e| LimiterError::BadUrl { url: redact_url(url), reason: scrub(&e.to_string(), url) })?;
        let conn = Self::manager(&client, timeout).map_err(|e| LimiterError::redis(&e, url))?;
        Ok(RedisLimiter {
            client,
            conn: RwLock::new(Connection { generation: 0, manager: conn }),
            silent_calls: AtomicU32::new(0),
            lease_script: Script::new(include_str!("lease.lua")),
            give_back_script: Script::new(include_str!("giveback.lua")),
            script_calls: AtomicU64::new(0),
            leases: Leases::new(),
            prefix: key_prefix.to_owned(),
            url: url.to_owned(),
            timeout,
        })
    }

    fn manager(client: &Client, timeout: Duration) -> RedisResult<ConnectionManager> {
        // One connection attempt at a time (no retry loop with back-off inside a request); an
        // attempt may take up to a second, in the background once the caller has given up.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(timeout.max(Duration::from_secs(1))))
            .set_response_timeout(None);
        ConnectionManager::new_lazy_with_config(client.clone(), config)
    }

    /// The first connection and PING, allowed more time than a call.
    pub(crate) async fn connect_first(&self) -> Result<(), LimiterError> {
        self.ping_within(self.timeout.max(FIRST_CONNECT)).await
    }

    /// PING, within the timeout.
    pub async fn ping(&self) -> Result<(), LimiterError> {
        self.ping_within(self.timeout).await
    }

    async fn ping_within(&self, limit: Duration) -> Result<(), LimiterError> {
        let mut conn = self.connection();
        let ping = redis::cmd("PING");
        self.bounded(limit, conn.generation, ping.query_async::<String>(&mut conn.manager)).await.map(drop)
    }

    /// The URL with any password replaced, for logs.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    fn connection(&self) -> Connection {
        self.conn.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Runs one Redis call, made on connection `generation`, within `limit`; replaces that
    /// connection once it has timed out too often in a row.
    async fn bounded<T>(
        &self,
        limit: Duration,
        generation: u64,
        call: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, LimiterError> {
        match tokio::time::timeout(limit, call).await {
            Ok(Ok(value)) => {
                self.silent_calls.store(0, Ordering::Relaxed);
                Ok(value)
            }
            Ok(Err(e)) => Err(LimiterError::redis(&e, &self.url)),
            Err(_) => {
                self.timed_out(generation);
                Err(LimiterError::Timeout(limit))
            }
        }
    }

    fn timed_out(&self, generation: u64) {
        if self.silent_calls.fetch_add(1, Ordering::Relaxed) + 1 < SILENT_CALLS_BEFORE_RECONNECT {
            return;
        }
        let mut conn = self.conn.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if conn.generation != generation {
            return; // a call from before the last replacement
        }
        if let Ok(manager) = Self::manager(&self.client, self.timeout) {
            *conn = Connection { generation: generation + 1, manager };
            self.silent_calls.store(0, Ordering::Relaxed);
        }
    }

    /// The decision from the key's lease, when it needs no Redis call.
    pub fn decide_local(&self, key_id: &str, spec: LimitSpec, now: Micros) -> Option<Verdict> {
        self.leases.decide_local(key_id, spec, now)
    }

    /// The decision, with a script call when the key's lease cannot decide; `may_call` (the
    /// circuit breaker) is asked when it is this request's turn to call.
    pub(crate) async fn decide(
        &self,
        key_id: &str,
        spec: LimitSpec,
        now: Micros,
        may_call: impl FnOnce() -> bool,
    ) -> Result<Decided, LimiterError> {
        self.leases.decide(self, key_id, spec, now, may_call).await
    }

    /// [`RedisLimiter::decide_local`], and whether the lease should now be renewed ahead.
    pub(crate) fn decide_local_ahead(&self, key_id: &str, spec: LimitSpec, now: Micros) -> Option<(Verdict, bool)> {
        self.leases.decide_local_ahead(key_id, spec, now)
    }

    /// Renews the key's lease ahead of its end (one script call), unless a call for the key is
    /// in flight or the lease no longer needs it. `Ok(true)`: a call was made and answered.
    pub(crate) async fn renew_ahead(&self, key_id: &str, spec: LimitSpec, now: Micros) -> Result<bool, LimiterError> {
        self.leases.renew_ahead(self, key_id, spec, now).await
    }

    /// Gives back, in as few script calls as it takes (one per 256 keys), what the leases of
    /// keys unused for `idle` hold; `Duration::ZERO` gives back every lease (at shutdown).
    /// Returns how many leases were given back.
    pub async fn give_back_idle(&self, idle: Duration) -> Result<usize, LimiterError> {
        self.leases.give_back_idle(self, idle).await
    }

    /// Script calls made (leases and give-backs), answered or not.
    pub fn script_calls(&self) -> u64 {
        self.script_calls.load(Ordering::Relaxed)
    }

    fn burst_key(&self, key_id: &str) -> String {
        format!("{}burst:{key_id}", self.prefix)
    }

    fn day_key(&self, key_id: &str, day: i64) -> String {
        format!("{}day:{key_id}:{day}", self.prefix)
    }
}

impl Store for RedisLimiter {
    async fn lease(&self, key_id: &str, day: i64, ask: &Ask) -> Result<Grant, LimiterError> {
        let mut conn = self.connection();
        let mut call = self.lease_script.prepare_invoke();
        call.key(self.burst_key(key_id))
            .key(self.day_key(key_id, day))
            .arg(ask.now)
            .arg(ask.interval)
            .arg(ask.tolerance)
            .arg(ask.limit)
            .arg(ask.to_midnight)
            .arg(&ask.held)
            .arg(ask.held_tat)
            .arg(ask.held_units)
            .arg(ask.want_slots)
            .arg(ask.want_units)
            .arg(&ask.token);
        self.script_calls.fetch_add(1, Ordering::Relaxed);
        let reply = self
            .bounded(
                self.timeout,
                conn.generation,
                call.invoke_async::<(i64, i64, i64, i64, i64, i64)>(&mut conn.manager),
            )
            .await?;
        let (refused, count, wait, slots, units, start) = reply;
        let unsigned = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(Grant {
            refused: u8::try_from(refused).unwrap_or(u8::MAX),
            count: unsigned(count),
            wait,
            slots: unsigned(slots),
            units: unsigned(units),
            start,
        })
    }

    async fn give_back(&self, now: Micros, items: &[GiveBack]) -> Result<(), LimiterError> {
        if items.is_empty() {
            return Ok(());
        }
        let mut conn = self.connection();
        let mut call = self.give_back_script.prepare_invoke();
        call.arg(now);
        for item in items {
            call.key(self.burst_key(&item.key)).key(self.day_key(&item.key, item.day));
            call.arg(&item.token).arg(item.tat).arg(item.units);
        }
        self.script_calls.fetch_add(1, Ordering::Relaxed);
        self.bounded(self.timeout, conn.generation, call.invoke_async::<i64>(&mut conn.manager)).await.map(drop)
    }
}

impl RateLimiter for RedisLimiter {
    async fn check(&self, key_id: &str, spec: LimitSpec, now: Micros) -> Result<Verdict, LimiterError> {
        match self.decide(key_id, spec, now, || true).await? {
            Decided::Lease(verdict) | Decided::Redis(verdict) => Ok(verdict),
            Decided::NotCalled => Err(LimiterError::Redis("the lease call was not made".to_owned())),
        }
    }
}
