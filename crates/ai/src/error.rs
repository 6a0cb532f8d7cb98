//! What can go wrong calling an upstream, said so a caller understands it and nothing of the
//! upstream's credentials can leak: messages are written here, never copied from the upstream
//! except a short, scrubbed excerpt of a refusal of the request itself.

use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum UpstreamError {
    /// No connection (refused, DNS, TLS): 503.
    #[error("The upstream provider '{provider}' cannot be reached")]
    Unreachable { provider: String },
    /// No answer (or no next chunk) in time: 504.
    #[error("The upstream provider '{provider}' did not answer within {} s", after.as_secs_f64())]
    Timeout { provider: String, after: Duration },
    /// The upstream answered with an error status.
    #[error("{}", status_message(provider, *status, detail.as_deref()))]
    Status { provider: String, status: u16, retry_after: Option<u64>, detail: Option<String> },
    /// The upstream's answer is not the OpenAI protocol: 502.
    #[error("The upstream provider '{provider}' sent an answer the gateway cannot read")]
    Protocol { provider: String },
    /// The connection broke (reset, or closed) before the answer ended: 502.
    #[error("The upstream provider '{provider}' closed the connection before its answer ended")]
    Cut { provider: String },
    /// The answer (or one event of a stream) is larger than `upstream_body_limit_bytes`: 502.
    #[error("The upstream provider '{provider}' sent an answer larger than the gateway's limit of {limit} bytes")]
    TooLarge { provider: String, limit: usize },
    /// A stream still running at `stream_max_duration_secs`: 504.
    #[error("The upstream provider '{provider}' did not finish its answer within {} s", after.as_secs_f64())]
    Unfinished { provider: String, after: Duration },
}

fn status_message(provider: &str, status: u16, detail: Option<&str>) -> String {
    match status {
        401 | 403 => format!(
            "The upstream provider '{provider}' refused the gateway's credentials (HTTP {status}); \
             check the API key configured for it"
        ),
        429 => format!("The upstream provider '{provider}' is rate limiting the gateway (HTTP 429); retry later"),
        s if s >= 500 => format!("The upstream provider '{provider}' failed (HTTP {s})"),
        s => match detail {
            Some(d) => format!("The upstream provider '{provider}' rejected the request (HTTP {s}): {d}"),
            None => format!("The upstream provider '{provider}' rejected the request (HTTP {s})"),
        },
    }
}

impl UpstreamError {
    /// The gateway's status for this error: 504 for timeouts, 503 when the upstream cannot be
    /// reached or is rate limiting, 502 otherwise.
    pub fn http_status(&self) -> u16 {
        match self {
            UpstreamError::Timeout { .. } | UpstreamError::Unfinished { .. } => 504,
            UpstreamError::Unreachable { .. } | UpstreamError::Status { status: 429, .. } => 503,
            UpstreamError::Status { .. }
            | UpstreamError::Protocol { .. }
            | UpstreamError::Cut { .. }
            | UpstreamError::TooLarge { .. } => 502,
        }
    }

    /// The code of the error body (docs/ai-gateway.md, "Errors"): `UPSTREAM_UNAVAILABLE` (503),
    /// `UPSTREAM_TIMEOUT` (504), `UPSTREAM_ERROR` (502).
    pub fn code(&self) -> &'static str {
        match self.http_status() {
            503 => "UPSTREAM_UNAVAILABLE",
            504 => "UPSTREAM_TIMEOUT",
            _ => "UPSTREAM_ERROR",
        }
    }

    pub fn retry_after(&self) -> Option<u64> {
        match self {
            UpstreamError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            UpstreamError::Unreachable { .. } => "unreachable",
            UpstreamError::Timeout { .. } => "timeout",
            UpstreamError::Status { .. } => "status",
            UpstreamError::Protocol { .. } => "protocol",
            UpstreamError::Cut { .. } => "cut",
            UpstreamError::TooLarge { .. } => "too_large",
            UpstreamError::Unfinished { .. } => "too_long",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes() {
        let p = || "openai".to_owned();
        let timeout = UpstreamError::Timeout { provider: p(), after: Duration::from_secs(2) };
        assert_eq!((timeout.http_status(), timeout.code()), (504, "UPSTREAM_TIMEOUT"));
        assert_eq!(timeout.to_string(), "The upstream provider 'openai' did not answer within 2 s");
        let down = UpstreamError::Unreachable { provider: p() };
        assert_eq!((down.http_status(), down.code()), (503, "UPSTREAM_UNAVAILABLE"));
        let s = |status| UpstreamError::Status { provider: p(), status, retry_after: None, detail: None };
        assert_eq!(s(500).http_status(), 502);
        assert_eq!(s(429).http_status(), 503);
        assert_eq!(s(401).http_status(), 502);
        assert!(s(401).to_string().contains("credentials"));
        assert_eq!(s(400).code(), "UPSTREAM_ERROR");
        let cut = UpstreamError::Cut { provider: p() };
        assert_eq!((cut.http_status(), cut.code(), cut.kind()), (502, "UPSTREAM_ERROR", "cut"));
        let large = UpstreamError::TooLarge { provider: p(), limit: 1024 };
        assert_eq!((large.http_status(), large.code(), large.kind()), (502, "UPSTREAM_ERROR", "too_large"));
        assert!(large.to_string().contains("limit of 1024 bytes"), "{large}");
        let long = UpstreamError::Unfinished { provider: p(), after: Duration::from_secs(900) };
        assert_eq!((long.http_status(), long.code(), long.kind()), (504, "UPSTREAM_TIMEOUT", "too_long"));
        assert_eq!(long.to_string(), "The upstream provider 'openai' did not finish its answer within 900 s");
    }
}
