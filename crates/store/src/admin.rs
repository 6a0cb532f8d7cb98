//! Admin tokens and key rolls (README.md, "Admin API" and "Rolling a key"). Tokens are stored
//! by digest only. A roll is one transaction: the successor key, the old key's new expiry, the
//! link between them, both change-feed events and both audit entries.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::rows::{key_from_row, KEY_COLUMNS};
use crate::{audit::insert_audit, feed::append_event, AuditEntry, KeyRow, Store, StoreError};

/// A personal admin token as stored: the digest and display prefix, never the token.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminTokenRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// Hex SHA-256 of the token.
    pub digest: String,
    pub display_prefix: String,
    /// The token may only read, whatever its user's role.
    pub read_only: bool,
    pub created_at: i64,
    pub created_by: String,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
}

impl std::fmt::Debug for AdminTokenRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminTokenRow")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("display_prefix", &self.display_prefix)
            .finish_non_exhaustive()
    }
}

/// One roll: `old_key_id` was replaced by `new_key_id` and expires at `grace_ends_at` (or
/// earlier, if it was due to expire before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRollRow {
    pub old_key_id: String,
    pub new_key_id: String,
    pub rolled_at: i64,
    pub rolled_by: String,
    pub grace_ends_at: i64,
    /// Uses of the old key (answered or refused) written by the usage recorder since the roll.
    pub uses_since_roll: i64,
    pub last_use_at: Option<i64>,
}

const TOKEN_COLUMNS: &str = "id, user_id, name, digest, display_prefix, read_only, created_at, created_by, \
     expires_at, last_used_at, revoked_at, revoked_by";

fn token_from_row(r: &AnyRow) -> Result<AdminTokenRow, sqlx::Error> {
    Ok(AdminTokenRow {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        digest: r.try_get("digest")?,
        display_prefix: r.try_get("display_prefix")?,
        read_only: r.try_get::<i64, _>("read_only")? != 0,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
        expires_at: r.try_get("expires_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
        revoked_by: r.try_get("revoked_by")?,
    })
}

const ROLL_COLUMNS: &str = "old_key_id, new_key_id, rolled_at, rolled_by, grace_ends_at, uses_since_roll, last_use_at";

fn roll_from_row(r: &AnyRow) -> Result<KeyRollRow, sqlx::Error> {
    Ok(KeyRollRow {
        old_key_id: r.try_get("old_key_id")?,
        new_key_id: r.try_get("new_key_id")?,
        rolled_at: r.try_get("rolled_at")?,
        rolled_by: r.try_get("rolled_by")?,
        grace_ends_at: r.try_get("grace_ends_at")?,
        uses_since_roll: r.try_get("uses_since_roll")?,
        last_use_at: r.try_get("last_use_at")?,
    })
}

/// The key status of a digest, for a secret scanner: the key (or admin token) it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestMatch {
    Key(KeyRow),
    Token(AdminTokenRow, String),
}

