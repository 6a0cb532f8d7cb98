//! Alerts: a project's list, and acknowledging one.

use axum::extract::State;
use axum::Json;
use regpilot_control::AlertView;
use serde_json::Value;

use super::page::{paged, params, Params};
use super::Caller;
use crate::admin::params::RecordId;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// A project's alerts, newest first: open ones, and acknowledged ones too with `all=true`
/// (paged).
#[utoipa::path(
    get, path = "/api/admin/projects/{id}/alerts", tag = "admin",
    params(("id" = String, Path, description = "Project id"), ("all" = Option<bool>, Query, description = "Include acknowledged alerts"), ("limit" = Option<usize>, Query, description = "1–1000, default 100"), ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses((status = 200, description = "`{\"alerts\": [alert…], \"next_cursor\": …}`", body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn list_alerts(
    State(state): State<AppState>,
    _: Caller,
    RecordId(id): RecordId,
    query: Params,
) -> Result<Json<Value>, ApiError> {
    let q = params(query)?;
    let all = match q.get("all").map(String::as_str) {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(_) => return Err(ApiError::bad_request("all", "all must be true or false")),
    };
    paged("alerts", state.control.list_alerts(&id, all).await?, &q)
}

/// Acknowledges an alert (again: keeps the first time and person).
#[utoipa::path(
    post, path = "/api/admin/alerts/{id}/ack", tag = "admin", params(("id" = String, Path, description = "Alert id")),
    responses((status = 200, description = "The alert", body = Object), (status = 404, body = ErrorBody))
)]
pub(crate) async fn ack_alert(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
) -> Result<Json<AlertView>, ApiError> {
    Ok(Json(state.control.acknowledge_alert(&caller.actor, &id).await?))
}
