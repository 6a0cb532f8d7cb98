//! First start on an empty store: a default project and a dashboard admin.

use regpilot_keys::random_base62;

use crate::{Actor, Control, ControlError, NewProject, Plan, ProjectView, UserView};

pub const ADMIN_EMAIL: &str = "admin@localhost";

/// What a first start created. The password is shown once and never stored in plain text.
pub struct Bootstrapped {
    pub project: ProjectView,
    pub admin: UserView,
    pub password: String,
}

impl Control {
    /// Creates the default project and admin when the store has neither projects nor users;
    /// `None` otherwise. Safe when two instances start at once: the unique admin email lets
    /// only one of them through.
    pub async fn bootstrap(&self) -> Result<Option<Bootstrapped>, ControlError> {
        if self.store().count_projects().await? > 0 || self.store().count_users().await? > 0 {
            return Ok(None);
        }
        let password = random_base62(20).map_err(|e| ControlError::Internal(format!("OS random source: {e}")))?;
        let admin = match self.create_user(&Actor::system(), ADMIN_EMAIL, password.clone(), "admin", true).await {
            Ok(u) => u,
            Err(ControlError::Conflict(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let project = self
            .create_project(
                &Actor::system(),
                NewProject { name: "Default".into(), plan: Plan::Free, daily_limit: None, burst: None },
            )
            .await?;
        Ok(Some(Bootstrapped { project, admin, password }))
    }
}
