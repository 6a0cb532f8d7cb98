//! AI Gateway → Alerts (`/projects/{id}/alerts`): the project's alerts, open ones first, then
//! acknowledged ones, each with its kind, key (a link to the key's page), message and time; an
//! Acknowledge button (a POST with the CSRF token, refused to read-only roles by the guard).
//! The table is shared with the key page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use regpilot_control::{AlertView, ControlError, SessionUser};

use super::{control_error, project_nav};
use crate::dashboard::guard::{can_manage, FormData};
use crate::dashboard::html::{csrf_field, esc, html, layout, when};
use crate::state::AppState;

/// Where the Acknowledge button of a table sends the browser back to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReturnTo {
    Alerts,
    Key,
}

/// The rows of an alerts table, open alerts first (each group keeps its order, newest first).
/// `ack`: whether to offer the Acknowledge button on open alerts.
pub(crate) fn alerts_table(
    user: &SessionUser,
    project_id: &str,
    alerts: &[AlertView],
    ack: bool,
    back: ReturnTo,
) -> String {
    if alerts.is_empty() {
        return r#"<p class="hint">No alerts.</p>"#.to_owned();
    }
    let pid = esc(project_id);
    let (open, seen): (Vec<&AlertView>, Vec<&AlertView>) = alerts.iter().partition(|a| a.acknowledged_at.is_none());
    let mut rows = String::new();
    for a in open.into_iter().chain(seen) {
        let key = match (&a.key_id, &a.key_name) {
            (Some(id), name) => format!(
                r#"<a href="/projects/{pid}/keys/{}">{}</a>"#,
                esc(id),
                esc(name.as_deref().unwrap_or(id.as_str()))
            ),
            (None, _) => "—".to_owned(),
        };
        let state = match (&a.acknowledged_at, &a.acknowledged_by) {
            (Some(at), by) => format!(
                r#"<span class="status acknowledged">acknowledged</span> <small>{} by {}</small>"#,
                when(Some(at)),
                esc(by.as_deref().unwrap_or("unknown"))
            ),
            (None, _) if ack => format!(
                r#"<span class="status open">open</span> <form class="inline" method="post" action="/projects/{pid}/alerts/{aid}/ack">{csrf}<input type="hidden" name="return" value="{back}"><button type="submit">Acknowledge</button></form>"#,
                aid = esc(&a.id),
                csrf = csrf_field(user),
                back = if back == ReturnTo::Key { "key" } else { "alerts" },
            ),
            (None, _) => r#"<span class="status open">open</span>"#.to_owned(),
        };
        rows.push_str(&format!(
            r#"<tr id="alert-{id}"><td>{kind}</td><td>{key}</td><td class="message">{message}</td><td>{at}</td><td>{state}</td></tr>"#,
            id = esc(&a.id),
            kind = esc(a.kind.as_str()),
            message = esc(&a.message),
            at = when(Some(&a.created_at)),
        ));
    }
    format!(
        r#"<div class="table-wrap"><table class="alerts"><thead><tr><th>Kind</th><th>Key</th><th>Message</th><th>When</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table></div>"#
    )
}

pub async fn list(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Path(id): Path<String>,
) -> Response {
    let c = &state.control;
    let loaded = async { Ok::<_, ControlError>((c.get_project(&id).await?, c.list_alerts(&id, true).await?)) };
    let (project, alerts) = match loaded.await {
        Ok(all) => all,
        Err(e) => return control_error(e, &user),
    };
    let open = alerts.iter().filter(|a| a.acknowledged_at.is_none()).count();
    let body = format!(
        r#"{nav}
<h1>Alerts</h1>
<p><span id="open-count">{open}</span> open, {seen} acknowledged. Alerts are raised by the background check (SPEC §8): a new country, a volume spike, a high error rate, use of an inactive key, an unused key, rotation due.</p>
{table}"#,
        nav = project_nav(&project.id, &project.name, "Alerts"),
        seen = alerts.len() - open,
        table = alerts_table(&user, &project.id, &alerts, can_manage(&user), ReturnTo::Alerts),
    );
    html(StatusCode::OK, layout(&format!("{} · Alerts", project.name), Some(&user), &body))
}

pub async fn ack(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(form): Extension<FormData>,
    Path((id, alert_id)): Path<(String, String)>,
) -> Response {
    let alert = match state.control.get_alert(&alert_id).await {
        Ok(a) if a.project_id == id => a,
        Ok(_) => return control_error(ControlError::not_found("alert", &alert_id), &user),
        Err(e) => return control_error(e, &user),
    };
    if let Err(e) = state.control.acknowledge_alert(&user.actor(), &alert.id).await {
        return control_error(e, &user);
    }
    tracing::info!(alert_id = %alert.id, user_id = %user.user_id, "alert acknowledged from the dashboard");
    let to = match (form.get("return"), &alert.key_id) {
        (Some("key"), Some(key_id)) => format!("/projects/{}/keys/{key_id}", alert.project_id),
        _ => format!("/projects/{}/alerts", alert.project_id),
    };
    Redirect::to(&to).into_response()
}
