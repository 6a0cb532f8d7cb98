//! Records as the store reads and writes them. Times are Unix milliseconds.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectRow {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub daily_limit: Option<i64>,
    pub burst: Option<i64>,
    pub created_at: i64,
}

/// A key as stored: the digest and display prefix, never the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub key_type: String,
    pub environment: String,
    /// Space-separated scope names.
    pub scopes: String,
    /// `active`, `inactive` or `deleted` (a tombstone kept for audit).
    pub status: String,
    /// Hex SHA-256 of the secret.
    pub digest: String,
    pub display_prefix: String,
    pub created_at: i64,
    pub created_by: String,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

impl std::fmt::Debug for KeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRow")
            .field("id", &self.id)
            .field("project_id", &self.project_id)
            .field("status", &self.status)
            .field("display_prefix", &self.display_prefix)
            .finish_non_exhaustive()
    }
}

/// One entry of the audit log: who did what to which record, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub project_id: Option<String>,
    pub detail: Option<String>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub status: String,
    pub must_change_password: bool,
    pub created_at: i64,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow").field("id", &self.id).field("email", &self.email).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViolationRow {
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub description: Option<String>,
    pub severity: String,
    pub category: Option<String>,
    pub model_id: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub created_by: String,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<String>,
    pub resolution_note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub provider: Option<String>,
    pub version: Option<String>,
    pub purpose: Option<String>,
    pub risk_level: String,
    pub owner: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub archived_at: Option<i64>,
}

/// Filters for listing violations; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct ViolationFilter {
    pub status: Option<String>,
    pub severity: Option<String>,
}

/// A dashboard session as stored: the digest of its id, never the id.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Hex SHA-256 of the session id the browser holds.
    pub id_digest: String,
    pub user_id: String,
    /// Sent in every form of the session and checked on every POST.
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The absolute end of the session.
    pub expires_at: i64,
}

impl std::fmt::Debug for SessionRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRow")
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The columns [`project_from_row`] reads.
pub(crate) const PROJECT_COLUMNS: &str = "id, name, plan, daily_limit, burst, created_at";

pub(crate) fn project_from_row(r: &AnyRow) -> Result<ProjectRow, sqlx::Error> {
    Ok(ProjectRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        plan: r.try_get("plan")?,
        daily_limit: r.try_get("daily_limit")?,
        burst: r.try_get("burst")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The columns [`key_from_row`] reads (from `api_keys k`).
pub(crate) const KEY_COLUMNS: &str = "k.id, k.project_id, k.name, k.key_type, k.environment, k.scopes, k.status, \
     k.digest, k.display_prefix, k.created_at, k.created_by, k.expires_at, k.last_used_at, k.deleted_at";

pub(crate) fn key_from_row(r: &AnyRow) -> Result<KeyRow, sqlx::Error> {
    Ok(KeyRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        key_type: r.try_get("key_type")?,
        environment: r.try_get("environment")?,
        scopes: r.try_get("scopes")?,
        status: r.try_get("status")?,
        digest: r.try_get("digest")?,
        display_prefix: r.try_get("display_prefix")?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
        expires_at: r.try_get("expires_at")?,
        last_used_at: r.try_get("last_used_at")?,
        deleted_at: r.try_get("deleted_at")?,
    })
}
