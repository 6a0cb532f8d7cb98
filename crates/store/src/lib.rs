//! The store: every durable record of the control plane, behind one type, on SQLite (the
//! embedded default) or PostgreSQL.
//!
//! One SQL text serves both backends through sqlx's `Any` driver (`$N` placeholders, `?` in SQLite's long parameter lists, integer
//! milliseconds for times, text for everything else); only the migrations and the connection
//! set-up differ per dialect. All SQL is parameterized. The store keeps key digests, never
//! secrets.

mod admin;
mod alerts;
mod audit;
mod compliance;
mod connect;
mod error;
mod feed;
mod governor;
mod keys;
mod placeholders;
mod projects;
mod rows;
mod sessions;
mod usage;
mod users;

pub use admin::{AdminTokenRow, DigestMatch, KeyRollRow};
pub use alerts::{AlertRow, HourWithBaseline, NewCountry};
pub use connect::{redact_url, Backend, Store, DEFAULT_ACQUIRE_TIMEOUT};
pub use error::StoreError;
pub use feed::{FeedBatch, KeyEvent, ProjectFeedBatch, NOTIFY_CHANNEL};
pub use governor::{AuditFilter, GovernorAuditRow, GovernorSettingsRow, PolicyRow};
pub use rows::*;
pub use usage::{day_start, hour_start};
pub use usage::{
    Bucket, CountryDelta, CountryTotal, HourlyDelta, ModelDelta, ModelTotal, UsageBatch, UsageCounts, UsageScope,
    DAY_MS, HOUR_MS,
};

/// Milliseconds since the Unix epoch, the store's unit of time.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(any(test, feature = "testing"))]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub mod testing;
