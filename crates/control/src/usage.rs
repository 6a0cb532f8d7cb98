//! Usage reports (docs/usage-monitoring.md, "Reports"): a project's traffic over a period, and the
//! figures of one key's page. Days and hours are UTC; every day (or hour) of a range is listed,
//! zero-filled.

use std::collections::HashMap;
use std::str::FromStr;

use regpilot_keys::{Environment, KeyType};
use regpilot_store::{day_start, hour_start, Bucket, CountryTotal, KeyRow, UsageCounts, UsageScope, DAY_MS, HOUR_MS};
use serde::Serialize;

use crate::time_fmt::{opt, rfc3339};
use crate::usage_ai::{ai_usage, AiUsage};
use crate::{Control, ControlError, KeyStatus, KeyView};

/// `YYYY-MM-DD` of the UTC day holding `ms`.
pub(crate) fn date(ms: i64) -> String {
    rfc3339(day_start(ms)).get(..10).unwrap_or_default().to_owned()
}

/// `x / total` rounded to 4 places; 0 when `total` is 0.
pub(crate) fn ratio(x: i64, total: i64) -> f64 {
    if total <= 0 {
        return 0.0;
    }
    (x as f64 / total as f64 * 10_000.0).round() / 10_000.0
}

/// Mean latency in milliseconds (3 places, so microseconds show); `None` without requests.
fn avg_latency_ms(c: &UsageCounts) -> Option<f64> {
    (c.requests > 0).then(|| (c.latency_us_sum as f64 / c.requests as f64).round() / 1000.0)
}

/// A report period, ending now: `day` is today (UTC); `week` the last 7 UTC days and `month`
/// the last 30, today included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UsagePeriod {
    Day,
    Week,
    Month,
}

impl UsagePeriod {
    pub fn days(self) -> i64 {
        match self {
            UsagePeriod::Day => 1,
            UsagePeriod::Week => 7,
            UsagePeriod::Month => 30,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UsagePeriod::Day => "day",
            UsagePeriod::Week => "week",
            UsagePeriod::Month => "month",
        }
    }
}

impl FromStr for UsagePeriod {
    type Err = ControlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" => Ok(UsagePeriod::Day),
            "week" => Ok(UsagePeriod::Week),
            "month" => Ok(UsagePeriod::Month),
            _ => Err(ControlError::invalid("period", "period must be one of: day, week, month")),
        }
    }
}

impl std::fmt::Display for UsagePeriod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CountryUsage {
    /// ISO 3166-1 alpha-2, or `unknown`.
    pub country: String,
    pub requests: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayUsage {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub requests: i64,
    pub errors: i64,
    pub error_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourUsage {
    /// RFC 3339 start of the UTC hour.
    pub hour: String,
    pub requests: i64,
    pub errors: i64,
    pub rate_limited: i64,
    /// Attempts refused because the key was inactive, deleted or expired.
    pub refused: i64,
    pub avg_latency_ms: Option<f64>,
}

/// One key's line in a project report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyUsageSummary {
    pub key_id: String,
    pub name: String,
    pub prefix: String,
    #[serde(rename = "type")]
    pub key_type: KeyType,
    pub environment: Environment,
    pub status: KeyStatus,
    pub requests: i64,
    pub errors: i64,
    pub error_rate: f64,
    pub rate_limited: i64,
    pub avg_latency_ms: Option<f64>,
    pub last_used_at: Option<String>,
    pub countries: Vec<CountryUsage>,
    /// The key's AI usage over the period.
    pub ai: AiUsage,
}

/// A project's usage over a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageReport {
    pub project_id: String,
    pub period: UsagePeriod,
    /// RFC 3339: UTC midnight of the period's first day.
    pub from: String,
    /// RFC 3339: now.
    pub to: String,
    pub requests: i64,
    pub errors: i64,
    pub error_rate: f64,
    pub rate_limited: i64,
    pub avg_latency_ms: Option<f64>,
    /// AI usage over the period, each model's calls of every key together.
    pub ai: AiUsage,
    /// Keys with requests in the period, most requests first.
    pub keys: Vec<KeyUsageSummary>,
    /// Every day of the period, oldest first.
    pub days: Vec<DayUsage>,
}