impl Store {
    pub async fn insert_admin_token(&self, t: &AdminTokenRow, audit: &AuditEntry) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO admin_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&t.id)
        .bind(&t.user_id)
        .bind(&t.name)
        .bind(&t.digest)
        .bind(&t.display_prefix)
        .bind(i64::from(t.read_only))
        .bind(t.created_at)
        .bind(&t.created_by)
        .bind(t.expires_at)
        .bind(t.last_used_at)
        .bind(t.revoked_at)
        .bind(&t.revoked_by)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn admin_token_by_digest(&self, digest: &str) -> Result<Option<AdminTokenRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM admin_tokens WHERE digest = $1"))
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(token_from_row).transpose()?)
    }

    pub async fn get_admin_token(&self, id: &str) -> Result<Option<AdminTokenRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM admin_tokens WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(token_from_row).transpose()?)
    }

    /// A user's tokens (every user's with `None`), revoked ones included, oldest first.
    pub async fn list_admin_tokens(&self, user_id: Option<&str>) -> Result<Vec<AdminTokenRow>, StoreError> {
        let rows = match user_id {
            Some(u) => {
                sqlx::query(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM admin_tokens WHERE user_id = $1 ORDER BY created_at, id"
                ))
                .bind(u)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM admin_tokens ORDER BY created_at, id"))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(rows.iter().map(token_from_row).collect::<Result<_, _>>()?)
    }

    /// Revokes a token that is not revoked yet, with the audit entry. `None` when there is no
    /// such token or it was already revoked (the caller tells which).
    pub async fn revoke_admin_token(&self, id: &str, audit: &AuditEntry) -> Result<Option<AdminTokenRow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE admin_tokens SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(audit.at)
        .bind(&audit.actor)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Ok(None);
        }
        insert_audit(&mut tx, audit).await?;
        let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM admin_tokens WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(token_from_row(&row)?))
    }

    /// Records a use of a token: raises `last_used_at` (never lowers it), and writes `audit`
    /// (a write made with the token) in the same transaction when given.
    pub async fn touch_admin_token(&self, id: &str, at: i64, audit: Option<&AuditEntry>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE admin_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
        )
        .bind(id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if let Some(a) = audit {
            insert_audit(&mut tx, a).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Rolls `old_id` over to `new`: inserts the successor, sets the old key's expiry to
    /// `grace_ends_at` (keeping an earlier one), links the two, and writes both feed events and
    /// both audit entries, in one transaction. `None` when the old key is not there any more,
    /// is deleted, or was rolled already (the caller tells which).
    pub async fn roll_key(
        &self,
        old_id: &str,
        new: &KeyRow,
        grace_ends_at: i64,
        audit_old: &AuditEntry,
        audit_new: &AuditEntry,
    ) -> Result<Option<(KeyRow, KeyRow)>, StoreError> {
        let mut tx = self.pool.begin().await?;
        self.lock_key_changes(&mut tx).await?;
        let n = sqlx::query(
            "UPDATE api_keys SET expires_at = CASE WHEN expires_at IS NOT NULL AND expires_at < $2 THEN expires_at \
             ELSE $2 END WHERE id = $1 AND status <> 'deleted' \
             AND NOT EXISTS (SELECT 1 FROM key_rolls r WHERE r.old_key_id = $1)",
        )
        .bind(old_id)
        .bind(grace_ends_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO api_keys (id, project_id, name, key_type, environment, scopes, status, digest, \
             display_prefix, created_at, created_by, expires_at, last_used_at, deleted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&new.id)
        .bind(&new.project_id)
        .bind(&new.name)
        .bind(&new.key_type)
        .bind(&new.environment)
        .bind(&new.scopes)
        .bind(&new.status)
        .bind(&new.digest)
        .bind(&new.display_prefix)
        .bind(new.created_at)
        .bind(&new.created_by)
        .bind(new.expires_at)
        .bind(new.last_used_at)
        .bind(new.deleted_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!("INSERT INTO key_rolls ({ROLL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, 0, NULL)"))
            .bind(old_id)
            .bind(&new.id)
            .bind(audit_old.at)
            .bind(&audit_old.actor)
            .bind(grace_ends_at)
            .execute(&mut *tx)
            .await?;
        append_event(self.backend(), &mut tx, &new.id, &audit_new.action, audit_new.at).await?;
        append_event(self.backend(), &mut tx, old_id, &audit_old.action, audit_old.at).await?;
        insert_audit(&mut tx, audit_new).await?;
        insert_audit(&mut tx, audit_old).await?;
        let old = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.id = $1"))
            .bind(old_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some((key_from_row(&old)?, new.clone())))
    }

    /// The roll that replaced `key_id` (it is the old key), and the one that created it (it is
    /// the successor).
    pub async fn rolls_of_key(&self, key_id: &str) -> Result<(Option<KeyRollRow>, Option<KeyRollRow>), StoreError> {
        let to = sqlx::query(&format!("SELECT {ROLL_COLUMNS} FROM key_rolls WHERE old_key_id = $1"))
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await?;
        let from = sqlx::query(&format!("SELECT {ROLL_COLUMNS} FROM key_rolls WHERE new_key_id = $1"))
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok((to.as_ref().map(roll_from_row).transpose()?, from.as_ref().map(roll_from_row).transpose()?))
    }

    /// Every roll that touches a key of `project_id` (as old key or successor).
    pub async fn rolls_in_project(&self, project_id: &str) -> Result<Vec<KeyRollRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ROLL_COLUMNS} FROM key_rolls WHERE old_key_id IN (SELECT id FROM api_keys WHERE project_id = $1)"
        ))
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(roll_from_row).collect::<Result<_, _>>()?)
    }

    /// The keys and admin tokens whose digests are among `digests` (lowercase hex), each with
    /// the status of its user for tokens.
    pub async fn match_digests(&self, digests: &[String]) -> Result<Vec<DigestMatch>, StoreError> {
        let mut out = Vec::new();
        for chunk in digests.chunks(500) {
            let list = crate::placeholders::list(self.backend(), chunk.len());
            let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.digest IN ({list})");
            let mut q = sqlx::query(&sql);
            for d in chunk {
                q = q.bind(d);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.push(DigestMatch::Key(key_from_row(&r)?));
            }
            let sql = format!(
                "SELECT t.id, t.user_id, t.name, t.digest, t.display_prefix, t.read_only, t.created_at, t.created_by, \
                 t.expires_at, t.last_used_at, t.revoked_at, t.revoked_by, u.status AS user_status \
                 FROM admin_tokens t JOIN users u ON u.id = t.user_id WHERE t.digest IN ({list})"
            );
            let mut q = sqlx::query(&sql);
            for d in chunk {
                q = q.bind(d);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.push(DigestMatch::Token(token_from_row(&r)?, r.try_get("user_status")?));
            }
        }
        Ok(out)
    }
}

/// Adds each key's uses of this batch to its roll, if it was rolled (the usage writer, in the
/// batch's transaction): `(key id, uses, latest time)`. `VALUES` columns are named `column1`…
/// on both backends.
pub(crate) async fn count_uses_after_roll(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    rows: &[(&str, i64, i64)],
    values_list: &str,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "UPDATE key_rolls SET uses_since_roll = key_rolls.uses_since_roll + v.column2, \
         last_use_at = CASE WHEN key_rolls.last_use_at IS NULL OR key_rolls.last_use_at < v.column3 \
         THEN v.column3 ELSE key_rolls.last_use_at END \
         FROM (VALUES {values_list}) AS v WHERE key_rolls.old_key_id = v.column1"
    );
    let mut q = sqlx::query(&sql);
    for (id, uses, at) in rows {
        q = q.bind(*id).bind(*uses).bind(*at);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}
