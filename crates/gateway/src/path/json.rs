//! The JSON body extractor: a size limit answered with the 413 of README.md, "Errors", and errors
//! that name the failing field (via `serde_path_to_error`) instead of axum's default rejection
//! text.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

pub(crate) struct ApiJson<T>(pub T);

/// A body that is a JSON array of `T` (`POST /api/leaks`), with the same limit and errors;
/// a failing field is named with its item's index, e.g. `[2].token`.
pub(crate) struct ApiJsonArray<T>(pub Vec<T>);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        read_body(req, state).await.and_then(|bytes| parse_json(&bytes)).map(ApiJson)
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJsonArray<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        read_body(req, state).await.and_then(|bytes| parse_json_as(&bytes, Shape::Array)).map(ApiJsonArray)
    }
}

async fn read_body(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    // A declared length over the limit was refused by the router's first layer; a body sent
    // without one is cut here.
    let limit = state.max_body_bytes;
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !(mime.eq_ignore_ascii_case("application/json") || mime.to_ascii_lowercase().ends_with("+json")) {
        return Err(ApiError::bad_request("Content-Type", "Content-Type must be application/json"));
    }
    axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| ApiError::PayloadTooLarge { limit })
}

/// What the top level of a body must be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Object,
    Array,
}

/// Deserializes `bytes`, turning any failure into a 400 that names the field.
///
/// Two steps: the syntax is checked first (one JSON object, nothing after it), then the value
/// is mapped onto `T`, so every error of the second step is about a field and can name it.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_json_as(bytes, Shape::Object)
}

fn parse_json_as<T: DeserializeOwned>(bytes: &[u8], shape: Shape) -> Result<T, ApiError> {
    let wanted = if shape == Shape::Array { "a JSON array" } else { "a JSON object" };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("body", format!("Request body is empty; send {wanted}")));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request("body", format!("Malformed JSON body: {}", strip_position(&e.to_string())))
    })?;
    if (shape == Shape::Object && !value.is_object()) || (shape == Shape::Array && !value.is_array()) {
        return Err(ApiError::bad_request("body", format!("Request body must be {wanted}")));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let detail = strip_position(&e.into_inner().to_string());
        // "missing field `x`" is about `x` inside the path's object (an unknown field's name is
        // already the last segment of its path).
        let named = detail.starts_with("missing field").then(|| backticked(&detail)).flatten();
        let field = match (path.as_str(), named) {
            ("." | "", Some(name)) => name,
            ("." | "", None) => backticked(&detail).unwrap_or_else(|| "body".into()),
            (_, Some(name)) => format!("{path}.{name}"),
            (_, None) => path,
        };
        if field == "body" {
            ApiError::bad_request(field, format!("Invalid request body: {detail}"))
        } else {
            ApiError::bad_request(field.clone(), format!("Invalid field '{field}': {detail}"))
        }
    })
}

/// serde_json appends " at line 1 column 9"; the field name says more to a caller.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// The first name in backticks: the field of "missing field `title`" or "unknown field `x`".
fn backticked(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(msg[start..start + len].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        title: String,
        n: Option<u8>,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        a: u8,
    }

    fn field_of(body: &str) -> (String, String) {
        match parse_json::<T>(body.as_bytes()) {
            Err(ApiError::BadRequest { field, message }) => (field, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(r#"{"n": 1}"#).0, "title");
        assert_eq!(field_of(r#"{"title": 5}"#).0, "title");
        assert_eq!(field_of(r#"{"title": "x", "n": 300}"#).0, "n");
        assert_eq!(field_of(r#"{"title": "x", "extra": 1}"#).0, "extra");
        assert_eq!(field_of(r#"{"title": "#).0, "body");
        assert_eq!(field_of("").0, "body");
        assert_eq!(field_of("[1]").0, "body");
        assert_eq!(field_of(r#"["x", 1]"#).0, "body");
        assert_eq!(field_of(r#"{"title": "x"} trailing"#).0, "body");
        assert_eq!(field_of(r#"{"title": "x"}{"title": "y"}"#).0, "body");
        assert_eq!(field_of(r#"{"title": "x", "n": "seven"}"#).0, "n");
        assert_eq!(field_of(r#"{"title": "x", "inner": {}}"#).0, "inner.a");
        assert_eq!(field_of(r#"{"title": "x", "inner": {"a": 1, "b": 2}}"#).0, "inner.b");
        let (_, message) = field_of(r#"{"title": 5}"#);
        assert!(message.starts_with("Invalid field 'title': invalid type"), "{message}");
        assert!(!message.contains("line"), "{message}");
    }
}
