//! `GET /api/usage`: the key's project's requests, errors and error rate for a period, per key
//! and per day.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::{Extension, Json};
use regpilot_control::{UsagePeriod, UsageReport};

use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::path::auth::Authenticated;
use crate::state::AppState;

type Params = Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

/// Usage of the key's project: `day` is today (UTC), `week` the last 7 UTC days, `month` the last 30.
#[utoipa::path(
    get, path = "/api/usage", tag = "usage",
    params(("period" = Option<String>, Query, description = "`day` (default), `week` or `month`")),
    responses(
        (status = 200, description = "Totals, per-key and per-day breakdowns", body = Object),
        (status = 400, description = "An unknown period", body = ErrorBody),
    )
)]
pub(crate) async fn usage(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    query: Params,
) -> Result<Json<UsageReport>, ApiError> {
    let Query(q) = query.map_err(|_| ApiError::bad_request("query", "The query string is not valid URL encoding"))?;
    let period: UsagePeriod = q.get("period").map_or("day", String::as_str).parse()?;
    let report = state.control.usage_report(&key.project_id, period, regpilot_store::now_ms()).await?;
    Ok(Json(report))
}
