//! AI Gateway → Governor (`/projects/{id}/governor`, docs/governor.md): the project's Governor
//! settings (a form for those who may manage, a POST with the CSRF token), a chart of the
//! validations of the last 7 days by risk level, the custom policies, and the latest audit
//! entries (filtered by level with `?level=`), each with its rules, never the matched text.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use regpilot_control::{AuditQuery, ControlError, GovernorSettingsPatch, SessionUser};
use serde::Deserialize;

use super::parts::{control_error, count, project_nav};
use crate::admin::dashboard::chart::{bars, Bar};
use crate::admin::dashboard::guard::{can_manage, FormData};
use crate::admin::dashboard::html::{csrf_field, esc, html, layout, when};
use crate::admin::dashboard::state::DashState;

/// Audit entries the page shows.
const PAGE_AUDITS: u32 = 50;
const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Filter {
    level: Option<String>,
}

fn selected(on: bool) -> &'static str {
    if on {
        " selected"
    } else {
        ""
    }
}

pub(crate) async fn page(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    Path(id): Path<String>,
    filter: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let level = filter.ok().and_then(|Query(f)| f.level).filter(|l| !l.is_empty());
    let c = &state.control;
    let now = state.dashboard.clock.now_ms();
    let loaded = async {
        let project = c.get_project(&id).await?;
        let settings = c.governor_settings(&id).await?;
        let counts = c.governor_level_counts(&id, now - WEEK_MS).await?;
        let policies = c.list_policies(&id).await?;
        let query = AuditQuery { level: level.clone(), limit: Some(PAGE_AUDITS), ..AuditQuery::default() };
        let audits = c.list_governor_audits(&id, &query).await?;
        Ok::<_, ControlError>((project, settings, counts, policies, audits))
    };
    let (project, settings, counts, policies, audits) = match loaded.await {
        Ok(all) => all,
        Err(e) => return control_error(e, &user),
    };
    let pid = esc(&project.id);
    let status = match (settings.available, settings.enabled) {
        (false, _) => "not available on the free plan",
        (true, false) => "switched off",
        (true, true) => "on",
    };
    let form = if can_manage(&user) && settings.available {
        let mode = |m: &str| format!(r#"<option value="{m}"{}>{m}</option>"#, selected(settings.mode == m));
        let viol = |v: &str| format!(r#"<option value="{v}"{}>{v}</option>"#, selected(settings.violations == v));
        let enabled = if project.plan == regpilot_control::Plan::Enterprise {
            r#"<p class="hint">Included in the enterprise plan: always on.</p>"#.to_owned()
        } else {
            format!(
                r#"<label><input type="checkbox" name="enabled" value="true"{}> On</label>"#,
                if settings.enabled { " checked" } else { "" }
            )
        };
        format!(
            r#"<form method="post" action="/projects/{pid}/governor" id="governor-settings">{csrf}
{enabled}
<label>Mode <select name="mode">{m1}{m2}{m3}</select></label>
<label><input type="checkbox" name="check_prompts" value="true"{cp}> Also check prompts</label>
<label>Open a violation from <select name="violations">{v1}{v2}</select> risk</label>
<button type="submit">Save</button></form>"#,
            csrf = csrf_field(&user),
            m1 = mode("sanitize"),
            m2 = mode("block"),
            m3 = mode("monitor"),
            cp = if settings.check_prompts { " checked" } else { "" },
            v1 = viol("high"),
            v2 = viol("medium"),
        )
    } else {
        String::new()
    };
    let chart = bars(
        "Validations by risk level, last 7 days",
        &[
            Bar { label: "low".into(), value: counts.low },
            Bar { label: "medium".into(), value: counts.medium },
            Bar { label: "high".into(), value: counts.high },
        ],
    );
    let mut policy_rows = String::new();
    for p in &policies {
        let state = match (p.enabled, p.shadow) {
            (false, _) => "off",
            (true, true) => "shadow",
            (true, false) => "on",
        };
        policy_rows.push_str(&format!(
            r#"<tr id="policy-{id}"><td>{name}</td><td>{action}</td><td>{severity}</td><td>{applies}</td><td>{state}</td><td>{version}</td></tr>"#,
            id = esc(&p.id),
            name = esc(&p.name),
            action = esc(&p.action),
            severity = esc(&p.severity),
            applies = esc(&p.applies_to),
            version = p.version,
        ));
    }
    let policies_html = if policies.is_empty() {
        r#"<p class="hint">No custom policies. Create them with <code>regpilot policy create</code> or <code>POST /api/compliance/policies</code>.</p>"#.to_owned()
    } else {
        format!(
            r#"<div class="table-wrap"><table class="policies"><thead><tr><th>Name</th><th>Action</th><th>Severity</th><th>Applies to</th><th>State</th><th>Version</th></tr></thead><tbody>{policy_rows}</tbody></table></div>"#
        )
    };
    let mut audit_rows = String::new();
    for a in &audits.audits {
        let rules = a.rule_ids();
        let violation = match &a.violation_id {
            Some(v) => format!("<code>{}</code>", esc(v)),
            None => "—".to_owned(),
        };
        audit_rows.push_str(&format!(
            r#"<tr id="audit-{id}" class="risk-{level}"><td><code>{id}</code></td><td>{at}</td><td>{target}</td><td>{action_type}</td><td>{country}</td><td>{score} <span class="status {level}">{level}</span></td><td>{action}</td><td>{rules}</td><td>{violation}</td></tr>"#,
            id = esc(&a.id),
            at = when(Some(&a.created_at)),
            target = esc(&a.target),
            action_type = esc(&a.action_type),
            country = esc(&a.recipient_country),
            score = a.risk_score,
            level = esc(&a.risk_level),
            action = esc(&a.action),
            rules = if rules.is_empty() { "—".to_owned() } else { esc(&rules.join(", ")) },
        ));
    }
    let level_option = |l: &str, label: &str| {
        format!(r#"<option value="{l}"{}>{label}</option>"#, selected(level.as_deref().unwrap_or("") == l))
    };
    let audits_html = if audits.audits.is_empty() {
        r#"<p class="hint">No validations yet.</p>"#.to_owned()
    } else {
        format!(
            r#"<div class="table-wrap"><table class="audits"><thead><tr><th>Audit</th><th>When</th><th>Text</th><th>Action type</th><th>Country</th><th>Risk</th><th>Action</th><th>Rules</th><th>Violation</th></tr></thead><tbody>{audit_rows}</tbody></table></div>"#
        )
    };
    let body = format!(
        r#"{nav}
<h1>Governor</h1>
<div class="stats">
<div class="stat"><span class="label">Governor</span><span class="value" id="governor-status">{status}</span></div>
<div class="stat"><span class="label">Mode</span><span class="value" id="governor-mode">{mode}</span></div>
<div class="stat"><span class="label">High risk, 7 days</span><span class="value" id="governor-high">{high}</span></div>
</div>
<section class="card"><h2>Settings</h2><p>Prompts {prompts}; violations are opened from <strong>{violations}</strong> risk.</p>{form}</section>
<section class="card"><h2>Risk levels, last 7 days</h2>{chart}</section>
<section class="card"><h2>Policies</h2>{policies_html}</section>
<section class="card"><h2>Latest validations</h2>
<form method="get" action="/projects/{pid}/governor"><label>Level <select name="level">{all}{low}{medium}{highopt}</select></label> <button type="submit">Filter</button></form>
{audits_html}<p class="hint">Findings name the rule and where in the text it matched, never the matched text. All entries: <code>regpilot governor audits --project {pid}</code>.</p></section>"#,
        nav = project_nav(&project.id, &project.name, "Governor"),
        mode = esc(&settings.mode),
        high = count(counts.high),
        prompts = if settings.check_prompts { "are checked" } else { "are not checked" },
        violations = esc(&settings.violations),
        all = level_option("", "all"),
        low = level_option("low", "low"),
        medium = level_option("medium", "medium"),
        highopt = level_option("high", "high"),
    );
    html(StatusCode::OK, layout(&format!("{} · Governor", project.name), Some(&user), &body))
}

/// Saves the settings form. Unchecked boxes are absent from a form: they mean off.
pub(crate) async fn save(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    Extension(form): Extension<FormData>,
    Path(id): Path<String>,
) -> Response {
    let project = match state.control.get_project(&id).await {
        Ok(p) => p,
        Err(e) => return control_error(e, &user),
    };
    let patch = GovernorSettingsPatch {
        mode: form.get("mode").map(str::to_owned),
        // Enterprise has no switch on the form: it is always on.
        enabled: (project.plan != regpilot_control::Plan::Enterprise).then(|| form.get("enabled") == Some("true")),
        check_prompts: Some(form.get("check_prompts") == Some("true")),
        violations: form.get("violations").map(str::to_owned),
    };
    if let Err(e) = state.control.set_governor(&user.actor(), &id, patch).await {
        return control_error(e, &user);
    }
    state.feed.read_your_writes().await;
    tracing::info!(project_id = %id, user_id = %user.user_id, "governor settings changed from the dashboard");
    Redirect::to(&format!("/projects/{id}/governor")).into_response()
}
