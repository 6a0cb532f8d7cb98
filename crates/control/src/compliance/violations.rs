//! Violations: recorded by a project key, resolved with a note, reopened.

use regpilot_store::{now_ms, ViolationFilter, ViolationRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{optional_text, Severity, ViolationStatus};
use crate::ids::new_id;
use crate::projects::validate_name;
use crate::time_fmt::{opt, rfc3339};
use crate::{Actor, Control, ControlError};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewViolation {
    /// What happened, in one line. May be left out when `description` is given: its first
    /// line (up to 200 characters) is used.
    pub title: Option<String>,
    pub description: Option<String>,
    pub severity: Severity,
    /// Free-form grouping, e.g. `data-protection`.
    pub category: Option<String>,
    /// A model of the registry this violation concerns.
    pub model_id: Option<String>,
}

/// Resolve (`status: resolved` with a `note`) or reopen (`status: open`) a violation. A body
/// with only a `note` resolves.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViolationPatch {
    /// `resolved` (the default when a note is given) or `open`.
    pub status: Option<ViolationStatus>,
    /// Required when resolving: what was done. Also accepted as `resolution_note` or
    /// `resolution`.
    #[serde(alias = "resolution_note", alias = "resolution")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ViolationView {
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    pub category: Option<String>,
    pub model_id: Option<String>,
    pub status: ViolationStatus,
    pub created_at: String,
    pub created_by: String,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    pub resolution_note: Option<String>,
}

impl ViolationView {
    fn from_row(r: ViolationRow) -> Result<ViolationView, ControlError> {
        Ok(ViolationView {
            severity: Severity::from_store(&r.severity)?,
            status: ViolationStatus::from_store(&r.status)?,
            id: r.id,
            project_id: r.project_id,
            title: r.title,
            description: r.description,
            category: r.category,
            model_id: r.model_id,
            created_at: rfc3339(r.created_at),
            created_by: r.created_by,
            resolved_at: opt(r.resolved_at),
            resolved_by: r.resolved_by,
            resolution_note: r.resolution_note,
        })
    }
}

impl Control {
    pub async fn list_violations(
        &self,
        project_id: &str,
        status: Option<ViolationStatus>,
        severity: Option<Severity>,
    ) -> Result<Vec<ViolationView>, ControlError> {
        let filter = ViolationFilter {
            status: status.map(|s| s.as_str().to_owned()),
            severity: severity.map(|s| s.as_str().to_owned()),
        };
        self.store().list_violations(project_id, &filter).await?.into_iter().map(ViolationView::from_row).collect()
    }

    pub async fn create_violation(
        &self,
        actor: &Actor,
        project_id: &str,
        new: NewViolation,
    ) -> Result<ViolationView, ControlError> {
        let description = optional_text("description", new.description, 5000)?;
        let title = match (new.title, &description) {
            (Some(t), _) => validate_name("title", &t, 200)?,
            (None, Some(d)) => d.lines().next().unwrap_or_default().chars().take(200).collect(),
            (None, None) => return Err(ControlError::invalid("title", "title is required (or give a description)")),
        };
        let model_id = optional_text("model_id", new.model_id, 100)?;
        if let Some(m) = &model_id {
            if self.store().get_model(project_id, m).await?.is_none() {
                return Err(ControlError::invalid(
                    "model_id",
                    format!("model_id '{m}' is not in this project's registry"),
                ));
            }
        }
        let row = ViolationRow {
            id: new_id("vio")?,
            project_id: project_id.into(),
            title,
            description,
            severity: new.severity.as_str().into(),
            category: optional_text("category", new.category, 100)?,
            model_id,
            status: ViolationStatus::Open.as_str().into(),
            created_at: now_ms(),
            created_by: actor.0.clone(),
            resolved_at: None,
            resolved_by: None,
            resolution_note: None,
        };
        self.store().insert_violation(&row).await?;
        ViolationView::from_row(row)
    }

    pub async fn update_violation(
        &self,
        actor: &Actor,
        project_id: &str,
        id: &str,
        patch: ViolationPatch,
    ) -> Result<ViolationView, ControlError> {
        let mut row = self
            .store()
            .get_violation(project_id, id)
            .await?
            .ok_or_else(|| ControlError::not_found("violation", id))?;
        let note = optional_text("note", patch.note, 5000)?;
        let status = match (patch.status, &note) {
            (Some(s), _) => s,
            (None, Some(_)) => ViolationStatus::Resolved,
            (None, None) => {
                return Err(ControlError::invalid("status", "give status (resolved or open), and a note to resolve"))
            }
        };
        match status {
            ViolationStatus::Resolved => {
                let Some(note) = note else {
                    return Err(ControlError::invalid(
                        "note",
                        "note is required to resolve a violation: say what was done",
                    ));
                };
                row.resolved_at = Some(now_ms());
                row.resolved_by = Some(actor.0.clone());
                row.resolution_note = Some(note);
            }
            ViolationStatus::Open => {
                row.resolved_at = None;
                row.resolved_by = None;
                row.resolution_note = note;
            }
        }
        row.status = status.as_str().into();
        if !self.store().update_violation(&row).await? {
            return Err(ControlError::not_found("violation", id));
        }
        ViolationView::from_row(row)
    }
}
