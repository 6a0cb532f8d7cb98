//! The limiter's error type, and the redaction that keeps Redis passwords out of it.

use std::time::Duration;

use thiserror::Error;

/// What went wrong talking to Redis, or setting it up. No variant ever holds a password: URLs
/// are redacted (`redis://***@host:port`) before they are stored.
#[derive(Debug, Error)]
pub enum LimiterError {
    #[error("invalid Redis URL {url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("Redis did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("Redis error: {0}")]
    Redis(String),
    #[error("unknown Redis failure mode {0:?} (expected local, open or closed)")]
    BadFailureMode(String),
}

impl LimiterError {
    /// A Redis client error, with any credentials of `url` scrubbed from its text.
    pub(crate) fn redis(err: &redis::RedisError, url: &str) -> LimiterError {
        LimiterError::Redis(scrub(&err.to_string(), url))
    }
}

/// `url` with its user and password replaced by `***`: `redis://***@host:6379/0`.
pub fn redact_url(url: &str) -> String {
    match userinfo(url) {
        Some(info) => url.replacen(&format!("{info}@"), "***@", 1),
        None => url.to_owned(),
    }
}

/// `text` with the user-and-password part of `url` (and the password alone) replaced.
pub(crate) fn scrub(text: &str, url: &str) -> String {
    let Some(info) = userinfo(url) else { return text.to_owned() };
    let mut out = text.replace(info, "***");
    if let Some((_, password)) = info.split_once(':') {
        if !password.is_empty() {
            out = out.replace(password, "***");
        }
    }
    out
}

/// The `user:password` between `scheme://` and the last `@` of the authority, if any.
fn userinfo(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rsplit_once('@').map(|(info, _)| info).filter(|i| !i.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("redis://:s3cret@cache:6379/0"), "redis://***@cache:6379/0");
        assert_eq!(redact_url("rediss://user:s3cret@cache"), "rediss://***@cache");
        assert_eq!(redact_url("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redact_url("redis://u:p@ss@h/0"), "redis://***@h/0");
        let text = scrub("failed for redis://u:s3cret@h and s3cret", "redis://u:s3cret@h");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
