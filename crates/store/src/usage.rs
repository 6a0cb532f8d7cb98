//! Usage per key: hourly counters, countries per day and AI usage per model and hour, added to
//! in batches by the gateway's usage recorder, and the read queries behind the usage reports.
//!
//! A batch is one transaction of multi-row upserts (chunks of [`CHUNK_ROWS`] rows). Rows are
//! merged and sorted by key first, so one statement never touches a row twice (PostgreSQL
//! refuses that) and the upserts of concurrent writers take row locks in the same order.
//!
//! Measured (debug build, whose bundled SQLite is unoptimized too; 2-core machine; 1,000
//! existing keys): a batch of 1,000 hourly rows + 1,000 country rows + 1,000 last-used times
//! commits in about 70 ms on SQLite (hourly rows ~50 ms, countries ~20 ms, last-used ~8 ms) and
//! 30 ms on PostgreSQL. `write_usage_batch_of_1000_rows` in the store suite prints its figure.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::keys::{key_from_row, KEY_COLUMNS};
use crate::{KeyRow, Store, StoreError};

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

/// Rows per statement: 9 parameters a row stays far below both backends' parameter limits.
const CHUNK_ROWS: usize = 250;

/// Counts to add to one key's hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HourlyDelta {
    pub key_id: String,
    pub project_id: String,
    /// Unix ms at the start of the UTC hour.
    pub hour: i64,
    /// Authenticated requests answered, those refused by the rate limiter (429) included.
    pub requests: i64,
    /// Answered with a status >= 400 other than 429.
    pub errors: i64,
    /// Refused by the rate limiter (429).
    pub limited: i64,
    /// Attempts while the key was inactive, deleted or expired (401); not in `requests`.
    pub refused: i64,
    /// Latency of the answered requests, microseconds.
    pub latency_us_sum: i64,
    pub latency_us_max: i64,
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

/// Counters summed over a period (of one key) or a time bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageCounts {
    pub requests: i64,
    pub errors: i64,
    pub limited: i64,
    pub refused: i64,
    pub latency_us_sum: i64,
    pub latency_us_max: i64,
}

/// The size of the time buckets of [`Store::usage_buckets`].
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

const SUMS: &str = "CAST(COALESCE(SUM(requests), 0) AS BIGINT) AS requests, \
     CAST(COALESCE(SUM(errors), 0) AS BIGINT) AS errors, CAST(COALESCE(SUM(limited), 0) AS BIGINT) AS limited, \
     CAST(COALESCE(SUM(refused), 0) AS BIGINT) AS refused, \
     CAST(COALESCE(SUM(latency_us_sum), 0) AS BIGINT) AS latency_us_sum, \
     CAST(COALESCE(MAX(latency_us_max), 0) AS BIGINT) AS latency_us_max";

fn counts_from_row(r: &AnyRow) -> Result<UsageCounts, sqlx::Error> {
    Ok(UsageCounts {
        requests: r.try_get("requests")?,
        errors: r.try_get("errors")?,
        limited: r.try_get("limited")?,
        refused: r.try_get("refused")?,
        latency_us_sum: r.try_get("latency_us_sum")?,
        latency_us_max: r.try_get("latency_us_max")?,
    })
}

/// `($1, $2, …), ($n+1, …)` for `rows` rows of `width` parameters.
fn values_list(rows: usize, width: usize) -> String {
    let mut out = String::with_capacity(rows * width * 5);
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            if c > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("${}", r * width + c + 1));
        }
        out.push(')');
    }
    out
}

/// Deltas for the same (key, hour) added together.
fn merge_hourly(deltas: &[HourlyDelta]) -> Vec<HourlyDelta> {
    let mut merged: BTreeMap<(&str, i64), HourlyDelta> = BTreeMap::new();
    for d in deltas {
        let m = merged.entry((&d.key_id, d.hour)).or_insert_with(|| HourlyDelta {
            key_id: d.key_id.clone(),
            project_id: d.project_id.clone(),
            hour: d.hour,
            ..HourlyDelta::default()
        });
        m.requests += d.requests;
        m.errors += d.errors;
        m.limited += d.limited;
        m.refused += d.refused;
        m.latency_us_sum += d.latency_us_sum;
        m.latency_us_max = m.latency_us_max.max(d.latency_us_max);
    }
    merged.into_values().collect()
}

fn merge_countries(deltas: &[CountryDelta]) -> Vec<CountryDelta> {
    let mut merged: BTreeMap<(&str, i64, &str), CountryDelta> = BTreeMap::new();
    for d in deltas {
        merged
            .entry((&d.key_id, d.day, &d.country))
            .or_insert_with(|| CountryDelta { requests: 0, ..d.clone() })
            .requests += d.requests;
    }
    merged.into_values().collect()
}

