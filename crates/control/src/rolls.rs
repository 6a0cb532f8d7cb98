//! Rolling a key (README.md, "Rolling a key"): a successor with the same name, type,
//! environment, scopes and project, its secret shown once; the old key keeps working until the
//! grace period ends, then expires — everywhere, because expiry is checked on every request and
//! the new expiry reaches every instance through the key change feed. Uses of the old key after
//! the roll are counted so the operator sees when nothing uses it any more.

use regpilot_keys::{display_prefix, generate};
use regpilot_store::{now_ms, KeyRollRow, KeyRow};
use serde::Serialize;

use crate::ids::new_id;
use crate::keys::{key_audit, CreatedKey, KeyStatus, KeyView};
use crate::time_fmt::{opt, rfc3339};
use crate::{Actor, Control, ControlError};

/// The default grace period: a day.
pub const DEFAULT_GRACE_MS: i64 = 24 * 3_600_000;
/// The longest grace period: 30 days.
pub const MAX_GRACE_MS: i64 = 30 * 24 * 3_600_000;

/// Reads a grace period: `0`, or a whole number followed by `s`, `m`, `h` or `d` (`90s`,
/// `15m`, `24h`, `7d`), at most 30 days. Returns milliseconds.
pub fn parse_grace(s: &str) -> Result<i64, ControlError> {
    let t = s.trim();
    let bad = || {
        ControlError::invalid(
            "grace",
            format!("'{t}' is not a grace period: give 0 or a whole number with s, m, h or d (e.g. 24h), at most 30d"),
        )
    };
    if t == "0" {
        return Ok(0);
    }
    let (digits, unit) = t.split_at(t.len().saturating_sub(1));
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 9 {
        return Err(bad());
    }
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let ms = n * unit_ms;
    if ms > MAX_GRACE_MS {
        return Err(bad());
    }
    Ok(ms)
}

/// The answer to a roll: the successor with its secret (shown once), the old key as it now is,
/// and when the grace period ends.
#[derive(Debug, Serialize)]
pub struct RolledKey {
    #[serde(flatten)]
    pub new: CreatedKey,
    pub rolled_from: KeyView,
    pub grace_ends_at: String,
}

/// How a key is linked by rolls: the key that replaced it (and how much the old one is still
/// used), and the key it replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RollInfo {
    /// The successor, when this key was rolled.
    pub rolled_to: Option<String>,
    pub rolled_at: Option<String>,
    pub grace_ends_at: Option<String>,
    /// Uses of this key (answered or refused) since it was rolled; `null` when not rolled.
    pub uses_since_roll: Option<i64>,
    pub last_use_since_roll: Option<String>,
    /// The key this one replaced, when it was created by a roll.
    pub rolled_from: Option<String>,
}

impl RollInfo {
    fn new(to: Option<KeyRollRow>, from: Option<KeyRollRow>) -> RollInfo {
        RollInfo {
            rolled_to: to.as_ref().map(|r| r.new_key_id.clone()),
            rolled_at: to.as_ref().map(|r| rfc3339(r.rolled_at)),
            grace_ends_at: to.as_ref().map(|r| rfc3339(r.grace_ends_at)),
            uses_since_roll: to.as_ref().map(|r| r.uses_since_roll),
            last_use_since_roll: to.as_ref().and_then(|r| opt(r.last_use_at)),
            rolled_from: from.map(|r| r.old_key_id),
        }
    }
}

/// One key with its roll links, as its page and the admin API show it.
#[derive(Debug, Clone, Serialize)]
pub struct KeyDetail {
    #[serde(flatten)]
    pub key: KeyView,
    #[serde(flatten)]
    pub roll: RollInfo,
}

