//! Dashboard users. Only Argon2id hashes are stored.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{audit::insert_audit, AuditEntry, Store, StoreError, UserRow};

const COLUMNS: &str = "id, email, password_hash, role, status, must_change_password, created_at";

fn from_row(r: &AnyRow) -> Result<UserRow, sqlx::Error> {
    Ok(UserRow {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        role: r.try_get("role")?,
        status: r.try_get("status")?,
        must_change_password: r.try_get::<i64, _>("must_change_password")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    pub async fn insert_user(&self, u: &UserRow, audit: &AuditEntry) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(&format!("INSERT INTO users ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(&u.id)
            .bind(&u.email)
            .bind(&u.password_hash)
            .bind(&u.role)
            .bind(&u.status)
            .bind(i64::from(u.must_change_password))
            .bind(u.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict("a user with that email"),
                other => other,
            })?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Every user, oldest first.
    pub async fn list_users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {COLUMNS} FROM users ORDER BY created_at, id")).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Sets a user's status and ends all the user's sessions, with the audit entry, in one
    /// transaction. False when there is no such user.
    pub async fn set_user_status(&self, id: &str, status: &str, audit: &AuditEntry) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("UPDATE users SET status = $2 WHERE id = $1")
            .bind(id)
            .bind(status)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        if status != "active" {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Replaces a user's password hash, clears `must_change_password` and ends every session
    /// of the user except `keep_session` (a session id digest), with the audit entry, in one
    /// transaction. False when there is no such user.
    pub async fn set_user_password(
        &self,
        id: &str,
        password_hash: &str,
        keep_session: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("UPDATE users SET password_hash = $2, must_change_password = 0 WHERE id = $1")
            .bind(id)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_digest <> $2")
            .bind(id)
            .bind(keep_session.unwrap_or_default())
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sets a user's role, with the audit entry. False when there is no such user.
    pub async fn set_user_role(&self, id: &str, role: &str, audit: &AuditEntry) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
            .bind(id)
            .bind(role)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// An administrator's reset of a forgotten password: the new hash, `must_change_password`
    /// set (the user picks their own at the next login), every session of the user ended, with
    /// the audit entry, in one transaction. False when there is no such user.
    pub async fn reset_user_password(
        &self,
        id: &str,
        password_hash: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("UPDATE users SET password_hash = $2, must_change_password = 1 WHERE id = $1")
            .bind(id)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(&self.pool).await?.try_get("n")?)
    }
}
