//! Paging of the admin API's lists: `?limit=&cursor=` in, `{"<items>": [...], "next_cursor":
//! …}` out. The cursor is opaque to clients; `null` means the last page.

use std::collections::HashMap;

use axum::extract::Query;
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::ApiError;

pub(crate) const DEFAULT_LIMIT: usize = 100;
pub(crate) const MAX_LIMIT: usize = 1000;

pub(crate) type Params = Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

pub(crate) fn params(p: Params) -> Result<HashMap<String, String>, ApiError> {
    p.map(|Query(q)| q).map_err(|_| ApiError::bad_request("query", "The query string is not valid URL encoding"))
}

/// `limit` (1–1000, default 100) and the cursor, as given.
pub(crate) fn limit_and_cursor(q: &HashMap<String, String>) -> Result<(usize, Option<&str>), ApiError> {
    let limit = match q.get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l.trim().parse::<usize>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
            ApiError::bad_request("limit", format!("limit must be a whole number from 1 to {MAX_LIMIT}"))
        })?,
    };
    Ok((limit, q.get("cursor").map(String::as_str).filter(|c| !c.is_empty())))
}

/// A cursor that is a position in a list or a record number.
pub(crate) fn number_cursor(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    cursor
        .map(|c| {
            c.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| ApiError::bad_request("cursor", "cursor is not one this API gave"))
        })
        .transpose()
}

/// One page of a list the service layer returned whole (in its stable order): the cursor is
/// the position of the next item.
pub(crate) fn paged<T: Serialize>(
    field: &str,
    items: Vec<T>,
    q: &HashMap<String, String>,
) -> Result<Json<Value>, ApiError> {
    let (limit, cursor) = limit_and_cursor(q)?;
    let start = usize::try_from(number_cursor(cursor)?.unwrap_or(0)).unwrap_or(usize::MAX);
    let end = start.saturating_add(limit).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    let page: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    Ok(Json(json!({ field: page, "next_cursor": next })))
}
