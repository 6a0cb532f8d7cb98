//! `scan --server URL`: the status of found secrets from a running gateway
//! (`POST /api/admin/keys/status` with `REGPILOT_ADMIN_TOKEN`), and `--report` to its
//! `POST /api/leaks` (README.md, "Secret scanning"). Only digests travel for a check; a report
//! sends the strings themselves, which is what a leak report is.

use std::collections::HashMap;
use std::time::Duration;

use regpilot_control::{LeakVerdict, SecretKind, SecretStatus, MAX_LEAK_REPORT_ITEMS, MAX_STATUS_DIGESTS};
use serde::Deserialize;
use serde_json::json;

use super::Finding;
use crate::output::Failure;

const TIMEOUT: Duration = Duration::from_secs(30);

pub struct Server {
    base: String,
    client: reqwest::Client,
}

/// The answer of `POST /api/admin/keys/status`.
#[derive(Deserialize)]
struct StatusAnswer {
    keys: Vec<SecretStatus>,
}

impl Server {
    pub fn new(url: &str) -> Result<Server, Failure> {
        let base = url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() <= "https://".len() {
            return Err(Failure::usage(format!("--server {base:?} is not an http:// or https:// URL")));
        }
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| Failure::runtime(format!("cannot build the HTTP client: {e}")))?;
        Ok(Server { base, client })
    }

    /// Each digest's status, asked in batches.
    pub async fn statuses(&self, digests: &[String]) -> Result<HashMap<String, SecretStatus>, Failure> {
        let token = std::env::var("REGPILOT_ADMIN_TOKEN").unwrap_or_default();
        let token = token.trim();
        if token.is_empty() {
            return Err(Failure::usage("--check with --server needs an admin token in REGPILOT_ADMIN_TOKEN"));
        }
        let mut out = HashMap::new();
        for batch in digests.chunks(MAX_STATUS_DIGESTS) {
            let body = json!({ "digests": batch });
            let answer: StatusAnswer = self.post("/api/admin/keys/status", token, &body).await?;
            for s in answer.keys {
                out.insert(s.digest.clone(), s);
            }
        }
        if digests.iter().any(|d| !out.contains_key(d)) {
            return Err(io_failure(format!("{} answered without the status of every key asked about", self.base)));
        }
        Ok(out)
    }

    /// Sends each distinct secret once (with where it was first found) to `POST /api/leaks`.
    pub async fn report(&self, findings: &[Finding], reporter_token: &str) -> Result<Vec<LeakVerdict>, Failure> {
        let mut seen = std::collections::HashSet::new();
        let items: Vec<serde_json::Value> = findings
            .iter()
            .filter(|f| seen.insert(f.digest.as_str()))
            .map(|f| {
                let kind = match f.hit.kind {
                    SecretKind::ApiKey => "regpilot_api_key",
                    SecretKind::AdminToken => "regpilot_admin_token",
                };
                json!({
                    "token": f.hit.secret,
                    "type": kind,
                    "url": format!("{}:{}:{}", f.path, f.hit.line, f.hit.column),
                    "source": "regpilot-scan",
                })
            })
            .collect();
        let mut verdicts = Vec::with_capacity(items.len());
        for batch in items.chunks(MAX_LEAK_REPORT_ITEMS) {
            let answer: Vec<LeakVerdict> = self.post("/api/leaks", reporter_token, &batch).await?;
            verdicts.extend(answer);
        }
        Ok(verdicts)
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, Failure> {
        let url = format!("{}{path}", self.base);
        let body = serde_json::to_vec(body).map_err(|e| Failure::runtime(format!("cannot encode the request: {e}")))?;
        let response = self
            .client
            .post(&url)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| io_failure(format!("cannot reach {url}: {}", without_url(&e))))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| io_failure(format!("reading the answer of {url}: {e}")))?;
        if !status.is_success() {
            // The gateway's error shape: {"error": …, "code": …}.
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let message = v["error"].as_str().unwrap_or("no error message");
            let code = v["code"].as_str().unwrap_or("?");
            return Err(io_failure(format!("{url} answered {}: {message} ({code})", status.as_u16())));
        }
        serde_json::from_slice(&bytes).map_err(|e| io_failure(format!("{url} answered something unexpected: {e}")))
    }
}

/// reqwest's errors name the URL, which is ours already; the cause is what helps.
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(&format!(" ({url})"), "");
    }
    text
}

fn io_failure(message: String) -> Failure {
    Failure { message, code: "REMOTE_ERROR", exit: 2 }
}