/// The figures of one key's page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyUsage {
    pub key_id: String,
    pub project_id: String,
    pub name: String,
    pub prefix: String,
    #[serde(rename = "type")]
    pub key_type: KeyType,
    pub environment: Environment,
    pub status: KeyStatus,
    /// All time.
    pub requests: i64,
    pub errors: i64,
    pub error_rate: f64,
    pub rate_limited: i64,
    pub refused: i64,
    pub avg_latency_ms: Option<f64>,
    pub max_latency_ms: Option<f64>,
    pub last_used_at: Option<String>,
    /// The last 24 hours, the current one included, oldest first.
    pub hourly: Vec<HourUsage>,
    /// The last 30 UTC days, today included, oldest first.
    pub daily: Vec<DayUsage>,
    /// Countries of the last 30 days, most requests first.
    pub countries: Vec<CountryUsage>,
    /// AI usage of the last 30 days (the days of `daily`).
    pub ai: AiUsage,
}

/// One entry per day from `first` (a UTC midnight) to `last_day` inclusive.
fn days_filled(buckets: &[(i64, UsageCounts)], first: i64, last_day: i64) -> Vec<DayUsage> {
    let by_day: HashMap<i64, &UsageCounts> = buckets.iter().map(|(d, c)| (*d, c)).collect();
    (0..=(last_day - first) / DAY_MS)
        .map(|i| {
            let day = first + i * DAY_MS;
            let c = by_day.get(&day).copied().copied().unwrap_or_default();
            DayUsage {
                date: date(day),
                requests: c.requests,
                errors: c.errors,
                error_rate: ratio(c.errors, c.requests),
            }
        })
        .collect()
}

fn countries_of(totals: &[CountryTotal], key_id: &str) -> Vec<CountryUsage> {
    // The store answers most requests first.
    totals
        .iter()
        .filter(|t| t.key_id == key_id)
        .map(|t| CountryUsage { country: t.country.clone(), requests: t.requests })
        .collect()
}

fn summary(
    key: &KeyRow,
    c: &UsageCounts,
    countries: Vec<CountryUsage>,
    ai: AiUsage,
) -> Result<KeyUsageSummary, ControlError> {
    let view = KeyView::from_row(key)?;
    Ok(KeyUsageSummary {
        key_id: view.id,
        name: view.name,
        prefix: view.prefix,
        key_type: view.key_type,
        environment: view.environment,
        status: view.status,
        requests: c.requests,
        errors: c.errors,
        error_rate: ratio(c.errors, c.requests),
        rate_limited: c.limited,
        avg_latency_ms: avg_latency_ms(c),
        last_used_at: view.last_used_at,
        countries,
        ai,
    })
}

