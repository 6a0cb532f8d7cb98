//! What a presented key is: parsed, digested, looked up, its status and expiry checked.

use regpilot_control::KeyStatus;
use regpilot_keys::ParseError;

use super::extract::Presented;
use crate::metrics::AUTH_REASONS;
use crate::path::index::{IndexedKey, KeyIndex};

/// The outcome of reading a request's key. Only `Ok` authenticates; every other variant keeps
/// its reason for logs and metrics, while the HTTP answer is the same 401 for all of them but
/// `DuplicateHeader`, a 400 naming the header (README.md, "Presenting a key").
#[derive(Debug, Clone)]
pub enum AuthOutcome {
    DuplicateHeader(&'static str),
    Missing,
    Malformed,
    BadChecksum,
    Unknown,
    Inactive(IndexedKey),
    Deleted(IndexedKey),
    Expired(IndexedKey),
    Ok(IndexedKey),
}

impl AuthOutcome {
    /// The label used in logs and metrics.
    pub fn reason(&self) -> &'static str {
        AUTH_REASONS[self.reason_index()]
    }

    pub fn reason_index(&self) -> usize {
        match self {
            AuthOutcome::Ok(_) => 0,
            AuthOutcome::Missing => 1,
            AuthOutcome::Malformed => 2,
            AuthOutcome::BadChecksum => 3,
            AuthOutcome::Unknown => 4,
            AuthOutcome::Inactive(_) => 5,
            AuthOutcome::Deleted(_) => 6,
            AuthOutcome::Expired(_) => 7,
            AuthOutcome::DuplicateHeader(_) => 8,
        }
    }

    /// The key behind a refusal, when it is one we know (for the log line).
    pub fn known_key(&self) -> Option<&IndexedKey> {
        match self {
            AuthOutcome::Inactive(k) | AuthOutcome::Deleted(k) | AuthOutcome::Expired(k) | AuthOutcome::Ok(k) => {
                Some(k)
            }
            _ => None,
        }
    }
}

/// Resolves a presented key against the index: parse (no I/O), digest, look up, check status
/// and expiry. `now_ms` is passed in so tests control time.
pub fn verify(presented: Presented<'_>, index: &KeyIndex, now_ms: i64) -> AuthOutcome {
    let raw = match presented {
        Presented::None => return AuthOutcome::Missing,
        Presented::Unreadable => return AuthOutcome::Malformed,
        Presented::Duplicate(header) => return AuthOutcome::DuplicateHeader(header),
        Presented::Key(raw) => raw,
    };
    let parsed = match regpilot_keys::parse(raw) {
        Ok(p) => p,
        Err(ParseError::Malformed) => return AuthOutcome::Malformed,
        Err(ParseError::BadChecksum) => return AuthOutcome::BadChecksum,
    };
    let Some(key) = index.get(&parsed.digest()) else {
        return AuthOutcome::Unknown;
    };
    match key.status {
        KeyStatus::Deleted => AuthOutcome::Deleted(key),
        KeyStatus::Inactive => AuthOutcome::Inactive(key),
        KeyStatus::Active if key.expires_at_ms.is_some_and(|e| e <= now_ms) => AuthOutcome::Expired(key),
        KeyStatus::Active => AuthOutcome::Ok(key),
    }
}
