//! The session cookie: `regpilot_session`, `HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure`
//! when configured, living as long as the session's absolute lifetime.

use axum::http::{header, HeaderMap, HeaderValue};
use regpilot_control::SessionId;

pub(crate) const COOKIE_NAME: &str = "regpilot_session";

/// The session id the request's cookies carry, if any.
pub(crate) fn from_headers(headers: &HeaderMap) -> Option<SessionId> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE_NAME && !value.is_empty())
        .map(|(_, value)| SessionId::from_cookie(value))
}

fn attributes(secure: bool) -> &'static str {
    if secure {
        "Path=/; HttpOnly; SameSite=Strict; Secure"
    } else {
        "Path=/; HttpOnly; SameSite=Strict"
    }
}

/// The `Set-Cookie` value that hands the browser a new session.
pub(crate) fn set_cookie(id: &SessionId, max_age_secs: i64, secure: bool) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{COOKIE_NAME}={}; Max-Age={max_age_secs}; {}", id.expose(), attributes(secure)))
        .ok()
}

/// The `Set-Cookie` value that makes the browser forget the session.
pub(crate) fn clear_cookie(secure: bool) -> HeaderValue {
    if secure {
        HeaderValue::from_static("regpilot_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict; Secure")
    } else {
        HeaderValue::from_static("regpilot_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "a=1; regpilot_session=abc; b=2".parse().unwrap());
        assert_eq!(from_headers(&h).unwrap().expose(), "abc");
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "regpilot_session=".parse().unwrap());
        assert!(from_headers(&h).is_none());
    }
}
