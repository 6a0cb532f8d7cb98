//! Leak response (README.md, "Leak response"): strings reported found in public, in the shape of
//! a secret-scanning partner report. A live key is deactivated (or, with `leak_action = alert`,
//! only alerted on), a `key_leaked` alert says where it was found, and the audit log names the
//! actor `leak-report`. Anything else changes nothing. The reported string is only ever digested:
//! it reaches no log, alert, audit entry or answer.

use std::fmt;

use regpilot_store::{now_ms, AlertRow, KeyRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::found::{FoundStatus, SecretKind};
use crate::ids::new_id;
use crate::{Actor, AlertKind, Control, ControlError};

/// At most this many strings per report.
pub const MAX_LEAK_REPORT_ITEMS: usize = 1000;
const MAX_TYPE_LEN: usize = 100;
const MAX_URL_LEN: usize = 2048;
const MAX_SOURCE_LEN: usize = 200;

/// What a report does to a live key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeakAction {
    /// Deactivate it (refused everywhere within a second) and raise the alert.
    #[default]
    Deactivate,
    /// Only raise the alert; the key keeps working until someone acts.
    Alert,
}

impl LeakAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LeakAction::Deactivate => "deactivate",
            LeakAction::Alert => "alert",
        }
    }
}

impl std::str::FromStr for LeakAction {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "deactivate" => Ok(LeakAction::Deactivate),
            "alert" => Ok(LeakAction::Alert),
            other => Err(format!("must be `deactivate` or `alert` (got {other:?})")),
        }
    }
}

/// The reported string. Its `Debug` never shows it.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String)]
pub struct ReportedToken(String);

impl ReportedToken {
    pub fn new(s: impl Into<String>) -> ReportedToken {
        ReportedToken(s.into())
    }
}

impl fmt::Debug for ReportedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReportedToken(<redacted>)")
    }
}

/// One string found somewhere public.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeakReportItem {
    /// The string found.
    pub token: ReportedToken,
    /// The reporter's name for what it matched (echoed back, at most 100 characters).
    #[serde(rename = "type")]
    pub token_type: String,
    /// Where it was found (at most 2048 characters).
    #[serde(default)]
    pub url: String,
    /// Who or what found it, e.g. `content` or `commit` (at most 200 characters).
    #[serde(default)]
    pub source: String,
}

/// What became of one reported string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeakLabel {
    /// A live key, now deactivated.
    LiveKeyDeactivated,
    /// A live key, alerted on and left working (`leak_action = alert`).
    LiveKeyAlerted,
    /// A key of this store that no longer authenticates (inactive, deleted or expired):
    /// nothing changed.
    Inactive,
    /// The format and checksum of a key or admin token, but none this store knows.
    Unknown,
    /// Not a key or admin token at all (wrong format or checksum).
    Invalid,
}

/// The answer for one reported string, in the order reported. Never the string itself.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LeakVerdict {
    /// The display prefix (first 12 and last 4 characters) of a checksum-valid string; null
    /// for an invalid one, of which nothing is echoed.
    pub token_prefix: Option<String>,
    /// The reporter's `type`, echoed.
    #[serde(rename = "type")]
    pub token_type: String,
    /// `api_key` or `admin_token`; null when invalid.
    pub kind: Option<SecretKind>,
    pub label: LeakLabel,
    /// The key's status after the report; null when not a key of this store.
    pub status: Option<FoundStatus>,
    /// Whether this report raised a new `key_leaked` alert (false on a replay).
    pub alert_raised: bool,
}

impl Actor {
    /// The actor of every change a leak report makes.
    pub fn leak_report() -> Actor {
        Actor("leak-report".into())
    }
}