fn merge_models(deltas: &[ModelDelta]) -> Vec<ModelDelta> {
    let mut merged: BTreeMap<(&str, i64, &str, &str), ModelDelta> = BTreeMap::new();
    for d in deltas {
        let m = merged.entry((&d.key_id, d.hour, &d.model, &d.provider)).or_insert_with(|| ModelDelta {
            calls: 0,
            prompt_tokens: 0,
            completion_tokens: 0,
            cost_ucents: 0,
            ..d.clone()
        });
        m.calls += d.calls;
        m.prompt_tokens += d.prompt_tokens;
        m.completion_tokens += d.completion_tokens;
        m.cost_ucents += d.cost_ucents;
    }
    merged.into_values().collect()
}

async fn upsert_hourly(tx: &mut Transaction<'_, Any>, rows: &[HourlyDelta]) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO usage_hourly (key_id, project_id, hour, requests, errors, limited, refused, latency_us_sum, \
         latency_us_max) VALUES {} ON CONFLICT (key_id, hour) DO UPDATE SET \
         requests = usage_hourly.requests + excluded.requests, errors = usage_hourly.errors + excluded.errors, \
         limited = usage_hourly.limited + excluded.limited, refused = usage_hourly.refused + excluded.refused, \
         latency_us_sum = usage_hourly.latency_us_sum + excluded.latency_us_sum, \
         latency_us_max = CASE WHEN excluded.latency_us_max > usage_hourly.latency_us_max \
         THEN excluded.latency_us_max ELSE usage_hourly.latency_us_max END",
        values_list(rows.len(), 9)
    );
    let mut q = sqlx::query(&sql).persistent(rows.len() == CHUNK_ROWS);
    for d in rows {
        q = q
            .bind(&d.key_id)
            .bind(&d.project_id)
            .bind(d.hour)
            .bind(d.requests)
            .bind(d.errors)
            .bind(d.limited)
            .bind(d.refused)
            .bind(d.latency_us_sum)
            .bind(d.latency_us_max);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

async fn upsert_countries(tx: &mut Transaction<'_, Any>, rows: &[CountryDelta]) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO usage_countries (key_id, project_id, day, country, requests) VALUES {} \
         ON CONFLICT (key_id, day, country) DO UPDATE SET requests = usage_countries.requests + excluded.requests",
        values_list(rows.len(), 5)
    );
    let mut q = sqlx::query(&sql).persistent(rows.len() == CHUNK_ROWS);
    for d in rows {
        q = q.bind(&d.key_id).bind(&d.project_id).bind(d.day).bind(&d.country).bind(d.requests);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

async fn upsert_models(tx: &mut Transaction<'_, Any>, rows: &[ModelDelta]) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO usage_models (key_id, project_id, hour, model, provider, calls, prompt_tokens, \
         completion_tokens, cost_ucents) VALUES {} ON CONFLICT (key_id, hour, model, provider) DO UPDATE SET \
         calls = usage_models.calls + excluded.calls, \
         prompt_tokens = usage_models.prompt_tokens + excluded.prompt_tokens, \
         completion_tokens = usage_models.completion_tokens + excluded.completion_tokens, \
         cost_ucents = usage_models.cost_ucents + excluded.cost_ucents",
        values_list(rows.len(), 9)
    );
    let mut q = sqlx::query(&sql).persistent(rows.len() == CHUNK_ROWS);
    for d in rows {
        q = q
            .bind(&d.key_id)
            .bind(&d.project_id)
            .bind(d.hour)
            .bind(&d.model)
            .bind(&d.provider)
            .bind(d.calls)
            .bind(d.prompt_tokens)
            .bind(d.completion_tokens)
            .bind(d.cost_ucents);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// `VALUES` columns are named `column1`, `column2` on both backends.
async fn raise_last_used(tx: &mut Transaction<'_, Any>, rows: &[(&str, i64)]) -> Result<(), sqlx::Error> {
    let sql = format!(
        "UPDATE api_keys SET last_used_at = v.column2 FROM (VALUES {}) AS v \
         WHERE api_keys.id = v.column1 AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < v.column2)",
        values_list(rows.len(), 2)
    );
    let mut q = sqlx::query(&sql).persistent(rows.len() == CHUNK_ROWS);
    for (id, at) in rows {
        q = q.bind(*id).bind(*at);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

impl Store {
    /// One transaction: adds the deltas (same-row deltas of the batch merged first), and raises
    /// `api_keys.last_used_at` to the given times (never lowers it).
    pub async fn write_usage(&self, batch: &UsageBatch) -> Result<(), StoreError> {
        let hourly = merge_hourly(&batch.hourly);
        let countries = merge_countries(&batch.countries);
        let models = merge_models(&batch.models);
        let mut last_used: BTreeMap<&str, i64> = BTreeMap::new();
        for (id, at) in &batch.last_used {
            let t = last_used.entry(id).or_insert(*at);
            *t = (*t).max(*at);
        }
        let last_used: Vec<(&str, i64)> = last_used.into_iter().collect();
        if hourly.is_empty() && countries.is_empty() && models.is_empty() && last_used.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for chunk in hourly.chunks(CHUNK_ROWS) {
            upsert_hourly(&mut tx, chunk).await?;
        }
        for chunk in countries.chunks(CHUNK_ROWS) {
            upsert_countries(&mut tx, chunk).await?;
        }
        for chunk in models.chunks(CHUNK_ROWS) {
            upsert_models(&mut tx, chunk).await?;
        }
        for chunk in last_used.chunks(CHUNK_ROWS) {
            raise_last_used(&mut tx, chunk).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Per key, the requests admitted since `day_start` (Unix ms): requests minus those the
    /// limiter refused. Restores the daily quotas after a restart.
    pub async fn daily_used(&self, day_start: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT key_id, CAST(SUM(requests - limited) AS BIGINT) AS n FROM usage_hourly WHERE hour >= $1 \
             GROUP BY key_id ORDER BY key_id",
        )
        .bind(day_start)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| Ok((r.try_get("key_id")?, r.try_get("n")?))).collect::<Result<_, sqlx::Error>>()?)
    }

    /// Deletes usage older than `before` (Unix ms): hours (counters and AI usage per model) and
    /// country days that start before it. Returns the rows deleted.
    pub async fn prune_usage(&self, before: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let hours = sqlx::query("DELETE FROM usage_hourly WHERE hour < $1").bind(before).execute(&mut *tx).await?;
        let days = sqlx::query("DELETE FROM usage_countries WHERE day < $1").bind(before).execute(&mut *tx).await?;
        let models = sqlx::query("DELETE FROM usage_models WHERE hour < $1").bind(before).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(hours.rows_affected() + days.rows_affected() + models.rows_affected())
    }

    /// Counters summed per key over the hours starting in `[from, to)`; keys without rows
    /// there are left out.
    pub async fn usage_by_key(
        &self,
        scope: UsageScope<'_>,
        from: i64,
        to: i64,
    ) -> Result<Vec<(String, UsageCounts)>, StoreError> {
        let (column, value) = scope.filter();
        let rows = sqlx::query(&format!(
            "SELECT key_id, {SUMS} FROM usage_hourly WHERE {column} = $1 AND hour >= $2 AND hour < $3 \
             GROUP BY key_id ORDER BY key_id"
        ))
        .bind(value)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| Ok((r.try_get("key_id")?, counts_from_row(r)?))).collect::<Result<_, sqlx::Error>>()?)
    }

    /// Counters summed per hour or per UTC day over `[from, to)`, by bucket start (Unix ms),
    /// oldest first; buckets without rows are left out (the caller fills them).
    pub async fn usage_buckets(
        &self,
        scope: UsageScope<'_>,
        bucket: Bucket,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, UsageCounts)>, StoreError> {
        let (column, value) = scope.filter();
        let width = match bucket {
            Bucket::Hour => HOUR_MS,
            Bucket::Day => DAY_MS,
        };
        // Integer division on both backends; hours are never negative.
        let rows = sqlx::query(&format!(
            "SELECT CAST((hour / {width}) * {width} AS BIGINT) AS bucket, {SUMS} FROM usage_hourly \
             WHERE {column} = $1 AND hour >= $2 AND hour < $3 GROUP BY 1 ORDER BY 1"
        ))
        .bind(value)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| Ok((r.try_get("bucket")?, counts_from_row(r)?))).collect::<Result<_, sqlx::Error>>()?)
    }

    /// Requests per key and country over the days starting in `[from, to)`, most requests
    /// first.
    pub async fn usage_countries(
        &self,
        scope: UsageScope<'_>,
        from: i64,
        to: i64,
    ) -> Result<Vec<CountryTotal>, StoreError> {
        let (column, value) = scope.filter();
        let rows = sqlx::query(&format!(
            "SELECT key_id, country, CAST(SUM(requests) AS BIGINT) AS requests FROM usage_countries \
             WHERE {column} = $1 AND day >= $2 AND day < $3 GROUP BY key_id, country \
             ORDER BY requests DESC, key_id, country"
        ))
        .bind(value)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(CountryTotal {
                    key_id: r.try_get("key_id")?,
                    country: r.try_get("country")?,
                    requests: r.try_get("requests")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// AI usage per key, model and provider over the hours starting in `[from, until)`, highest
    /// cost first, then most calls, then by model.
    pub async fn usage_by_model(
        &self,
        scope: UsageScope<'_>,
        from: i64,
        until: i64,
    ) -> Result<Vec<ModelTotal>, StoreError> {
        let (column, value) = scope.filter();
        let rows = sqlx::query(&format!(
            "SELECT key_id, model, provider, CAST(SUM(calls) AS BIGINT) AS calls, \
             CAST(SUM(prompt_tokens) AS BIGINT) AS prompt_tokens, \
             CAST(SUM(completion_tokens) AS BIGINT) AS completion_tokens, \
             CAST(SUM(cost_ucents) AS BIGINT) AS cost_ucents FROM usage_models \
             WHERE {column} = $1 AND hour >= $2 AND hour < $3 GROUP BY key_id, model, provider \
             ORDER BY cost_ucents DESC, calls DESC, model, provider, key_id"
        ))
        .bind(value)
        .bind(from)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(ModelTotal {
                    key_id: r.try_get("key_id")?,
                    model: r.try_get("model")?,
                    provider: r.try_get("provider")?,
                    calls: r.try_get("calls")?,
                    prompt_tokens: r.try_get("prompt_tokens")?,
                    completion_tokens: r.try_get("completion_tokens")?,
                    cost_ucents: r.try_get("cost_ucents")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// The usage rows of the given hours, every key.
    pub async fn usage_hours(&self, hours: &[i64]) -> Result<Vec<HourlyDelta>, StoreError> {
        let mut out = Vec::new();
        for hour in hours {
            let rows = sqlx::query(
                "SELECT key_id, project_id, hour, requests, errors, limited, refused, latency_us_sum, \
                 latency_us_max FROM usage_hourly WHERE hour = $1 ORDER BY key_id",
            )
            .bind(hour)
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                out.push(HourlyDelta {
                    key_id: r.try_get("key_id")?,
                    project_id: r.try_get("project_id")?,
                    hour: r.try_get("hour")?,
                    requests: r.try_get("requests")?,
                    errors: r.try_get("errors")?,
                    limited: r.try_get("limited")?,
                    refused: r.try_get("refused")?,
                    latency_us_sum: r.try_get("latency_us_sum")?,
                    latency_us_max: r.try_get("latency_us_max")?,
                });
            }
        }
        Ok(out)
    }

    /// Every key of a project, deleted ones (tombstones) included: usage outlives its key.
    pub async fn project_keys_with_tombstones(&self, project_id: &str) -> Result<Vec<KeyRow>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.project_id = $1 ORDER BY k.id"))
            .bind(project_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(key_from_row).collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_lists_number_every_parameter() {
        assert_eq!(values_list(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_list(1, 1), "($1)");
    }

    #[test]
    fn same_key_rows_merge() {
        let d = |key: &str, hour, requests, max| HourlyDelta {
            key_id: key.into(),
            project_id: "p".into(),
            hour,
            requests,
            latency_us_sum: requests * 10,
            latency_us_max: max,
            ..HourlyDelta::default()
        };
        let merged = merge_hourly(&[d("b", 0, 1, 5), d("a", 0, 2, 9), d("b", 0, 3, 7), d("b", HOUR_MS, 1, 1)]);
        let got: Vec<_> = merged.iter().map(|m| (m.key_id.as_str(), m.hour, m.requests, m.latency_us_max)).collect();
        assert_eq!(got, vec![("a", 0, 2, 9), ("b", 0, 4, 7), ("b", HOUR_MS, 1, 1)]);
        assert_eq!(merged[1].latency_us_sum, 40);
    }

    #[test]
    fn same_model_rows_merge() {
        let d = |key: &str, model: &str, provider: &str, calls| ModelDelta {
            key_id: key.into(),
            project_id: "p".into(),
            hour: 0,
            model: model.into(),
            provider: provider.into(),
            calls,
            prompt_tokens: calls * 10,
            completion_tokens: calls * 5,
            cost_ucents: calls * 1_000,
        };
        let merged = merge_models(&[
            d("b", "m1", "openai", 1),
            d("a", "m1", "openai", 2),
            d("b", "m1", "openai", 3),
            d("b", "m1", "azure", 1),
            d("b", "m2", "openai", 4),
        ]);
        let got: Vec<_> =
            merged.iter().map(|m| (m.key_id.as_str(), m.model.as_str(), m.provider.as_str(), m.calls)).collect();
        assert_eq!(
            got,
            vec![("a", "m1", "openai", 2), ("b", "m1", "azure", 1), ("b", "m1", "openai", 4), ("b", "m2", "openai", 4)]
        );
        let b = &merged[2];
        assert_eq!((b.prompt_tokens, b.completion_tokens, b.cost_ucents, b.project_id.as_str()), (40, 20, 4_000, "p"));
    }
}
