//! The risk score, in one place (docs/governor.md, "Scoring"):
//!
//! ```text
//! score = min(100, base(action type) + Σ weight(severity) × multiplier(region, category))
//! ```
//!
//! over the findings that count (not shadow, not from a `log` policy), rounded down.
//!
//! - base: low-risk action types 5, medium 20, high 35 (the base risks of docs/governor.md);
//! - weight: low 5, medium 20, high 40, critical 75;
//! - multiplier: EU and UK ×1.5 for personal data (GDPR, UK GDPR), US ×1.25 for content
//!   (FTC consumer-protection rules), otherwise ×1.
//!
//! So an ordinary customer-support answer scores 5 (low); a `suspension` answer without
//! findings 35 (medium: flagged for review, as its base risk says); one card number or one
//! secret alone reaches 80 (high) whatever the action type.

use crate::{ActionType, Category, Region, Severity};

/// The base risk of an action type.
pub fn base(action: ActionType) -> u32 {
    match action {
        ActionType::CustomerSupport | ActionType::Other => 5,
        ActionType::LegalAdvice | ActionType::MedicalAdvice | ActionType::HrMessage | ActionType::PolicyWarning => 20,
        ActionType::Suspension | ActionType::RefundDenial => 35,
    }
}

/// The weight of one finding of this severity.
pub fn weight(severity: Severity) -> u32 {
    match severity {
        Severity::Low => 5,
        Severity::Medium => 20,
        Severity::High => 40,
        Severity::Critical => 75,
    }
}

/// The country pack's multiplier, in percent.
pub fn multiplier_percent(region: Region, category: Category) -> u32 {
    match (region, category) {
        (Region::Eu | Region::Uk, Category::PersonalData) => 150,
        (Region::Us, Category::Content) => 125,
        _ => 100,
    }
}

/// The score of the findings `(category, severity)` that count, for this action and region.
pub fn risk_score(action: ActionType, region: Region, findings: impl IntoIterator<Item = (Category, Severity)>) -> u8 {
    let mut total = base(action) * 100;
    for (category, severity) in findings {
        total = total.saturating_add(weight(severity) * multiplier_percent(region, category));
        if total >= 100 * 100 {
            return 100;
        }
    }
    (total / 100) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Level;

    #[test]
    fn the_documented_examples() {
        let none = std::iter::empty();
        assert_eq!(risk_score(ActionType::CustomerSupport, Region::Unknown, none.clone()), 5);
        assert_eq!(Level::of_score(risk_score(ActionType::Suspension, Region::Us, none)), Level::Medium);
        for action in ActionType::ALL {
            for region in [Region::Eu, Region::Uk, Region::Us, Region::Other, Region::Unknown] {
                for cat in [Category::PersonalData, Category::Secret] {
                    let s = risk_score(*action, region, [(cat, Severity::Critical)]);
                    assert_eq!(Level::of_score(s), Level::High, "{action} {region:?}");
                }
            }
        }
        assert_eq!(
            risk_score(ActionType::CustomerSupport, Region::Other, [(Category::PersonalData, Severity::Medium)]),
            25
        );
        assert_eq!(
            risk_score(ActionType::CustomerSupport, Region::Eu, [(Category::PersonalData, Severity::Medium)]),
            35
        );
        assert_eq!(risk_score(ActionType::Other, Region::Us, [(Category::Content, Severity::High)]), 55);
        let many = vec![(Category::Secret, Severity::Critical); 10];
        assert_eq!(risk_score(ActionType::Suspension, Region::Eu, many), 100);
    }
}
