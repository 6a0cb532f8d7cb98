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
