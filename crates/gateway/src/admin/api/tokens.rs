//! The caller's own admin tokens: list, create (shown once), revoke.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use regpilot_control::{AdminTokenView, CreatedAdminToken};
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
pub(crate) struct CreateToken {
    pub name: String,
    pub expires_in_days: Option<i64>,
    /// The token may only read, whatever the role.
    #[serde(default)]
    pub read_only: bool,
    /// The token's user (email or id): only the caller. Optional.
    pub user: Option<String>,
}

/// The caller's admin tokens, revoked ones included (paged; never a token).
#[utoipa::path(
    get, path = "/api/admin/tokens", tag = "admin",
    params(("limit" = Option<usize>, Query, description = "1–1000, default 100"), ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses((status = 200, description = "`{\"tokens\": [{id, name, prefix, read_only, status, created_at, last_used_at, expires_at, …}…], \"next_cursor\": …}`", body = Object))
)]
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    query: Params,
) -> Result<Json<Value>, ApiError> {
    let q = params(query)?;
    paged("tokens", state.control.list_admin_tokens(Some(&caller.user_id)).await?, &q)
}

/// Creates an admin token for the caller; the answer is the only time it is shown.
#[utoipa::path(
    post, path = "/api/admin/tokens", tag = "admin", request_body = CreateToken,
    responses((status = 201, description = "The token with its `secret` (shown once; `Cache-Control: no-store`)", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<CreatedAdminToken>), ApiError> {
    if let Some(user) = body.user.as_deref().map(str::trim) {
        if !(user.eq_ignore_ascii_case(&caller.email) || user == caller.user_id) {
            return Err(ApiError::AdminForbidden {
                required: "self",
                message: format!("An admin token can only be created for yourself ({}) through the API", caller.email),
            });
        }
    }
    let created = state
        .control
        .create_admin_token(&caller.actor, &caller.user_id, &body.name, body.expires_in_days, body.read_only)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes one of the caller's tokens: it stops working at once.
#[utoipa::path(
    delete, path = "/api/admin/tokens/{id}", tag = "admin", params(("id" = String, Path, description = "Token id")),
    responses((status = 200, description = "The token", body = Object), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
) -> Result<Json<AdminTokenView>, ApiError> {
    Ok(Json(state.control.revoke_admin_token(&caller.actor, &id, Some(&caller.user_id)).await?))
}
