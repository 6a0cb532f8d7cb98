//! Cross-site request forgery: every POST must come from a page of this server (its `Origin`,
//! or else its `Referer`, names the `Host` it was sent to), and a POST within a session must
//! carry the session's token in its form (field [`TOKEN_FIELD`]).

use axum::http::{header, HeaderMap};

/// The hidden form field holding the session's CSRF token.
pub(crate) const TOKEN_FIELD: &str = "csrf";

/// `Ok` when the request's `Origin` (or, without one, its `Referer`) is this server's `Host`.
pub(crate) fn same_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).ok_or("the request names no Host")?;
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .ok_or("the request has neither an Origin nor a Referer header")?;
    let authority = source.split_once("://").map(|(_, rest)| rest.split('/').next().unwrap_or_default());
    match authority {
        Some(a) if a.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err("the request comes from another site"),
    }
}

/// Compares two tokens in time independent of where they differ.
pub(crate) fn tokens_match(sent: &str, expected: &str) -> bool {
    sent.len() == expected.len() && sent.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_this_host_is_same_origin() {
        let ok = headers(&[("host", "gw.example:8080"), ("origin", "https://gw.example:8080")]);
        assert!(same_origin(&ok).is_ok());
        let referer = headers(&[("host", "gw.example"), ("referer", "http://gw.example/projects/x")]);
        assert!(same_origin(&referer).is_ok());
        for bad in [
            headers(&[("host", "gw.example"), ("origin", "https://evil.example")]),
            headers(&[("host", "gw.example"), ("origin", "null")]),
            headers(&[("host", "gw.example"), ("origin", "https://gw.example.evil.example")]),
            headers(&[("host", "gw.example")]),
            headers(&[("origin", "https://gw.example")]),
        ] {
            assert!(same_origin(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tokens_match_exactly() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abd", "abc"));
        assert!(!tokens_match("ab", "abc"));
        assert!(!tokens_match("", "abc"));
    }
}
