//! The page of one key (`/projects/{id}/keys/{key_id}`): what it is, its usage (requests per
//! hour over 24 hours and per day over 30 days as server-drawn charts, error rate, latency,
//! countries, AI calls / tokens / cost per model), its alerts and its audit trail. Never the
//! secret: the service layer does not have it. A deleted key's page stays, read-only, as the
//! tombstone of its history. A key of another project is "not found".

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use regpilot_control::{
    rfc3339, AiUsage, ControlError, CountryUsage, KeyStatus, KeyUsage, KeyView, RollInfo, SessionUser,
};
use regpilot_store::AuditEntry;

use super::parts::{alerts_table, control_error, count, project_nav, status_text, ReturnTo};
use crate::admin::dashboard::chart::{bars, hour_label, Bar};
use crate::admin::dashboard::guard::can_manage;
use crate::admin::dashboard::html::{esc, html, layout, when};
use crate::admin::dashboard::state::DashState;

/// README.md, "Rolling a key": what replaced this key and how much it is still used; what it
/// replaced.
fn roll_facts(k: &KeyView, r: &RollInfo) -> String {
    let link = |id: &str| format!(r#"<a href="/projects/{}/keys/{}">{}</a>"#, esc(&k.project_id), esc(id), esc(id));
    let mut out = String::new();
    if let Some(to) = &r.rolled_to {
        out.push_str(&format!(
            r#"<dt>Rolled to</dt><dd id="rolled-to">{} on {}; the grace ends {}</dd><dt>Uses since the roll</dt><dd id="uses-since-roll">{} (last {})</dd>"#,
            link(to),
            when(r.rolled_at.as_deref()),
            when(r.grace_ends_at.as_deref()),
            r.uses_since_roll.unwrap_or(0),
            when(r.last_use_since_roll.as_deref()),
        ));
    }
    if let Some(from) = &r.rolled_from {
        out.push_str(&format!(r#"<dt>Rolled from</dt><dd id="rolled-from">{}</dd>"#, link(from)));
    }
    out
}

fn facts(k: &KeyView, roll: &RollInfo) -> String {
    let row = |label: &str, value: String| format!("<dt>{label}</dt><dd>{value}</dd>");
    [
        row("Name", esc(&k.name)),
        row("Prefix", format!("<code>{}</code>", esc(&k.prefix))),
        row("Type", esc(k.key_type.as_str())),
        row("Environment", esc(k.environment.as_str())),
        row(
            "Status",
            format!(
                r#"<span class="status {s}" id="key-status">{s}</span>{ro}"#,
                s = status_text(k),
                ro = if k.read_only { " <small>read-only</small>" } else { "" }
            ),
        ),
        row("Scopes", esc(&k.scopes.to_list())),
        row("Created", format!("{} by {}", when(Some(&k.created_at)), esc(&k.created_by))),
        row("Last used", when(k.last_used_at.as_deref())),
        row("Expires", when(k.expires_at.as_deref())),
        roll_facts(k, roll),
    ]
    .concat()
}

fn latency(ms: Option<f64>) -> String {
    ms.map_or_else(|| "—".to_owned(), |v| format!("{v:.1} ms"))
}

fn stats(u: &KeyUsage) -> String {
    let stat = |label: &str, id: &str, value: String| {
        format!(
            r#"<div class="stat"><span class="label">{label}</span><span class="value" id="{id}">{value}</span></div>"#
        )
    };
    format!(
        r#"<div class="stats">{}{}{}{}{}</div>"#,
        stat("Requests (all time)", "requests", count(u.requests)),
        stat("Error rate", "error-rate", format!("{:.1}%", u.error_rate * 100.0)),
        stat("Average latency", "avg-latency", latency(u.avg_latency_ms)),
        stat("Max latency", "max-latency", latency(u.max_latency_ms)),
        stat("Refused (rate limit / inactive)", "refused", format!("{} / {}", count(u.rate_limited), count(u.refused))),
    )
}

fn charts(u: &KeyUsage) -> String {
    let hourly: Vec<Bar> = u.hourly.iter().map(|h| Bar { label: hour_label(&h.hour), value: h.requests }).collect();
    let daily: Vec<Bar> = u.daily.iter().map(|d| Bar { label: d.date.clone(), value: d.requests }).collect();
    format!(
        r#"<section class="card"><h2>Requests per hour, last 24 hours</h2>{}<p class="hint">UTC; the current hour is on the right.</p></section>
<section class="card"><h2>Requests per day, last 30 days</h2>{}<p class="hint">UTC days; today is on the right.</p></section>"#,
        bars("Requests per hour, last 24 hours (UTC)", &hourly),
        bars("Requests per day, last 30 days (UTC)", &daily),
    )
}

fn countries(list: &[CountryUsage]) -> String {
    if list.is_empty() {
        return r#"<p class="hint">No requests in the last 30 days.</p>"#.to_owned();
    }
    let rows: String =
        list.iter().map(|c| format!("<tr><td>{}</td><td>{}</td></tr>", esc(&c.country), count(c.requests))).collect();
    format!(
        r#"<div class="table-wrap"><table id="countries"><thead><tr><th>Country</th><th>Requests</th></tr></thead><tbody>{rows}</tbody></table></div>"#
    )
}

/// Cents as US dollars: 12.5 → "$0.125000".
fn dollars(cents: f64) -> String {
    format!("${:.6}", cents / 100.0)
}

fn ai(a: &AiUsage) -> String {
    if a.calls == 0 {
        return r#"<p class="hint">No AI calls in the last 30 days.</p>"#.to_owned();
    }
    let rows: String = a
        .models
        .iter()
        .map(|m| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&m.model),
                esc(&m.provider),
                count(m.calls),
                count(m.prompt_tokens),
                count(m.completion_tokens),
                dollars(m.cost_cents)
            )
        })
        .collect();
    format!(
        r#"<p>{calls} calls, {tokens} tokens, {cost} in the last 30 days.</p>
<div class="table-wrap"><table id="ai-models"><thead><tr><th>Model</th><th>Provider</th><th>Calls</th><th>Prompt tokens</th><th>Completion tokens</th><th>Cost</th></tr></thead><tbody>{rows}</tbody></table></div>"#,
        calls = count(a.calls),
        tokens = count(a.total_tokens),
        cost = dollars(a.cost_cents),
    )
}

