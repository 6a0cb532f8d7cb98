//! Dashboard sessions, keyed by the digest of the session id (the id itself is never stored).

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{SessionRow, Store, StoreError};

const COLUMNS: &str = "id_digest, user_id, csrf_token, created_at, last_seen_at, expires_at";

fn from_row(r: &AnyRow) -> Result<SessionRow, sqlx::Error> {
    Ok(SessionRow {
        id_digest: r.try_get("id_digest")?,
        user_id: r.try_get("user_id")?,
        csrf_token: r.try_get("csrf_token")?,
        created_at: r.try_get("created_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

impl Store {
    pub async fn insert_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        sqlx::query(&format!("INSERT INTO sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"))
            .bind(&s.id_digest)
            .bind(&s.user_id)
            .bind(&s.csrf_token)
            .bind(s.created_at)
            .bind(s.last_seen_at)
            .bind(s.expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn get_session(&self, id_digest: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM sessions WHERE id_digest = $1"))
            .bind(id_digest)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Moves `last_seen_at` forward (never back). False when the session is gone.
    pub async fn touch_session(&self, id_digest: &str, now: i64) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_digest = $1 AND last_seen_at < $2")
            .bind(id_digest)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// True when there was such a session.
    pub async fn delete_session(&self, id_digest: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM sessions WHERE id_digest = $1")
            .bind(id_digest)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Ends every session of a user; returns how many there were.
    pub async fn delete_user_sessions(&self, user_id: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Deletes the sessions past their absolute end (`expires_at <= now`) or idle since
    /// `idle_before` or earlier; returns how many.
    pub async fn delete_expired_sessions(&self, now: i64, idle_before: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
            .bind(now)
            .bind(idle_before)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
