//! Dashboard users.

use regpilot_store::{now_ms, StoreError, UserRow};
use serde::Serialize;

use crate::ids::new_id;
use crate::time_fmt::rfc3339;
use crate::{Actor, Control, ControlError};

pub const MIN_PASSWORD_LEN: usize = 12;

#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub role: String,
    pub status: String,
    pub created_at: String,
}

pub(crate) fn normalize_email(email: &str) -> Result<String, ControlError> {
    let e = email.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'))
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(e)
    } else {
        Err(ControlError::invalid("email", format!("'{}' is not an email address", email.trim())))
    }
}

fn view(row: UserRow) -> UserView {
    UserView { id: row.id, email: row.email, role: row.role, status: row.status, created_at: rfc3339(row.created_at) }
}

impl Control {
    /// Every dashboard user, oldest first (never a password hash).
    pub async fn list_users(&self) -> Result<Vec<UserView>, ControlError> {
        Ok(self.store.list_users().await?.into_iter().map(view).collect())
    }

    /// The user with this id, or this email address.
    pub async fn find_user(&self, id_or_email: &str) -> Result<UserView, ControlError> {
        let by_id = self.store.user_by_id(id_or_email.trim()).await?;
        let row = match by_id {
            Some(row) => Some(row),
            None => match normalize_email(id_or_email) {
                Ok(email) => self.store.user_by_email(&email).await?,
                Err(_) => None,
            },
        };
        row.map(view).ok_or_else(|| ControlError::not_found("user", id_or_email.trim()))
    }

    /// Creates a dashboard user with an Argon2id hash of `password`.
    pub async fn create_user(
        &self,
        actor: &Actor,
        email: &str,
        password: String,
        role: &str,
        must_change_password: bool,
    ) -> Result<UserView, ControlError> {
        let email = normalize_email(email)?;
        if password.chars().count() < MIN_PASSWORD_LEN {
            return Err(ControlError::invalid(
                "password",
                format!("password must be at least {MIN_PASSWORD_LEN} characters"),
            ));
        }
        let row = UserRow {
            id: new_id("usr")?,
            email,
            password_hash: self.passwords.hash(password).await?,
            role: role.into(),
            status: "active".into(),
            must_change_password,
            created_at: now_ms(),
        };
        let detail = format!("email={} role={}", row.email, row.role);
        let audit = actor.audit("user.create", ("user", &row.id), None, Some(detail));
        match self.store.insert_user(&row, &audit).await {
            Err(StoreError::Conflict(_)) => {
                return Err(ControlError::Conflict(format!("a user with email '{}' already exists", row.email)))
            }
            other => other?,
        }
        Ok(view(row))
    }
}

/// The roles a dashboard user can have: `admin` may change things, `viewer` only looks.
pub const ROLES: [&str; 2] = ["admin", "viewer"];

pub(crate) fn validate_role(role: &str) -> Result<&str, ControlError> {
    ROLES.iter().find(|r| **r == role).copied().ok_or_else(|| {
        ControlError::invalid("role", format!("unknown role '{role}' (expected one of: {})", ROLES.join(", ")))
    })
}

/// A generated password, shown once to the administrator who reset it. `Debug` redacts it.
pub struct OneTimePassword(String);

impl OneTimePassword {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for OneTimePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimePassword(<redacted>)")
    }
}

impl Serialize for OneTimePassword {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// The answer to a password reset: the user, and the generated password (shown once).
#[derive(Debug, Serialize)]
pub struct PasswordReset {
    #[serde(flatten)]
    pub user: UserView,
    pub password: OneTimePassword,
}

impl Control {
    /// Changes a user's role (`admin` or `viewer`); it applies at once to the user's sessions
    /// and admin tokens, which read the role on every use.
    pub async fn set_user_role(&self, actor: &Actor, user: &str, role: &str) -> Result<UserView, ControlError> {
        let role = validate_role(role)?;
        let u = self.find_user(user).await?;
        let audit = actor.audit("user.set_role", ("user", &u.id), None, Some(format!("role={role}")));
        if !self.store.set_user_role(&u.id, role, &audit).await? {
            return Err(ControlError::not_found("user", user));
        }
        self.find_user(&u.id).await
    }

    /// Resets a forgotten password: a generated one (20 base62 characters, shown once), which
    /// the user must change at the next login; every session of the user ends.
    pub async fn reset_user_password(&self, actor: &Actor, user: &str) -> Result<PasswordReset, ControlError> {
        let u = self.find_user(user).await?;
        let password =
            regpilot_keys::random_base62(20).map_err(|e| ControlError::Internal(format!("OS random source: {e}")))?;
        let hash = self.passwords.hash(password.clone()).await?;
        let audit = actor.audit("user.password_reset", ("user", &u.id), None, None);
        if !self.store.reset_user_password(&u.id, &hash, &audit).await? {
            return Err(ControlError::not_found("user", user));
        }
        Ok(PasswordReset { user: self.find_user(&u.id).await?, password: OneTimePassword(password) })
    }

    /// One page of the audit log, newest first (of one project when given): at most `limit`
    /// entries older than the `before` cursor, with each entry's cursor.
    pub async fn audit_log_page(
        &self,
        project_id: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<(i64, regpilot_store::AuditEntry)>, ControlError> {
        if let Some(p) = project_id {
            self.get_project(p).await?;
        }
        Ok(self.store.audit_page(project_id, before, limit).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_email;

    #[test]
    fn emails_are_checked_and_lowercased() {
        assert_eq!(normalize_email(" Admin@Example.COM ").unwrap(), "admin@example.com");
        for bad in ["", "no-at", "@x", "x@", "a b@c", "a@b@c"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
