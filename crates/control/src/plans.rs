//! Plans and the limits they give (README.md, "Rate limits").

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::ControlError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Pro,
    Enterprise,
}

/// A project's effective limits for staging and production keys. `daily_limit: None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub daily_limit: Option<i64>,
    pub burst: i64,
    pub governor: bool,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }

    /// The limits of the plan; custom figures apply to enterprise only.
    pub fn limits(self, custom_daily: Option<i64>, custom_burst: Option<i64>) -> Limits {
        match self {
            Plan::Free => Limits { daily_limit: Some(1_000), burst: 10, governor: false },
            Plan::Pro => Limits { daily_limit: Some(100_000), burst: 100, governor: true },
            Plan::Enterprise => {
                Limits { daily_limit: custom_daily, burst: custom_burst.unwrap_or(1_000), governor: true }
            }
        }
    }

    /// Checks that custom figures are given only where they apply, and are positive.
    pub fn validate_custom(self, daily: Option<i64>, burst: Option<i64>) -> Result<(), ControlError> {
        if self != Plan::Enterprise {
            if daily.is_some() {
                return Err(ControlError::invalid("daily_limit", "--daily-limit applies to the enterprise plan only"));
            }
            if burst.is_some() {
                return Err(ControlError::invalid("burst", "--burst applies to the enterprise plan only"));
            }
        }
        if daily.is_some_and(|d| d < 1) {
            return Err(ControlError::invalid("daily_limit", "daily limit must be a positive number"));
        }
        if burst.is_some_and(|b| b < 1) {
            return Err(ControlError::invalid("burst", "burst must be a positive number"));
        }
        Ok(())
    }
}

impl FromStr for Plan {
    type Err = ControlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "free" => Ok(Plan::Free),
            "pro" => Ok(Plan::Pro),
            "enterprise" => Ok(Plan::Enterprise),
            other => Err(ControlError::invalid(
                "plan",
                format!("unknown plan '{other}' (expected one of: free, pro, enterprise)"),
            )),
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
