//! The Governor's records (docs/governor.md): per-project settings, custom policies and the
//! audit of every validation. Settings and policy changes write a project event in the same
//! transaction, so every instance's compiled policy set follows within a second.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit::insert_audit;
use crate::feed::append_project_event;
use crate::placeholders::values_list;
use crate::{AuditEntry, Backend, Store, StoreError, ViolationRow};

/// A project's Governor settings (enums as their names; flags as bools).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernorSettingsRow {
    pub project_id: String,
    pub mode: String,
    /// None: the plan decides.
    pub enabled: Option<bool>,
    pub check_prompts: bool,
    pub violations: String,
    pub updated_at: i64,
}

/// One custom policy. `keywords` is a JSON array of strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub keywords: String,
    pub pattern: Option<String>,
    pub applies_to: String,
    pub action: String,
    pub severity: String,
    pub replacement: Option<String>,
    pub appendix: Option<String>,
    pub enabled: bool,
    pub shadow: bool,
    pub version: i64,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
}

/// One validation. `findings` is a JSON array; no matched text is ever in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernorAuditRow {
    pub id: String,
    pub project_id: String,
    pub key_id: String,
    pub created_at: i64,
    pub target: String,
    pub action_type: String,
    pub sender_id: String,
    pub recipient_country: String,
    pub risk_score: i64,
    pub risk_level: String,
    pub action: String,
    pub mode: String,
    pub findings: String,
    pub original_sha256: String,
    pub delivered_sha256: String,
    /// Only when `governor_store_content` is on.
    pub content: Option<String>,
    pub violation_id: Option<String>,
}

/// Which audits to list: newest first, after `before` (the cursor: `created_at` and `id` of
/// the last entry of the previous page).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub level: Option<String>,
    pub since: Option<i64>,
    pub before: Option<(i64, String)>,
    pub limit: i64,
}

const SETTINGS_COLUMNS: &str = "project_id, mode, enabled, check_prompts, violations, updated_at";
const POLICY_COLUMNS: &str = "id, project_id, name, keywords, pattern, applies_to, action, severity, replacement, \
     appendix, enabled, shadow, version, created_at, created_by, updated_at";
const AUDIT_COLUMNS: &str = "id, project_id, key_id, created_at, target, action_type, sender_id, recipient_country, \
     risk_score, risk_level, action, mode, findings, original_sha256, delivered_sha256, content, violation_id";

/// Audit rows per `INSERT`. Short statements on purpose: SQLite runs a statement on its
/// connection's thread without a break, and on a server whose threads share a core the requests
/// that arrive meanwhile wait for it. Ten rows take about 50 µs on SQLite (100 took 300–700 µs,
/// which showed in the requests' p99; bench/README.md), and the store's thread yields between
/// statements.
const AUDITS_PER_STATEMENT: usize = 10;
const AUDIT_FIELDS: usize = 17;

/// `INSERT INTO governor_audits (…) VALUES (…), (…)` for `rows` rows.
fn audit_insert_sql(backend: Backend, rows: usize) -> String {
    format!("INSERT INTO governor_audits ({AUDIT_COLUMNS}) VALUES {}", values_list(backend, rows, AUDIT_FIELDS))
}

fn flag(r: &AnyRow, col: &str) -> Result<bool, sqlx::Error> {
    Ok(r.try_get::<i64, _>(col)? != 0)
}

