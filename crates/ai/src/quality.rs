//! Quality tiers and output modes, as callers name them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    Cheap,
    #[default]
    Balanced,
    Frontier,
}

impl Quality {
    pub const ALL: [Quality; 3] = [Quality::Cheap, Quality::Balanced, Quality::Frontier];

    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Cheap => "cheap",
            Quality::Balanced => "balanced",
            Quality::Frontier => "frontier",
        }
    }
}

impl FromStr for Quality {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Quality::ALL.into_iter().find(|q| q.as_str() == s).ok_or(())
    }
}

impl fmt::Display for Quality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `text` (default) or `json` (the model is asked for one JSON object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Text,
    Json,
}
