//! Alerts on unusual key activity (docs/usage-monitoring.md, "Alert rules"): the rules that raise
//! them (see `rules.rs`), and listing and acknowledging them. An alert names its key by name and
//! display prefix, never by secret.

mod rules;

use regpilot_store::AlertRow;
use serde::{Deserialize, Serialize};

use crate::ids::new_id;
use crate::time_fmt::{opt, rfc3339};
use crate::{Actor, Control, ControlError};

pub use rules::AlertRules;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A country the key was not seen from in the 30 days before.
    NewCountry,
    /// An hour with far more requests than the key's usual hours.
    VolumeSpike,
    /// An hour with many requests and a high share of errors.
    HighErrorRate,
    /// Repeated attempts with the key while it was inactive, deleted or expired.
    InactiveKeyUse,
    /// An active key not used for a long time.
    UnusedKey,
    /// An active key old enough to be replaced.
    RotationDue,
    /// A live key reported found in public (README.md, "Leak response"): where, never the secret.
    KeyLeaked,
}

impl AlertKind {
    pub const ALL: [AlertKind; 7] = [
        AlertKind::NewCountry,
        AlertKind::VolumeSpike,
        AlertKind::HighErrorRate,
        AlertKind::InactiveKeyUse,
        AlertKind::UnusedKey,
        AlertKind::RotationDue,
        AlertKind::KeyLeaked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::NewCountry => "new_country",
            AlertKind::VolumeSpike => "volume_spike",
            AlertKind::HighErrorRate => "high_error_rate",
            AlertKind::InactiveKeyUse => "inactive_key_use",
            AlertKind::UnusedKey => "unused_key",
            AlertKind::RotationDue => "rotation_due",
            AlertKind::KeyLeaked => "key_leaked",
        }
    }

    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Activity that may be an attack or a fault is a warning; housekeeping is info.
    pub fn severity(self) -> AlertSeverity {
        match self {
            AlertKind::UnusedKey | AlertKind::RotationDue => AlertSeverity::Info,
            _ => AlertSeverity::Warning,
        }
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSeverity {
    Warning,
    Info,
}

impl AlertSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSeverity::Warning => "warning",
            AlertSeverity::Info => "info",
        }
    }

    pub fn parse(s: &str) -> Option<AlertSeverity> {
        match s {
            "warning" => Some(AlertSeverity::Warning),
            "info" => Some(AlertSeverity::Info),
            _ => None,
        }
    }
}

/// An alert as the CLI, the API and the dashboard show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertView {
    pub id: String,
    pub project_id: String,
    pub key_id: Option<String>,
    pub key_name: Option<String>,
    pub kind: AlertKind,
    pub severity: AlertSeverity,
    /// A sentence naming the key by name and display prefix.
    pub message: String,
    /// The figures behind the alert (a JSON object; its fields depend on `kind`).
    pub detail: serde_json::Value,
    pub created_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
}

impl AlertView {
    pub fn from_row(r: AlertRow) -> Result<AlertView, ControlError> {
        let bad = |what: &str| ControlError::Internal(format!("stored alert {} has an unreadable {what}", r.id));
        let kind = AlertKind::parse(&r.kind).ok_or_else(|| bad("kind"))?;
        let severity = AlertSeverity::parse(&r.severity).ok_or_else(|| bad("severity"))?;
        let detail = serde_json::from_str(&r.detail).map_err(|_| bad("detail"))?;
        Ok(AlertView {
            kind,
            severity,
            detail,
            created_at: rfc3339(r.created_at),
            acknowledged_at: opt(r.acknowledged_at),
            id: r.id,
            project_id: r.project_id,
            key_id: r.key_id,
            key_name: r.key_name,
            message: r.message,
            acknowledged_by: r.acknowledged_by,
        })
    }
}

/// An alert a rule found, before it is stored.
pub(crate) struct Finding {
    pub kind: AlertKind,
    pub project_id: String,
    pub key_id: String,
    pub key_name: String,
    /// Names the occurrence: the same finding on a later run is not raised again.
    pub dedupe: String,
    pub message: String,
    pub detail: serde_json::Value,
}

impl Control {
    /// Runs every rule with the default thresholds; see [`Control::detect_alerts_with`].
    pub async fn detect_alerts(&self, now_ms: i64) -> Result<Vec<AlertView>, ControlError> {
        self.detect_alerts_with(&AlertRules::default(), now_ms).await
    }

    /// Runs every rule over the store as of `now_ms` and stores what they find. Each finding is
    /// raised once (by its dedupe name, whichever instance or run finds it first); returns the
    /// alerts raised by this call, in rule order.
    pub async fn detect_alerts_with(&self, rules: &AlertRules, now_ms: i64) -> Result<Vec<AlertView>, ControlError> {
        let findings = rules::find(&self.store, rules, now_ms).await?;
        let mut raised = Vec::new();
        for f in findings {
            let row = AlertRow {
                id: new_id("alrt")?,
                project_id: f.project_id,
                key_id: Some(f.key_id),
                kind: f.kind.as_str().into(),
                severity: f.kind.severity().as_str().into(),
                message: f.message,
                detail: f.detail.to_string(),
                dedupe: f.dedupe,
                created_at: now_ms,
                acknowledged_at: None,
                acknowledged_by: None,
                key_name: Some(f.key_name),
            };
            if self.store.insert_alert(&row).await? {
                raised.push(AlertView::from_row(row)?);
            }
        }
        Ok(raised)
    }

    /// A project's alerts, newest first: open ones, and acknowledged ones too when asked.
    pub async fn list_alerts(
        &self,
        project_id: &str,
        include_acknowledged: bool,
    ) -> Result<Vec<AlertView>, ControlError> {
        self.get_project(project_id).await?;
        self.store.list_alerts(project_id, include_acknowledged).await?.into_iter().map(AlertView::from_row).collect()
    }

    /// One alert, acknowledged or not.
    pub async fn get_alert(&self, alert_id: &str) -> Result<AlertView, ControlError> {
        let row = self.store.get_alert(alert_id).await?.ok_or_else(|| ControlError::not_found("alert", alert_id))?;
        AlertView::from_row(row)
    }

    /// Marks an alert seen. Acknowledging it again keeps the first time and person.
    pub async fn acknowledge_alert(&self, actor: &Actor, alert_id: &str) -> Result<AlertView, ControlError> {
        let alert = self.store.get_alert(alert_id).await?.ok_or_else(|| ControlError::not_found("alert", alert_id))?;
        let audit = actor.audit(
            "alert.acknowledge",
            ("alert", alert_id),
            Some(&alert.project_id),
            Some(format!("kind={}", alert.kind)),
        );
        let row = self
            .store
            .acknowledge_alert(alert_id, &audit)
            .await?
            .ok_or_else(|| ControlError::not_found("alert", alert_id))?;
        AlertView::from_row(row)
    }
}
