//! The read queries behind the usage reports and the alert rules.

use sqlx::Row;

use super::counters;
use super::{Bucket, CountryTotal, HourlyDelta, ModelTotal, UsageCounts, UsageScope, DAY_MS, HOUR_MS};
use crate::rows::{key_from_row, KEY_COLUMNS};
use crate::{KeyRow, Store, StoreError};

impl Store {
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

    /// Counters summed per key over the hours starting in `[from, to)`; keys without rows
    /// there are left out.
    pub async fn usage_by_key(
        &self,
        scope: UsageScope<'_>,
        from: i64,
        to: i64,
    ) -> Result<Vec<(String, UsageCounts)>, StoreError> {
        self.counters_grouped("key_id", scope, from, to).await
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
        let width = match bucket {
            Bucket::Hour => HOUR_MS,
            Bucket::Day => DAY_MS,
        };
        // Integer division on both backends; hours are never negative.
        self.counters_grouped(&format!("CAST((hour / {width}) * {width} AS BIGINT)"), scope, from, to).await
    }

    /// The counters of the hours starting in `[from, to)`, summed per value of `group` (an SQL
    /// expression of this module's, never input), in its order.
    async fn counters_grouped<T>(
        &self,
        group: &str,
        scope: UsageScope<'_>,
        from: i64,
        to: i64,
    ) -> Result<Vec<(T, UsageCounts)>, StoreError>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        let (column, value) = scope.filter();
        let totals = counters::select_totals();
        let rows = sqlx::query(&format!(
            "SELECT {group} AS grouped, {totals} FROM usage_hourly WHERE {column} = $1 AND hour >= $2 AND hour < $3 \
             GROUP BY 1 ORDER BY 1"
        ))
        .bind(value)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get("grouped")?, UsageCounts::from_row(r)?)))
            .collect::<Result<_, sqlx::Error>>()?)
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
        let sql = format!(
            "SELECT key_id, project_id, hour, {} FROM usage_hourly WHERE hour = $1 ORDER BY key_id",
            counters::column_list()
        );
        let mut out = Vec::new();
        for hour in hours {
            let rows = sqlx::query(&sql).bind(hour).fetch_all(&self.pool).await?;
            for r in &rows {
                out.push(HourlyDelta {
                    key_id: r.try_get("key_id")?,
                    project_id: r.try_get("project_id")?,
                    hour: r.try_get("hour")?,
                    counts: UsageCounts::from_row(r)?,
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
