//! The key lifecycle: create (the secret leaves once), list, deactivate, reactivate, delete.

use regpilot_keys::{display_prefix, generate, Environment, KeyType, Scopes, SecretKey};
use regpilot_store::{now_ms, AuditEntry, KeyRow, DAY_MS};
use serde::Serialize;

use crate::ids::new_id;
use crate::projects::validate_name;
use crate::time_fmt::{opt, rfc3339};
use crate::{Actor, Control, ControlError};

/// Ten years: a longer expiry is a typo, not a plan.
const MAX_EXPIRY_DAYS: i64 = 3650;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    Inactive,
    Deleted,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Inactive => "inactive",
            KeyStatus::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<KeyStatus> {
        match s {
            "active" => Some(KeyStatus::Active),
            "inactive" => Some(KeyStatus::Inactive),
            "deleted" => Some(KeyStatus::Deleted),
            _ => None,
        }
    }
}

pub struct NewKey {
    pub project_id: String,
    pub name: String,
    pub key_type: KeyType,
    pub environment: Environment,
    pub read_only: bool,
    /// Explicit scopes; `None` means the type's defaults (or read scopes when `read_only`).
    pub scopes: Option<Scopes>,
    pub expires_in_days: Option<i64>,
}

/// A key as it is listed: everything but the secret.
#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub prefix: String,
    #[serde(rename = "type")]
    pub key_type: KeyType,
    pub environment: Environment,
    pub scopes: Scopes,
    pub read_only: bool,
    pub status: KeyStatus,
    pub expired: bool,
    pub created_at: String,
    pub created_by: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
}

impl KeyView {
    pub fn from_row(r: &KeyRow) -> Result<KeyView, ControlError> {
        let bad = |what: &str| ControlError::Internal(format!("stored key {} has an unreadable {what}", r.id));
        let key_type: KeyType = r.key_type.parse().map_err(|_| bad("type"))?;
        let scopes = Scopes::parse_list(&r.scopes).map_err(|_| bad("scope list"))?;
        Ok(KeyView {
            id: r.id.clone(),
            project_id: r.project_id.clone(),
            name: r.name.clone(),
            prefix: r.display_prefix.clone(),
            key_type,
            environment: r.environment.parse().map_err(|_| bad("environment"))?,
            read_only: scopes.is_subset_of(key_type.read_only_scopes()),
            scopes,
            status: KeyStatus::parse(&r.status).ok_or_else(|| bad("status"))?,
            expired: r.expires_at.is_some_and(|e| e <= now_ms()),
            created_at: rfc3339(r.created_at),
            created_by: r.created_by.clone(),
            last_used_at: opt(r.last_used_at),
            expires_at: opt(r.expires_at),
        })
    }
}

/// The one response that carries a secret. Serialize it only into the create answer.
#[derive(Debug, Serialize)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub key: KeyView,
    #[serde(serialize_with = "expose_secret")]
    pub secret: SecretKey,
}

fn expose_secret<S: serde::Serializer>(secret: &SecretKey, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose())
}

pub(crate) fn key_audit(actor: &Actor, action: &str, key: &KeyRow, detail: Option<String>) -> AuditEntry {
    actor.audit(action, ("key", &key.id), Some(&key.project_id), detail)
}

impl Control {
    pub async fn create_key(&self, actor: &Actor, new: NewKey) -> Result<CreatedKey, ControlError> {
        let name = validate_name("name", &new.name, 100)?;
        self.get_project(&new.project_id).await?;
        let scopes = match new.scopes {
            Some(s) => {
                let outside = s.outside(new.key_type);
                if !outside.is_empty() {
                    let names: Vec<&str> = outside.iter().map(|s| s.as_str()).collect();
                    return Err(ControlError::invalid(
                        "scopes",
                        format!("a {} key cannot be granted: {}", new.key_type, names.join(", ")),
                    ));
                }
                let s = if new.read_only { s.read_only() } else { s };
                if s.is_empty() {
                    let why = if new.read_only { " (a read-only key keeps only read scopes)" } else { "" };
                    return Err(ControlError::invalid("scopes", format!("scopes cannot be empty{why}")));
                }
                s
            }
            None if new.read_only => new.key_type.read_only_scopes(),
            None => new.key_type.default_scopes(),
        };
        let now = now_ms();
        let expires_at = match new.expires_in_days {
            None => None,
            Some(d) if (1..=MAX_EXPIRY_DAYS).contains(&d) => Some(now + d * DAY_MS),
            Some(_) => {
                return Err(ControlError::invalid(
                    "expires_in_days",
                    format!("expiry must be a whole number of days from 1 to {MAX_EXPIRY_DAYS}"),
                ))
            }
        };
        let secret = generate(new.key_type, new.environment)
            .map_err(|e| ControlError::Internal(format!("OS random source: {e}")))?;
        let row = KeyRow {
            id: new_id("key")?,
            project_id: new.project_id,
            name,
            key_type: new.key_type.as_str().into(),
            environment: new.environment.as_str().into(),
            scopes: scopes.to_list(),
            status: KeyStatus::Active.as_str().into(),
            digest: regpilot_keys::digest(secret.expose()).to_hex(),
            display_prefix: display_prefix(&secret),
            created_at: now,
            created_by: actor.0.clone(),
            expires_at,
            last_used_at: None,
            deleted_at: None,
        };
        let detail = format!("type={} env={} scopes={}", row.key_type, row.environment, row.scopes);
        self.store.insert_key(&row, &key_audit(actor, "key.create", &row, Some(detail))).await?;
        Ok(CreatedKey { key: KeyView::from_row(&row)?, secret })
    }

