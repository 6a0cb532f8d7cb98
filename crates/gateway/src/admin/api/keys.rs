//! Keys: create (the secret once), list, get, rename, deactivate, reactivate, delete, roll; a
//! key's usage and audit trail; and the status of digests for secret scanners.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use regpilot_control::{
    parse_grace, DigestStatus, KeyDetail, KeyUsage, KeyView, NewKey, DEFAULT_GRACE_MS, MAX_DIGESTS,
};
use regpilot_keys::{Environment, KeyType, Scopes};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::page::{paged, params, Params};
use super::Caller;
use crate::admin::params::RecordId;
use crate::error::{ApiError, ErrorBody};
use crate::path::json::{parse_json, ApiJson};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateKey {
    /// `gateway` (sk_) or `project` (pk_).
    #[serde(rename = "type")]
    pub key_type: String,
    /// `dev`, `stg`, `prod` (or `development`, `staging`, `production`).
    pub environment: String,
    pub name: String,
    /// Only the type's read scopes.
    #[serde(default)]
    pub read_only: bool,
    /// Scopes instead of the type's defaults.
    #[schema(value_type = Option<Vec<String>>)]
    pub scopes: Option<Scopes>,
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rename {
    pub name: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Roll {
    /// How long the old key keeps working: `0`, or a number with `s`, `m`, `h` or `d` (at most
    /// `30d`). Default `24h`.
    pub grace: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusQuery {
    /// Lowercase hex SHA-256 digests of found strings (at most 1000).
    pub digests: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Statuses {
    keys: Vec<DigestStatus>,
}

/// An answer that carries a secret: created here, never stored, never cached.
fn secret_answer<T: Serialize>(status: StatusCode, body: T) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A project's keys (deleted ones left out), oldest first, each with its roll links (paged).
#[utoipa::path(
    get, path = "/api/admin/projects/{id}/keys", tag = "admin",
    params(("id" = String, Path, description = "Project id"), ("limit" = Option<usize>, Query, description = "1–1000, default 100"), ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses((status = 200, description = "`{\"keys\": [key…], \"next_cursor\": …}` — never a secret", body = Object), (status = 404, body = ErrorBody))
)]
pub(crate) async fn list_keys(
    State(state): State<AppState>,
    _: Caller,
    RecordId(id): RecordId,
    query: Params,
) -> Result<Json<Value>, ApiError> {
    let q = params(query)?;
    paged("keys", state.control.list_key_details(&id).await?, &q)
}

/// Creates a key in the project; the answer is the only time the secret is shown.
#[utoipa::path(
    post, path = "/api/admin/projects/{id}/keys", tag = "admin", params(("id" = String, Path, description = "Project id")),
    request_body = CreateKey,
    responses((status = 201, description = "The key with its `secret` (shown once; `Cache-Control: no-store`)", body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
    ApiJson(body): ApiJson<CreateKey>,
) -> Result<Response, ApiError> {
    let key_type: KeyType = body.key_type.parse().map_err(|e| ApiError::bad_request("type", format!("type: {e}")))?;
    let environment: Environment =
        body.environment.parse().map_err(|e| ApiError::bad_request("environment", format!("environment: {e}")))?;
    let new = NewKey {
        project_id: id,
        name: body.name,
        key_type,
        environment,
        read_only: body.read_only,
        scopes: body.scopes,
        expires_in_days: body.expires_in_days,
    };
    let created = state.control.create_key(&caller.actor, new).await?;
    state.feed.read_your_writes().await;
    Ok(secret_answer(StatusCode::CREATED, created))
}

/// One key (a deleted key's tombstone too), with `rolled_to`, `rolled_from` and the old key's
/// `uses_since_roll`.
#[utoipa::path(
    get, path = "/api/admin/keys/{id}", tag = "admin", params(("id" = String, Path, description = "Key id")),
    responses((status = 200, description = "The key and its roll links", body = Object), (status = 404, body = ErrorBody))
)]
pub(crate) async fn get_key(
    State(state): State<AppState>,
    _: Caller,
    RecordId(id): RecordId,
) -> Result<Json<KeyDetail>, ApiError> {
    Ok(Json(state.control.get_key_detail(&id).await?))
}

/// Renames a key.
#[utoipa::path(
    patch, path = "/api/admin/keys/{id}", tag = "admin", params(("id" = String, Path, description = "Key id")),
    request_body = Rename,
    responses((status = 200, description = "The key", body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub(crate) async fn rename_key(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
    ApiJson(body): ApiJson<Rename>,
) -> Result<Json<KeyView>, ApiError> {
    Ok(Json(state.control.rename_key(&caller.actor, &id, &body.name).await?))
}

/// Deactivates a key: refused everywhere within a second until reactivated.
#[utoipa::path(
    post, path = "/api/admin/keys/{id}/deactivate", tag = "admin", params(("id" = String, Path, description = "Key id")),
    responses((status = 200, description = "The key", body = Object), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub(crate) async fn deactivate_key(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
) -> Result<Json<KeyView>, ApiError> {
    let k = state.control.deactivate_key(&caller.actor, &id).await?;
    state.feed.read_your_writes().await;
    Ok(Json(k))
}

/// Reactivates an inactive key. Deleted keys cannot come back (409).
#[utoipa::path(
    post, path = "/api/admin/keys/{id}/reactivate", tag = "admin", params(("id" = String, Path, description = "Key id")),
    responses((status = 200, description = "The key", body = Object), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub(crate) async fn reactivate_key(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
) -> Result<Json<KeyView>, ApiError> {
    let k = state.control.reactivate_key(&caller.actor, &id).await?;
    state.feed.read_your_writes().await;
    Ok(Json(k))
}

/// Deletes a key for good.
#[utoipa::path(
    delete, path = "/api/admin/keys/{id}", tag = "admin", params(("id" = String, Path, description = "Key id")),
    responses((status = 200, description = "The key's tombstone", body = Object), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub(crate) async fn delete_key(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
) -> Result<Json<KeyView>, ApiError> {
    let k = state.control.delete_key(&caller.actor, &id).await?;
    state.feed.read_your_writes().await;
    Ok(Json(k))
}

/// Rolls a key: a successor with the same attributes (its secret shown once); the old key keeps
/// working until the grace period ends, then expires everywhere. The body is optional.
#[utoipa::path(
    post, path = "/api/admin/keys/{id}/roll", tag = "admin", params(("id" = String, Path, description = "Key id")),
    request_body(content = Roll, description = "Optional; `{\"grace\": \"24h\"}` by default"),
    responses((status = 201, description = "The successor with its `secret` (shown once), `rolled_from` (the old key) and `grace_ends_at`", body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub(crate) async fn roll_key(
    State(state): State<AppState>,
    caller: Caller,
    RecordId(id): RecordId,
    body: Bytes,
) -> Result<Response, ApiError> {
    let roll: Roll = if body.iter().all(u8::is_ascii_whitespace) { Roll::default() } else { parse_json(&body)? };
    let grace_ms = roll.grace.as_deref().map(parse_grace).transpose()?.unwrap_or(DEFAULT_GRACE_MS);
    let rolled = state.control.roll_key(&caller.actor, &id, grace_ms).await?;
    state.feed.read_your_writes().await;
    Ok(secret_answer(StatusCode::CREATED, rolled))
}

/// A key's usage: totals, the last 24 hours, the last 30 days, countries, AI usage.
#[utoipa::path(
    get, path = "/api/admin/keys/{id}/usage", tag = "admin", params(("id" = String, Path, description = "Key id")),
    responses((status = 200, description = "The key's usage (as on its dashboard page)", body = Object), (status = 404, body = ErrorBody))
)]
pub(crate) async fn key_usage(
    State(state): State<AppState>,
    _: Caller,
    RecordId(id): RecordId,
) -> Result<Json<KeyUsage>, ApiError> {
    Ok(Json(state.control.key_usage(&id, regpilot_store::now_ms()).await?))
}

/// A key's audit trail, oldest first (paged).
#[utoipa::path(
    get, path = "/api/admin/keys/{id}/audit", tag = "admin",
    params(("id" = String, Path, description = "Key id"), ("limit" = Option<usize>, Query, description = "1–1000, default 100"), ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses((status = 200, description = "`{\"entries\": [{at, actor, action, target_type, target_id, project_id, detail}…], \"next_cursor\": …}`", body = Object), (status = 404, body = ErrorBody))
)]
pub(crate) async fn key_audit(
    State(state): State<AppState>,
    _: Caller,
    RecordId(id): RecordId,
    query: Params,
) -> Result<Json<Value>, ApiError> {
    let q = params(query)?;
    let entries: Vec<super::audit::AuditView> =
        state.control.key_audit(&id).await?.into_iter().map(|e| super::audit::AuditView::new(None, e)).collect();
    paged("entries", entries, &q)
}

/// Whether each digest is a live key (or admin token), one that no longer works, or unknown:
/// what `regpilot scan --check --server` asks, with no secret sent.
#[utoipa::path(
    post, path = "/api/admin/keys/status", tag = "admin", request_body = StatusQuery,
    responses((status = 200, description = "`{\"keys\": [{digest, status: live|inactive|deleted|expired|unknown, kind, prefix, key_id}…]}` in the order asked", body = Object), (status = 400, body = ErrorBody))
)]
pub(crate) async fn key_statuses(
    State(state): State<AppState>,
    _: Caller,
    ApiJson(body): ApiJson<StatusQuery>,
) -> Result<Json<Value>, ApiError> {
    if body.digests.len() > MAX_DIGESTS {
        return Err(ApiError::bad_request("digests", format!("At most {MAX_DIGESTS} digests per call")));
    }
    let keys = state.control.digest_statuses(&body.digests).await?;
    Ok(Json(serde_json::to_value(Statuses { keys }).map_err(|e| ApiError::Internal(e.to_string()))?))
}
