//! Finding the key in the headers (README.md, "Presenting a key"). Query strings and bodies are
//! never read.

use axum::http::{HeaderMap, HeaderValue};

use crate::error::HEADERS_CHECKED;

/// What the headers carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented<'a> {
    /// No header carries a key.
    None,
    /// The first header that carries something has bytes that cannot be a key (not visible
    /// ASCII): it is answered like a malformed key.
    Unreadable,
    Key(&'a str),
    /// One of the key headers comes more than once (named as in [`HEADERS_CHECKED`]): which
    /// value counts would depend on who appended it, e.g. a proxy behind the client, so the
    /// request is refused.
    Duplicate(&'static str),
}

enum Form {
    /// The whole value is the key.
    Bare,
    /// `Bearer <key>`, `Bearer` in any case.
    Bearer,
    /// Either.
    BearerOrBare,
}

/// In priority order; the first header that carries a key wins.
const SOURCES: [(&str, Form); 6] = [
    ("x-api-key", Form::Bare),
    ("x-regpilot-key", Form::Bare),
    ("api-key", Form::Bare),
    ("authorization", Form::Bearer),
    ("x-authorization", Form::BearerOrBare),
    ("proxy-authorization", Form::Bearer),
];

/// Where `name` (lowercase, as `HeaderName` keeps it) stands among the headers that can carry a
/// key, in priority order (x-api-key, x-regpilot-key, api-key, authorization, x-authorization,
/// proxy-authorization); `None` for any other header.
pub(crate) fn key_header_index(name: &str) -> Option<usize> {
    SOURCES.iter().position(|(source, _)| *source == name)
}

/// One pass over the headers (a request has few), then the sources in priority order. A key
/// header that comes twice is [`Presented::Duplicate`], whatever the others carry.
pub fn find_key(headers: &HeaderMap) -> Presented<'_> {
    let mut first: [Option<&HeaderValue>; SOURCES.len()] = [None; SOURCES.len()];
    for (name, value) in headers {
        if let Some(i) = key_header_index(name.as_str()) {
            if first[i].replace(value).is_some() {
                return Presented::Duplicate(HEADERS_CHECKED[i]);
            }
        }
    }
    for ((_, form), value) in SOURCES.iter().zip(first) {
        let Some(value) = value else { continue };
        let Ok(text) = value.to_str() else { return Presented::Unreadable };
        let text = text.trim();
        let candidate = match form {
            Form::Bare => Some(text),
            Form::Bearer => strip_bearer(text),
            Form::BearerOrBare => Some(strip_bearer(text).unwrap_or(text)),
        };
        match candidate {
            Some(key) if !key.is_empty() => return Presented::Key(key),
            // An empty value, or another scheme (`Basic …` for a proxy): carries no key.
            _ => continue,
        }
    }
    Presented::None
}

fn strip_bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once([' ', '\t'])?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn priority_order_is_the_specs() {
        let all = headers(&[
            ("proxy-authorization", "Bearer f"),
            ("x-authorization", "e"),
            ("authorization", "Bearer d"),
            ("api-key", "c"),
            ("x-regpilot-key", "b"),
            ("x-api-key", "a"),
        ]);
        assert_eq!(find_key(&all), Presented::Key("a"));
        let mut h = all.clone();
        for (name, expect) in [
            ("x-api-key", "b"),
            ("x-regpilot-key", "c"),
            ("api-key", "d"),
            ("authorization", "e"),
            ("x-authorization", "f"),
        ] {
            h.remove(name);
            assert_eq!(find_key(&h), Presented::Key(expect), "after removing {name}");
        }
        h.remove("proxy-authorization");
        assert_eq!(find_key(&h), Presented::None);
    }

    #[test]
    fn bearer_is_case_insensitive_and_whitespace_is_ignored() {
        for v in ["Bearer k", "bearer k", "BEARER   k  ", "  BeArEr\tk"] {
            assert_eq!(find_key(&headers(&[("authorization", v)])), Presented::Key("k"), "{v:?}");
        }
        assert_eq!(find_key(&headers(&[("x-api-key", "  k \t")])), Presented::Key("k"));
        assert_eq!(find_key(&headers(&[("x-authorization", "k")])), Presented::Key("k"));
        assert_eq!(find_key(&headers(&[("x-authorization", "bearer k")])), Presented::Key("k"));
    }

    #[test]
    fn values_that_carry_no_key_are_skipped() {
        assert_eq!(find_key(&headers(&[("authorization", "Basic dXNlcjpwYXNz")])), Presented::None);
        assert_eq!(find_key(&headers(&[("authorization", "k")])), Presented::None);
        assert_eq!(find_key(&headers(&[("authorization", "Bearer   ")])), Presented::None);
        assert_eq!(find_key(&headers(&[("x-api-key", ""), ("api-key", "c")])), Presented::Key("c"));
    }

    #[test]
    fn a_key_header_given_twice_is_refused_by_name() {
        for (name, shown) in SOURCES.iter().map(|(n, _)| *n).zip(HEADERS_CHECKED) {
            let twice = headers(&[(name, "Bearer a"), (name, "Bearer b")]);
            assert_eq!(find_key(&twice), Presented::Duplicate(shown), "{name}");
            // Even an empty second value, and behind a key in a header of higher priority.
            let h = headers(&[("x-api-key", "k"), (name, "Bearer a"), (name, "")]);
            assert_eq!(find_key(&h), Presented::Duplicate(shown), "{name}");
        }
        // Different headers, once each: the order decides, as before.
        let h = headers(&[("authorization", "Bearer b"), ("x-api-key", "a")]);
        assert_eq!(find_key(&h), Presented::Key("a"));
    }

    #[test]
    fn non_ascii_values_are_unreadable() {
        let mut h = HeaderMap::new();
        h.insert("x-api-key", HeaderValue::from_bytes(b"sk_\xff").unwrap());
        assert_eq!(find_key(&h), Presented::Unreadable);
    }
}
