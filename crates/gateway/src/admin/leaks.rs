//! `POST /api/leaks` (README.md, "Leak response"): a batch of strings found in public, in the
//! shape of a secret-scanning partner report, sent by a reporter holding the configured
//! `leak_reporter_token` (checked by the route's layer, `Access::LeakReporter`). The rules are
//! the control plane's ([`regpilot_control::Control::report_leaks`]).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use regpilot_control::{LeakLabel, LeakReportItem, LeakVerdict};

use crate::error::{ApiError, ErrorBody};
use crate::path::json::ApiJsonArray;
use crate::state::AppState;

/// Acts on each reported string: a live key is deactivated (or, with `leak_action = alert`,
/// only alerted on) and a `key_leaked` alert names where it was found; anything else changes
/// nothing. The answer lists every item in order, with its display prefix only.
#[utoipa::path(
    post, path = "/api/leaks", tag = "leaks", operation_id = "report_leaks",
    request_body(content = Vec<LeakReportItem>, description = "At most 1000 items"),
    responses(
        (status = 200, body = Vec<LeakVerdict>, description = "One verdict per item, in order"),
        (status = 400, body = ErrorBody, description = "Not a JSON array of reports, or an item with a bad field (`INVALID_REQUEST`, `field`)"),
        (status = 401, body = ErrorBody, description = "No reporter token, or the wrong one (`INVALID_REPORTER_TOKEN`)"),
        (status = 404, body = ErrorBody, description = "No `leak_reporter_token` is configured: the endpoint is off"),
        (status = 413, body = ErrorBody, description = "Body over `max_body_bytes`"),
    )
)]
pub(crate) async fn report(
    State(state): State<AppState>,
    ApiJsonArray(items): ApiJsonArray<LeakReportItem>,
) -> Result<Response, ApiError> {
    let verdicts = state.control.report_leaks(&items, state.leaks.action).await?;
    if verdicts.iter().any(|v| v.label == LeakLabel::LiveKeyDeactivated) {
        // Refused here from the next request on; other instances follow the change feed.
        state.feed.read_your_writes().await;
    }
    let mut response = Json(verdicts).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
