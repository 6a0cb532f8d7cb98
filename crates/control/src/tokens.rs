//! Personal admin tokens (README.md, "Admin API"): created for a dashboard user, shown once,
//! stored as a digest, listed and revocable. A token carries its user's role as it is at each
//! use (and only read rights when created read-only); a deactivated user's tokens stop working
//! at once, because every use looks the user up.

use std::fmt;

use regpilot_keys::{admin_token_display_prefix, generate_admin_token, is_admin_token, SecretKey};
use regpilot_store::{now_ms, AdminTokenRow, DAY_MS};
use serde::Serialize;

use crate::ids::new_id;
use crate::projects::validate_name;
use crate::time_fmt::{opt, rfc3339};
use crate::{Actor, Control, ControlError};

/// Ten years, as for keys.
const MAX_EXPIRY_DAYS: i64 = 3650;

/// A token as it is listed: everything but the secret.
#[derive(Debug, Clone, Serialize)]
pub struct AdminTokenView {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub read_only: bool,
    /// `active`, `revoked` or `expired`.
    pub status: &'static str,
    pub created_at: String,
    pub created_by: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
}

impl AdminTokenView {
    fn from_row(r: &AdminTokenRow, now: i64) -> AdminTokenView {
        let status = if r.revoked_at.is_some() {
            "revoked"
        } else if r.expires_at.is_some_and(|e| e <= now) {
            "expired"
        } else {
            "active"
        };
        AdminTokenView {
            id: r.id.clone(),
            user_id: r.user_id.clone(),
            name: r.name.clone(),
            prefix: r.display_prefix.clone(),
            read_only: r.read_only,
            status,
            created_at: rfc3339(r.created_at),
            created_by: r.created_by.clone(),
            expires_at: opt(r.expires_at),
            last_used_at: opt(r.last_used_at),
            revoked_at: opt(r.revoked_at),
            revoked_by: r.revoked_by.clone(),
        }
    }
}

/// The one answer that carries a token. Serialize it only into the create response.
#[derive(Debug, Serialize)]
pub struct CreatedAdminToken {
    #[serde(flatten)]
    pub token: AdminTokenView,
    pub email: String,
    #[serde(serialize_with = "expose")]
    pub secret: SecretKey,
}

fn expose<S: serde::Serializer>(secret: &SecretKey, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose())
}

/// Who is calling the admin API with a token: the token's user, with the user's current role.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminPrincipal {
    pub token_id: String,
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub read_only: bool,
}

impl fmt::Debug for AdminPrincipal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminPrincipal")
            .field("token_id", &self.token_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl AdminPrincipal {
    /// Only an `admin` may change things, and only with a token that is not read-only.
    pub fn may_write(&self) -> bool {
        self.role == "admin" && !self.read_only
    }

    /// The audit log names the user and the token: `user:<email> token:<id>`.
    pub fn actor(&self) -> Actor {
        Actor(format!("user:{} token:{}", self.email, self.token_id))
    }
}

/// What presenting a token came to. Only `Ok` authenticates; the others keep their reason for
/// the log, while the HTTP answer is one 401 for all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAuth {
    Ok(AdminPrincipal),
    /// Not an admin token: wrong format or checksum (no lookup was made).
    Malformed,
    Unknown,
    Revoked,
    Expired,
    /// The token's user is deactivated (or gone).
    UserInactive,
}

impl AdminAuth {
    pub fn reason(&self) -> &'static str {
        match self {
            AdminAuth::Ok(_) => "ok",
            AdminAuth::Malformed => "malformed",
            AdminAuth::Unknown => "unknown",
            AdminAuth::Revoked => "revoked",
            AdminAuth::Expired => "expired",
            AdminAuth::UserInactive => "user_inactive",
        }
    }
}

