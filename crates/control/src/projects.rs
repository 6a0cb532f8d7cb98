//! Projects and plans.

use regpilot_store::{now_ms, ProjectRow};
use serde::Serialize;

use crate::ids::new_id;
use crate::time_fmt::rfc3339;
use crate::{Actor, Control, ControlError, Limits, Plan};

pub struct NewProject {
    pub name: String,
    pub plan: Plan,
    pub daily_limit: Option<i64>,
    pub burst: Option<i64>,
}

/// A project as the CLI, the API and the dashboard show it.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectView {
    pub id: String,
    pub name: String,
    pub plan: Plan,
    /// Effective limits for staging and production keys (development keys get a tenth):
    /// `daily_limit` (null = unlimited), `burst`, `governor`.
    #[serde(flatten)]
    pub limits: Limits,
    pub created_at: String,
}

impl ProjectView {
    pub(crate) fn from_row(r: ProjectRow) -> Result<ProjectView, ControlError> {
        let plan: Plan = r.plan.parse()?;
        Ok(ProjectView {
            limits: plan.limits(r.daily_limit, r.burst),
            id: r.id,
            name: r.name,
            plan,
            created_at: rfc3339(r.created_at),
        })
    }
}

pub(crate) fn validate_name(field: &'static str, name: &str, max: usize) -> Result<String, ControlError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(ControlError::invalid(field, format!("{field} is required and cannot be empty")));
    }
    if trimmed.chars().count() > max {
        return Err(ControlError::invalid(field, format!("{field} must be at most {max} characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ControlError::invalid(field, format!("{field} cannot contain control characters")));
    }
    Ok(trimmed.to_owned())
}

impl Control {
    pub async fn create_project(&self, actor: &Actor, new: NewProject) -> Result<ProjectView, ControlError> {
        let name = validate_name("name", &new.name, 100)?;
        new.plan.validate_custom(new.daily_limit, new.burst)?;
        let row = ProjectRow {
            id: new_id("proj")?,
            name,
            plan: new.plan.as_str().into(),
            daily_limit: new.daily_limit,
            burst: new.burst,
            created_at: now_ms(),
        };
        let audit =
            actor.audit("project.create", ("project", &row.id), Some(&row.id), Some(format!("plan={}", row.plan)));
        self.store.insert_project(&row, &audit).await?;
        ProjectView::from_row(row)
    }

    pub async fn list_projects(&self) -> Result<Vec<ProjectView>, ControlError> {
        self.store.list_projects().await?.into_iter().map(ProjectView::from_row).collect()
    }

    pub async fn get_project(&self, id: &str) -> Result<ProjectView, ControlError> {
        let row = self.store.get_project(id).await?.ok_or_else(|| ControlError::not_found("project", id))?;
        ProjectView::from_row(row)
    }

    pub async fn set_plan(
        &self,
        actor: &Actor,
        id: &str,
        plan: Plan,
        daily_limit: Option<i64>,
        burst: Option<i64>,
    ) -> Result<ProjectView, ControlError> {
        plan.validate_custom(daily_limit, burst)?;
        let current = self.store.get_project(id).await?.ok_or_else(|| ControlError::not_found("project", id))?;
        // Staying on enterprise keeps the custom figures not given again.
        let (daily_limit, burst) = if plan == Plan::Enterprise && current.plan == Plan::Enterprise.as_str() {
            (daily_limit.or(current.daily_limit), burst.or(current.burst))
        } else {
            (daily_limit, burst)
        };
        let detail = format!(
            "plan={plan} daily_limit={} burst={}",
            daily_limit.map_or("default".into(), |d| d.to_string()),
            burst.map_or("default".into(), |b| b.to_string())
        );
        let audit = actor.audit("project.set_plan", ("project", id), Some(id), Some(detail));
        if !self.store.update_project_plan(id, plan.as_str(), daily_limit, burst, &audit).await? {
            return Err(ControlError::not_found("project", id));
        }
        self.get_project(id).await
    }
}
