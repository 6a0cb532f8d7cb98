//! `POST /api/leaks` (README.md, "Leak response"): a batch of strings found in public, in the
//! shape of a secret-scanning partner report, sent by a reporter holding the configured
//! `leak_reporter_token` (checked by the route's layer, `Access::LeakReporter`). The rules are
//! the control plane's ([`regpilot_control::Control::report_leaks`]).

use std::fmt;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use regpilot_control::{LeakAction, LeakLabel, LeakReportItem, LeakVerdict};

use crate::error::{ApiError, ErrorBody};
use crate::path::json::ApiJsonArray;
use crate::state::AppState;

/// The secret a leak reporter presents as `Authorization: Bearer <token>`. Its `Debug` never
/// shows it.
#[derive(Clone)]
pub struct LeakReporterToken(String);

impl LeakReporterToken {
    /// `None` for an empty or blank value (the endpoint stays off).
    pub fn new(token: &str) -> Option<LeakReporterToken> {
        let t = token.trim();
        (!t.is_empty()).then(|| LeakReporterToken(t.to_owned()))
    }

    /// Constant time in the presented value: both sides are hashed first, so neither the
    /// length nor a common prefix shows in the time taken.
    fn matches(&self, presented: &str) -> bool {
        let (a, b) = (regpilot_keys::digest(&self.0).0, regpilot_keys::digest(presented).0);
        a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for LeakReporterToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LeakReporterToken(<redacted>)")
    }
}

/// What the leak endpoint runs with: off without a token.
#[derive(Debug, Clone, Default)]
pub struct LeakResponse {
    pub reporter_token: Option<LeakReporterToken>,
    pub action: LeakAction,
}

/// The layer's decision for `Access::LeakReporter`: `None` lets the request through.
pub(crate) fn check_reporter(leaks: &LeakResponse, headers: &HeaderMap) -> Option<ApiError> {
    let Some(expected) = &leaks.reporter_token else {
        return Some(ApiError::NotFound(
            "Leak reports are not enabled on this server (set leak_reporter_token)".into(),
        ));
    };
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let presented = match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().ok().and_then(bearer),
        _ => None,
    };
    match presented {
        Some(token) if expected.matches(token) => None,
        _ => Some(ApiError::InvalidReporterToken),
    }
}

fn bearer(value: &str) -> Option<&str> {
    let v = value.trim();
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim()).filter(|t| !t.is_empty())
}

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