impl Control {
    /// Acts on each reported string in turn (a string reported twice in one batch is answered
    /// `inactive` the second time when the first deactivated it).
    pub async fn report_leaks(
        &self,
        items: &[LeakReportItem],
        action: LeakAction,
    ) -> Result<Vec<LeakVerdict>, ControlError> {
        if items.len() > MAX_LEAK_REPORT_ITEMS {
            return Err(ControlError::invalid(
                "body",
                format!("a report holds at most {MAX_LEAK_REPORT_ITEMS} items (got {})", items.len()),
            ));
        }
        for (i, item) in items.iter().enumerate() {
            for (field, value, max) in [
                ("type", &item.token_type, MAX_TYPE_LEN),
                ("url", &item.url, MAX_URL_LEN),
                ("source", &item.source, MAX_SOURCE_LEN),
            ] {
                if value.chars().count() > max {
                    return Err(ControlError::invalid(
                        field,
                        format!("item {i}: {field} is longer than {max} characters"),
                    ));
                }
            }
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.report_one(item, action).await?);
        }
        Ok(out)
    }

    async fn report_one(&self, item: &LeakReportItem, action: LeakAction) -> Result<LeakVerdict, ControlError> {
        let token = item.token.0.trim();
        let mut verdict = LeakVerdict {
            token_prefix: None,
            token_type: item.token_type.clone(),
            kind: SecretKind::of(token),
            label: LeakLabel::Invalid,
            status: None,
            alert_raised: false,
        };
        let Some(kind) = verdict.kind else { return Ok(verdict) };
        let shown = regpilot_keys::display_prefix_of(token);
        // The echoed `type` is the reporter's text; it must not carry the secret back either.
        verdict.token_type = verdict.token_type.replace(token, &shown);
        verdict.token_prefix = Some(shown);
        verdict.label = LeakLabel::Unknown;
        let digest = regpilot_keys::digest(token).to_hex();
        if kind == SecretKind::AdminToken {
            return self.report_admin_token(item, token, &digest, action, verdict).await;
        }
        let Some(key) = self.store.get_key_by_digest(&digest).await? else { return Ok(verdict) };
        let now = now_ms();
        let status = FoundStatus::of_key(&key, now);
        verdict.status = Some(status);
        if status != FoundStatus::Live {
            verdict.label = LeakLabel::Inactive;
            return Ok(verdict);
        }
        let place = Place::of(item, token);
        let actor = Actor::leak_report();
        match action {
            LeakAction::Deactivate => {
                let audit = actor.audit(
                    "key.deactivate",
                    ("key", &key.id),
                    Some(&key.project_id),
                    Some(format!("leak reported: {}", place.describe())),
                );
                if self.store.change_key_status(&key.id, &["active"], "inactive", &audit).await?.is_none() {
                    // Another report (or a person) deactivated it first.
                    let now_row = self.store.get_key(&key.id).await?;
                    verdict.status = Some(now_row.map_or(FoundStatus::Unknown, |r| FoundStatus::of_key(&r, now)));
                    verdict.label = LeakLabel::Inactive;
                    return Ok(verdict);
                }
                verdict.status = Some(FoundStatus::Inactive);
                verdict.label = LeakLabel::LiveKeyDeactivated;
                verdict.alert_raised = self.store.insert_alert(&leak_alert(&key, &place, action, now)?).await?;
            }
            LeakAction::Alert => {
                let audit = actor.audit(
                    "key.leak_reported",
                    ("key", &key.id),
                    Some(&key.project_id),
                    Some(format!("leak reported, key left active: {}", place.describe())),
                );
                verdict.label = LeakLabel::LiveKeyAlerted;
                verdict.alert_raised =
                    self.store.insert_alert_audited(&leak_alert(&key, &place, action, now)?, &audit).await?;
            }
        }
        tracing::warn!(
            key_id = %key.id,
            project_id = %key.project_id,
            action = action.as_str(),
            url = %place.url,
            source = %place.source,
            "leaked key reported"
        );
        Ok(verdict)
    }
}

