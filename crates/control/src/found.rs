//! Secrets found somewhere — by `regpilot scan` or in a leak report — and what the store knows
//! about them, by digest only (README.md, "Secret scanning").

use regpilot_keys::is_admin_token;
use regpilot_store::KeyRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Control, ControlError, DigestState};

/// At most this many digests per status request (one scan of a large tree sends batches).
pub const MAX_STATUS_DIGESTS: usize = 1000;

/// What a checksum-valid string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// `sk_…` or `pk_…` (README.md, "Keys").
    ApiKey,
    /// `rpa_…`, a dashboard user's personal admin token.
    AdminToken,
}

impl SecretKind {
    /// The kind of `s` when it has a format and a valid checksum; `None` for anything else, so
    /// random text is never taken for a secret.
    pub fn of(s: &str) -> Option<SecretKind> {
        if regpilot_keys::parse(s).is_ok() {
            Some(SecretKind::ApiKey)
        } else if is_admin_token(s) {
            Some(SecretKind::AdminToken)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::ApiKey => "api_key",
            SecretKind::AdminToken => "admin_token",
        }
    }
}

/// Whether a found secret still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FoundStatus {
    /// It authenticates now: act on it.
    Live,
    Inactive,
    Deleted,
    Expired,
    /// Not a secret this store issued (or one whose kind it does not keep).
    Unknown,
}

impl FoundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FoundStatus::Live => "live",
            FoundStatus::Inactive => "inactive",
            FoundStatus::Deleted => "deleted",
            FoundStatus::Expired => "expired",
            FoundStatus::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<FoundStatus> {
        [FoundStatus::Live, FoundStatus::Inactive, FoundStatus::Deleted, FoundStatus::Expired, FoundStatus::Unknown]
            .into_iter()
            .find(|f| f.as_str() == s)
    }

    pub(crate) fn of_key(row: &KeyRow, now: i64) -> FoundStatus {
        match row.status.as_str() {
            "deleted" => FoundStatus::Deleted,
            "inactive" => FoundStatus::Inactive,
            _ if row.expires_at.is_some_and(|e| e <= now) => FoundStatus::Expired,
            _ => FoundStatus::Live,
        }
    }
}

/// One digest's answer: `{"digest","status","prefix","key_id"}` (`prefix` and `key_id` are
/// null when unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecretStatus {
    /// The SHA-256 (lowercase hex) asked about.
    pub digest: String,
    pub status: FoundStatus,
    /// The display prefix of the key with that digest.
    pub prefix: Option<String>,
    pub key_id: Option<String>,
}

impl Control {
    /// What the store knows about each digest (lowercase hex SHA-256 of a found string), in the
    /// order asked: keys and admin tokens, by the one rule of [`Control::digest_statuses`].
    pub async fn secret_statuses(&self, digests: &[String]) -> Result<Vec<SecretStatus>, ControlError> {
        if digests.len() > MAX_STATUS_DIGESTS {
            return Err(ControlError::invalid(
                "digests",
                format!("at most {MAX_STATUS_DIGESTS} digests per request (got {})", digests.len()),
            ));
        }
        Ok(self
            .digest_statuses(digests)
            .await?
            .into_iter()
            .map(|d| SecretStatus {
                status: match d.status {
                    DigestState::Live => FoundStatus::Live,
                    DigestState::Inactive => FoundStatus::Inactive,
                    DigestState::Deleted => FoundStatus::Deleted,
                    DigestState::Expired => FoundStatus::Expired,
                    DigestState::Unknown => FoundStatus::Unknown,
                },
                digest: d.digest,
                prefix: d.prefix,
                key_id: d.key_id,
            })
            .collect())
    }
}
