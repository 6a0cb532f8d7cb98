//! The Governor's control plane (docs/governor.md): a project's settings (mode, whether it is
//! on, prompt checks, which results open a violation), its custom policies, and the audit of
//! every validation with the violation a high (or, by setting, medium) result opens.
//!
//! The rules on text live in `regpilot_governor`; this layer only validates, stores and lists.

use std::str::FromStr;

use regpilot_governor::{AppliesTo, Level, Mode, PolicyDef, Severity as RuleSeverity};
use regpilot_store::{now_ms, AuditFilter, GovernorAuditRow, GovernorSettingsRow, PolicyRow, ViolationRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{new_id, new_time_ordered_id};
use crate::plans::Plan;
use crate::time_fmt::{opt, rfc3339};
use crate::{Actor, Control, ControlError};

/// At most this many policies per project (every answer is checked against all of them).
pub const MAX_POLICIES: i64 = 200;
/// Audits per page: the default and the most.
pub const AUDIT_PAGE_DEFAULT: u32 = 50;
pub const AUDIT_PAGE_MAX: u32 = 500;

/// The lowest result level that opens a compliance violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ViolationThreshold {
    High,
    Medium,
}

impl ViolationThreshold {
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationThreshold::High => "high",
            ViolationThreshold::Medium => "medium",
        }
    }

    pub fn parse(s: &str) -> Result<ViolationThreshold, ControlError> {
        match s {
            "high" => Ok(ViolationThreshold::High),
            "medium" => Ok(ViolationThreshold::Medium),
            other => {
                Err(ControlError::invalid("violations", format!("violations must be high or medium (got '{other}')")))
            }
        }
    }

    /// Whether a result of `level` opens a violation.
    pub fn opens(self, level: Level) -> bool {
        match self {
            ViolationThreshold::High => level == Level::High,
            ViolationThreshold::Medium => level != Level::Low,
        }
    }
}

/// A project's Governor settings as the gateway applies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernorConfig {
    /// Whether requests with `governorMetadata` are validated (false: they get 403).
    pub enabled: bool,
    pub mode: Mode,
    pub check_prompts: bool,
    pub violations: ViolationThreshold,
}

impl GovernorConfig {
    /// The settings a project gets from its plan and its stored row (None: the defaults).
    /// Free has no Governor; pro has it unless switched off; enterprise always.
    pub fn of(plan: Plan, row: Option<&GovernorSettingsRow>) -> GovernorConfig {
        let stored_enabled = row.and_then(|r| r.enabled);
        let enabled = match plan {
            Plan::Free => false,
            Plan::Pro => stored_enabled.unwrap_or(true),
            Plan::Enterprise => true,
        };
        GovernorConfig {
            enabled,
            mode: row.and_then(|r| r.mode.parse().ok()).unwrap_or(Mode::Sanitize),
            check_prompts: row.is_some_and(|r| r.check_prompts),
            violations: row
                .and_then(|r| ViolationThreshold::parse(&r.violations).ok())
                .unwrap_or(ViolationThreshold::High),
        }
    }
}

/// A project's Governor settings, as the API, CLI and dashboard show them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GovernorSettingsView {
    pub project_id: String,
    /// Whether the project's plan offers the Governor (pro and enterprise).
    pub available: bool,
    /// Whether chat requests with `governorMetadata` are validated.
    pub enabled: bool,
    /// `sanitize`, `block` or `monitor`.
    pub mode: String,
    pub check_prompts: bool,
    /// The lowest level that opens a violation: `high` or `medium`.
    pub violations: String,
    pub updated_at: Option<String>,
}

/// A change of settings: only the fields given change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GovernorSettingsPatch {
    pub mode: Option<String>,
    pub enabled: Option<bool>,
    pub check_prompts: Option<bool>,
    pub violations: Option<String>,
}

/// A new custom policy.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPolicy {
    pub name: String,
    /// Words or phrases matched case-insensitively as whole words.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// A regular expression (Rust `regex` syntax, at most 1,000 characters).
    pub pattern: Option<String>,
    /// `response` (default), `prompt` or `both`.
    #[serde(alias = "appliesTo")]
    pub applies_to: Option<String>,
    /// `block`, `warn`, `redact`, `replace`, `append`, `require_approval`, `log` or `notify`.
    pub action: String,
    /// `low`, `medium` (default), `high` or `critical`.
    pub severity: Option<String>,
    /// The text that replaces a match (`replace`, optional for `redact`).
    pub replacement: Option<String>,
    /// The text appended to an answer that matches (`append`).
    pub appendix: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
    /// Default false: a shadow policy is matched and audited but changes nothing.
    pub shadow: Option<bool>,
}

