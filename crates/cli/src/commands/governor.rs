//! `regpilot project set-governor`, `regpilot governor audits` and `regpilot policy …`
//! (docs/governor.md), on the same control-plane calls as the compliance API.

use regpilot_control::{Actor, AuditQuery, Control, GovernorSettingsView, NewPolicy, PolicyPatch, PolicyView};
use serde_json::json;

use crate::args::{GovernorCommand, PolicyCommand};
use crate::output::{emit, table};
use crate::CmdResult;

pub(crate) fn settings_text(g: &GovernorSettingsView) -> String {
    let state = match (g.available, g.enabled) {
        (false, _) => "not available on this project's plan".to_owned(),
        (true, false) => "switched off".to_owned(),
        (true, true) => "on".to_owned(),
    };
    format!(
        "Governor of project {}: {state}; mode {}, prompts {}, violations opened from {} risk\n",
        g.project_id,
        g.mode,
        if g.check_prompts { "checked" } else { "not checked" },
        g.violations
    )
}

fn policy_text(p: &PolicyView) -> String {
    let matcher = match (&p.pattern, p.keywords.is_empty()) {
        (Some(re), true) => format!("pattern /{re}/"),
        (Some(re), false) => format!("{} keywords, pattern /{re}/", p.keywords.len()),
        (None, _) => format!("{} keywords", p.keywords.len()),
    };
    let state = match (p.enabled, p.shadow) {
        (false, _) => "off",
        (true, true) => "shadow",
        (true, false) => "on",
    };
    format!(
        "Policy {} ({}), version {}: {} {} on {} ({matcher}), {state}\n",
        p.id, p.name, p.version, p.severity, p.action, p.applies_to
    )
}

pub async fn audits(control: &Control, cmd: GovernorCommand, json: bool) -> CmdResult {
    match cmd {
        GovernorCommand::Audits { project, level, since, limit, cursor } => {
            let page = control.list_governor_audits(&project, &AuditQuery { level, since, limit, cursor }).await?;
            emit(json, &page, || {
                let rows: Vec<Vec<String>> = page
                    .audits
                    .iter()
                    .map(|a| {
                        let rules = a.rule_ids();
                        vec![
                            a.id.clone(),
                            a.created_at.clone(),
                            a.target.clone(),
                            a.action_type.clone(),
                            a.recipient_country.clone(),
                            format!("{} {}", a.risk_score, a.risk_level),
                            a.action.clone(),
                            if rules.is_empty() { "-".into() } else { rules.join(",") },
                        ]
                    })
                    .collect();
                let mut out =
                    table(&["ID", "TIME", "TARGET", "ACTION TYPE", "COUNTRY", "RISK", "ACTION", "RULES"], &rows);
                if let Some(next) = &page.next_cursor {
                    out.push_str(&format!("More: --cursor {next}\n"));
                }
                out
            })
        }
    }
}

pub async fn policies(control: &Control, cmd: PolicyCommand, json: bool) -> CmdResult {
    match cmd {
        PolicyCommand::List { project } => {
            let policies = control.list_policies(&project).await?;
            emit(json, &json!({ "policies": policies }), || {
                let rows: Vec<Vec<String>> = policies
                    .iter()
                    .map(|p| {
                        vec![
                            p.id.clone(),
                            p.name.clone(),
                            p.action.clone(),
                            p.severity.clone(),
                            p.applies_to.clone(),
                            match (p.enabled, p.shadow) {
                                (false, _) => "off".into(),
                                (true, true) => "shadow".into(),
                                (true, false) => "on".into(),
                            },
                            p.version.to_string(),
                        ]
                    })
                    .collect();
                table(&["ID", "NAME", "ACTION", "SEVERITY", "APPLIES TO", "STATE", "VERSION"], &rows)
            })
        }
        PolicyCommand::Create { project, name, action, fields, shadow, disabled } => {
            let new = NewPolicy {
                name,
                keywords: fields.keywords.unwrap_or_default(),
                pattern: fields.pattern,
                applies_to: fields.applies_to,
                action,
                severity: fields.severity,
                replacement: fields.replacement,
                appendix: fields.appendix,
                enabled: Some(!disabled),
                shadow: Some(shadow),
            };
            let p = control.create_policy(&Actor::cli(), &project, new).await?;
            emit(json, &p, || format!("Created: {}", policy_text(&p)))
        }
        PolicyCommand::Update { policy_id, project, name, action, fields, shadow, enabled } => {
            let patch = PolicyPatch {
                name,
                keywords: fields.keywords,
                pattern: fields.pattern.map(Some),
                applies_to: fields.applies_to,
                action,
                severity: fields.severity,
                replacement: fields.replacement.map(Some),
                appendix: fields.appendix.map(Some),
                enabled,
                shadow,
            };
            let p = control.update_policy(&Actor::cli(), &project, &policy_id, patch).await?;
            emit(json, &p, || format!("Updated: {}", policy_text(&p)))
        }
    }
}
