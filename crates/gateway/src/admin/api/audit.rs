//! The audit log, newest first, paged by entry number.

use axum::extract::State;
use axum::Json;
use regpilot_control::rfc3339;
use regpilot_store::AuditEntry;
use serde::Serialize;
use serde_json::{json, Value};

use super::page::{limit_and_cursor, number_cursor, params, Params};
use super::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// An audit entry as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct AuditView {
    /// The entry's number (absent in a key's trail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub project_id: Option<String>,
    pub detail: Option<String>,
}

impl AuditView {
    pub(crate) fn new(id: Option<i64>, e: AuditEntry) -> AuditView {
        AuditView {
            id,
            at: rfc3339(e.at),
            actor: e.actor,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            project_id: e.project_id,
            detail: e.detail,
        }
    }
}

/// The audit log, newest first, of every record or of one project (paged).
#[utoipa::path(
    get, path = "/api/admin/audit", tag = "admin",
    params(("project" = Option<String>, Query, description = "Only this project's entries"), ("limit" = Option<usize>, Query, description = "1–1000, default 100"), ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses((status = 200, description = "`{\"entries\": [{id, at, actor, action, target_type, target_id, project_id, detail}…], \"next_cursor\": …}`", body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn audit_log(
    State(state): State<AppState>,
    _: Caller,
    query: Params,
) -> Result<Json<Value>, ApiError> {
    let q = params(query)?;
    let (limit, cursor) = limit_and_cursor(&q)?;
    let before = number_cursor(cursor)?;
    let project = q.get("project").map(String::as_str).filter(|p| !p.is_empty());
    // One more than asked tells whether there is a next page.
    let mut rows = state.control.audit_log_page(project, before, limit as i64 + 1).await?;
    let next = (rows.len() > limit).then(|| rows[limit - 1].0.to_string());
    rows.truncate(limit);
    let entries: Vec<AuditView> = rows.into_iter().map(|(id, e)| AuditView::new(Some(id), e)).collect();
    Ok(Json(json!({ "entries": entries, "next_cursor": next })))
}