/// A change of a policy: only the fields given change; `null` (or an empty string) clears
/// `pattern`, `replacement` or `appendix`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyPatch {
    pub name: Option<String>,
    pub keywords: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub pattern: Option<Option<String>>,
    #[serde(alias = "appliesTo")]
    pub applies_to: Option<String>,
    pub action: Option<String>,
    pub severity: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub replacement: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub appendix: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub shadow: Option<bool>,
}

/// A field that is present (its value may be `null`): `Some`, whatever the value.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyView {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub keywords: Vec<String>,
    pub pattern: Option<String>,
    pub applies_to: String,
    pub action: String,
    pub severity: String,
    pub replacement: Option<String>,
    pub appendix: Option<String>,
    pub enabled: bool,
    pub shadow: bool,
    /// 1 at creation, one more at every change.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// One finding of a validation: the rule, never the matched text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FindingRecord {
    pub rule: String,
    pub category: String,
    pub severity: String,
    /// Byte offsets into the checked text.
    pub start: usize,
    pub end: usize,
    pub shadow: bool,
}

/// What the gateway records of one validation.
#[derive(Debug, Clone)]
pub struct ValidationRecord {
    pub audit_id: String,
    pub project_id: String,
    pub key_id: String,
    pub at_ms: i64,
    /// `response` or `prompt`.
    pub target: &'static str,
    pub action_type: String,
    pub sender_id: String,
    pub recipient_country: String,
    pub score: u8,
    pub level: Level,
    /// `approved`, `sanitized`, `flagged` or `blocked`.
    pub action: &'static str,
    pub mode: Mode,
    pub findings: Vec<FindingRecord>,
    pub original_sha256: String,
    pub delivered_sha256: String,
    /// The delivered text, only when `governor_store_content` is on.
    pub content: Option<String>,
    /// Whether this result opens a violation (the project's threshold).
    pub open_violation: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GovernorAuditView {
    pub id: String,
    pub project_id: String,
    pub key_id: String,
    pub created_at: String,
    pub target: String,
    pub action_type: String,
    pub sender_id: String,
    pub recipient_country: String,
    pub risk_score: i64,
    pub risk_level: String,
    pub action: String,
    pub mode: String,
    pub findings: Vec<FindingRecord>,
    pub original_sha256: String,
    pub delivered_sha256: String,
    /// Only when the server stores content (`governor_store_content`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    pub violation_id: Option<String>,
}

impl GovernorAuditView {
    /// The rule ids of the findings that count (not shadow), each once, in order.
    pub fn rule_ids(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for f in self.findings.iter().filter(|f| !f.shadow) {
            if !out.contains(&f.rule.as_str()) {
                out.push(&f.rule);
            }
        }
        out
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GovernorAuditPage {
    pub audits: Vec<GovernorAuditView>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Which audits to list.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AuditQuery {
    /// `low`, `medium` or `high`.
    pub level: Option<String>,
    /// RFC 3339 time or Unix seconds: only audits from then on.
    pub since: Option<String>,
    /// 1 to 500, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Counts of a project's validations by level (the dashboard's chart).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct LevelCounts {
    pub low: i64,
    pub medium: i64,
    pub high: i64,
}

fn parse_enum<T: FromStr>(field: &'static str, value: &str, names: &str) -> Result<T, ControlError> {
    value.parse().map_err(|_| ControlError::invalid(field, format!("{field} must be one of: {names} (got '{value}')")))
}

const MODES: &str = "sanitize, block, monitor";
const ACTIONS: &str = "block, warn, redact, replace, append, require_approval, log, notify";
const APPLIES: &str = "response, prompt, both";
const SEVERITIES: &str = "low, medium, high, critical";
const LEVELS: &str = "low, medium, high";

fn settings_view(project_id: &str, plan: Plan, row: Option<&GovernorSettingsRow>) -> GovernorSettingsView {
    let config = GovernorConfig::of(plan, row);
    GovernorSettingsView {
        project_id: project_id.to_owned(),
        available: plan != Plan::Free,
        enabled: config.enabled,
        mode: config.mode.as_str().to_owned(),
        check_prompts: config.check_prompts,
        violations: config.violations.as_str().to_owned(),
        updated_at: opt(row.map(|r| r.updated_at)),
    }
}

/// The policy as the engine compiles it.
pub fn policy_def(row: &PolicyRow) -> Result<PolicyDef, ControlError> {
    let unreadable = |what: &str| ControlError::Internal(format!("stored policy {} has an unreadable {what}", row.id));
    Ok(PolicyDef {
        id: row.id.clone(),
        name: row.name.clone(),
        keywords: serde_json::from_str(&row.keywords).map_err(|_| unreadable("keyword list"))?,
        pattern: row.pattern.clone(),
        applies_to: row.applies_to.parse().map_err(|_| unreadable("applies_to"))?,
        action: row.action.parse().map_err(|_| unreadable("action"))?,
        severity: row.severity.parse().map_err(|_| unreadable("severity"))?,
        replacement: row.replacement.clone(),
        appendix: row.appendix.clone(),
        enabled: row.enabled,
        shadow: row.shadow,
    })
}

fn policy_view(row: PolicyRow) -> Result<PolicyView, ControlError> {
    let def = policy_def(&row)?;
    Ok(PolicyView {
        id: row.id,
        project_id: row.project_id,
        name: row.name,
        keywords: def.keywords,
        pattern: row.pattern,
        applies_to: row.applies_to,
        action: row.action,
        severity: row.severity,
        replacement: row.replacement,
        appendix: row.appendix,
        enabled: row.enabled,
        shadow: row.shadow,
        version: row.version,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    })
}

/// Empty strings clear an optional text.
fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

fn validate(def: &PolicyDef) -> Result<(), ControlError> {
    def.validate().map_err(|e| ControlError::invalid(e.field, e.message))
}

fn audit_view(r: GovernorAuditRow) -> Result<GovernorAuditView, ControlError> {
    let findings = serde_json::from_str(&r.findings)
        .map_err(|_| ControlError::Internal(format!("stored audit {} has unreadable findings", r.id)))?;
    Ok(GovernorAuditView {
        id: r.id,
        project_id: r.project_id,
        key_id: r.key_id,
        created_at: rfc3339(r.created_at),
        target: r.target,
        action_type: r.action_type,
        sender_id: r.sender_id,
        recipient_country: r.recipient_country,
        risk_score: r.risk_score,
        risk_level: r.risk_level,
        action: r.action,
        mode: r.mode,
        findings,
        original_sha256: r.original_sha256,
        delivered_sha256: r.delivered_sha256,
        content: r.content,
        violation_id: r.violation_id,
    })
}

fn parse_since(s: &str) -> Result<i64, ControlError> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<i64>() {
        return secs.checked_mul(1000).ok_or_else(|| ControlError::invalid("since", "since is out of range"));
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| ControlError::invalid("since", "since must be an RFC 3339 time or Unix seconds"))
}

fn parse_cursor(s: &str) -> Result<(i64, String), ControlError> {
    let bad = || ControlError::invalid("cursor", "cursor is not one this server gave out");
    let (at, id) = s.split_once('.').ok_or_else(bad)?;
    let at = at.parse::<i64>().map_err(|_| bad())?;
    if !id.starts_with("gva_") || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(bad());
    }
    Ok((at, id.to_owned()))
}

fn violation_severity(level: Level, findings: &[FindingRecord]) -> &'static str {
    if findings.iter().any(|f| !f.shadow && f.severity == RuleSeverity::Critical.as_str()) {
        "critical"
    } else if level == Level::High {
        "high"
    } else {
        "medium"
    }
}

impl Control {
    async fn project_plan(&self, project_id: &str) -> Result<Plan, ControlError> {
        let project = self.get_project(project_id).await?;
        Ok(project.plan)
    }

