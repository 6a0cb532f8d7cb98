//! Compliance records of a project: violations and the AI model registry (EU AI Act risk
//! levels), and the compliance status derived from them. Every call is scoped by project: a
//! record of another project is "not found".

mod models;
mod status;
mod violations;

pub use models::{ModelPatch, ModelView, NewModel};
pub use status::{ComplianceStatus, RegistrySummary, SeverityCounts, SCORE_FORMULA};
pub use violations::{NewViolation, ViolationPatch, ViolationView};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ControlError;

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

fn optional_text(field: &'static str, value: Option<String>, max: usize) -> Result<Option<String>, ControlError> {
    match value.map(|v| v.trim().to_owned()) {
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if v.chars().count() > max => {
            Err(ControlError::invalid(field, format!("{field} must be at most {max} characters")))
        }
        other => Ok(other),
    }
}