fn settings_from_row(r: &AnyRow) -> Result<GovernorSettingsRow, sqlx::Error> {
    Ok(GovernorSettingsRow {
        project_id: r.try_get("project_id")?,
        mode: r.try_get("mode")?,
        enabled: r.try_get::<Option<i64>, _>("enabled")?.map(|v| v != 0),
        check_prompts: flag(r, "check_prompts")?,
        violations: r.try_get("violations")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn policy_from_row(r: &AnyRow) -> Result<PolicyRow, sqlx::Error> {
    Ok(PolicyRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        keywords: r.try_get("keywords")?,
        pattern: r.try_get("pattern")?,
        applies_to: r.try_get("applies_to")?,
        action: r.try_get("action")?,
        severity: r.try_get("severity")?,
        replacement: r.try_get("replacement")?,
        appendix: r.try_get("appendix")?,
        enabled: flag(r, "enabled")?,
        shadow: flag(r, "shadow")?,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn audit_from_row(r: &AnyRow) -> Result<GovernorAuditRow, sqlx::Error> {
    Ok(GovernorAuditRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        key_id: r.try_get("key_id")?,
        created_at: r.try_get("created_at")?,
        target: r.try_get("target")?,
        action_type: r.try_get("action_type")?,
        sender_id: r.try_get("sender_id")?,
        recipient_country: r.try_get("recipient_country")?,
        risk_score: r.try_get("risk_score")?,
        risk_level: r.try_get("risk_level")?,
        action: r.try_get("action")?,
        mode: r.try_get("mode")?,
        findings: r.try_get("findings")?,
        original_sha256: r.try_get("original_sha256")?,
        delivered_sha256: r.try_get("delivered_sha256")?,
        content: r.try_get("content")?,
        violation_id: r.try_get("violation_id")?,
    })
}

impl Store {
    pub async fn governor_settings(&self, project_id: &str) -> Result<Option<GovernorSettingsRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {SETTINGS_COLUMNS} FROM governor_settings WHERE project_id = $1"))
            .bind(project_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(settings_from_row).transpose()?)
    }

    pub async fn all_governor_settings(&self) -> Result<Vec<GovernorSettingsRow>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {SETTINGS_COLUMNS} FROM governor_settings")).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(settings_from_row).collect::<Result<_, _>>()?)
    }

    /// Writes a project's settings, audited, with a project event.
    pub async fn put_governor_settings(&self, s: &GovernorSettingsRow, audit: &AuditEntry) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        self.lock_key_changes(&mut tx).await?;
        sqlx::query("DELETE FROM governor_settings WHERE project_id = $1")
            .bind(&s.project_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!("INSERT INTO governor_settings ({SETTINGS_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"))
            .bind(&s.project_id)
            .bind(&s.mode)
            .bind(s.enabled.map(i64::from))
            .bind(i64::from(s.check_prompts))
            .bind(&s.violations)
            .bind(s.updated_at)
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut tx, audit).await?;
        append_project_event(self.backend(), &mut tx, &s.project_id, audit.at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A project's policies, oldest first.
    pub async fn list_policies(&self, project_id: &str) -> Result<Vec<PolicyRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {POLICY_COLUMNS} FROM governor_policies WHERE project_id = $1 ORDER BY created_at, id"
        ))
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(policy_from_row).collect::<Result<_, _>>()?)
    }

    /// Every project's policies (the gateway's start).
    pub async fn all_policies(&self) -> Result<Vec<PolicyRow>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM governor_policies ORDER BY created_at, id"))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(policy_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn get_policy(&self, project_id: &str, id: &str) -> Result<Option<PolicyRow>, StoreError> {
        let row =
            sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM governor_policies WHERE project_id = $1 AND id = $2"))
                .bind(project_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.as_ref().map(policy_from_row).transpose()?)
    }

    pub async fn count_policies(&self, project_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM governor_policies WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    /// Inserts a new policy or replaces an existing one (same id), audited, with a project event.
    pub async fn put_policy(&self, p: &PolicyRow, audit: &AuditEntry) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        self.lock_key_changes(&mut tx).await?;
        sqlx::query("DELETE FROM governor_policies WHERE project_id = $1 AND id = $2")
            .bind(&p.project_id)
            .bind(&p.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "INSERT INTO governor_policies ({POLICY_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        ))
        .bind(&p.id)
        .bind(&p.project_id)
        .bind(&p.name)
        .bind(&p.keywords)
        .bind(&p.pattern)
        .bind(&p.applies_to)
        .bind(&p.action)
        .bind(&p.severity)
        .bind(&p.replacement)
        .bind(&p.appendix)
        .bind(i64::from(p.enabled))
        .bind(i64::from(p.shadow))
        .bind(p.version)
        .bind(p.created_at)
        .bind(&p.created_by)
        .bind(p.updated_at)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        append_project_event(self.backend(), &mut tx, &p.project_id, audit.at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes validations and the violations they opened, in one transaction: the audits as
    /// multi-row `INSERT`s of [`AUDITS_PER_STATEMENT`] rows (a batch costs a few statements, not
    /// one per validation).
    pub async fn insert_governor_audits(
        &self,
        entries: &[(GovernorAuditRow, Option<ViolationRow>)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (_, violation) in entries {
            if let Some(v) = violation {
                crate::compliance::insert_violation_tx(&mut tx, v).await?;
            }
        }
        for chunk in entries.chunks(AUDITS_PER_STATEMENT) {
            let sql = audit_insert_sql(self.backend(), chunk.len());
            // Full chunks share one prepared statement; a batch's last, shorter chunk is
            // prepared for its one use.
            let mut q = sqlx::query(&sql).persistent(chunk.len() == AUDITS_PER_STATEMENT);
            for (a, _) in chunk {
                q = q
                    .bind(&a.id)
                    .bind(&a.project_id)
                    .bind(&a.key_id)
                    .bind(a.created_at)
                    .bind(&a.target)
                    .bind(&a.action_type)
                    .bind(&a.sender_id)
                    .bind(&a.recipient_country)
                    .bind(a.risk_score)
                    .bind(&a.risk_level)
                    .bind(&a.action)
                    .bind(&a.mode)
                    .bind(&a.findings)
                    .bind(&a.original_sha256)
                    .bind(&a.delivered_sha256)
                    .bind(&a.content)
                    .bind(&a.violation_id);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_governor_audit(&self, project_id: &str, id: &str) -> Result<Option<GovernorAuditRow>, StoreError> {
        let row =
            sqlx::query(&format!("SELECT {AUDIT_COLUMNS} FROM governor_audits WHERE project_id = $1 AND id = $2"))
                .bind(project_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.as_ref().map(audit_from_row).transpose()?)
    }

    /// Newest first, at most `filter.limit`.
    pub async fn list_governor_audits(
        &self,
        project_id: &str,
        filter: &AuditFilter,
    ) -> Result<Vec<GovernorAuditRow>, StoreError> {
        let (before_at, before_id) = match &filter.before {
            Some((at, id)) => (Some(*at), Some(id.clone())),
            None => (None, None),
        };
        // NULL parameters mean "any": one statement for every filter combination.
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM governor_audits WHERE project_id = $1 \
             AND ($2 IS NULL OR risk_level = $2) AND ($3 IS NULL OR created_at >= $3) \
             AND ($4 IS NULL OR created_at < $4 OR (created_at = $4 AND id < $5)) \
             ORDER BY created_at DESC, id DESC LIMIT $6"
        ))
        .bind(project_id)
        .bind(&filter.level)
        .bind(filter.since)
        .bind(before_at)
        .bind(before_id)
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(audit_from_row).collect::<Result<_, _>>()?)
    }

    /// A project's validations of the last `since` ms, counted by level (the dashboard chart).
    pub async fn governor_level_counts(&self, project_id: &str, since: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT risk_level, COUNT(*) AS n FROM governor_audits WHERE project_id = $1 AND created_at >= $2 \
             GROUP BY risk_level",
        )
        .bind(project_id)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| Ok((r.try_get("risk_level")?, r.try_get("n")?))).collect::<Result<_, sqlx::Error>>()?)
    }
}
