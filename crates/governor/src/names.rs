//! The named enums of the Governor (docs/governor.md): each has a snake_case wire name,
//! `as_str()`, `FromStr` and serde in that same spelling.

use std::fmt;

/// A name that is not one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}; expected one of: {}", self.kind, self.value, self.expected.join(", "))
    }
}

impl std::error::Error for UnknownName {}

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident, $kind:literal { $($(#[$vm:meta])* $var:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $var),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            const NAMES: &'static [&'static str] = &[$($s),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($s => Ok($name::$var),)+
                    _ => Err(UnknownName { kind: $kind, value: s.chars().take(64).collect(), expected: Self::NAMES }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// What an answer is for (`governorMetadata.actionType`); each has a base risk.
    ActionType, "action type" {
        CustomerSupport => "customer_support",
        LegalAdvice => "legal_advice",
        MedicalAdvice => "medical_advice",
        HrMessage => "hr_message",
        PolicyWarning => "policy_warning",
        Suspension => "suspension",
        RefundDenial => "refund_denial",
        Other => "other",
    }
}

named_enum! {
    /// What the Governor does with what it finds (a project setting).
    #[derive(Default)]
    Mode, "mode" {
        /// Redact, apply policies, append notices, always deliver (the default).
        #[default]
        Sanitize => "sanitize",
        /// Like `Sanitize`, but a high verdict or a matched `block` policy withholds the answer.
        Block => "block",
        /// Score and audit only: the text is delivered unchanged.
        Monitor => "monitor",
    }
}

named_enum! {
    /// How serious one finding is; its weight in the score (docs/governor.md, "Scoring").
    Severity, "severity" {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
}

named_enum! {
    /// The family a rule belongs to.
    Category, "category" {
        PersonalData => "personal_data",
        Secret => "secret",
        Content => "content",
        Duty => "duty",
        Policy => "policy",
    }
}

named_enum! {
    /// The risk band of a score: 0–30 low, 31–70 medium, 71–100 high.
    Level, "level" {
        Low => "low",
        Medium => "medium",
        High => "high",
    }
}

impl Level {
    pub fn of_score(score: u8) -> Level {
        match score {
            0..=30 => Level::Low,
            31..=70 => Level::Medium,
            _ => Level::High,
        }
    }
}

named_enum! {
    /// What happened to the answer (the `x-governor-action` header).
    Outcome, "outcome" {
        Approved => "approved",
        Sanitized => "sanitized",
        Flagged => "flagged",
        Blocked => "blocked",
    }
}

named_enum! {
    /// What a custom policy does when it matches.
    PolicyAction, "policy action" {
        Block => "block",
        Warn => "warn",
        Redact => "redact",
        Replace => "replace",
        Append => "append",
        RequireApproval => "require_approval",
        Log => "log",
        Notify => "notify",
    }
}

named_enum! {
    /// Which texts a custom policy checks.
    AppliesTo, "applies_to" {
        Response => "response",
        Prompt => "prompt",
        Both => "both",
    }
}

named_enum! {
    /// Which text is being checked: the model's answer or the prompt on its way out.
    Target, "target" {
        Response => "response",
        Prompt => "prompt",
    }
}

impl AppliesTo {
    pub fn covers(self, target: Target) -> bool {
        matches!(
            (self, target),
            (AppliesTo::Both, _) | (AppliesTo::Response, Target::Response) | (AppliesTo::Prompt, Target::Prompt)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str_and_serde() {
        for a in ActionType::ALL {
            assert_eq!(a.as_str().parse::<ActionType>().unwrap(), *a);
            assert_eq!(serde_json::to_value(a).unwrap(), serde_json::json!(a.as_str()));
        }
        for p in PolicyAction::ALL {
            assert_eq!(p.as_str().parse::<PolicyAction>().unwrap(), *p);
            assert_eq!(serde_json::to_value(p).unwrap(), serde_json::json!(p.as_str()));
        }
        for c in Category::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), serde_json::json!(c.as_str()));
        }
        for m in Mode::ALL {
            assert_eq!(m.as_str().parse::<Mode>().unwrap(), *m);
        }
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>().unwrap(), *s);
        }
        for a in AppliesTo::ALL {
            assert_eq!(a.as_str().parse::<AppliesTo>().unwrap(), *a);
        }
        for l in Level::ALL {
            assert_eq!(l.as_str().parse::<Level>().unwrap(), *l);
        }
        let e = "loud".parse::<Mode>().unwrap_err();
        assert_eq!(e.to_string(), "unknown mode \"loud\"; expected one of: sanitize, block, monitor");
    }

    #[test]
    fn bands() {
        assert_eq!(Level::of_score(0), Level::Low);
        assert_eq!(Level::of_score(30), Level::Low);
        assert_eq!(Level::of_score(31), Level::Medium);
        assert_eq!(Level::of_score(70), Level::Medium);
        assert_eq!(Level::of_score(71), Level::High);
        assert_eq!(Level::of_score(100), Level::High);
        assert_eq!(Mode::default(), Mode::Sanitize);
        assert!(AppliesTo::Both.covers(Target::Prompt));
        assert!(!AppliesTo::Response.covers(Target::Prompt));
    }
}