impl Control {
    /// Creates a token for the user with this id or email; the secret leaves once, in the
    /// answer. The user must be active.
    pub async fn create_admin_token(
        &self,
        actor: &Actor,
        user: &str,
        name: &str,
        expires_in_days: Option<i64>,
        read_only: bool,
    ) -> Result<CreatedAdminToken, ControlError> {
        let name = validate_name("name", name, 100)?;
        let user = self.find_user(user).await?;
        if user.status != "active" {
            return Err(ControlError::Conflict(format!(
                "user {} is deactivated; reactivate the user before creating a token",
                user.email
            )));
        }
        let now = now_ms();
        let expires_at = match expires_in_days {
            None => None,
            Some(d) if (1..=MAX_EXPIRY_DAYS).contains(&d) => Some(now + d * DAY_MS),
            Some(_) => {
                return Err(ControlError::invalid(
                    "expires_in_days",
                    format!("expiry must be a whole number of days from 1 to {MAX_EXPIRY_DAYS}"),
                ))
            }
        };
        let secret = generate_admin_token().map_err(|e| ControlError::Internal(format!("OS random source: {e}")))?;
        let row = AdminTokenRow {
            id: new_id("tok")?,
            user_id: user.id.clone(),
            name,
            digest: regpilot_keys::digest(secret.expose()).to_hex(),
            display_prefix: admin_token_display_prefix(&secret),
            read_only,
            created_at: now,
            created_by: actor.0.clone(),
            expires_at,
            last_used_at: None,
            revoked_at: None,
            revoked_by: None,
        };
        let detail = format!("user={} read_only={read_only}", user.email);
        let audit = actor.audit("admin_token.create", ("admin_token", &row.id), None, Some(detail));
        self.store.insert_admin_token(&row, &audit).await?;
        Ok(CreatedAdminToken { token: AdminTokenView::from_row(&row, now), email: user.email, secret })
    }

    /// The tokens of one user (by id or email), or of every user; revoked ones included.
    pub async fn list_admin_tokens(&self, user: Option<&str>) -> Result<Vec<AdminTokenView>, ControlError> {
        let user_id = match user {
            Some(u) => Some(self.find_user(u).await?.id),
            None => None,
        };
        let now = now_ms();
        Ok(self
            .store
            .list_admin_tokens(user_id.as_deref())
            .await?
            .iter()
            .map(|r| AdminTokenView::from_row(r, now))
            .collect())
    }

    /// Revokes a token: it stops working at once. With `owner`, only that user's token can be
    /// revoked (the admin API revokes the caller's own). Revoking a revoked token is a conflict.
    pub async fn revoke_admin_token(
        &self,
        actor: &Actor,
        token_id: &str,
        owner: Option<&str>,
    ) -> Result<AdminTokenView, ControlError> {
        let token = self
            .store
            .get_admin_token(token_id)
            .await?
            .filter(|t| owner.is_none_or(|o| t.user_id == o))
            .ok_or_else(|| ControlError::not_found("admin token", token_id))?;
        let audit = actor.audit("admin_token.revoke", ("admin_token", &token.id), None, None);
        match self.store.revoke_admin_token(&token.id, &audit).await? {
            Some(row) => Ok(AdminTokenView::from_row(&row, now_ms())),
            None => Err(ControlError::Conflict(format!("admin token '{token_id}' is already revoked"))),
        }
    }

    /// Checks a presented token: format and checksum first (no I/O), then the digest, the
    /// token's state and its user's, on every use. A successful use raises the token's last
    /// use.
    pub async fn authenticate_admin_token(&self, presented: &str, now: i64) -> Result<AdminAuth, ControlError> {
        if !is_admin_token(presented) {
            return Ok(AdminAuth::Malformed);
        }
        let digest = regpilot_keys::digest(presented).to_hex();
        let Some(token) = self.store.admin_token_by_digest(&digest).await? else {
            return Ok(AdminAuth::Unknown);
        };
        if token.revoked_at.is_some() {
            return Ok(AdminAuth::Revoked);
        }
        if token.expires_at.is_some_and(|e| e <= now) {
            return Ok(AdminAuth::Expired);
        }
        let Some(user) = self.store.user_by_id(&token.user_id).await?.filter(|u| u.status == "active") else {
            return Ok(AdminAuth::UserInactive);
        };
        self.store.touch_admin_token(&token.id, now, None).await?;
        Ok(AdminAuth::Ok(AdminPrincipal {
            token_id: token.id,
            user_id: user.id,
            email: user.email,
            role: user.role,
            read_only: token.read_only,
        }))
    }

    /// Writes the audit entry of a write made with a token (`admin_token.use`: the method and
    /// route, and the answer's status).
    pub async fn audit_admin_token_write(
        &self,
        principal: &AdminPrincipal,
        method: &str,
        route: &str,
        status: u16,
    ) -> Result<(), ControlError> {
        let audit = principal.actor().audit(
            "admin_token.use",
            ("admin_token", &principal.token_id),
            None,
            Some(format!("{method} {route} -> {status}")),
        );
        self.store.touch_admin_token(&principal.token_id, audit.at, Some(&audit)).await?;
        Ok(())
    }
}
