//! Readiness, metrics and the API document: public, no key read.

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyResponse {
    /// `ready`.
    pub status: &'static str,
    /// `ok` when the store answered.
    pub store: &'static str,
}

/// 200 when this instance can serve: key index loaded and the store answering.
#[utoipa::path(
    get, path = "/api/ready", tag = "system",
    responses(
        (status = 200, description = "Ready", body = ReadyResponse),
        (status = 503, description = "Starting, shutting down, or the store is not answering", body = crate::openapi::ErrorBody),
    )
)]
pub async fn ready(State(state): State<AppState>) -> Result<Json<ReadyResponse>, ApiError> {
    if !state.is_ready() {
        return Err(ApiError::NotReady("Gateway is starting or shutting down".into()));
    }
    match tokio::time::timeout(Duration::from_secs(2), state.control.store().ping()).await {
        Ok(Ok(())) => Ok(Json(ReadyResponse { status: "ready", store: "ok" })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: store error");
            Err(ApiError::NotReady("Store is not answering".into()))
        }
        Err(_) => Err(ApiError::NotReady("Store did not answer within 2 seconds".into())),
    }
}

/// Prometheus text format.
#[utoipa::path(
    get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String))
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}

/// This document.
#[utoipa::path(
    get, path = "/api/openapi.json", tag = "system",
    responses((status = 200, description = "The OpenAPI document of every route", content_type = "application/json", body = Object))
)]
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::openapi::document_json()).into_response()
}
