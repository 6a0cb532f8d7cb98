//! The audit log: written in the same transaction as the change it records.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{AuditEntry, Store, StoreError};

pub(crate) async fn insert_audit(tx: &mut Transaction<'_, Any>, a: &AuditEntry) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target_type, target_id, project_id, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(a.at)
    .bind(&a.actor)
    .bind(&a.action)
    .bind(&a.target_type)
    .bind(&a.target_id)
    .bind(&a.project_id)
    .bind(&a.detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn from_row(r: &AnyRow) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        at: r.try_get("at")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        target_type: r.try_get("target_type")?,
        target_id: r.try_get("target_id")?,
        project_id: r.try_get("project_id")?,
        detail: r.try_get("detail")?,
    })
}

impl Store {
    /// An audit entry for an event that changes no other record (a reported leak left active).
    pub async fn insert_audit_entry(&self, a: &AuditEntry) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_audit(&mut tx, a).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The audit trail of one record (a key, a project, …), oldest first.
    pub async fn audit_for_target(&self, target_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, actor, action, target_type, target_id, project_id, detail FROM audit_log \
             WHERE target_id = $1 ORDER BY id",
        )
        .bind(target_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// The newest `limit` entries of a project, newest first.
    pub async fn audit_for_project(&self, project_id: &str, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, actor, action, target_type, target_id, project_id, detail FROM audit_log \
             WHERE project_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(project_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// One page of the audit log, newest first: entries with an id below `before` (all when
    /// `None`), of one project when `project_id` is given, at most `limit`. Each comes with its
    /// id, the cursor of the next page.
    pub async fn audit_page(
        &self,
        project_id: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<(i64, AuditEntry)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target_type, target_id, project_id, detail FROM audit_log \
             WHERE ($1 IS NULL OR project_id = $1) AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(project_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, from_row(r)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}