    pub async fn governor_settings(&self, project_id: &str) -> Result<GovernorSettingsView, ControlError> {
        let plan = self.project_plan(project_id).await?;
        let row = self.store().governor_settings(project_id).await?;
        Ok(settings_view(project_id, plan, row.as_ref()))
    }

    /// Changes a project's settings. Free projects cannot switch the Governor on; enterprise
    /// projects cannot switch it off.
    pub async fn set_governor(
        &self,
        actor: &Actor,
        project_id: &str,
        patch: GovernorSettingsPatch,
    ) -> Result<GovernorSettingsView, ControlError> {
        let plan = self.project_plan(project_id).await?;
        let current = self.store().governor_settings(project_id).await?;
        let mode: Mode = match &patch.mode {
            Some(m) => parse_enum("mode", m, MODES)?,
            None => current.as_ref().and_then(|r| r.mode.parse().ok()).unwrap_or(Mode::Sanitize),
        };
        let violations = match &patch.violations {
            Some(v) => ViolationThreshold::parse(v)?,
            None => current
                .as_ref()
                .and_then(|r| ViolationThreshold::parse(&r.violations).ok())
                .unwrap_or(ViolationThreshold::High),
        };
        match (plan, patch.enabled) {
            (Plan::Free, Some(true)) => {
                return Err(ControlError::invalid(
                    "enabled",
                    "the free plan has no Governor; move the project to pro or enterprise first",
                ))
            }
            (Plan::Enterprise, Some(false)) => {
                return Err(ControlError::invalid(
                    "enabled",
                    "the enterprise plan includes the Governor; it cannot be switched off",
                ))
            }
            _ => {}
        }
        let row = GovernorSettingsRow {
            project_id: project_id.to_owned(),
            mode: mode.as_str().to_owned(),
            enabled: patch.enabled.or(current.as_ref().and_then(|r| r.enabled)),
            check_prompts: patch.check_prompts.unwrap_or(current.as_ref().is_some_and(|r| r.check_prompts)),
            violations: violations.as_str().to_owned(),
            updated_at: now_ms(),
        };
        let detail = format!(
            "mode={} enabled={} check_prompts={} violations={}",
            row.mode,
            row.enabled.map_or("plan".into(), |e| e.to_string()),
            row.check_prompts,
            row.violations
        );
        let audit = actor.audit("governor.set", ("project", project_id), Some(project_id), Some(detail));
        self.store().put_governor_settings(&row, &audit).await?;
        Ok(settings_view(project_id, plan, Some(&row)))
    }

