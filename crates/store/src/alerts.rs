//! Alerts, and the queries the alert rules run over usage and keys. The rules themselves (what
//! is unusual, thresholds, wording) live in the control plane.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use crate::audit::insert_audit;
use crate::rows::{key_from_row, KEY_COLUMNS};
use crate::{AuditEntry, KeyRow, Store, StoreError};

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    pub id: String,
    pub project_id: String,
    pub key_id: Option<String>,
    pub kind: String,
    /// `warning` or `info`.
    pub severity: String,
    pub message: String,
    /// A JSON object with the figures behind the alert.
    pub detail: String,
    /// Names the occurrence (rule, key, hour or day): an alert is raised once per value.
    pub dedupe: String,
    pub created_at: i64,
    pub acknowledged_at: Option<i64>,
    pub acknowledged_by: Option<String>,
    /// The key's name, read from `api_keys` (not a column of `alerts`; ignored on insert).
    pub key_name: Option<String>,
}

/// A country a key was seen from on a day, new against the days before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCountry {
    pub key_id: String,
    pub project_id: String,
    pub country: String,
    /// Requests from that country on the day.
    pub requests: i64,
}

/// A key's hour with its baseline: the hours with requests in the window before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourWithBaseline {
    pub key_id: String,
    pub project_id: String,
    pub hour: i64,
    pub requests: i64,
    /// How many hours of the window had requests.
    pub baseline_hours: i64,
    /// Their requests, summed.
    pub baseline_requests: i64,
}

const ALERT_COLUMNS: &str = "a.id, a.project_id, a.key_id, a.kind, a.severity, a.message, a.detail, a.dedupe, \
     a.created_at, a.acknowledged_at, a.acknowledged_by, k.name AS key_name";

const INSERT_ALERT: &str = "INSERT INTO alerts (id, project_id, key_id, kind, severity, message, detail, dedupe, \
     created_at, acknowledged_at, acknowledged_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
     ON CONFLICT (dedupe) DO NOTHING";

fn bind_alert<'q>(q: Query<'q, Any, AnyArguments<'q>>, a: &'q AlertRow) -> Query<'q, Any, AnyArguments<'q>> {
    q.bind(&a.id)
        .bind(&a.project_id)
        .bind(&a.key_id)
        .bind(&a.kind)
        .bind(&a.severity)
        .bind(&a.message)
        .bind(&a.detail)
        .bind(&a.dedupe)
        .bind(a.created_at)
        .bind(a.acknowledged_at)
        .bind(&a.acknowledged_by)
}

fn alert_from_row(r: &AnyRow) -> Result<AlertRow, sqlx::Error> {
    Ok(AlertRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        key_id: r.try_get("key_id")?,
        kind: r.try_get("kind")?,
        severity: r.try_get("severity")?,
        message: r.try_get("message")?,
        detail: r.try_get("detail")?,
        dedupe: r.try_get("dedupe")?,
        created_at: r.try_get("created_at")?,
        acknowledged_at: r.try_get("acknowledged_at")?,
        acknowledged_by: r.try_get("acknowledged_by")?,
        key_name: r.try_get("key_name")?,
    })
}

impl Store {
    /// Inserts the alert unless one with its `dedupe` exists; true when inserted.
    pub async fn insert_alert(&self, a: &AlertRow) -> Result<bool, StoreError> {
        let n = bind_alert(sqlx::query(INSERT_ALERT), a).execute(&self.pool).await?.rows_affected();
        Ok(n == 1)
    }

    /// Inserts the alert unless one with its `dedupe` exists, and only then writes `audit`, in
    /// one transaction: a replayed report leaves neither a second alert nor a second entry.
    /// True when inserted.
    pub async fn insert_alert_audited(&self, a: &AlertRow, audit: &AuditEntry) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = bind_alert(sqlx::query(INSERT_ALERT), a).execute(&mut *tx).await?.rows_affected();
        if n == 1 {
            insert_audit(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    pub async fn get_alert(&self, id: &str) -> Result<Option<AlertRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a LEFT JOIN api_keys k ON k.id = a.key_id WHERE a.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(alert_from_row).transpose()?)
    }

