//! Every error answer of the gateway, rendered once, in the dialect of its route
//! (docs/architecture.md, "Error answers"):
//!
//! - RegPilot's own routes: `{"error": <message>, "code": <CODE>, ...details}`;
//! - the OpenAI-compatible routes (`/v1/*`): OpenAI's shape, so OpenAI SDKs read them,
//!   `{"error": {"message", "type", "param", "code"}, "code": <CODE>, ...details}` — the
//!   RegPilot `code` and details stay at the top level beside it, so a client written against
//!   RegPilot's shape still finds them.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use regpilot_control::ControlError;
use regpilot_keys::Scope;
use serde::Serialize;

/// The headers a key is looked for in, in order, as named in the 401 body.
pub(crate) const HEADERS_CHECKED: [&str; 6] =
    ["X-API-Key", "X-RegPilot-Key", "Api-Key", "Authorization", "X-Authorization", "Proxy-Authorization"];

#[derive(Debug)]
pub(crate) enum ApiError {
    MissingKey,
    /// `POST /api/leaks` without the configured reporter token, or with another one.
    InvalidReporterToken,
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
    /// Mode `block`: the Governor withheld a high-risk prompt or answer (422
    /// `GOVERNOR_BLOCKED`), naming the rules and carrying the Governor's result.
    GovernorBlocked {
        message: String,
        rules: Vec<String>,
        governor: serde_json::Value,
        /// The `x-governor-*` headers, on the refusal too.
        headers: Box<axum::http::HeaderMap>,
    },
    /// The admin API without a credential (`missing`), or with an admin token that is not
    /// valid: malformed, unknown, revoked, expired, or its user deactivated — one answer for all.
    AdminUnauthorized {
        missing: bool,
    },
    /// The admin API caller may not do this (a `viewer`, a read-only token, a password to
    /// change first): 403 `INSUFFICIENT_PERMISSIONS`, `required` naming what it takes.
    AdminForbidden {
        required: &'static str,
        message: String,
    },
    /// A write with a dashboard session that lacks the session's CSRF token (403 `CSRF_REJECTED`).
    CsrfRejected,
}

/// Which error shape a route speaks. Routes under [`Dialect::OPENAI_PREFIX`] speak OpenAI's;
/// the route table, the edge and the fallbacks all decide it with [`Dialect::of_path`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    RegPilot,
    OpenAi,
}

impl Dialect {
    /// The OpenAI-compatible routes' prefix.
    pub const OPENAI_PREFIX: &'static str = "/v1/";

    pub fn of_path(path: &str) -> Dialect {
        if path.starts_with(Dialect::OPENAI_PREFIX) {
            Dialect::OpenAi
        } else {
            Dialect::RegPilot
        }
    }
}

/// The shape of every error body (docs/architecture.md, "Error answers"). Some errors add
/// details: `headers_checked` (401 missing key), `authenticated` (401 on `/api/health`),
/// `required` (403), `field` (400), `limit_bytes` (413), `limit` and `retry_after` (429),
/// `rules` and `governor` (422 `GOVERNOR_BLOCKED`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    pub error: String,
    pub code: String,
    /// 429: the limit that was hit, `burst` or `daily`.
    #[schema(nullable = false)]
    pub limit: Option<String>,
    /// 429: whole seconds to wait (also in the `Retry-After` header).
    #[schema(nullable = false)]
    pub retry_after: Option<u64>,
}

/// OpenAI's error object: `{"message", "type", "param", "code"}`.
#[derive(Debug, Serialize)]
pub(crate) struct OpenAiError<'a> {
    pub message: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub param: Option<&'a str>,
    pub code: &'a str,
}

impl OpenAiError<'_> {
    /// OpenAI's error `type` for an HTTP status.
    pub(crate) fn kind_of(status: StatusCode) -> &'static str {
        match status.as_u16() {
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            429 => "rate_limit_error",
            s if s >= 500 => "server_error",
            _ => "invalid_request_error",
        }
    }
}

/// `error` is the message (RegPilot's shape) or OpenAI's error object.
#[derive(Serialize)]
#[serde(untagged)]
enum Message<'a> {
    Text(&'a str),
    OpenAi(OpenAiError<'a>),
}

#[derive(Serialize)]
struct Body<'a> {
    error: Message<'a>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    governor: Option<&'a serde_json::Value>,
}

impl Body<'_> {
    fn new<'a>(error: &'a str, code: &'a str) -> Body<'a> {
        Body {
            error: Message::Text(error),
            code,
            authenticated: None,
            headers_checked: None,
            required: None,
            field: None,
            limit_bytes: None,
            limit: None,
            retry_after: None,
            rules: None,
            governor: None,
        }
    }
}