    pub async fn list_policies(&self, project_id: &str) -> Result<Vec<PolicyView>, ControlError> {
        self.get_project(project_id).await?;
        self.store().list_policies(project_id).await?.into_iter().map(policy_view).collect()
    }

    pub async fn get_policy(&self, project_id: &str, id: &str) -> Result<PolicyView, ControlError> {
        let row =
            self.store().get_policy(project_id, id).await?.ok_or_else(|| ControlError::not_found("policy", id))?;
        policy_view(row)
    }

    pub async fn create_policy(
        &self,
        actor: &Actor,
        project_id: &str,
        new: NewPolicy,
    ) -> Result<PolicyView, ControlError> {
        self.get_project(project_id).await?;
        if self.store().count_policies(project_id).await? >= MAX_POLICIES {
            return Err(ControlError::Conflict(format!("a project has at most {MAX_POLICIES} policies")));
        }
        let def = PolicyDef {
            id: new_id("pol")?,
            name: new.name.trim().to_owned(),
            keywords: new.keywords,
            pattern: non_empty(new.pattern),
            applies_to: match &new.applies_to {
                Some(a) => parse_enum("applies_to", a, APPLIES)?,
                None => AppliesTo::Response,
            },
            action: parse_enum("action", &new.action, ACTIONS)?,
            severity: match &new.severity {
                Some(s) => parse_enum("severity", s, SEVERITIES)?,
                None => RuleSeverity::Medium,
            },
            replacement: non_empty(new.replacement),
            appendix: non_empty(new.appendix),
            enabled: new.enabled.unwrap_or(true),
            shadow: new.shadow.unwrap_or(false),
        };
        validate(&def)?;
        let now = now_ms();
        let row = policy_row(project_id, &def, 1, now, &actor.0, now)?;
        let audit =
            actor.audit("policy.create", ("policy", &row.id), Some(project_id), Some(format!("action={}", row.action)));
        self.store().put_policy(&row, &audit).await?;
        policy_view(row)
    }

    pub async fn update_policy(
        &self,
        actor: &Actor,
        project_id: &str,
        id: &str,
        patch: PolicyPatch,
    ) -> Result<PolicyView, ControlError> {
        let row =
            self.store().get_policy(project_id, id).await?.ok_or_else(|| ControlError::not_found("policy", id))?;
        let mut def = policy_def(&row)?;
        if let Some(name) = patch.name {
            def.name = name.trim().to_owned();
        }
        if let Some(k) = patch.keywords {
            def.keywords = k;
        }
        if let Some(p) = patch.pattern {
            def.pattern = non_empty(p);
        }
        if let Some(a) = &patch.applies_to {
            def.applies_to = parse_enum("applies_to", a, APPLIES)?;
        }
        if let Some(a) = &patch.action {
            def.action = parse_enum("action", a, ACTIONS)?;
        }
        if let Some(s) = &patch.severity {
            def.severity = parse_enum("severity", s, SEVERITIES)?;
        }
        if let Some(r) = patch.replacement {
            def.replacement = non_empty(r);
        }
        if let Some(a) = patch.appendix {
            def.appendix = non_empty(a);
        }
        if let Some(e) = patch.enabled {
            def.enabled = e;
        }
        if let Some(s) = patch.shadow {
            def.shadow = s;
        }
        validate(&def)?;
        let new_row = policy_row(project_id, &def, row.version + 1, row.created_at, &row.created_by, now_ms())?;
        let audit = actor.audit(
            "policy.update",
            ("policy", id),
            Some(project_id),
            Some(format!("version={} enabled={} shadow={}", new_row.version, new_row.enabled, new_row.shadow)),
        );
        self.store().put_policy(&new_row, &audit).await?;
        policy_view(new_row)
    }