fn audit(trail: &[AuditEntry]) -> String {
    if trail.is_empty() {
        return r#"<p class="hint">No entries.</p>"#.to_owned();
    }
    let rows: String = trail
        .iter()
        .rev()
        .map(|a| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                when(Some(&rfc3339(a.at))),
                esc(&a.actor),
                esc(&a.action),
                esc(a.detail.as_deref().unwrap_or(""))
            )
        })
        .collect();
    format!(
        r#"<div class="table-wrap"><table id="audit"><thead><tr><th>When</th><th>Who</th><th>What</th><th>Detail</th></tr></thead><tbody>{rows}</tbody></table></div>"#
    )
}

fn actions(user: &SessionUser, k: &KeyView, roll: &RollInfo) -> String {
    if k.status == KeyStatus::Deleted {
        return r#"<p class="notice" id="tombstone">This key was deleted: it can never authenticate again. Its history is kept here, read-only.</p>"#.to_owned();
    }
    if !can_manage(user) {
        return String::new();
    }
    let base = format!("/projects/{}/keys/{}", esc(&k.project_id), esc(&k.id));
    let toggle = match k.status {
        KeyStatus::Active => format!(r#"<a href="{base}/deactivate">Deactivate</a>"#),
        _ => format!(r#"<a href="{base}/reactivate">Reactivate</a>"#),
    };
    let roll = if roll.rolled_to.is_none() { format!(r#" <a href="{base}/roll">Roll</a>"#) } else { String::new() };
    format!(r#"<p class="actions">{toggle}{roll} <a class="danger" href="{base}/delete">Delete</a></p>"#)
}

pub(crate) async fn page(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    Path((id, key_id)): Path<(String, String)>,
) -> Response {
    let c = &state.control;
    let now = state.dashboard.clock.now_ms();
    let loaded = async {
        let detail = c.get_key_detail(&key_id).await?;
        let (key, roll) = (detail.key, detail.roll);
        if key.project_id != id {
            return Err(ControlError::not_found("key", &key_id));
        }
        let project = c.get_project(&id).await?;
        let usage = c.key_usage(&key_id, now).await?;
        let trail = c.key_audit(&key_id).await?;
        let mut alerts = c.list_alerts(&id, true).await?;
        alerts.retain(|a| a.key_id.as_deref() == Some(key.id.as_str()));
        Ok::<_, ControlError>((project, key, roll, usage, trail, alerts))
    };
    let (project, key, roll, usage, trail, alerts) = match loaded.await {
        Ok(all) => all,
        Err(e) => return control_error(e, &user),
    };
    let ack = can_manage(&user) && key.status != KeyStatus::Deleted;
    let body = format!(
        r#"{nav}
<p class="crumbs"><a href="/projects/{pid}/keys">Manage Keys</a> › key</p>
<h1>Key “{name}”</h1>
{actions}
<section class="card"><dl class="facts">{facts}</dl></section>
{stats}
{charts}
<section class="card"><h2>Countries, last 30 days</h2>{countries}</section>
<section class="card"><h2>AI usage</h2>{ai}</section>
<section class="card"><h2>Alerts</h2>{alerts}</section>
<section class="card"><h2>Audit trail</h2>{audit}</section>"#,
        nav = project_nav(&project.id, &project.name, "Manage Keys"),
        pid = esc(&project.id),
        name = esc(&key.name),
        actions = actions(&user, &key, &roll),
        facts = facts(&key, &roll),
        stats = stats(&usage),
        charts = charts(&usage),
        countries = countries(&usage.countries),
        ai = ai(&usage.ai),
        alerts = alerts_table(&user, &project.id, &alerts, ack, ReturnTo::Key),
        audit = audit(&trail),
    );
    html(StatusCode::OK, layout(&format!("{} · {}", project.name, key.name), Some(&user), &body))
}
