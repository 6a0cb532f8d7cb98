//! The AI model registry: what a project runs, for what purpose, at which EU AI Act risk level.

use regpilot_store::{now_ms, ModelRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{optional_text, RiskLevel};
use crate::ids::new_id;
use crate::projects::validate_name;
use crate::time_fmt::{opt, rfc3339};
use crate::{Control, ControlError};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewModel {
    pub name: String,
    pub provider: Option<String>,
    pub version: Option<String>,
    /// The intended purpose of the system (EU AI Act documentation).
    pub purpose: Option<String>,
    pub risk_level: RiskLevel,
    /// The person or team accountable for it.
    pub owner: Option<String>,
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelPatch {
    pub name: Option<String>,
    pub provider: Option<String>,
    pub version: Option<String>,
    pub purpose: Option<String>,
    pub risk_level: Option<RiskLevel>,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelView {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub provider: Option<String>,
    pub version: Option<String>,
    pub purpose: Option<String>,
    pub risk_level: RiskLevel,
    pub owner: Option<String>,
    /// `active` or `archived`.
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    pub archived_at: Option<String>,
}

impl ModelView {
    fn from_row(r: ModelRow) -> Result<ModelView, ControlError> {
        Ok(ModelView {
            risk_level: RiskLevel::from_store(&r.risk_level)?,
            id: r.id,
            project_id: r.project_id,
            name: r.name,
            provider: r.provider,
            version: r.version,
            purpose: r.purpose,
            owner: r.owner,
            status: r.status,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
            archived_at: opt(r.archived_at),
        })
    }
}

impl Control {
    pub async fn list_models(&self, project_id: &str, include_archived: bool) -> Result<Vec<ModelView>, ControlError> {
        let status = (!include_archived).then_some("active");
        self.store().list_models(project_id, status).await?.into_iter().map(ModelView::from_row).collect()
    }

    pub async fn get_model(&self, project_id: &str, id: &str) -> Result<ModelView, ControlError> {
        let row = self.store().get_model(project_id, id).await?.ok_or_else(|| ControlError::not_found("model", id))?;
        ModelView::from_row(row)
    }

    pub async fn register_model(&self, project_id: &str, new: NewModel) -> Result<ModelView, ControlError> {
        let now = now_ms();
        let row = ModelRow {
            id: new_id("mdl")?,
            project_id: project_id.into(),
            name: validate_name("name", &new.name, 200)?,
            provider: optional_text("provider", new.provider, 200)?,
            version: optional_text("version", new.version, 100)?,
            purpose: optional_text("purpose", new.purpose, 5000)?,
            risk_level: new.risk_level.as_str().into(),
            owner: optional_text("owner", new.owner, 200)?,
            status: "active".into(),
            created_at: now,
            updated_at: now,
            archived_at: None,
        };
        self.store().insert_model(&row).await?;
        ModelView::from_row(row)
    }

    pub async fn update_model(&self, project_id: &str, id: &str, patch: ModelPatch) -> Result<ModelView, ControlError> {
        let mut row =
            self.store().get_model(project_id, id).await?.ok_or_else(|| ControlError::not_found("model", id))?;
        if row.status == "archived" {
            return Err(ControlError::Conflict(format!("model '{id}' is archived; archived entries are read-only")));
        }
        if let Some(n) = patch.name {
            row.name = validate_name("name", &n, 200)?;
        }
        if patch.provider.is_some() {
            row.provider = optional_text("provider", patch.provider, 200)?;
        }
        if patch.version.is_some() {
            row.version = optional_text("version", patch.version, 100)?;
        }
        if patch.purpose.is_some() {
            row.purpose = optional_text("purpose", patch.purpose, 5000)?;
        }
        if patch.owner.is_some() {
            row.owner = optional_text("owner", patch.owner, 200)?;
        }
        if let Some(r) = patch.risk_level {
            row.risk_level = r.as_str().into();
        }
        row.updated_at = now_ms();
        if !self.store().update_model(&row).await? {
            return Err(ControlError::not_found("model", id));
        }
        ModelView::from_row(row)
    }

    /// Archiving keeps the entry for the record and takes it out of the active registry.
    /// Archiving an archived model changes nothing.
    pub async fn archive_model(&self, project_id: &str, id: &str) -> Result<ModelView, ControlError> {
        let mut row =
            self.store().get_model(project_id, id).await?.ok_or_else(|| ControlError::not_found("model", id))?;
        if row.status != "archived" {
            let now = now_ms();
            row.status = "archived".into();
            row.archived_at = Some(now);
            row.updated_at = now;
            self.store().update_model(&row).await?;
        }
        ModelView::from_row(row)
    }
}
