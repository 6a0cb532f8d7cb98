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
pub(crate) struct ReadyResponse {
    /// `ready`.
    pub status: &'static str,
    /// `ok` when the store answered.
    pub store: &'static str,
    /// The limiter backend (`local` or `redis`); Redis, where configured, answered too.
    pub rate_limiter: &'static str,
}

/// 200 when this instance can serve: key index loaded, the store answering, and Redis too
/// where the limiter uses it.
#[utoipa::path(
    get, path = "/api/ready", tag = "system",
    responses(
        (status = 200, description = "Ready", body = ReadyResponse),
        (status = 503, description = "Starting, shutting down, or the store or Redis is not answering", body = crate::error::ErrorBody),
    )
)]
pub(crate) async fn ready(State(state): State<AppState>) -> Result<Json<ReadyResponse>, ApiError> {
    if !state.is_ready() {
        return Err(ApiError::NotReady("Gateway is starting or shutting down".into()));
    }
    match tokio::time::timeout(Duration::from_secs(2), state.control.store().ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: store error");
            return Err(ApiError::NotReady("Store is not answering".into()));
        }
        Err(_) => return Err(ApiError::NotReady("Store did not answer within 2 seconds".into())),
    }
    let rate_limiter = state.limiter.backend();
    if let Err(e) = state.limiter.health().await {
        tracing::warn!(error = %e, "readiness: rate limiter error");
        let mode = state.limiter.failure_mode().map_or("local", |m| m.as_str());
        return Err(ApiError::NotReady(format!(
            "Redis (rate limiter) is not answering; meanwhile requests follow the failure mode '{mode}'"
        )));
    }
    Ok(Json(ReadyResponse { status: "ready", store: "ok", rate_limiter }))
}

/// Prometheus text format.
#[utoipa::path(
    get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String))
)]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render_with(&state.limiter.stats()),
    )
        .into_response()
}
