//! The Redis backend: the whole decision in one Lua script (EVALSHA), so instances sharing a
//! Redis share each key's limits exactly.
//!
//! Keys: `{prefix}gcra:{key_id}` holds the GCRA TAT (expires a minute after it stops
//! mattering), `{prefix}day:{key_id}:{day_number}` the day's admitted count (expires an hour
//! after its UTC midnight). The time comes from the caller, not from Redis: instances are
//! assumed NTP-synced, and tests drive the same virtual clock as the local backend.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::RwLock;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisResult, Script};

use crate::error::{redact_url, scrub};
use crate::spec::{day_number, next_midnight, LimitKind, LimitSpec, Verdict};
use crate::{LimiterError, Micros, RateLimiter};

/// Lua numbers are doubles: larger daily limits are as good as unlimited anyway.
const MAX_EXACT: u64 = 1 << 53;

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
    script: Script,
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
            script: Script::new(include_str!("redis_decide.lua")),
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

    async fn decide(&self, key_id: &str, spec: LimitSpec, now: Micros) -> Result<Verdict, LimiterError> {
        let day = day_number(now);
        let limit = spec.daily.map_or(-1, |d| d.min(MAX_EXACT) as i64);
        let mut conn = self.connection();
        let mut call = self.script.prepare_invoke();
        call.key(format!("{}gcra:{key_id}", self.prefix))
            .key(format!("{}day:{key_id}:{day}", self.prefix))
            .arg(now)
            .arg(spec.emission_interval())
            .arg(spec.tolerance())
            .arg(limit)
            .arg(next_midnight(now) - now);
        let reply = self
            .bounded(self.timeout, conn.generation, call.invoke_async::<(i64, i64, i64, i64)>(&mut conn.manager))
            .await?;
        let (admitted, refused_by, count, wait) = reply;
        let used = u64::try_from(count).unwrap_or(0);
        Ok(match (admitted, refused_by) {
            (1, _) => Verdict::admit(spec, used, now),
            (_, 2) => Verdict::refuse(LimitKind::Daily, spec, used, now, wait),
            (_, 1) => Verdict::refuse(LimitKind::Burst, spec, used, now, wait),
            _ => return Err(LimiterError::Redis(format!("unexpected reply from the limit script: {reply:?}"))),
        })
    }
}

impl RateLimiter for RedisLimiter {
    async fn check(&self, key_id: &str, spec: LimitSpec, now: Micros) -> Result<Verdict, LimiterError> {
        self.decide(key_id, spec, now).await
    }
}
