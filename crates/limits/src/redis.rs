//! The Redis backend: the whole decision in one Lua script (EVALSHA), so instances sharing a
//! Redis share each key's limits exactly.
//!
//! Keys: `{prefix}gcra:{key_id}` holds the GCRA TAT (expires a minute after it stops
//! mattering), `{prefix}day:{key_id}:{day_number}` the day's admitted count (expires an hour
//! after its UTC midnight). The time comes from the caller, not from Redis: instances are
//! assumed NTP-synced, and tests drive the same virtual clock as the local backend.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;

use crate::error::redact_url;
use crate::spec::{day_number, next_midnight, LimitKind, LimitSpec, Verdict};
use crate::{LimiterError, Micros, RateLimiter};

/// Lua numbers are doubles: larger daily limits are as good as unlimited anyway.
const MAX_EXACT: u64 = 1 << 53;

/// The least time allowed for the first connection.
const FIRST_CONNECT: Duration = Duration::from_secs(2);

/// Limits held in Redis, shared by every instance that uses the same Redis and prefix.
pub struct RedisLimiter {
    conn: ConnectionManager,
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

    /// The first connection and PING, allowed more time than a call.
    pub(crate) async fn connect_first(&self) -> Result<(), LimiterError> {
        self.ping_within(self.timeout.max(FIRST_CONNECT)).await
    }

    /// Parses `url` and prepares the connection without touching the network (the first call
    /// connects). Needs a Tokio runtime.
    pub(crate) fn lazy(url: &str, key_prefix: &str, timeout: Duration) -> Result<Self, LimiterError> {
        let bad_url = |reason: String| LimiterError::BadUrl { url: redact_url(url), reason };
        let client = redis::Client::open(url).map_err(|e| bad_url(crate::error::scrub(&e.to_string(), url)))?;
        // One connection attempt per call (no retry loop with back-off inside a request); the
        // attempt itself may take up to a second, in the background if the caller gave up.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(timeout.max(Duration::from_secs(1))))
            .set_response_timeout(None);
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| LimiterError::redis(&e, url))?;
        Ok(RedisLimiter {
            conn,
            script: Script::new(include_str!("redis_decide.lua")),
            prefix: key_prefix.to_owned(),
            url: url.to_owned(),
            timeout,
        })
    }

    /// PING, within the timeout.
    pub async fn ping(&self) -> Result<(), LimiterError> {
        self.ping_within(self.timeout).await
    }

    async fn ping_within(&self, limit: Duration) -> Result<(), LimiterError> {
        let mut conn = self.conn.clone();
        let ping = redis::cmd("PING");
        match tokio::time::timeout(limit, ping.query_async::<String>(&mut conn)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(LimiterError::redis(&e, &self.url)),
            Err(_) => Err(LimiterError::Timeout(limit)),
        }
    }

    /// The URL with any password replaced, for logs.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    async fn decide(&self, key_id: &str, spec: LimitSpec, now: Micros) -> Result<Verdict, LimiterError> {
        let day = day_number(now);
        let limit = spec.daily.map_or(-1, |d| d.min(MAX_EXACT) as i64);
        let mut conn = self.conn.clone();
        let mut call = self.script.prepare_invoke();
        call.key(format!("{}gcra:{key_id}", self.prefix))
            .key(format!("{}day:{key_id}:{day}", self.prefix))
            .arg(now)
            .arg(spec.emission_interval())
            .arg(spec.tolerance())
            .arg(limit)
            .arg(next_midnight(now) - now);
        let reply = match tokio::time::timeout(self.timeout, call.invoke_async::<(i64, i64, i64, i64)>(&mut conn)).await
        {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => return Err(LimiterError::redis(&e, &self.url)),
            Err(_) => return Err(LimiterError::Timeout(self.timeout)),
        };
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
