//! Every error answer of the gateway, in the SPEC's JSON shape:
//! `{"error": <message>, "code": <CODE>, ...details}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use regpilot_control::ControlError;
use regpilot_keys::Scope;
use serde::Serialize;

/// The headers a key is looked for in, in order, as named in the 401 body.
pub const HEADERS_CHECKED: [&str; 6] =
    ["X-API-Key", "X-RegPilot-Key", "Api-Key", "Authorization", "X-Authorization", "Proxy-Authorization"];

#[derive(Debug)]
pub enum ApiError {
    MissingKey,
    /// Malformed, bad checksum, unknown, inactive, deleted or expired: one answer for all.
    /// `with_authenticated` adds `"authenticated": false` (the health route).
    InvalidKey {
        with_authenticated: bool,
    },
    Forbidden {
        required: Scope,
    },
    BadRequest {
        field: String,
        message: String,
    },
    PayloadTooLarge {
        limit: usize,
    },
    NotFound(String),
    Conflict(String),
    MethodNotAllowed,
    NotReady(String),
    /// The per-key limiter refused: `limit` is `burst` or `daily`; `retry_after` whole seconds.
    /// `with_authenticated` adds `"authenticated": true` (the health route: the key is valid).
    RateLimited {
        limit: &'static str,
        retry_after: u64,
        with_authenticated: bool,
    },
    /// The cause goes to the log only; the body is opaque.
    Internal(String),
    /// A model's upstream failed, timed out or cannot be reached (502, 503, 504).
    Upstream(regpilot_ai::UpstreamError),
    /// No upstream can serve the request (503 `UPSTREAM_UNAVAILABLE`); says how to configure one.
    NoUpstream(String),
    /// A feature this version does not have (501 `NOT_IMPLEMENTED`).
    NotImplemented(String),
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authenticated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers_checked: Option<&'a [&'a str]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    required: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit_bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
}

impl Body<'_> {
    fn new<'a>(error: &'a str, code: &'a str) -> Body<'a> {
        Body {
            error,
            code,
            authenticated: None,
            headers_checked: None,
            required: None,
            field: None,
            limit_bytes: None,
            limit: None,
            retry_after: None,
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MissingKey | ApiError::InvalidKey { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Upstream(e) => StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_GATEWAY),
            ApiError::NoUpstream(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
        }
    }

    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest { field: field.into(), message: message.into() }
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        match e {
            ControlError::Invalid { field, message } => ApiError::BadRequest { field: field.into(), message },
            ControlError::NotFound { .. } => ApiError::NotFound(capitalize(&e.to_string())),
            ControlError::Conflict(m) => ApiError::Conflict(m),
            ControlError::Store(_) | ControlError::Internal(_) => ApiError::Internal(e.to_string()),
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let upstream_message;
        let body = match &self {
            ApiError::MissingKey => {
                Body { headers_checked: Some(&HEADERS_CHECKED), ..Body::new("Missing API key", "MISSING_API_KEY") }
            }
            ApiError::InvalidKey { with_authenticated } => Body {
                authenticated: with_authenticated.then_some(false),
                ..Body::new("Invalid or inactive API key", "INVALID_API_KEY")
            },
            ApiError::Forbidden { required } => Body {
                required: Some(required.as_str()),
                ..Body::new("API key lacks required permissions", "INSUFFICIENT_PERMISSIONS")
            },
            ApiError::BadRequest { field, message } => {
                Body { field: Some(field), ..Body::new(message, "INVALID_REQUEST") }
            }
            ApiError::PayloadTooLarge { limit } => {
                Body { limit_bytes: Some(*limit), ..Body::new("Request body too large", "PAYLOAD_TOO_LARGE") }
            }
            ApiError::NotFound(m) => Body::new(m, "NOT_FOUND"),
            ApiError::Conflict(m) => Body::new(m, "CONFLICT"),
            ApiError::MethodNotAllowed => Body::new("Method not allowed on this route", "METHOD_NOT_ALLOWED"),
            ApiError::NotReady(m) => Body::new(m, "NOT_READY"),
            ApiError::RateLimited { limit, retry_after, with_authenticated } => Body {
                authenticated: with_authenticated.then_some(true),
                limit: Some(limit),
                retry_after: Some(*retry_after),
                ..Body::new("Rate limit exceeded", "RATE_LIMIT_EXCEEDED")
            },
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                Body::new("Internal server error", "INTERNAL_ERROR")
            }
            ApiError::Upstream(e) => {
                upstream_message = e.to_string();
                Body::new(&upstream_message, e.code())
            }
            ApiError::NoUpstream(m) => Body::new(m, "UPSTREAM_UNAVAILABLE"),
            ApiError::NotImplemented(m) => Body::new(m, "NOT_IMPLEMENTED"),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        let retry_after = match &self {
            ApiError::RateLimited { retry_after, .. } => Some(*retry_after),
            ApiError::Upstream(e) => e.retry_after(),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
