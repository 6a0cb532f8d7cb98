//! AI Gateway → Alerts (`/projects/{id}/alerts`): the project's alerts, open ones first, then
//! acknowledged ones, each with its kind, key (a link to the key's page), message and time; an
//! Acknowledge button (a POST with the CSRF token, refused to read-only roles by the guard).
//! The table is shared with the key page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use regpilot_control::{ControlError, SessionUser};

use super::parts::{alerts_table, control_error, project_nav, ReturnTo};
use crate::admin::dashboard::guard::{can_manage, FormData};
use crate::admin::dashboard::html::{html, layout};
use crate::admin::dashboard::state::DashState;

pub(crate) async fn list(
    State(state): State<DashState>,
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
<p><span id="open-count">{open}</span> open, {seen} acknowledged. Alerts are raised by the background check: a new country, a volume spike, a high error rate, use of an inactive key, an unused key, rotation due; and at once by a leak report naming a live key.</p>
{table}"#,
        nav = project_nav(&project.id, &project.name, "Alerts"),
        seen = alerts.len() - open,
        table = alerts_table(&user, &project.id, &alerts, can_manage(&user), ReturnTo::Alerts),
    );
    html(StatusCode::OK, layout(&format!("{} · Alerts", project.name), Some(&user), &body))
}

pub(crate) async fn ack(
    State(state): State<DashState>,
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
