//! Usage per key: hourly counters, countries per day and AI usage per model and hour, added to
//! in batches by the gateway's usage recorder (`write.rs`), and the read queries behind the usage
//! reports (`read.rs`). The counters and their columns are declared once, in `counters.rs`.

mod counters;
mod read;
mod write;

pub use counters::UsageCounts;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// The start of the UTC hour holding `ms` (usage rows are keyed by it).
pub fn hour_start(ms: i64) -> i64 {
    ms - ms.rem_euclid(HOUR_MS)
}

/// UTC midnight of the day holding `ms`.
pub fn day_start(ms: i64) -> i64 {
    ms - ms.rem_euclid(DAY_MS)
}

/// Counts to add to one key's hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HourlyDelta {
    pub key_id: String,
    pub project_id: String,
    /// Unix ms at the start of the UTC hour.
    pub hour: i64,
    pub counts: UsageCounts,
}

/// Requests to add to one key's country on one day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountryDelta {
    pub key_id: String,
    pub project_id: String,
    /// Unix ms at UTC midnight.
    pub day: i64,
    /// ISO 3166-1 alpha-2, or `unknown`.
    pub country: String,
    pub requests: i64,
}

/// AI usage to add to one key's model (of one provider) in one hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelDelta {
    pub key_id: String,
    pub project_id: String,
    /// Unix ms at the start of the UTC hour.
    pub hour: i64,
    pub model: String,
    pub provider: String,
    /// AI calls answered; each is also one of the hour's `requests`.
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// Cost in millionths of a US cent (integers, so sums are exact).
    pub cost_ucents: i64,
}

/// What the usage recorder writes about once a second.
#[derive(Debug, Clone, Default)]
pub struct UsageBatch {
    pub hourly: Vec<HourlyDelta>,
    pub countries: Vec<CountryDelta>,
    /// AI usage per key, hour, model and provider.
    pub models: Vec<ModelDelta>,
    /// (key id, Unix ms): raises `api_keys.last_used_at`, never lowers it.
    pub last_used: Vec<(String, i64)>,
}

/// Which usage a read covers: one project's keys, or one key.
#[derive(Debug, Clone, Copy)]
pub enum UsageScope<'a> {
    Project(&'a str),
    Key(&'a str),
}

impl UsageScope<'_> {
    /// The column and value to filter on. The column comes from this enum, never from input.
    fn filter(&self) -> (&'static str, &str) {
        match self {
            UsageScope::Project(id) => ("project_id", id),
            UsageScope::Key(id) => ("key_id", id),
        }
    }
}

/// The size of the time buckets of [`crate::Store::usage_buckets`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
}

/// Requests of one key from one country over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryTotal {
    pub key_id: String,
    pub country: String,
    pub requests: i64,
}

/// AI usage of one key with one model (of one provider) over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelTotal {
    pub key_id: String,
    pub model: String,
    pub provider: String,
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// Millionths of a US cent.
    pub cost_ucents: i64,
}