    /// Writes validations, and the violations they open (linked both ways), in one transaction.
    pub async fn record_governor_validations(&self, records: &[ValidationRecord]) -> Result<(), ControlError> {
        let mut rows = Vec::with_capacity(records.len());
        for (i, rec) in records.iter().enumerate() {
            rows.push(audit_rows(rec)?);
            // A batch holds hundreds of validations and a server may run one worker thread:
            // converting them all in one poll would hold up every request for about a
            // millisecond (bench/README.md), so the writer steps aside every few rows.
            if i % AUDIT_ROWS_PER_YIELD == AUDIT_ROWS_PER_YIELD - 1 {
                tokio::task::yield_now().await;
            }
        }
        self.store().insert_governor_audits(&rows).await?;
        Ok(())
    }

    pub async fn list_governor_audits(
        &self,
        project_id: &str,
        query: &AuditQuery,
    ) -> Result<GovernorAuditPage, ControlError> {
        self.get_project(project_id).await?;
        let level = match &query.level {
            Some(l) => Some(parse_enum::<Level>("level", l, LEVELS)?.as_str().to_owned()),
            None => None,
        };
        let limit = query.limit.unwrap_or(AUDIT_PAGE_DEFAULT);
        if !(1..=AUDIT_PAGE_MAX).contains(&limit) {
            return Err(ControlError::invalid("limit", format!("limit must be between 1 and {AUDIT_PAGE_MAX}")));
        }
        let filter = AuditFilter {
            level,
            since: query.since.as_deref().map(parse_since).transpose()?,
            before: query.cursor.as_deref().map(parse_cursor).transpose()?,
            // One more than asked: whether another page exists.
            limit: i64::from(limit) + 1,
        };
        let mut rows = self.store().list_governor_audits(project_id, &filter).await?;
        let next_cursor = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| format!("{}.{}", r.created_at, r.id))
        } else {
            None
        };
        let audits = rows.into_iter().map(audit_view).collect::<Result<_, _>>()?;
        Ok(GovernorAuditPage { audits, next_cursor })
    }

    pub async fn get_governor_audit(&self, project_id: &str, id: &str) -> Result<GovernorAuditView, ControlError> {
        let row = self
            .store()
            .get_governor_audit(project_id, id)
            .await?
            .ok_or_else(|| ControlError::not_found("audit", id))?;
        audit_view(row)
    }

    /// A project's validations since `since_ms`, by level.
    pub async fn governor_level_counts(&self, project_id: &str, since_ms: i64) -> Result<LevelCounts, ControlError> {
        let mut counts = LevelCounts::default();
        for (level, n) in self.store().governor_level_counts(project_id, since_ms).await? {
            match level.as_str() {
                "low" => counts.low = n,
                "medium" => counts.medium = n,
                "high" => counts.high = n,
                _ => {}
            }
        }
        Ok(counts)
    }
}

