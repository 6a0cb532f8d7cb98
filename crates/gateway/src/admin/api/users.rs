//! Dashboard users: list, create, set role, deactivate, reactivate, reset password. `{id}` is
//! the user's id or email address.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use regpilot_control::{PasswordReset, UserView};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::page::{paged, params, Params};
use super::Caller;
use crate::admin::params::RecordId;
use crate::error::{ApiError, ErrorBody};
use crate::path::json::ApiJson;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUser {
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    /// `admin` (default) or `viewer`.
    pub role: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetRole {
    /// `admin` or `viewer`.
    pub role: String,
}

/// Every dashboard user, oldest first (paged; never a password hash).
#[utoipa::path(
    get, path = "/api/admin/users", tag = "admin",
    params(("limit" = Option<usize>, Query, description = "1–1000, default 100"), ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses((status = 200, description = "`{\"users\": [{id, email, role, status, created_at}…], \"next_cursor\": …}`", body = Object), (status = 400, body = ErrorBody))
)]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    _: Caller,
    query: Params,
) -> Result<Json<Value>, ApiError> {
    let q = params(query)?;
    paged("users", state.control.list_users().await?, &q)
}

/// Creates a dashboard user.
#[utoipa::path(
    post, path = "/api/admin/users", tag = "admin", request_body = CreateUser,
    responses((status = 201, description = "The user", body = Object), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let role = body.role.as_deref().unwrap_or("admin");
    if !regpilot_control::ROLES.contains(&role) {
        return Err(ApiError::bad_request("role", format!("unknown role '{role}' (expected one of: admin, viewer)")));
    }
    let u = state.control.create_user(&caller.actor, &body.email, body.password, role, false).await?;
    Ok((StatusCode::CREATED, Json(u)))
}

/// Changes a user's role; it applies at once to the user's sessions and tokens.
#[utoipa::path(
    post, path = "/api/admin/users/{id}/role", tag = "admin", params(("id" = String, Path, description = "User id or email")),
    request_body = SetRole,
    responses((status = 200, description = "The user", body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn set_role(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
    ApiJson(body): ApiJson<SetRole>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(state.control.set_user_role(&caller.actor, &id, &body.role).await?))
}

/// Deactivates a user: the login is refused, and the user's sessions and admin tokens stop
/// working at once.
#[utoipa::path(
    post, path = "/api/admin/users/{id}/deactivate", tag = "admin", params(("id" = String, Path, description = "User id or email")),
    responses((status = 200, description = "The user", body = Object), (status = 404, body = ErrorBody))
)]
pub(crate) async fn deactivate_user(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
) -> Result<Json<UserView>, ApiError> {
    let u = state.control.find_user(&id).await?;
    state.control.deactivate_user(&caller.actor, &u.id).await?;
    Ok(Json(state.control.find_user(&u.id).await?))
}

/// Lets a deactivated user log in (and use their tokens) again.
#[utoipa::path(
    post, path = "/api/admin/users/{id}/reactivate", tag = "admin", params(("id" = String, Path, description = "User id or email")),
    responses((status = 200, description = "The user", body = Object), (status = 404, body = ErrorBody))
)]
pub(crate) async fn reactivate_user(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
) -> Result<Json<UserView>, ApiError> {
    let u = state.control.find_user(&id).await?;
    state.control.reactivate_user(&caller.actor, &u.id).await?;
    Ok(Json(state.control.find_user(&u.id).await?))
}

/// Resets a forgotten password: the answer carries a generated one-time password (shown once);
/// the user must change it at the next login, and the user's sessions end.
#[utoipa::path(
    post, path = "/api/admin/users/{id}/password-reset", tag = "admin", params(("id" = String, Path, description = "User id or email")),
    responses((status = 200, description = "The user with `password`, the one-time password (`Cache-Control: no-store`)", body = Object), (status = 404, body = ErrorBody))
)]
pub(crate) async fn reset_password(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
) -> Result<Json<PasswordReset>, ApiError> {
    Ok(Json(state.control.reset_user_password(&caller.actor, &id).await?))
}