impl ApiError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::MissingKey | ApiError::InvalidKey { .. } | ApiError::InvalidReporterToken => {
                StatusCode::UNAUTHORIZED
            }
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
            ApiError::GovernorBlocked { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::AdminUnauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::AdminForbidden { .. } | ApiError::CsrfRejected => StatusCode::FORBIDDEN,
        }
    }

    pub(crate) fn bad_request(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest { field: field.into(), message: message.into() }
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        match e {
            ControlError::Invalid { field, message } => ApiError::BadRequest { field: field.into(), message },
            ControlError::NotFound { .. } => ApiError::NotFound(capitalize(&e.to_string())),
            ControlError::Conflict(m) => ApiError::Conflict(m),
            ControlError::Busy { .. } => ApiError::NotReady(capitalize(&e.to_string())),
            // The cause goes to the log; the client learns only that it may retry.
            ControlError::Store(_) if e.is_unavailable() => {
                tracing::warn!(error = %e, "store unavailable");
                ApiError::NotReady(STORE_UNAVAILABLE.into())
            }
            ControlError::Store(_) | ControlError::Internal(_) => ApiError::Internal(e.to_string()),
        }
    }
}

/// The 503 of a request that needed the store while it cannot be reached.
pub(crate) const STORE_UNAVAILABLE: &str = "The store is not answering; try again shortly";

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.render(Dialect::RegPilot)
    }
}

impl ApiError {
    /// The answer in the route's dialect.
    pub(crate) fn render(self, dialect: Dialect) -> Response {
        let status = self.status();
        let upstream_message;
        let body = match &self {
            ApiError::MissingKey => {
                Body { headers_checked: Some(&HEADERS_CHECKED), ..Body::new("Missing API key", "MISSING_API_KEY") }
            }
            ApiError::InvalidReporterToken => {
                Body::new("Missing or invalid leak reporter token", "INVALID_REPORTER_TOKEN")
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
            ApiError::GovernorBlocked { message, rules, governor, .. } => {
                Body { rules: Some(rules), governor: Some(governor), ..Body::new(message, "GOVERNOR_BLOCKED") }
            }
            ApiError::AdminUnauthorized { missing: true } => Body::new(
                "Missing admin token: send Authorization: Bearer rpa_… (or use a dashboard session)",
                "MISSING_ADMIN_TOKEN",
            ),
            ApiError::AdminUnauthorized { missing: false } => {
                Body::new("Invalid, revoked or expired admin token", "INVALID_ADMIN_TOKEN")
            }
            ApiError::AdminForbidden { required, message } => {
                Body { required: Some(required), ..Body::new(message, "INSUFFICIENT_PERMISSIONS") }
            }
            ApiError::CsrfRejected => Body::new(
                "A write with a dashboard session needs the session's CSRF token in the x-csrf-token header",
                "CSRF_REJECTED",
            ),
        };
        let body = match (dialect, body.error) {
            (Dialect::OpenAi, Message::Text(message)) => Body {
                error: Message::OpenAi(OpenAiError {
                    message,
                    kind: OpenAiError::kind_of(status),
                    param: body.field,
                    code: body.code,
                }),
                ..body
            },
            (_, error) => Body { error, ..body },
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
        if let ApiError::GovernorBlocked { headers, .. } = self {
            response.headers_mut().extend(*headers);
        }
        response
    }
}

/// An error answered in OpenAI's shape: what the `/v1` handlers return, so `?` on an
/// [`ApiError`] renders it in their dialect.
#[derive(Debug)]
pub(crate) struct OpenAiShaped(pub ApiError);

impl From<ApiError> for OpenAiShaped {
    fn from(e: ApiError) -> Self {
        OpenAiShaped(e)
    }
}

impl IntoResponse for OpenAiShaped {
    fn into_response(self) -> Response {
        self.0.render(Dialect::OpenAi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(e: ApiError, dialect: Dialect) -> serde_json::Value {
        let bytes = axum::body::to_bytes(e.render(dialect).into_body(), 4096).await.unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[tokio::test]
    async fn one_error_in_both_dialects() {
        let e = || ApiError::bad_request("messages", "messages must hold at least one message");
        assert_eq!(
            body(e(), Dialect::RegPilot).await,
            serde_json::json!({"error": "messages must hold at least one message", "code": "INVALID_REQUEST", "field": "messages"})
        );
        assert_eq!(
            body(e(), Dialect::OpenAi).await,
            serde_json::json!({
                "error": {"message": "messages must hold at least one message", "type": "invalid_request_error", "param": "messages", "code": "INVALID_REQUEST"},
                "code": "INVALID_REQUEST",
                "field": "messages",
            })
        );
        let limited = ApiError::RateLimited { limit: "burst", retry_after: 1, with_authenticated: false };
        let v = body(limited, Dialect::OpenAi).await;
        assert_eq!(v["error"]["type"], "rate_limit_error");
        assert_eq!(v["error"]["param"], serde_json::Value::Null);
        assert_eq!((v["limit"].as_str(), v["retry_after"].as_u64()), (Some("burst"), Some(1)));
    }

    #[test]
    fn the_dialect_follows_the_path() {
        assert_eq!(Dialect::of_path("/v1/chat/completions"), Dialect::OpenAi);
        assert_eq!(Dialect::of_path("/v1/unknown"), Dialect::OpenAi);
        assert_eq!(Dialect::of_path("/v1"), Dialect::RegPilot);
        assert_eq!(Dialect::of_path("/api/ai/chat"), Dialect::RegPilot);
    }
}
