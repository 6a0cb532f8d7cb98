//! Errors on the OpenAI-compatible routes (`/v1/*`) in OpenAI's shape, so OpenAI SDKs read
//! them: `{"error": {"message", "type", "param", "code"}}`. The SPEC's `code` and details stay
//! at the top level beside it (`{"error": {…}, "code": "INVALID_API_KEY", …}`), so a client
//! written against the SPEC still finds them.

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use serde_json::{json, Value};

/// Error bodies are small; anything larger is left as it is.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// OpenAI's error object: `{"message", "type", "param", "code"}`.
pub fn error_object(message: Value, kind: &str, param: Value, code: Value) -> Value {
    json!({"message": message, "type": kind, "param": param, "code": code})
}

/// Rewrites an error answer's body; other answers pass unchanged.
pub async fn reshape(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(Value::Object(mut spec)) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let message = spec.remove("error").unwrap_or(Value::Null);
    let code = spec.get("code").cloned().unwrap_or(Value::Null);
    let kind = match status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        s if s >= 500 => "server_error",
        _ => "invalid_request_error",
    };
    let param = spec.get("field").cloned().unwrap_or(Value::Null);
    spec.insert("error".into(), error_object(message, kind, param, code));
    let body = Value::Object(spec).to_string();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}
