//! Compliance records of a project: violations and the AI model registry (EU AI Act risk
//! levels), and the compliance status derived from them. Every call is scoped by project: a
//! record of another project is "not found".

use regpilot_store::{now_ms, ModelRow, ViolationFilter, ViolationRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::new_id;
use crate::projects::validate_name;
use crate::time_fmt::{opt, rfc3339};
use crate::{Actor, Control, ControlError};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident, $field:literal { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const NAMES: &'static str = concat!($($text, " "),+);
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(field: &'static str, s: &str) -> Result<Self, ControlError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(ControlError::invalid(
                        field,
                        format!("{} must be one of: {} (got '{}')", field, Self::NAMES.trim_end().replace(' ', ", "), other),
                    )),
                }
            }
            fn from_store(s: &str) -> Result<Self, ControlError> {
                Self::parse($field, s).map_err(|_| ControlError::Internal(format!("stored {} '{}' is unreadable", $field, s)))
            }
        }
    };
}

string_enum!(
    /// How serious a violation is.
    Severity, "severity" { Low = "low", Medium = "medium", High = "high", Critical = "critical" }
);
string_enum!(ViolationStatus, "status" { Open = "open", Resolved = "resolved" });
string_enum!(
    /// The EU AI Act risk category of a model's use.
    RiskLevel, "risk_level" { Unacceptable = "unacceptable", High = "high", Limited = "limited", Minimal = "minimal" }
);

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

/// Open violations by severity.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct SeverityCounts {
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct RegistrySummary {
    pub active: i64,
    pub archived: i64,
    /// Active models at `unacceptable` risk: practices the EU AI Act prohibits.
    pub unacceptable: i64,
    pub high_risk: i64,
    /// Share of the documentation fields (provider, version, purpose, owner) filled in across
    /// active models, from 0 to 1; 1 when there are none.
    pub completeness: f64,
}

/// `GET /api/compliance/status`. See `docs/compliance.md` for the formula.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplianceStatus {
    pub project_id: String,
    /// 0–100.
    pub score: i64,
    /// `compliant` (score ≥ 90 and nothing critical open), `at_risk` (score ≥ 70), or
    /// `non_compliant`.
    pub status: String,
    pub open_violations: SeverityCounts,
    pub registry: RegistrySummary,
    pub formula: String,
}

pub const SCORE_FORMULA: &str = "score = round(0.7 * V + 0.3 * R); V = max(0, 100 - 25*critical - 10*high - 5*medium - 2*low) \
over open violations, each active model at unacceptable risk counting as one more critical; \
R = 100 * share of documentation fields (provider, version, purpose, owner) filled in across active models (100 with none)";

fn optional_text(field: &'static str, value: Option<String>, max: usize) -> Result<Option<String>, ControlError> {
    match value.map(|v| v.trim().to_owned()) {
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if v.chars().count() > max => {
            Err(ControlError::invalid(field, format!("{field} must be at most {max} characters")))
        }
        other => Ok(other),
    }
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

    pub async fn compliance_status(&self, project_id: &str) -> Result<ComplianceStatus, ControlError> {
        let mut open = SeverityCounts::default();
        for (severity, n) in self.store().open_violation_counts(project_id).await? {
            match Severity::from_store(&severity)? {
                Severity::Critical => open.critical += n,
                Severity::High => open.high += n,
                Severity::Medium => open.medium += n,
                Severity::Low => open.low += n,
            }
            open.total += n;
        }
        let models = self.store().list_models(project_id, None).await?;
        let mut registry = RegistrySummary::default();
        let (mut filled, mut fields) = (0usize, 0usize);
        for m in models.iter() {
            if m.status == "archived" {
                registry.archived += 1;
                continue;
            }
            registry.active += 1;
            match RiskLevel::from_store(&m.risk_level)? {
                RiskLevel::Unacceptable => registry.unacceptable += 1,
                RiskLevel::High => registry.high_risk += 1,
                _ => {}
            }
            fields += 4;
            filled += [&m.provider, &m.version, &m.purpose, &m.owner].iter().filter(|f| f.is_some()).count();
        }
        registry.completeness = if fields == 0 { 1.0 } else { filled as f64 / fields as f64 };
        Ok(score(project_id, open, registry))
    }
}

fn score(project_id: &str, open: SeverityCounts, registry: RegistrySummary) -> ComplianceStatus {
    let critical = open.critical + registry.unacceptable;
    let penalty = 25 * critical + 10 * open.high + 5 * open.medium + 2 * open.low;
    let v = (100 - penalty).max(0) as f64;
    let r = 100.0 * registry.completeness;
    let score = (0.7 * v + 0.3 * r).round() as i64;
    let status = if score >= 90 && critical == 0 {
        "compliant"
    } else if score >= 70 {
        "at_risk"
    } else {
        "non_compliant"
    };
    ComplianceStatus {
        project_id: project_id.into(),
        score,
        status: status.into(),
        open_violations: open,
        registry,
        formula: SCORE_FORMULA.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(critical: i64, high: i64, medium: i64, low: i64) -> SeverityCounts {
        SeverityCounts { critical, high, medium, low, total: critical + high + medium + low }
    }

    #[test]
    fn score_follows_the_documented_formula() {
        let full = RegistrySummary { completeness: 1.0, ..Default::default() };
        assert_eq!(score("p", counts(0, 0, 0, 0), full.clone()).score, 100);
        assert_eq!(score("p", counts(0, 0, 0, 0), full.clone()).status, "compliant");
        // V = 100 - 10 - 5 = 85 → 0.7·85 + 30 = 89.5 → 90, but nothing critical: compliant.
        assert_eq!(score("p", counts(0, 1, 1, 0), full.clone()).score, 90);
        // One critical: V = 75 → 52.5 + 30 = 82.5 → 83 (round half away from zero), at risk.
        let s = score("p", counts(1, 0, 0, 0), full.clone());
        assert_eq!((s.score, s.status.as_str()), (83, "at_risk"));
        // Half the documentation missing: R = 50.
        let half = RegistrySummary { completeness: 0.5, active: 1, ..Default::default() };
        assert_eq!(score("p", counts(0, 0, 0, 0), half).score, 85);
        // An unacceptable-risk model counts as critical.
        let banned = RegistrySummary { completeness: 1.0, unacceptable: 1, active: 1, ..Default::default() };
        assert_eq!(score("p", counts(0, 0, 0, 0), banned).score, 83);
        assert_eq!(score("p", counts(10, 0, 0, 0), full).score, 30);
    }
}
