//! What the key-protected admin handlers share: the query string as a map, and the `{id}` of
//! the path, each refused with the JSON 400 of README "Errors" when it cannot be read.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;

use crate::error::ApiError;

pub(crate) type Params = Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

pub(crate) fn params(p: Params) -> Result<HashMap<String, String>, ApiError> {
    p.map(|Query(q)| q).map_err(|_| ApiError::bad_request("query", "The query string is not valid URL encoding"))
}

/// The `{id}` of the path. A segment that does not decode to UTF-8 gets the JSON 400 of README
/// "Errors" naming `id`, not axum's plain-text rejection (found by tests/fuzz_http.rs).
pub(crate) struct RecordId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RecordId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| RecordId(id))
            .map_err(|_| ApiError::bad_request("id", "The id in the path is not valid percent-encoded UTF-8"))
    }
}
