//! Key types and environments, and their names in secrets, the CLI and JSON.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Scopes;

/// The two key types of README.md, "Keys".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    /// `sk_`: the AI gateway endpoints.
    Gateway,
    /// `pk_`: the compliance endpoints.
    Project,
}

impl KeyType {
    pub const ALL: [KeyType; 2] = [KeyType::Gateway, KeyType::Project];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Gateway => "gateway",
            KeyType::Project => "project",
        }
    }

    /// The prefix of the secret, without the underscore.
    pub fn prefix(self) -> &'static str {
        match self {
            KeyType::Gateway => "sk",
            KeyType::Project => "pk",
        }
    }

    /// What a key of this type is granted when created with no other instruction.
    pub fn default_scopes(self) -> Scopes {
        use crate::Scope::*;
        match self {
            KeyType::Gateway => Scopes::of(&[Chat, Models, Governor, UsageRead]),
            KeyType::Project => Scopes::of(&[ComplianceRead, ComplianceWrite, UsageRead]),
        }
    }

    /// The read-only variant: only the type's read scopes.
    pub fn read_only_scopes(self) -> Scopes {
        self.default_scopes().read_only()
    }
}

/// The three environments of README.md, "Keys".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Staging,
    Production,
}

impl Environment {
    pub const ALL: [Environment; 3] = [Environment::Development, Environment::Staging, Environment::Production];

    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Staging => "staging",
            Environment::Production => "production",
        }
    }

    /// The segment in the secret (`dev`, `stg`, `prod`).
    pub fn segment(self) -> &'static str {
        match self {
            Environment::Development => "dev",
            Environment::Staging => "stg",
            Environment::Production => "prod",
        }
    }
}

/// A name that is not one of the accepted spellings; carries what was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    pub kind: &'static str,
    pub given: String,
    pub expected: &'static str,
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} '{}' (expected one of: {})", self.kind, self.given, self.expected)
    }
}

impl std::error::Error for UnknownName {}

impl FromStr for KeyType {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "gateway" | "sk" => Ok(KeyType::Gateway),
            "project" | "pk" => Ok(KeyType::Project),
            _ => Err(UnknownName { kind: "key type", given: s.to_owned(), expected: "gateway, project" }),
        }
    }
}

impl FromStr for Environment {
    type Err = UnknownName;
    /// Accepts the secret segment (`dev`) and the full name (`development`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dev" | "development" => Ok(Environment::Development),
            "stg" | "staging" => Ok(Environment::Staging),
            "prod" | "production" => Ok(Environment::Production),
            _ => Err(UnknownName { kind: "environment", given: s.to_owned(), expected: "dev, stg, prod" }),
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
