//! API keys. Every change is one transaction: the key row, a change-feed event and the audit
//! entry, so a follower never sees a change the audit log lacks, or the reverse.

use sqlx::{Any, Row, Transaction};

use crate::rows::{key_from_row, KEY_COLUMNS};

use crate::{audit::insert_audit, feed::append_event, AuditEntry, Backend, KeyRow, Store, StoreError};

impl Store {
    /// Key and project changes take a transaction-scoped lock on PostgreSQL so that feed sequence numbers
    /// commit in order: a follower that has seen event N has seen every event below N.
    pub(crate) async fn lock_key_changes(&self, tx: &mut Transaction<'_, Any>) -> Result<(), sqlx::Error> {
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7201)").execute(&mut **tx).await?;
        }
        Ok(())
    }

    pub async fn insert_key(&self, k: &KeyRow, audit: &AuditEntry) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        self.lock_key_changes(&mut tx).await?;
        sqlx::query(
            "INSERT INTO api_keys (id, project_id, name, key_type, environment, scopes, status, digest, \
             display_prefix, created_at, created_by, expires_at, last_used_at, deleted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&k.id)
        .bind(&k.project_id)
        .bind(&k.name)
        .bind(&k.key_type)
        .bind(&k.environment)
        .bind(&k.scopes)
        .bind(&k.status)
        .bind(&k.digest)
        .bind(&k.display_prefix)
        .bind(k.created_at)
        .bind(&k.created_by)
        .bind(k.expires_at)
        .bind(k.last_used_at)
        .bind(k.deleted_at)
        .execute(&mut *tx)
        .await?;
        append_event(self.backend(), &mut tx, &k.id, &audit.action, audit.at).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_key(&self, id: &str) -> Result<Option<KeyRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(key_from_row).transpose()?)
    }

    /// The key whose secret has this SHA-256 (hex), tombstones included: what a scanner's
    /// `--check` and a leak report look a found string up by.
    pub async fn get_key_by_digest(&self, digest_hex: &str) -> Result<Option<KeyRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.digest = $1"))
            .bind(digest_hex)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(key_from_row).transpose()?)
    }

    /// A project's keys, deleted ones left out, oldest first.
    pub async fn list_keys(&self, project_id: &str) -> Result<Vec<KeyRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.project_id = $1 AND k.status <> 'deleted' \
             ORDER BY k.created_at, k.id"
        ))
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(key_from_row).collect::<Result<_, _>>()?)
    }

    /// How many keys (tombstones included) there are: lets the index size itself once.
    pub async fn count_keys(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM api_keys").fetch_one(&self.pool).await?.try_get("n")?)
    }

    /// One page of every key, tombstones included, in id order after `after_id` (start with
    /// `""`): what an instance loads into its key index at start, a page at a time so the
    /// load never holds every row at once.
    pub async fn keys_page(&self, after_id: &str, limit: i64) -> Result<Vec<KeyRow>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.id > $1 ORDER BY k.id LIMIT $2"))
            .bind(after_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(key_from_row).collect::<Result<_, _>>()?)
    }

    /// Moves a key from one of `from` states to `to`. Returns the key as it now is, or `None`
    /// when no key with that id is in one of the `from` states (the caller tells which case).
    pub async fn change_key_status(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
        audit: &AuditEntry,
    ) -> Result<Option<KeyRow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        self.lock_key_changes(&mut tx).await?;
        let deleted_at = (to == "deleted").then_some(audit.at);
        // `from` is a short fixed list from our own code; placeholders keep it parameterized.
        let placeholders: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 4)).collect();
        let sql = format!(
            "UPDATE api_keys SET status = $1, deleted_at = COALESCE($2, deleted_at) WHERE id = $3 AND status IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(to).bind(deleted_at).bind(id);
        for f in from {
            q = q.bind(*f);
        }
        if q.execute(&mut *tx).await?.rows_affected() == 0 {
            return Ok(None);
        }
        append_event(self.backend(), &mut tx, id, &audit.action, audit.at).await?;
        insert_audit(&mut tx, audit).await?;
        let row = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(key_from_row(&row)?))
    }

    /// Renames a key that is not deleted, with the audit entry. `None` when there is no such
    /// key or it is deleted (the caller tells which). The name is not on the request path, so
    /// no change-feed event is needed.
    pub async fn rename_key(&self, id: &str, name: &str, audit: &AuditEntry) -> Result<Option<KeyRow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("UPDATE api_keys SET name = $2 WHERE id = $1 AND status <> 'deleted'")
            .bind(id)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(None);
        }
        insert_audit(&mut tx, audit).await?;
        let row = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(key_from_row(&row)?))
    }
}
