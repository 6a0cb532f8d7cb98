//! The leak reporter's credential (README.md, "Leak response"): the configured
//! `leak_reporter_token`, checked by the auth layer for `Access::LeakReporter` routes before the
//! handler (`admin/leaks.rs`) runs.

use std::fmt;

use axum::http::{header, HeaderMap};
use regpilot_control::LeakAction;

use crate::error::ApiError;

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
