//! Scopes: what a key may do. A small bit set so the request path checks a scope with one AND.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{KeyType, UnknownName};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Chat,
    Models,
    Governor,
    UsageRead,
    ComplianceRead,
    ComplianceWrite,
}

impl Scope {
    pub const ALL: [Scope; 6] =
        [Scope::Chat, Scope::Models, Scope::Governor, Scope::UsageRead, Scope::ComplianceRead, Scope::ComplianceWrite];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Chat => "chat",
            Scope::Models => "models",
            Scope::Governor => "governor",
            Scope::UsageRead => "usage:read",
            Scope::ComplianceRead => "compliance:read",
            Scope::ComplianceWrite => "compliance:write",
        }
    }

    /// Read scopes survive in a read-only key.
    pub fn is_read(self) -> bool {
        matches!(self, Scope::Models | Scope::UsageRead | Scope::ComplianceRead)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl FromStr for Scope {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s).ok_or_else(|| UnknownName {
            kind: "scope",
            given: s.to_owned(),
            expected: "chat, models, governor, usage:read, compliance:read, compliance:write",
        })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Scope`]s.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u8);

impl Scopes {
    pub const EMPTY: Scopes = Scopes(0);

    pub fn of(scopes: &[Scope]) -> Scopes {
        Scopes(scopes.iter().fold(0, |acc, s| acc | s.bit()))
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn is_subset_of(self, other: Scopes) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn read_only(self) -> Scopes {
        Scopes::of(&self.iter().filter(|s| s.is_read()).collect::<Vec<_>>())
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// Space-separated names, the form kept in the store.
    pub fn to_list(self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }

    /// Parses names separated by spaces or commas.
    pub fn parse_list(s: &str) -> Result<Scopes, UnknownName> {
        let parsed =
            s.split([' ', ',']).filter(|part| !part.is_empty()).map(Scope::from_str).collect::<Result<Vec<_>, _>>()?;
        Ok(Scopes::of(&parsed))
    }

    /// The scopes of `self` that a key of `key_type` can never hold.
    pub fn outside(self, key_type: KeyType) -> Vec<Scope> {
        let allowed = key_type.default_scopes();
        self.iter().filter(|s| !allowed.contains(*s)).collect()
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(Scope::as_str)).finish()
    }
}

impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(Scope::as_str))
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        let parsed = names
            .iter()
            .map(|n| Scope::from_str(n))
            .collect::<Result<Vec<_>, _>>()
            .map_err(serde::de::Error::custom)?;
        Ok(Scopes::of(&parsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_read_only_follow_the_spec() {
        assert_eq!(KeyType::Gateway.default_scopes().to_list(), "chat models governor usage:read");
        assert_eq!(KeyType::Project.default_scopes().to_list(), "usage:read compliance:read compliance:write");
        assert_eq!(KeyType::Gateway.read_only_scopes().to_list(), "models usage:read");
        assert_eq!(KeyType::Project.read_only_scopes().to_list(), "usage:read compliance:read");
    }

    #[test]
    fn list_round_trips_and_rejects_unknown_names() {
        let s = Scopes::parse_list("chat, usage:read").unwrap();
        assert_eq!(Scopes::parse_list(&s.to_list()).unwrap(), s);
        assert!(Scopes::parse_list("chat admin").is_err());
        assert_eq!(
            Scopes::parse_list("compliance:write chat").unwrap().outside(KeyType::Gateway),
            vec![Scope::ComplianceWrite]
        );
    }
}
