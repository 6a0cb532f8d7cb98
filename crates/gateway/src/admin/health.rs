//! `GET /api/health`: liveness without a key, and a way to test a key.

use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use regpilot_keys::{Environment, KeyType};
use serde::Serialize;
use utoipa::ToSchema;

use crate::path::auth::Authenticated;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HealthResponse<'a> {
    /// Always `ok`.
    pub status: &'static str,
    pub authenticated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "gateway")]
    pub key_type: Option<KeyType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "production")]
    pub environment: Option<Environment>,
}

/// Liveness, and whether the key sent (if any) is valid.
#[utoipa::path(
    get, path = "/api/health", tag = "system",
    responses(
        (status = 200, description = "Alive; `authenticated` tells whether a valid key was sent", body = HealthResponse),
        (status = 401, description = "A key was sent and it is not valid", body = crate::error::ErrorBody),
    )
)]
pub(crate) async fn health(key: Option<Extension<Authenticated>>) -> Response {
    Json(match &key {
        Some(Extension(Authenticated(k))) => HealthResponse {
            status: "ok",
            authenticated: true,
            project_id: Some(&k.project_id),
            key_type: Some(k.key_type),
            environment: Some(k.environment),
        },
        None => {
            HealthResponse { status: "ok", authenticated: false, project_id: None, key_type: None, environment: None }
        }
    })
    .into_response()
}