    /// A project's alerts, newest first (of one run, warnings before info, as 'warning' sorts
    /// after 'info'); acknowledged ones only when asked for.
    pub async fn list_alerts(&self, project_id: &str, include_acknowledged: bool) -> Result<Vec<AlertRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a LEFT JOIN api_keys k ON k.id = a.key_id \
             WHERE a.project_id = $1 AND ($2 = 1 OR a.acknowledged_at IS NULL) \
             ORDER BY a.created_at DESC, a.severity DESC, a.kind, a.id"
        ))
        .bind(project_id)
        .bind(i64::from(include_acknowledged))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(alert_from_row).collect::<Result<_, _>>()?)
    }

    /// Marks the alert acknowledged at `audit.at` by `audit.actor`, writing the audit entry in
    /// the same transaction. An alert already acknowledged keeps its first acknowledgement
    /// (and nothing is audited). `None` when there is no such alert.
    pub async fn acknowledge_alert(&self, id: &str, audit: &AuditEntry) -> Result<Option<AlertRow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE alerts SET acknowledged_at = $1, acknowledged_by = $2 WHERE id = $3 AND acknowledged_at IS NULL",
        )
        .bind(audit.at)
        .bind(&audit.actor)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed > 0 {
            insert_audit(&mut tx, audit).await?;
        }
        let row = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a LEFT JOIN api_keys k ON k.id = a.key_id WHERE a.id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.as_ref().map(alert_from_row).transpose()?)
    }

    /// Countries other than `unknown` seen for a key on `day` that the key was not seen from
    /// in `[since, day)`, for keys that were seen from some known country in that window (a
    /// new key's first countries are its baseline, not news).
    pub async fn new_countries(&self, day: i64, since: i64) -> Result<Vec<NewCountry>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.key_id, t.project_id, t.country, t.requests FROM usage_countries t \
             WHERE t.day = $1 AND t.country <> 'unknown' AND t.requests > 0 \
             AND NOT EXISTS (SELECT 1 FROM usage_countries p WHERE p.key_id = t.key_id AND p.country = t.country \
                 AND p.day >= $2 AND p.day < $1 AND p.requests > 0) \
             AND EXISTS (SELECT 1 FROM usage_countries p WHERE p.key_id = t.key_id AND p.country <> 'unknown' \
                 AND p.day >= $2 AND p.day < $1 AND p.requests > 0) \
             ORDER BY t.key_id, t.country",
        )
        .bind(day)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(NewCountry {
                    key_id: r.try_get("key_id")?,
                    project_id: r.try_get("project_id")?,
                    country: r.try_get("country")?,
                    requests: r.try_get("requests")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// The keys' rows of `hour` with at least `min_requests` requests, each with its baseline:
    /// the hours in `[hour - window_ms, hour)` that had requests.
    pub async fn hours_with_baseline(
        &self,
        hour: i64,
        window_ms: i64,
        min_requests: i64,
    ) -> Result<Vec<HourWithBaseline>, StoreError> {
        let rows = sqlx::query(
            "SELECT h.key_id, h.project_id, h.hour, h.requests, \
             (SELECT COUNT(*) FROM usage_hourly b WHERE b.key_id = h.key_id AND b.hour >= $2 AND b.hour < $1 \
                 AND b.requests > 0) AS baseline_hours, \
             (SELECT CAST(COALESCE(SUM(b.requests), 0) AS BIGINT) FROM usage_hourly b WHERE b.key_id = h.key_id \
                 AND b.hour >= $2 AND b.hour < $1 AND b.requests > 0) AS baseline_requests \
             FROM usage_hourly h WHERE h.hour = $1 AND h.requests >= $3 ORDER BY h.key_id",
        )
        .bind(hour)
        .bind(hour - window_ms)
        .bind(min_requests)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(HourWithBaseline {
                    key_id: r.try_get("key_id")?,
                    project_id: r.try_get("project_id")?,
                    hour: r.try_get("hour")?,
                    requests: r.try_get("requests")?,
                    baseline_hours: r.try_get("baseline_hours")?,
                    baseline_requests: r.try_get("baseline_requests")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Active keys, not expired at `now`, whose last use (or creation, when never used) is
    /// before `cutoff`.
    pub async fn keys_idle_since(&self, cutoff: i64, now: i64) -> Result<Vec<KeyRow>, StoreError> {
        self.active_keys_where("COALESCE(k.last_used_at, k.created_at) < $1", cutoff, now).await
    }

    /// Active keys, not expired at `now`, created before `cutoff`.
    pub async fn keys_created_before(&self, cutoff: i64, now: i64) -> Result<Vec<KeyRow>, StoreError> {
        self.active_keys_where("k.created_at < $1", cutoff, now).await
    }

    async fn active_keys_where(&self, condition: &str, cutoff: i64, now: i64) -> Result<Vec<KeyRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.status = 'active' \
             AND (k.expires_at IS NULL OR k.expires_at > $2) AND {condition} ORDER BY k.id"
        ))
        .bind(cutoff)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(key_from_row).collect::<Result<_, _>>()?)
    }
}
