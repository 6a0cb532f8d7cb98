//! Projects: create, list, get, set plan.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use regpilot_control::{NewProject, Plan, ProjectView};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::page::{paged, params, Params};
use super::Caller;
use crate::admin::params::RecordId;
use crate::error::{ApiError, ErrorBody};
use crate::path::json::ApiJson;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateProject {
    pub name: String,
    /// `free` (default), `pro` or `enterprise`.
    pub plan: Option<String>,
    /// Requests per UTC day (enterprise only; default unlimited).
    pub daily_limit: Option<i64>,
    /// Burst, requests per second (enterprise only; default 1000).
    pub burst: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetPlan {
    /// `free`, `pro` or `enterprise`.
    pub plan: String,
    pub daily_limit: Option<i64>,
    pub burst: Option<i64>,
}

/// Every project, oldest first (paged).
#[utoipa::path(
    get, path = "/api/admin/projects", tag = "admin",
    params(("limit" = Option<usize>, Query, description = "1–1000, default 100"), ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses((status = 200, description = "`{\"projects\": [project…], \"next_cursor\": …}`", body = Object), (status = 400, body = ErrorBody))
)]
pub(crate) async fn list_projects(
    State(state): State<AppState>,
    _: Caller,
    query: Params,
) -> Result<Json<Value>, ApiError> {
    let q = params(query)?;
    paged("projects", state.control.list_projects().await?, &q)
}

/// Creates a project.
#[utoipa::path(
    post, path = "/api/admin/projects", tag = "admin", request_body = CreateProject,
    responses((status = 201, description = "The project: id, name, plan, daily_limit, burst, governor, created_at", body = Object), (status = 400, body = ErrorBody))
)]
pub(crate) async fn create_project(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateProject>,
) -> Result<(StatusCode, Json<ProjectView>), ApiError> {
    let plan: Plan = body.plan.as_deref().unwrap_or("free").parse()?;
    let new = NewProject { name: body.name, plan, daily_limit: body.daily_limit, burst: body.burst };
    let p = state.control.create_project(&caller.actor, new).await?;
    state.feed.read_your_writes().await;
    Ok((StatusCode::CREATED, Json(p)))
}

/// One project.
#[utoipa::path(
    get, path = "/api/admin/projects/{id}", tag = "admin", params(("id" = String, Path, description = "Project id")),
    responses((status = 200, description = "The project", body = Object), (status = 404, body = ErrorBody))
)]
pub(crate) async fn get_project(
    State(state): State<AppState>,
    _: Caller,
    RecordId(id): RecordId,
) -> Result<Json<ProjectView>, ApiError> {
    Ok(Json(state.control.get_project(&id).await?))
}

/// Changes a project's plan (and, for enterprise, its custom limits); every instance's limiter
/// follows within a second.
#[utoipa::path(
    post, path = "/api/admin/projects/{id}/plan", tag = "admin", params(("id" = String, Path, description = "Project id")),
    request_body = SetPlan,
    responses((status = 200, description = "The project", body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn set_plan(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
    ApiJson(body): ApiJson<SetPlan>,
) -> Result<Json<ProjectView>, ApiError> {
    let plan: Plan = body.plan.parse()?;
    let p = state.control.set_plan(&caller.actor, &id, plan, body.daily_limit, body.burst).await?;
    state.feed.read_your_writes().await;
    Ok(Json(p))
}
