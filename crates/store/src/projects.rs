//! Projects and their plans.

use sqlx::Row;

use crate::rows::{project_from_row, PROJECT_COLUMNS};

use crate::feed::append_project_event;
use crate::{audit::insert_audit, AuditEntry, ProjectRow, Store, StoreError};

impl Store {
    pub async fn insert_project(&self, p: &ProjectRow, audit: &AuditEntry) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        self.lock_key_changes(&mut tx).await?;
        sqlx::query(
            "INSERT INTO projects (id, name, plan, daily_limit, burst, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.plan)
        .bind(p.daily_limit)
        .bind(p.burst)
        .bind(p.created_at)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        append_project_event(self.backend(), &mut tx, &p.id, audit.at).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_project(&self, id: &str) -> Result<Option<ProjectRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(project_from_row).transpose()?)
    }

    pub async fn list_projects(&self) -> Result<Vec<ProjectRow>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {PROJECT_COLUMNS} FROM projects ORDER BY created_at, id"))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(project_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn count_projects(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM projects").fetch_one(&self.pool).await?.try_get("n")?)
    }

    /// Sets plan and custom limits; returns false when the project does not exist.
    pub async fn update_project_plan(
        &self,
        id: &str,
        plan: &str,
        daily_limit: Option<i64>,
        burst: Option<i64>,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        self.lock_key_changes(&mut tx).await?;
        let done = sqlx::query("UPDATE projects SET plan = $1, daily_limit = $2, burst = $3 WHERE id = $4")
            .bind(plan)
            .bind(daily_limit)
            .bind(burst)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if done == 0 {
            return Ok(false);
        }
        insert_audit(&mut tx, audit).await?;
        append_project_event(self.backend(), &mut tx, id, audit.at).await?;
        tx.commit().await?;
        Ok(true)
    }
}