impl Control {
    /// A reported admin token: with `leak_action = deactivate` a live one is revoked at once (a
    /// person's credential to the whole control plane); with `alert`, the report is audited
    /// and logged and the token left working. Admin tokens belong to no project, so no
    /// project alert is raised; the audit log and the log line carry where it was found.
    async fn report_admin_token(
        &self,
        item: &LeakReportItem,
        token: &str,
        digest: &str,
        action: LeakAction,
        mut verdict: LeakVerdict,
    ) -> Result<LeakVerdict, ControlError> {
        let Some(found) = self.digest_statuses(&[digest.to_owned()]).await?.into_iter().next() else {
            return Ok(verdict);
        };
        let Some(token_id) = found.key_id.clone() else { return Ok(verdict) };
        let status = FoundStatus::parse(match found.status {
            crate::DigestState::Live => "live",
            crate::DigestState::Inactive => "inactive",
            crate::DigestState::Deleted => "deleted",
            crate::DigestState::Expired => "expired",
            crate::DigestState::Unknown => "unknown",
        })
        .unwrap_or(FoundStatus::Unknown);
        verdict.status = Some(status);
        if status == FoundStatus::Unknown {
            return Ok(verdict);
        }
        if status != FoundStatus::Live {
            verdict.label = LeakLabel::Inactive;
            return Ok(verdict);
        }
        let place = Place::of(item, token);
        let actor = Actor::leak_report();
        match action {
            LeakAction::Deactivate => match self.revoke_admin_token(&actor, &token_id, None).await {
                Ok(_) => {
                    verdict.status = Some(FoundStatus::Deleted);
                    verdict.label = LeakLabel::LiveKeyDeactivated;
                }
                // Revoked meanwhile by someone else.
                Err(ControlError::Conflict(_)) => {
                    verdict.status = Some(FoundStatus::Deleted);
                    verdict.label = LeakLabel::Inactive;
                    return Ok(verdict);
                }
                Err(e) => return Err(e),
            },
            LeakAction::Alert => {
                let audit = actor.audit(
                    "admin_token.leak_reported",
                    ("admin_token", &token_id),
                    None,
                    Some(format!("leak reported, token left working: {}", place.describe())),
                );
                self.store.insert_audit_entry(&audit).await?;
                verdict.label = LeakLabel::LiveKeyAlerted;
            }
        }
        tracing::warn!(
            token_id = %token_id,
            action = action.as_str(),
            url = %place.url,
            source = %place.source,
            "leaked admin token reported"
        );
        Ok(verdict)
    }
}

/// Where a string was found, with any copy of the string itself cut out (a report could carry
/// it in its url).
struct Place {
    url: String,
    source: String,
}

impl Place {
    fn of(item: &LeakReportItem, token: &str) -> Place {
        let hide = |s: &str| s.replace(token, &regpilot_keys::display_prefix_of(token));
        Place { url: hide(item.url.trim()), source: hide(item.source.trim()) }
    }

    fn describe(&self) -> String {
        match (self.url.is_empty(), self.source.is_empty()) {
            (true, true) => "no location given".into(),
            (false, true) => self.url.clone(),
            (true, false) => format!("source {}", self.source),
            (false, false) => format!("{} (source {})", self.url, self.source),
        }
    }
}

fn leak_alert(key: &KeyRow, place: &Place, action: LeakAction, now: i64) -> Result<AlertRow, ControlError> {
    let outcome = match action {
        LeakAction::Deactivate => "it was deactivated",
        LeakAction::Alert => "it is still active: roll or deactivate it",
    };
    let kind = AlertKind::KeyLeaked;
    // One alert per key and place: the same report replayed raises nothing new.
    let place_digest = regpilot_keys::digest(&format!("{}\n{}", place.url, place.source)).to_hex();
    Ok(AlertRow {
        id: new_id("alrt")?,
        project_id: key.project_id.clone(),
        key_id: Some(key.id.clone()),
        kind: kind.as_str().into(),
        severity: kind.severity().as_str().into(),
        message: format!(
            "Key \"{}\" ({}) was reported found in public at {}; {outcome}",
            key.name,
            key.display_prefix,
            place.describe()
        ),
        detail: serde_json::json!({
            "url": place.url,
            "source": place.source,
            "action": action.as_str(),
        })
        .to_string(),
        dedupe: format!("key_leaked:{}:{}", key.id, &place_digest[..16]),
        created_at: now,
        acknowledged_at: None,
        acknowledged_by: None,
        key_name: None,
    })
}
