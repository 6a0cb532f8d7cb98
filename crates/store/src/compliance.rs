//! Compliance records: violations and the AI model registry. Every query is scoped by project.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{ModelRow, Store, StoreError, ViolationFilter, ViolationRow};

const VIOLATION_COLUMNS: &str = "id, project_id, title, description, severity, category, model_id, status, \
     created_at, created_by, resolved_at, resolved_by, resolution_note";

const MODEL_COLUMNS: &str =
    "id, project_id, name, provider, version, purpose, risk_level, owner, status, created_at, updated_at, archived_at";

fn violation_from_row(r: &AnyRow) -> Result<ViolationRow, sqlx::Error> {
    Ok(ViolationRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        severity: r.try_get("severity")?,
        category: r.try_get("category")?,
        model_id: r.try_get("model_id")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
        resolved_at: r.try_get("resolved_at")?,
        resolved_by: r.try_get("resolved_by")?,
        resolution_note: r.try_get("resolution_note")?,
    })
}

fn model_from_row(r: &AnyRow) -> Result<ModelRow, sqlx::Error> {
    Ok(ModelRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        provider: r.try_get("provider")?,
        version: r.try_get("version")?,
        purpose: r.try_get("purpose")?,
        risk_level: r.try_get("risk_level")?,
        owner: r.try_get("owner")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        archived_at: r.try_get("archived_at")?,
    })
}

pub(crate) async fn insert_violation_tx(tx: &mut Transaction<'_, Any>, v: &ViolationRow) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO violations ({VIOLATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(&v.id)
    .bind(&v.project_id)
    .bind(&v.title)
    .bind(&v.description)
    .bind(&v.severity)
    .bind(&v.category)
    .bind(&v.model_id)
    .bind(&v.status)
    .bind(v.created_at)
    .bind(&v.created_by)
    .bind(v.resolved_at)
    .bind(&v.resolved_by)
    .bind(&v.resolution_note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    pub async fn insert_violation(&self, v: &ViolationRow) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_violation_tx(&mut tx, v).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Newest first.
    pub async fn list_violations(
        &self,
        project_id: &str,
        filter: &ViolationFilter,
    ) -> Result<Vec<ViolationRow>, StoreError> {
        // NULL parameters mean "any": one statement for every filter combination.
        let rows = sqlx::query(&format!(
            "SELECT {VIOLATION_COLUMNS} FROM violations WHERE project_id = $1 \
             AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR severity = $3) \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(project_id)
        .bind(&filter.status)
        .bind(&filter.severity)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(violation_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn get_violation(&self, project_id: &str, id: &str) -> Result<Option<ViolationRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {VIOLATION_COLUMNS} FROM violations WHERE project_id = $1 AND id = $2"))
            .bind(project_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(violation_from_row).transpose()?)
    }

    /// Writes status and resolution fields of an existing violation.
    pub async fn update_violation(&self, v: &ViolationRow) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE violations SET status = $1, resolved_at = $2, resolved_by = $3, resolution_note = $4 \
             WHERE project_id = $5 AND id = $6",
        )
        .bind(&v.status)
        .bind(v.resolved_at)
        .bind(&v.resolved_by)
        .bind(&v.resolution_note)
        .bind(&v.project_id)
        .bind(&v.id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Open violations of a project, counted by severity.
    pub async fn open_violation_counts(&self, project_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT severity, COUNT(*) AS n FROM violations WHERE project_id = $1 AND status = 'open' GROUP BY severity",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| Ok((r.try_get("severity")?, r.try_get("n")?))).collect::<Result<_, sqlx::Error>>()?)
    }

    pub async fn insert_model(&self, m: &ModelRow) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO ai_models ({MODEL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&m.id)
        .bind(&m.project_id)
        .bind(&m.name)
        .bind(&m.provider)
        .bind(&m.version)
        .bind(&m.purpose)
        .bind(&m.risk_level)
        .bind(&m.owner)
        .bind(&m.status)
        .bind(m.created_at)
        .bind(m.updated_at)
        .bind(m.archived_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A project's models, oldest first; `status` filters (`active`, `archived`) when given.
    pub async fn list_models(&self, project_id: &str, status: Option<&str>) -> Result<Vec<ModelRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {MODEL_COLUMNS} FROM ai_models WHERE project_id = $1 AND ($2 IS NULL OR status = $2) \
             ORDER BY created_at, id"
        ))
        .bind(project_id)
        .bind(status)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(model_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn get_model(&self, project_id: &str, id: &str) -> Result<Option<ModelRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {MODEL_COLUMNS} FROM ai_models WHERE project_id = $1 AND id = $2"))
            .bind(project_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(model_from_row).transpose()?)
    }

    /// Writes every mutable field of an existing model.
    pub async fn update_model(&self, m: &ModelRow) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE ai_models SET name = $1, provider = $2, version = $3, purpose = $4, risk_level = $5, owner = $6, \
             status = $7, updated_at = $8, archived_at = $9 WHERE project_id = $10 AND id = $11",
        )
        .bind(&m.name)
        .bind(&m.provider)
        .bind(&m.version)
        .bind(&m.purpose)
        .bind(&m.risk_level)
        .bind(&m.owner)
        .bind(&m.status)
        .bind(m.updated_at)
        .bind(m.archived_at)
        .bind(&m.project_id)
        .bind(&m.id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n > 0)
    }
}