/// The audit row of a validation, and the violation it opens.
fn audit_rows(rec: &ValidationRecord) -> Result<(GovernorAuditRow, Option<ViolationRow>), ControlError> {
    let violation = if rec.open_violation {
        let rules: Vec<&str> = rec.findings.iter().filter(|f| !f.shadow).map(|f| f.rule.as_str()).collect();
        let rules = if rules.is_empty() { "no rule".to_owned() } else { rules.join(", ") };
        let title: String =
            format!("Governor: {} risk {} {} ({rules})", rec.level.as_str(), rec.action_type, rec.target)
                .chars()
                .take(200)
                .collect();
        Some(ViolationRow {
            id: new_id("vio")?,
            project_id: rec.project_id.clone(),
            title,
            description: Some(format!(
                "Governor audit {}: {} to recipient country {}, risk score {}, action {} (mode {}).",
                rec.audit_id,
                rec.target,
                rec.recipient_country,
                rec.score,
                rec.action,
                rec.mode.as_str()
            )),
            severity: violation_severity(rec.level, &rec.findings).into(),
            category: Some("governor".into()),
            model_id: None,
            status: "open".into(),
            created_at: rec.at_ms,
            created_by: "governor".into(),
            resolved_at: None,
            resolved_by: None,
            resolution_note: None,
        })
    } else {
        None
    };
    let row = GovernorAuditRow {
        id: rec.audit_id.clone(),
        project_id: rec.project_id.clone(),
        key_id: rec.key_id.clone(),
        created_at: rec.at_ms,
        target: rec.target.into(),
        action_type: rec.action_type.clone(),
        sender_id: rec.sender_id.clone(),
        recipient_country: rec.recipient_country.clone(),
        risk_score: i64::from(rec.score),
        risk_level: rec.level.as_str().into(),
        action: rec.action.into(),
        mode: rec.mode.as_str().into(),
        findings: serde_json::to_string(&rec.findings).map_err(|e| ControlError::Internal(e.to_string()))?,
        original_sha256: rec.original_sha256.clone(),
        delivered_sha256: rec.delivered_sha256.clone(),
        content: rec.content.clone(),
        violation_id: violation.as_ref().map(|v| v.id.clone()),
    };
    Ok((row, violation))
}

/// Validations converted to audit rows between two yields to the runtime.
const AUDIT_ROWS_PER_YIELD: usize = 16;

/// A new audit id (`gva_…`), time-ordered so audit rows are appended (see `ids`).
pub fn new_audit_id() -> Result<String, ControlError> {
    new_time_ordered_id("gva")
}

fn policy_row(
    project_id: &str,
    def: &PolicyDef,
    version: i64,
    created_at: i64,
    created_by: &str,
    updated_at: i64,
) -> Result<PolicyRow, ControlError> {
    Ok(PolicyRow {
        id: def.id.clone(),
        project_id: project_id.to_owned(),
        name: def.name.clone(),
        keywords: serde_json::to_string(&def.keywords).map_err(|e| ControlError::Internal(e.to_string()))?,
        pattern: def.pattern.clone(),
        applies_to: def.applies_to.as_str().into(),
        action: def.action.as_str().into(),
        severity: def.severity.as_str().into(),
        replacement: def.replacement.clone(),
        appendix: def.appendix.clone(),
        enabled: def.enabled,
        shadow: def.shadow,
        version,
        created_at,
        created_by: created_by.to_owned(),
        updated_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_decide_whether_the_governor_is_on() {
        let row = |enabled| GovernorSettingsRow {
            project_id: "p".into(),
            mode: "block".into(),
            enabled,
            check_prompts: true,
            violations: "medium".into(),
            updated_at: 0,
        };
        assert!(!GovernorConfig::of(Plan::Free, None).enabled);
        assert!(!GovernorConfig::of(Plan::Free, Some(&row(Some(true)))).enabled);
        assert!(GovernorConfig::of(Plan::Pro, None).enabled);
        assert!(!GovernorConfig::of(Plan::Pro, Some(&row(Some(false)))).enabled);
        assert!(GovernorConfig::of(Plan::Enterprise, Some(&row(Some(false)))).enabled);
        let c = GovernorConfig::of(Plan::Pro, Some(&row(None)));
        assert_eq!((c.mode, c.check_prompts, c.violations), (Mode::Block, true, ViolationThreshold::Medium));
        assert_eq!(GovernorConfig::of(Plan::Pro, None).mode, Mode::Sanitize);
    }

    #[test]
    fn thresholds_open_violations_from_their_level() {
        assert!(ViolationThreshold::High.opens(Level::High) && !ViolationThreshold::High.opens(Level::Medium));
        assert!(ViolationThreshold::Medium.opens(Level::Medium) && !ViolationThreshold::Medium.opens(Level::Low));
    }

    #[test]
    fn cursors_and_times_are_checked() {
        assert_eq!(parse_cursor("12.gva_abc").unwrap(), (12, "gva_abc".to_owned()));
        for bad in ["", "x.gva_a", "12", "12.vio_a", "12.gva_a'--"] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_since("10").unwrap(), 10_000);
        assert_eq!(parse_since("1970-01-01T00:00:01Z").unwrap(), 1_000);
        assert!(parse_since("yesterday").is_err());
    }
}
