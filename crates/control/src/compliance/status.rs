//! The compliance status score (formula in `docs/compliance.md`).

use serde::Serialize;
use utoipa::ToSchema;

use super::{RiskLevel, Severity};
use crate::{Control, ControlError};

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

impl Control {
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