impl Control {
    /// A project's usage over `period`, ending at `now_ms`.
    pub async fn usage_report(
        &self,
        project_id: &str,
        period: UsagePeriod,
        now_ms: i64,
    ) -> Result<UsageReport, ControlError> {
        self.get_project(project_id).await?;
        let today = day_start(now_ms);
        let from = today - (period.days() - 1) * DAY_MS;
        // Every hour that has started by now.
        let until = hour_start(now_ms) + HOUR_MS;
        let scope = UsageScope::Project(project_id);
        let by_key = self.store.usage_by_key(scope, from, until).await?;
        let by_day = self.store.usage_buckets(scope, Bucket::Day, from, until).await?;
        let countries = self.store.usage_countries(scope, from, today + DAY_MS).await?;
        let models = self.store.usage_by_model(scope, from, until).await?;
        let keys: HashMap<String, KeyRow> =
            self.store.project_keys_with_tombstones(project_id).await?.into_iter().map(|k| (k.id.clone(), k)).collect();

        let mut total = UsageCounts::default();
        let mut lines = Vec::new();
        for (key_id, c) in &by_key {
            total.add(c);
            if c.requests == 0 {
                continue;
            }
            match keys.get(key_id) {
                Some(key) => {
                    lines.push(summary(key, c, countries_of(&countries, key_id), ai_usage(&models, Some(key_id)))?)
                }
                None => tracing::warn!(key_id, project_id, "usage recorded for a key the project does not have"),
            }
        }
        lines.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.name.cmp(&b.name)));
        Ok(UsageReport {
            project_id: project_id.to_owned(),
            period,
            from: rfc3339(from),
            to: rfc3339(now_ms),
            requests: total.requests,
            errors: total.errors,
            error_rate: ratio(total.errors, total.requests),
            rate_limited: total.limited,
            avg_latency_ms: avg_latency_ms(&total),
            ai: ai_usage(&models, None),
            keys: lines,
            days: days_filled(&by_day, from, today),
        })
    }

    /// A project's requests per hour for the last 24 hours (the current hour last), every hour
    /// present.
    pub async fn project_hourly(&self, project_id: &str, now_ms: i64) -> Result<Vec<HourUsage>, ControlError> {
        self.get_project(project_id).await?;
        let this_hour = hour_start(now_ms);
        let first_hour = this_hour - 23 * HOUR_MS;
        let scope = UsageScope::Project(project_id);
        let hours = self.store.usage_buckets(scope, Bucket::Hour, first_hour, this_hour + HOUR_MS).await?;
        Ok(hours_filled(hours, first_hour))
    }

    /// One key's usage: totals of all time, the last 24 hours, the last 30 days with their
    /// countries and AI usage. Deleted keys keep their figures.
    pub async fn key_usage(&self, key_id: &str, now_ms: i64) -> Result<KeyUsage, ControlError> {
        let key = self.store.get_key(key_id).await?.ok_or_else(|| ControlError::not_found("key", key_id))?;
        let view = KeyView::from_row(&key)?;
        let scope = UsageScope::Key(key_id);
        let today = day_start(now_ms);
        let this_hour = hour_start(now_ms);
        let first_hour = this_hour - 23 * HOUR_MS;
        let first_day = today - 29 * DAY_MS;

        let total = self.store.usage_by_key(scope, i64::MIN, i64::MAX).await?.first().map(|t| t.1).unwrap_or_default();
        let hours = self.store.usage_buckets(scope, Bucket::Hour, first_hour, this_hour + HOUR_MS).await?;
        let days = self.store.usage_buckets(scope, Bucket::Day, first_day, this_hour + HOUR_MS).await?;
        let countries = self.store.usage_countries(scope, first_day, today + DAY_MS).await?;
        let models = self.store.usage_by_model(scope, first_day, this_hour + HOUR_MS).await?;

        let hourly = hours_filled(hours, first_hour);
        Ok(KeyUsage {
            key_id: view.id,
            project_id: view.project_id,
            name: view.name,
            prefix: view.prefix,
            key_type: view.key_type,
            environment: view.environment,
            status: view.status,
            requests: total.requests,
            errors: total.errors,
            error_rate: ratio(total.errors, total.requests),
            rate_limited: total.limited,
            refused: total.refused,
            avg_latency_ms: avg_latency_ms(&total),
            max_latency_ms: (total.requests > 0).then(|| total.latency_us_max as f64 / 1000.0),
            last_used_at: opt(key.last_used_at),
            hourly,
            daily: days_filled(&days, first_day, today),
            countries: countries_of(&countries, key_id),
            ai: ai_usage(&models, None),
        })
    }
}

/// 24 hours from `first_hour`, with the hours nothing was recorded in as zeros.
fn hours_filled(hours: Vec<(i64, UsageCounts)>, first_hour: i64) -> Vec<HourUsage> {
    let by_hour: HashMap<i64, UsageCounts> = hours.into_iter().collect();
    (0..24)
        .map(|i| {
            let hour = first_hour + i * HOUR_MS;
            let c = by_hour.get(&hour).copied().unwrap_or_default();
            HourUsage {
                hour: rfc3339(hour),
                requests: c.requests,
                errors: c.errors,
                rate_limited: c.limited,
                refused: c.refused,
                avg_latency_ms: avg_latency_ms(&c),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_boundaries_and_dates() {
        let t = 1_773_100_800_000 + 13 * HOUR_MS + 59 * 60_000; // 2026-03-10T13:59Z
        assert_eq!(hour_start(t), 1_773_100_800_000 + 13 * HOUR_MS);
        assert_eq!(day_start(t), 1_773_100_800_000);
        assert_eq!(date(t), "2026-03-10");
        assert_eq!(date(0), "1970-01-01");
    }

    #[test]
    fn ratios_round_to_four_places() {
        assert_eq!(ratio(1, 3), 0.3333);
        assert_eq!(ratio(2, 3), 0.6667);
        assert_eq!(ratio(5, 0), 0.0);
        assert_eq!(ratio(1, 8), 0.125);
    }

    #[test]
    fn periods_parse() {
        assert_eq!("week".parse::<UsagePeriod>().unwrap(), UsagePeriod::Week);
        assert_eq!(" Month ".parse::<UsagePeriod>().unwrap(), UsagePeriod::Month);
        assert!(matches!("year".parse::<UsagePeriod>(), Err(ControlError::Invalid { field: "period", .. })));
    }
}
