//! `/api/compliance/*` for project keys: violations, the model registry, the status score.
//! Every call is scoped to the key's own project.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::{Extension, Json};
use regpilot_control::{
    Actor, ComplianceStatus, ModelPatch, ModelView, NewModel, NewViolation, Severity, ViolationPatch, ViolationStatus,
    ViolationView,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::path::auth::Authenticated;
use crate::path::json::ApiJson;
use crate::state::AppState;

type Params = Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

fn params(p: Params) -> Result<HashMap<String, String>, ApiError> {
    p.map(|Query(q)| q).map_err(|_| ApiError::bad_request("query", "The query string is not valid URL encoding"))
}

/// The `{id}` of the path. A segment that does not decode to UTF-8 gets the JSON 400 of README
/// "Errors" naming `id`, not axum's plain-text rejection (found by tests/fuzz_http.rs).
pub(crate) struct RecordId(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for RecordId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| RecordId(id))
            .map_err(|_| ApiError::bad_request("id", "The id in the path is not valid percent-encoded UTF-8"))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ViolationList {
    pub violations: Vec<ViolationView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ModelList {
    pub models: Vec<ModelView>,
}

/// The project's violations, newest first.
#[utoipa::path(
    get, path = "/api/compliance/violations", tag = "compliance",
    params(
        ("status" = Option<String>, Query, description = "`open` or `resolved`"),
        ("severity" = Option<String>, Query, description = "`low`, `medium`, `high` or `critical`"),
    ),
    responses((status = 200, body = ViolationList), (status = 400, body = ErrorBody))
)]
pub(crate) async fn list_violations(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    query: Params,
) -> Result<Json<ViolationList>, ApiError> {
    let q = params(query)?;
    let status = q.get("status").map(|s| ViolationStatus::parse("status", s)).transpose()?;
    let severity = q.get("severity").map(|s| Severity::parse("severity", s)).transpose()?;
    let violations = state.control.list_violations(&key.project_id, status, severity).await?;
    Ok(Json(ViolationList { violations }))
}

/// Records a violation (status `open`).
#[utoipa::path(
    post, path = "/api/compliance/violations", tag = "compliance",
    request_body = NewViolation,
    responses((status = 201, body = ViolationView), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody))
)]
pub(crate) async fn create_violation(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    ApiJson(body): ApiJson<NewViolation>,
) -> Result<(StatusCode, Json<ViolationView>), ApiError> {
    let v = state.control.create_violation(&Actor::key(&key.id), &key.project_id, body).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// Resolves a violation with a note, or reopens it.
#[utoipa::path(
    patch, path = "/api/compliance/violations/{id}", tag = "compliance",
    params(("id" = String, Path, description = "Violation id")),
    request_body = ViolationPatch,
    responses((status = 200, body = ViolationView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn update_violation(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    RecordId(id): RecordId,
    ApiJson(body): ApiJson<ViolationPatch>,
) -> Result<Json<ViolationView>, ApiError> {
    Ok(Json(state.control.update_violation(&Actor::key(&key.id), &key.project_id, &id, body).await?))
}

/// The project's model registry; archived entries only with `status=archived` or `all`.
#[utoipa::path(
    get, path = "/api/compliance/models", tag = "compliance",
    params(("status" = Option<String>, Query, description = "`active` (default), `archived` or `all`")),
    responses((status = 200, body = ModelList), (status = 400, body = ErrorBody))
)]
pub(crate) async fn list_models(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    query: Params,
) -> Result<Json<ModelList>, ApiError> {
    let q = params(query)?;
    let wanted = q.get("status").map(String::as_str).unwrap_or("active");
    if !matches!(wanted, "active" | "archived" | "all") {
        return Err(ApiError::bad_request(
            "status",
            format!("status must be one of: active, archived, all (got '{wanted}')"),
        ));
    }
    let mut models = state.control.list_models(&key.project_id, wanted != "active").await?;
    if wanted == "archived" {
        models.retain(|m| m.status == "archived");
    }
    Ok(Json(ModelList { models }))
}

/// Registers a model with its EU AI Act risk level.
#[utoipa::path(
    post, path = "/api/compliance/models", tag = "compliance",
    request_body = NewModel,
    responses((status = 201, body = ModelView), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody))
)]
pub(crate) async fn register_model(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    ApiJson(body): ApiJson<NewModel>,
) -> Result<(StatusCode, Json<ModelView>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.control.register_model(&key.project_id, body).await?)))
}

#[utoipa::path(
    get, path = "/api/compliance/models/{id}", tag = "compliance",
    params(("id" = String, Path, description = "Model id")),
    responses((status = 200, body = ModelView), (status = 404, body = ErrorBody))
)]
pub(crate) async fn get_model(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    RecordId(id): RecordId,
) -> Result<Json<ModelView>, ApiError> {
    Ok(Json(state.control.get_model(&key.project_id, &id).await?))
}

/// Changes the fields given; archived entries are read-only (409).
#[utoipa::path(
    patch, path = "/api/compliance/models/{id}", tag = "compliance",
    params(("id" = String, Path, description = "Model id")),
    request_body = ModelPatch,
    responses((status = 200, body = ModelView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub(crate) async fn update_model(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    RecordId(id): RecordId,
    ApiJson(body): ApiJson<ModelPatch>,
) -> Result<Json<ModelView>, ApiError> {
    Ok(Json(state.control.update_model(&key.project_id, &id, body).await?))
}

/// Takes a model out of the active registry, keeping its record.
#[utoipa::path(
    post, path = "/api/compliance/models/{id}/archive", tag = "compliance",
    params(("id" = String, Path, description = "Model id")),
    responses((status = 200, body = ModelView), (status = 404, body = ErrorBody))
)]
pub(crate) async fn archive_model(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    RecordId(id): RecordId,
) -> Result<Json<ModelView>, ApiError> {
    Ok(Json(state.control.archive_model(&key.project_id, &id).await?))
}

/// A 0–100 score from open violations by severity and registry completeness (formula in the
/// body and in `docs/compliance.md`).
#[utoipa::path(
    get, path = "/api/compliance/status", tag = "compliance",
    responses((status = 200, body = ComplianceStatus))
)]
pub(crate) async fn status(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
) -> Result<Json<ComplianceStatus>, ApiError> {
    Ok(Json(state.control.compliance_status(&key.project_id).await?))
}
