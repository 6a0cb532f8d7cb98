//! The Governor's part of the compliance API (docs/governor.md, "API"), for project keys:
//! custom policies (`compliance:read` to list, `compliance:write` to create and change), the
//! project's Governor settings, and the audit of every validation. Every call is scoped to the
//! key's own project; a change is applied on this instance before the answer, and on every
//! other within a second (the project change feed).

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use regpilot_control::{
    Actor, AuditQuery, GovernorAuditPage, GovernorAuditView, GovernorSettingsPatch, GovernorSettingsView, NewPolicy,
    PolicyPatch, PolicyView,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::params::{params, Params, RecordId};
use crate::error::{ApiError, ErrorBody};
use crate::path::auth::Authenticated;
use crate::path::json::ApiJson;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PolicyList {
    pub policies: Vec<PolicyView>,
}

/// The project's custom policies, oldest first.
#[utoipa::path(
    get, path = "/api/compliance/policies", tag = "governor",
    responses((status = 200, body = PolicyList))
)]
pub(crate) async fn list_policies(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
) -> Result<Json<PolicyList>, ApiError> {
    Ok(Json(PolicyList { policies: state.control.list_policies(&key.project_id).await? }))
}

/// Creates a policy: keywords or a regular expression (or both), what it applies to, its
/// action and severity. A pattern that does not compile is refused with a 400 naming `pattern`.
#[utoipa::path(
    post, path = "/api/compliance/policies", tag = "governor",
    request_body = NewPolicy,
    responses((status = 201, body = PolicyView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub(crate) async fn create_policy(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    ApiJson(body): ApiJson<NewPolicy>,
) -> Result<(StatusCode, Json<PolicyView>), ApiError> {
    let p = state.control.create_policy(&Actor::key(&key.id), &key.project_id, body).await?;
    state.feed.read_your_writes().await;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Changes a policy: only the fields given change; its version goes up by one.
#[utoipa::path(
    patch, path = "/api/compliance/policies/{id}", tag = "governor",
    params(("id" = String, Path, description = "Policy id")),
    request_body = PolicyPatch,
    responses((status = 200, body = PolicyView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn update_policy(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    RecordId(id): RecordId,
    ApiJson(body): ApiJson<PolicyPatch>,
) -> Result<Json<PolicyView>, ApiError> {
    let p = state.control.update_policy(&Actor::key(&key.id), &key.project_id, &id, body).await?;
    state.feed.read_your_writes().await;
    Ok(Json(p))
}

/// The project's Governor settings: whether it is on, the mode, prompt checks, and which
/// results open a violation.
#[utoipa::path(
    get, path = "/api/compliance/governor/settings", tag = "governor",
    responses((status = 200, body = GovernorSettingsView))
)]
pub(crate) async fn settings(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
) -> Result<Json<GovernorSettingsView>, ApiError> {
    Ok(Json(state.control.governor_settings(&key.project_id).await?))
}

/// Changes the project's Governor settings (free projects cannot switch it on; enterprise
/// projects cannot switch it off).
#[utoipa::path(
    patch, path = "/api/compliance/governor/settings", tag = "governor",
    request_body = GovernorSettingsPatch,
    responses((status = 200, body = GovernorSettingsView), (status = 400, body = ErrorBody))
)]
pub(crate) async fn set_settings(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    ApiJson(body): ApiJson<GovernorSettingsPatch>,
) -> Result<Json<GovernorSettingsView>, ApiError> {
    let g = state.control.set_governor(&Actor::key(&key.id), &key.project_id, body).await?;
    state.feed.read_your_writes().await;
    Ok(Json(g))
}

/// The project's validations, newest first, a page at a time. Findings name rules, categories
/// and offsets, never the matched text; texts are kept as SHA-256 digests.
#[utoipa::path(
    get, path = "/api/compliance/governor/audits", tag = "governor",
    params(
        ("level" = Option<String>, Query, description = "`low`, `medium` or `high`"),
        ("since" = Option<String>, Query, description = "RFC 3339 time or Unix seconds"),
        ("limit" = Option<u32>, Query, description = "1 to 500, default 50"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses((status = 200, body = GovernorAuditPage), (status = 400, body = ErrorBody))
)]
pub(crate) async fn audits(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    query: Params,
) -> Result<Json<GovernorAuditPage>, ApiError> {
    let mut q = params(query)?;
    let limit = match q.remove("limit") {
        Some(l) => {
            Some(l.trim().parse::<u32>().map_err(|_| ApiError::bad_request("limit", "limit must be a whole number"))?)
        }
        None => None,
    };
    let query = AuditQuery { level: q.remove("level"), since: q.remove("since"), limit, cursor: q.remove("cursor") };
    Ok(Json(state.control.list_governor_audits(&key.project_id, &query).await?))
}

/// One validation.
#[utoipa::path(
    get, path = "/api/compliance/governor/audits/{id}", tag = "governor",
    params(("id" = String, Path, description = "Audit id (`x-governor-audit-id`)")),
    responses((status = 200, body = GovernorAuditView), (status = 404, body = ErrorBody))
)]
pub(crate) async fn audit(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    RecordId(id): RecordId,
) -> Result<Json<GovernorAuditView>, ApiError> {
    Ok(Json(state.control.get_governor_audit(&key.project_id, &id).await?))
}
