//! What a secret scanner asks (README.md, "Admin API"): for each SHA-256 digest of a string it
//! found, whether it is a live key (or admin token), one that no longer works, or unknown — by
//! digest, so no secret travels. Deleted keys are kept as tombstones, so they answer `deleted`.

use regpilot_store::{now_ms, DigestMatch};
use serde::Serialize;

use crate::{Control, ControlError};

/// The most digests one call may ask about.
pub const MAX_DIGESTS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestState {
    Live,
    Inactive,
    Deleted,
    Expired,
    Unknown,
}

/// The answer for one digest. `kind` is `api_key` or `admin_token` (absent for unknown ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DigestStatus {
    pub digest: String,
    pub status: DigestState,
    pub kind: Option<&'static str>,
    pub prefix: Option<String>,
    pub key_id: Option<String>,
}

fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Control {
    /// The status of each digest, in the order asked. Digests are lowercase hex SHA-256 (64
    /// characters); at most [`MAX_DIGESTS`].
    pub async fn digest_statuses(&self, digests: &[String]) -> Result<Vec<DigestStatus>, ControlError> {
        if digests.len() > MAX_DIGESTS {
            return Err(ControlError::invalid("digests", format!("at most {MAX_DIGESTS} digests per call")));
        }
        if let Some(i) = digests.iter().position(|d| !is_digest(d)) {
            return Err(ControlError::invalid(
                "digests",
                format!("digests[{i}] is not a SHA-256 digest (64 lowercase hexadecimal characters)"),
            ));
        }
        let now = now_ms();
        let found = self.store.match_digests(digests).await?;
        Ok(digests
            .iter()
            .map(|d| {
                let m = found.iter().find(|m| match m {
                    DigestMatch::Key(k) => &k.digest == d,
                    DigestMatch::Token(t, _) => &t.digest == d,
                });
                let (status, kind, prefix, id) = match m {
                    None => (DigestState::Unknown, None, None, None),
                    Some(DigestMatch::Key(k)) => {
                        let status = match k.status.as_str() {
                            "deleted" => DigestState::Deleted,
                            "inactive" => DigestState::Inactive,
                            _ if k.expires_at.is_some_and(|e| e <= now) => DigestState::Expired,
                            _ => DigestState::Live,
                        };
                        (status, Some("api_key"), Some(k.display_prefix.clone()), Some(k.id.clone()))
                    }
                    Some(DigestMatch::Token(t, user_status)) => {
                        let status = if t.revoked_at.is_some() {
                            DigestState::Deleted
                        } else if t.expires_at.is_some_and(|e| e <= now) {
                            DigestState::Expired
                        } else if user_status != "active" {
                            DigestState::Inactive
                        } else {
                            DigestState::Live
                        };
                        (status, Some("admin_token"), Some(t.display_prefix.clone()), Some(t.id.clone()))
                    }
                };
                DigestStatus { digest: d.clone(), status, kind, prefix, key_id: id }
            })
            .collect())
    }
}
