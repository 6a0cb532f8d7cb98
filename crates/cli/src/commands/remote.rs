//! The admin API client behind `--server` (README.md, "Driving a remote gateway"): every
//! lifecycle command as one HTTP call (lists follow `next_cursor` to the end), authenticated by
//! the admin token in `REGPILOT_ADMIN_TOKEN`, with the API's errors turned into the same
//! failures and exit statuses as the local path.

use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::output::Failure;

/// The admin token, as read from the environment. `Debug` redacts it.
struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

pub struct Remote {
    base: String,
    token: Token,
    client: reqwest::Client,
}

/// The page size asked for when following a list.
const PAGE: usize = 200;

impl Remote {
    /// `server` is the gateway's base URL; the token comes from `REGPILOT_ADMIN_TOKEN`.
    pub fn new(server: &str) -> Result<Remote, Failure> {
        let base = server.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Failure::usage(format!(
                "--server: '{base}' is not an http:// or https:// URL (e.g. http://127.0.0.1:8080)"
            )));
        }
        if base.starts_with("http://") && !is_loopback(&base) {
            eprintln!("warning: {base} is plain HTTP: the admin token and every answer cross the network unencrypted; use https://");
        }
        let token = std::env::var("REGPILOT_ADMIN_TOKEN").map(|t| t.trim().to_owned()).unwrap_or_default();
        if token.is_empty() {
            return Err(Failure::usage(
                "--server needs an admin token in REGPILOT_ADMIN_TOKEN (create one with `regpilot token create` \
                 or on the dashboard's Tokens page)",
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Failure::runtime(format!("cannot start the HTTP client: {e}")))?;
        Ok(Remote { base, token: Token(token), client })
    }

    pub async fn get(&self, path: &str) -> Result<Value, Failure> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Value, Failure> {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, Failure> {
        self.call(Method::DELETE, path, None).await
    }

    /// Every page of a list: `{"<field>": [all items]}`. `path` may carry a query already.
    pub async fn list(&self, path: &str, field: &str) -> Result<Value, Failure> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let mut url = format!("{path}{sep}limit={PAGE}");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={}", encode(c)));
            }
            let page = self.get(&url).await?;
            if let Some(items) = page[field].as_array() {
                all.extend(items.iter().cloned());
            }
            match page["next_cursor"].as_str() {
                Some(c) if !c.is_empty() => cursor = Some(c.to_owned()),
                _ => break,
            }
        }
        Ok(serde_json::json!({ field: all }))
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.base);
        let mut req = self.client.request(method, &url).bearer_auth(&self.token.0);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| Failure {
            code: "NOT_READY",
            ..Failure::runtime(format!("cannot reach {}: {}", self.base, without_url(&e)))
        })?;
        let status = resp.status();
        let bytes =
            resp.bytes().await.map_err(|e| Failure::runtime(format!("reading the answer: {}", without_url(&e))))?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        Err(failure(status, &value))
    }
}

/// An error answer as the local path would have failed: the message, the code, the exit status.
fn failure(status: StatusCode, body: &Value) -> Failure {
    let message = body["error"].as_str().map(decapitalize).unwrap_or_else(|| format!("the server answered {status}"));
    let code = body["code"].as_str().unwrap_or("ERROR");
    match code {
        "INVALID_REQUEST" => Failure { message, code: "INVALID_ARGUMENT", exit: 2 },
        "NOT_FOUND" => Failure { message, code: "NOT_FOUND", exit: 1 },
        "CONFLICT" => Failure { message, code: "CONFLICT", exit: 1 },
        "NOT_READY" => Failure { message, code: "NOT_READY", exit: 1 },
        "MISSING_ADMIN_TOKEN" | "INVALID_ADMIN_TOKEN" => {
            Failure { message: format!("{message} (check REGPILOT_ADMIN_TOKEN)"), code: "UNAUTHORIZED", exit: 1 }
        }
        "INSUFFICIENT_PERMISSIONS" => Failure { message, code: "FORBIDDEN", exit: 1 },
        _ => Failure::runtime(message),
    }
}

/// The API capitalizes its sentences; the local path's messages start in lower case.
fn decapitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) if c.clone().next().is_some_and(char::is_lowercase) => f.to_lowercase().chain(c).collect(),
        Some(f) => std::iter::once(f).chain(c).collect(),
        None => String::new(),
    }
}

/// A transport error's text without the URL (which holds nothing secret, but is noise).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(url) = e.url() {
        s = s.replace(&format!(" for url ({url})"), "");
    }
    s
}

/// Whether an `http://` URL names this machine (`localhost`, `127.x.x.x`, `[::1]`).
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Percent-encodes a path segment or query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_segments() {
        assert_eq!(decapitalize("Key 'x' not found"), "key 'x' not found");
        assert_eq!(decapitalize("API down"), "API down");
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
        let f = failure(StatusCode::BAD_REQUEST, &serde_json::json!({"error": "Bad", "code": "INVALID_REQUEST"}));
        assert_eq!((f.exit, f.code), (2, "INVALID_ARGUMENT"));
        let f = failure(StatusCode::NOT_FOUND, &serde_json::json!({"error": "Key 'k' not found", "code": "NOT_FOUND"}));
        assert_eq!((f.exit, f.code, f.message.as_str()), (1, "NOT_FOUND", "key 'k' not found"));
        for local in ["http://127.0.0.1:8080", "http://localhost/", "http://[::1]:9/x", "http://127.9.9.9"] {
            assert!(is_loopback(local), "{local}");
        }
        for far in ["http://gateway.example.com", "http://10.0.0.1:8080", "http://[2001:db8::1]/"] {
            assert!(!is_loopback(far), "{far}");
        }
    }
}
