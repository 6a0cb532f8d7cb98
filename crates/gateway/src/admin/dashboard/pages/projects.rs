//! The projects list, and per project AI Gateway → Overview: today's requests and error rate,
//! active keys, open alerts (a link to the Alerts page), requests per hour over the last 24 hours, and the plan's limits.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use regpilot_control::{Limits, SessionUser, UsagePeriod};

use super::parts::{control_error, count, project_nav};
use crate::admin::dashboard::chart::{bars, hour_label, Bar};
use crate::admin::dashboard::html::{esc, html, layout};
use crate::admin::dashboard::state::DashState;

fn limits_text(l: &Limits) -> String {
    let daily = l.daily_limit.map_or_else(|| "unlimited".to_owned(), |d| format!("{} requests/day", count(d)));
    format!("{daily}, burst {}", count(l.burst))
}

pub(crate) async fn list(State(state): State<DashState>, Extension(user): Extension<SessionUser>) -> Response {
    let projects = match state.control.list_projects().await {
        Ok(p) => p,
        Err(e) => return control_error(e, &user),
    };
    let mut rows = String::new();
    for p in &projects {
        let id = esc(&p.id);
        rows.push_str(&format!(
            r#"<tr><td><a href="/projects/{id}">{}</a></td><td>{}</td><td>{}</td><td><a href="/projects/{id}/keys">Manage Keys</a></td></tr>"#,
            esc(&p.name),
            esc(p.plan.as_str()),
            esc(&limits_text(&p.limits)),
        ));
    }
    let body = if projects.is_empty() {
        "<h1>Projects</h1><p>No projects yet. Create one with <code>regpilot project create --name NAME</code>.</p>"
            .to_owned()
    } else {
        format!(
            r#"<h1>Projects</h1><div class="table-wrap"><table><thead><tr><th>Name</th><th>Plan</th><th>Limits</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>"#
        )
    };
    html(StatusCode::OK, layout("Projects", Some(&user), &body))
}

pub(crate) async fn overview(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    Path(id): Path<String>,
) -> Response {
    let c = &state.control;
    let now = state.dashboard.clock.now_ms();
    let loaded = async {
        let project = c.get_project(&id).await?;
        let today = c.usage_report(&id, UsagePeriod::Day, now).await?;
        let keys = c.list_keys(&id).await?;
        let alerts = c.list_alerts(&id, false).await?;
        let hourly = c.project_hourly(&id, now).await?;
        Ok::<_, regpilot_control::ControlError>((project, today, keys, alerts, hourly))
    };
    let (project, today, keys, alerts, hourly) = match loaded.await {
        Ok(all) => all,
        Err(e) => return control_error(e, &user),
    };
    let active = keys.iter().filter(|k| k.status == regpilot_control::KeyStatus::Active && !k.expired).count();
    let chart = bars(
        "Requests per hour, last 24 hours (UTC)",
        &hourly.iter().map(|h| Bar { label: hour_label(&h.hour), value: h.requests }).collect::<Vec<_>>(),
    );
    let body = format!(
        r#"{nav}
<h1>Overview</h1>
<div class="stats">
<div class="stat"><span class="label">Requests today (UTC)</span><span class="value" id="requests-today">{requests}</span></div>
<div class="stat"><span class="label">Error rate today</span><span class="value" id="error-rate">{rate:.1}%</span></div>
<div class="stat"><span class="label">Active keys</span><span class="value" id="active-keys">{active}</span></div>
<div class="stat"><span class="label">Open alerts</span><span class="value" id="open-alerts"><a href="/projects/{pid}/alerts">{alerts}</a></span></div>
</div>
<section class="card"><h2>Requests per hour, last 24 hours</h2>{chart}<p class="hint">UTC; the current hour is on the right.</p></section>
<section class="card"><h2>Plan</h2><p><strong>{plan}</strong>: {limits}</p></section>"#,
        nav = project_nav(&project.id, &project.name, "Overview"),
        pid = esc(&project.id),
        requests = count(today.requests),
        rate = today.error_rate * 100.0,
        alerts = alerts.len(),
        plan = esc(project.plan.as_str()),
        limits = esc(&limits_text(&project.limits)),
    );
    html(StatusCode::OK, layout(&format!("{} · Overview", project.name), Some(&user), &body))
}