    pub async fn list_keys(&self, project_id: &str) -> Result<Vec<KeyView>, ControlError> {
        self.get_project(project_id).await?;
        self.store.list_keys(project_id).await?.iter().map(KeyView::from_row).collect()
    }

    pub async fn get_key(&self, id: &str) -> Result<KeyView, ControlError> {
        KeyView::from_row(&self.existing_key(id).await?)
    }

    /// The audit trail of one key, oldest first.
    pub async fn key_audit(&self, id: &str) -> Result<Vec<regpilot_store::AuditEntry>, ControlError> {
        self.existing_key(id).await?;
        Ok(self.store.audit_for_target(id).await?)
    }

    /// An inactive key is refused everywhere until reactivated. Deactivating an inactive key
    /// changes nothing.
    pub async fn deactivate_key(&self, actor: &Actor, id: &str) -> Result<KeyView, ControlError> {
        self.transition(actor, id, KeyStatus::Active, KeyStatus::Inactive, "key.deactivate").await
    }

    /// Deleted keys can never come back.
    pub async fn reactivate_key(&self, actor: &Actor, id: &str) -> Result<KeyView, ControlError> {
        self.transition(actor, id, KeyStatus::Inactive, KeyStatus::Active, "key.reactivate").await
    }

    /// Permanent. A tombstone stays for the audit trail; the key never authenticates again.
    pub async fn delete_key(&self, actor: &Actor, id: &str) -> Result<KeyView, ControlError> {
        let key = self.existing_key(id).await?;
        let audit = key_audit(actor, "key.delete", &key, None);
        match self.store.change_key_status(id, &["active", "inactive"], "deleted", &audit).await? {
            Some(row) => KeyView::from_row(&row),
            None => Err(ControlError::Conflict(format!("key '{id}' is already deleted"))),
        }
    }

    /// Gives a key a new name (checked as at creation). A deleted key keeps its name.
    pub async fn rename_key(&self, actor: &Actor, id: &str, name: &str) -> Result<KeyView, ControlError> {
        let name = validate_name("name", name, 100)?;
        let key = self.existing_key(id).await?;
        let audit = key_audit(actor, "key.rename", &key, Some(format!("name={name}")));
        match self.store.rename_key(id, &name, &audit).await? {
            Some(row) => KeyView::from_row(&row),
            None => Err(ControlError::Conflict(format!("key '{id}' was deleted; a deleted key cannot be renamed"))),
        }
    }

    async fn transition(
        &self,
        actor: &Actor,
        id: &str,
        from: KeyStatus,
        to: KeyStatus,
        action: &str,
    ) -> Result<KeyView, ControlError> {
        let key = self.existing_key(id).await?;
        let audit = key_audit(actor, action, &key, None);
        if let Some(row) = self.store.change_key_status(id, &[from.as_str()], to.as_str(), &audit).await? {
            return KeyView::from_row(&row);
        }
        // Nothing moved: tell a deleted key from one already in the wanted state.
        let now = self.existing_key(id).await?;
        match KeyStatus::parse(&now.status) {
            Some(KeyStatus::Deleted) => Err(ControlError::Conflict(format!(
                "key '{id}' was deleted; deleted keys are permanent and cannot be {}d — create a new key instead",
                action.trim_start_matches("key.")
            ))),
            _ => KeyView::from_row(&now),
        }
    }

    async fn existing_key(&self, id: &str) -> Result<KeyRow, ControlError> {
        self.store.get_key(id).await?.ok_or_else(|| ControlError::not_found("key", id))
    }
}