impl Control {
    /// Rolls key `id` with a grace period of `grace_ms` (0: the old key expires now). The old
    /// key must not be deleted nor rolled already.
    pub async fn roll_key(&self, actor: &Actor, id: &str, grace_ms: i64) -> Result<RolledKey, ControlError> {
        if !(0..=MAX_GRACE_MS).contains(&grace_ms) {
            return Err(ControlError::invalid("grace", "the grace period must be from 0 to 30 days"));
        }
        let old = self.store.get_key(id).await?.ok_or_else(|| ControlError::not_found("key", id))?;
        self.check_rollable(&old).await?;
        let old_view = KeyView::from_row(&old)?;
        let now = now_ms();
        let grace_ends_at = now + grace_ms;
        let secret = generate(old_view.key_type, old_view.environment)
            .map_err(|e| ControlError::Internal(format!("OS random source: {e}")))?;
        let new = KeyRow {
            id: new_id("key")?,
            project_id: old.project_id.clone(),
            name: old.name.clone(),
            key_type: old.key_type.clone(),
            environment: old.environment.clone(),
            scopes: old.scopes.clone(),
            status: KeyStatus::Active.as_str().into(),
            digest: regpilot_keys::digest(secret.expose()).to_hex(),
            display_prefix: display_prefix(&secret),
            created_at: now,
            created_by: actor.0.clone(),
            // A key made to expire keeps its lifetime: the successor lives as long from now.
            expires_at: old.expires_at.map(|e| now + (e - old.created_at).max(0)),
            last_used_at: None,
            deleted_at: None,
        };
        let audit_old = key_audit(
            actor,
            "key.roll",
            &old,
            Some(format!("rolled_to={} grace_ends_at={}", new.id, rfc3339(grace_ends_at))),
        );
        let audit_new = key_audit(
            actor,
            "key.create",
            &new,
            Some(format!("rolled_from={} type={} env={} scopes={}", old.id, new.key_type, new.environment, new.scopes)),
        );
        match self.store.roll_key(id, &new, grace_ends_at, &audit_old, &audit_new).await? {
            Some((old, new)) => Ok(RolledKey {
                new: CreatedKey { key: KeyView::from_row(&new)?, secret },
                rolled_from: KeyView::from_row(&old)?,
                grace_ends_at: rfc3339(grace_ends_at),
            }),
            // Changed between the read and the write (deleted or rolled meanwhile).
            None => {
                let now = self.store.get_key(id).await?.ok_or_else(|| ControlError::not_found("key", id))?;
                self.check_rollable(&now).await?;
                Err(ControlError::Conflict(format!("key '{id}' changed while it was being rolled; try again")))
            }
        }
    }

    async fn check_rollable(&self, key: &KeyRow) -> Result<(), ControlError> {
        if key.status == KeyStatus::Deleted.as_str() {
            return Err(ControlError::Conflict(format!(
                "key '{}' was deleted; deleted keys are permanent and cannot be rolled — create a new key instead",
                key.id
            )));
        }
        if let (Some(to), _) = self.store.rolls_of_key(&key.id).await? {
            return Err(ControlError::Conflict(format!(
                "key '{}' was already rolled to '{}'; roll that key instead",
                key.id, to.new_key_id
            )));
        }
        Ok(())
    }

    /// A project's keys (deleted ones left out, oldest first), each with its roll links.
    pub async fn list_key_details(&self, project_id: &str) -> Result<Vec<KeyDetail>, ControlError> {
        let keys = self.list_keys(project_id).await?;
        let rolls = self.store.rolls_in_project(project_id).await?;
        Ok(keys
            .into_iter()
            .map(|key| {
                let to = rolls.iter().find(|r| r.old_key_id == key.id).cloned();
                let from = rolls.iter().find(|r| r.new_key_id == key.id).cloned();
                KeyDetail { key, roll: RollInfo::new(to, from) }
            })
            .collect())
    }

    /// A key with its roll links: what replaced it and how much it is still used, what it
    /// replaced.
    pub async fn get_key_detail(&self, id: &str) -> Result<KeyDetail, ControlError> {
        let key = self.get_key(id).await?;
        let (to, from) = self.store.rolls_of_key(id).await?;
        Ok(KeyDetail { key, roll: RollInfo::new(to, from) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_periods_parse() {
        assert_eq!(parse_grace("0").unwrap(), 0);
        assert_eq!(parse_grace("24h").unwrap(), DEFAULT_GRACE_MS);
        assert_eq!(parse_grace(" 90s ").unwrap(), 90_000);
        assert_eq!(parse_grace("15m").unwrap(), 900_000);
        assert_eq!(parse_grace("30d").unwrap(), MAX_GRACE_MS);
        for bad in ["", "h", "24", "31d", "-1h", "1.5h", "24H", "1w", "99999999999d", "0s0"] {
            assert!(matches!(parse_grace(bad), Err(ControlError::Invalid { field: "grace", .. })), "{bad}");
        }
    }
}
