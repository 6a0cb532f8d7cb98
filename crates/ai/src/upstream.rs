//! The OpenAI-compatible HTTP client: one pooled `reqwest` client for every provider, the
//! provider's key added per call (never logged: the header value is marked sensitive), bounded
//! waits, and errors turned into [`UpstreamError`]s.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Response;
use serde::Deserialize;
use serde_json::Value;
use tokio::time::{timeout, timeout_at, Instant};

use crate::answer::{Chunk, Completion};
use crate::catalogue::Provider;
use crate::error::UpstreamError;
use crate::sse::SseParser;
use crate::tokens::TokenUsage;

/// Largest error body read (for its message).
const MAX_ERROR_BYTES: usize = 64 * 1024;

pub(crate) fn client(connect_timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        // A redirect could carry the request (and its key) somewhere else: none are followed.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("regpilot-gateway/", env!("CARGO_PKG_VERSION")))
        .build()
}

fn classify(provider: &Provider, e: &reqwest::Error, waited: Duration) -> UpstreamError {
    // Without the URL: a base URL is configuration, but it has no business in logs per call.
    tracing::warn!(provider = %provider.name, error = %DisplayWithoutUrl(e), "upstream call failed");
    if e.is_connect() {
        UpstreamError::Unreachable { provider: provider.name.clone() }
    } else if e.is_timeout() {
        UpstreamError::Timeout { provider: provider.name.clone(), after: waited }
    } else if e.is_body() || e.is_decode() {
        UpstreamError::Protocol { provider: provider.name.clone() }
    } else {
        UpstreamError::Unreachable { provider: provider.name.clone() }
    }
}

/// An error reading an answer's body: the headers came, so the connection is there, and a
/// failure now means it broke (reset, or closed mid-body).
fn body_error(provider: &Provider, e: &reqwest::Error) -> UpstreamError {
    tracing::warn!(provider = %provider.name, error = %DisplayWithoutUrl(e), "upstream connection broke mid-answer");
    UpstreamError::Cut { provider: provider.name.clone() }
}

fn too_large(provider: &Provider, limit: usize) -> UpstreamError {
    tracing::warn!(provider = %provider.name, limit, "upstream answer over the body limit");
    UpstreamError::TooLarge { provider: provider.name.clone(), limit }
}

struct DisplayWithoutUrl<'a>(&'a reqwest::Error);

impl std::fmt::Display for DisplayWithoutUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(self.0);
        f.write_str(if self.0.is_connect() {
            "connect"
        } else if self.0.is_timeout() {
            "timeout"
        } else {
            "request"
        })?;
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

/// Sends `body` and waits (up to `wait`) for the answer's status and headers. A non-2xx status
/// becomes an error.
pub(crate) async fn send(
    client: &reqwest::Client,
    provider: &Provider,
    body: Vec<u8>,
    stream: bool,
    wait: Duration,
) -> Result<Response, UpstreamError> {
    // A parsed URL, cloned: parsing it again per call costs more than the rest of the request.
    let Some(endpoint) = &provider.endpoint else {
        return Err(UpstreamError::Unreachable { provider: provider.name.clone() });
    };
    let mut req = client
        .post(endpoint.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(ACCEPT, HeaderValue::from_static(if stream { "text/event-stream" } else { "application/json" }))
        .body(body);
    if let Some(auth) = &provider.authorization {
        req = req.header(AUTHORIZATION, auth.clone());
    }
    let response = match timeout(wait, req.send()).await {
        Err(_) => {
            tracing::warn!(provider = %provider.name, waited_ms = wait.as_millis() as u64, "upstream did not answer in time");
            return Err(UpstreamError::Timeout { provider: provider.name.clone(), after: wait });
        }
        Ok(Err(e)) => return Err(classify(provider, &e, wait)),
        Ok(Ok(r)) => r,
    };
    if response.status().is_success() {
        return Ok(response);
    }
    Err(status_error(provider, response).await)
}

async fn status_error(provider: &Provider, mut response: Response) -> UpstreamError {
    let status = response.status().as_u16();
    let retry_after =
        response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    let mut body = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    while body.len() < MAX_ERROR_BYTES {
        match timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(bytes))) => body.extend_from_slice(&bytes),
            _ => break,
        }
    }
    let message = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.pointer("/error/message").and_then(Value::as_str).map(str::to_owned));
    let scrubbed = message.map(|m| provider.scrub(&m, 200));
    tracing::warn!(provider = %provider.name, status, message = scrubbed.as_deref().unwrap_or(""), "upstream answered an error");
    // What the upstream says about the request itself helps the caller; what it says about the
    // gateway's credentials or capacity is for the operator (logged above) only.
    let detail = match status {
        400 | 404 | 409 | 413 | 422 => scrubbed,
        _ => None,
    };
    UpstreamError::Status { provider: provider.name.clone(), status, retry_after, detail }
}

/// How a whole answer is read: by when, and at most how much.
pub(crate) struct ReadBounds {
    pub(crate) deadline: Instant,
    /// The response timeout, for the error's message.
    pub(crate) waited: Duration,
    pub(crate) limit: usize,
}

/// Reads a whole answer (within the bounds) and parses the completion. Nothing over the limit
/// is ever held: a declared length over it is refused before reading, and reading stops at it.
pub(crate) async fn read_completion(
    provider: &Provider,
    mut response: Response,
    bounds: ReadBounds,
    prompt_estimate: u32,
) -> Result<Completion, UpstreamError> {
    let ReadBounds { deadline, waited, limit } = bounds;
    let declared = response.content_length().and_then(|n| usize::try_from(n).ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(provider, limit));
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0));
    loop {
        match timeout_at(deadline, response.chunk()).await {
            Err(_) => return Err(UpstreamError::Timeout { provider: provider.name.clone(), after: waited }),
            Ok(Err(e)) => return Err(body_error(provider, &e)),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(bytes))) => {
                if body.len() + bytes.len() > limit {
                    return Err(too_large(provider, limit));
                }
                body.extend_from_slice(&bytes);
            }
        }
    }
    parse_completion(provider, body, prompt_estimate)
}

/// The fields of a `chat.completion` the gateway reads; everything else is left to the bytes,
/// which the OpenAI-compatible route passes on unchanged. Only `choices` must have its type;
/// any other field of an unexpected type reads as absent (a number where a string was
/// expected, content given as parts), as a lenient upstream may send.
#[derive(Deserialize)]
struct WireCompletion {
    id: Option<Lenient<String>>,
    created: Option<Lenient<serde_json::Number>>,
    model: Option<Lenient<String>>,
    choices: Vec<Lenient<WireChoice>>,
    usage: Option<Lenient<WireUsage>>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: Option<Lenient<WireMessage>>,
    finish_reason: Option<Lenient<String>>,
}

#[derive(Deserialize)]
struct WireMessage {
    content: Option<Lenient<String>>,
}

#[derive(Deserialize)]
struct WireUsage {
    prompt_tokens: Option<Lenient<serde_json::Number>>,
    completion_tokens: Option<Lenient<serde_json::Number>>,
}

/// A value of the expected type, or anything else (skipped).
#[derive(Deserialize)]
#[serde(untagged)]
enum Lenient<T> {
    Typed(T),
    Other(serde::de::IgnoredAny),
}

/// The value when present and of its type.
fn typed<T>(field: Option<Lenient<T>>) -> Option<T> {
    match field? {
        Lenient::Typed(t) => Some(t),
        Lenient::Other(_) => None,
    }
}

impl WireUsage {
    fn tokens(self) -> Option<TokenUsage> {
        let n = |v| typed(v).and_then(|n: serde_json::Number| n.as_u64()).and_then(|n| u32::try_from(n).ok());
        Some(TokenUsage { prompt: n(self.prompt_tokens)?, completion: n(self.completion_tokens)? })
    }
}

fn parse_completion(provider: &Provider, body: Vec<u8>, prompt_estimate: u32) -> Result<Completion, UpstreamError> {
    let protocol = || {
        tracing::warn!(provider = %provider.name, "upstream answer is not an OpenAI chat completion");
        UpstreamError::Protocol { provider: provider.name.clone() }
    };
    let wire: WireCompletion = serde_json::from_slice(&body).map_err(|_| protocol())?;
    let first = wire.choices.into_iter().next().ok_or_else(protocol)?;
    let (message, finish_reason) = match first {
        Lenient::Typed(choice) => (typed(choice.message), typed(choice.finish_reason)),
        Lenient::Other(_) => (None, None),
    };
    let text = message.and_then(|m| typed(m.content)).unwrap_or_default();
    let usage = typed(wire.usage)
        .and_then(WireUsage::tokens)
        .unwrap_or(TokenUsage { prompt: prompt_estimate, completion: crate::tokens::estimate_text(&text) });
    Ok(Completion {
        id: typed(wire.id).unwrap_or_default(),
        created: typed(wire.created).and_then(|n| n.as_i64()).unwrap_or(0),
        model: typed(wire.model).unwrap_or_default(),
        text,
        finish_reason: finish_reason.unwrap_or_else(|| "stop".to_owned()),
        usage,
        raw: Some(Bytes::from(body)),
    })
}

fn reported_usage(v: &Value) -> Option<TokenUsage> {
    let u = v.get("usage")?;
    let n = |k: &str| u.get(k).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
    Some(TokenUsage { prompt: n("prompt_tokens")?, completion: n("completion_tokens")? })
}

/// An upstream's stream, read event by event as bytes arrive.
pub(crate) struct UpstreamStream {
    pub(crate) provider: Arc<Provider>,
    pub(crate) response: Response,
    pub(crate) parser: SseParser,
    pub(crate) idle: Duration,
    /// When the stream is ended however steadily it flows (`stream_max_duration_secs`).
    pub(crate) ends_by: Instant,
    pub(crate) max_duration: Duration,
    /// The most bytes one event may take (`upstream_body_limit_bytes`).
    pub(crate) event_limit: usize,
    pub(crate) reported: Option<TokenUsage>,
    pub(crate) finished: bool,
    pub(crate) done: bool,
}

impl UpstreamStream {
    pub(crate) async fn next_chunk(&mut self) -> Result<Option<Chunk>, UpstreamError> {
        loop {
            if self.done {
                return Ok(None);
            }
            if let Some(data) = self.parser.next_event() {
                if data.trim() == "[DONE]" {
                    self.done = true;
                    return Ok(None);
                }
                return self.chunk_of(data).map(Some);
            }
            if self.parser.pending() > self.event_limit {
                return Err(too_large(&self.provider, self.event_limit));
            }
            let now = Instant::now();
            let left = self.ends_by.saturating_duration_since(now);
            // The idle wait, cut short by the stream's end: a trickle under the idle timeout, or
            // chunks that never stop, still end at `ends_by`.
            match timeout(self.idle.min(left), self.response.chunk()).await {
                Err(_) if Instant::now() >= self.ends_by => {
                    tracing::warn!(provider = %self.provider.name, "upstream stream ran past its longest duration");
                    let after = self.max_duration;
                    return Err(UpstreamError::Unfinished { provider: self.provider.name.clone(), after });
                }
                Err(_) => {
                    tracing::warn!(provider = %self.provider.name, "upstream stream went silent");
                    return Err(UpstreamError::Timeout { provider: self.provider.name.clone(), after: self.idle });
                }
                Ok(Err(e)) => return Err(body_error(&self.provider, &e)),
                Ok(Ok(Some(bytes))) => self.parser.push(&bytes),
                Ok(Ok(None)) => {
                    self.done = true;
                    // Some servers end without `[DONE]`; an answer that finished is whole.
                    if self.finished {
                        return Ok(None);
                    }
                    tracing::warn!(provider = %self.provider.name, "upstream stream ended before the answer did");
                    return Err(UpstreamError::Cut { provider: self.provider.name.clone() });
                }
            }
        }
    }

    fn chunk_of(&mut self, data: String) -> Result<Chunk, UpstreamError> {
        let v: Value = serde_json::from_str(&data).map_err(|_| {
            tracing::warn!(provider = %self.provider.name, "upstream stream event is not JSON");
            UpstreamError::Protocol { provider: self.provider.name.clone() }
        })?;
        if v.get("error").is_some() {
            tracing::warn!(provider = %self.provider.name, "upstream reported an error mid-stream");
            return Err(UpstreamError::Protocol { provider: self.provider.name.clone() });
        }
        let choice = v.pointer("/choices/0");
        let text = choice.and_then(|c| c.pointer("/delta/content")).and_then(Value::as_str).unwrap_or("").to_owned();
        let finish_reason = choice.and_then(|c| c.get("finish_reason")).and_then(Value::as_str).map(str::to_owned);
        self.finished |= finish_reason.is_some();
        let usage = reported_usage(&v);
        if usage.is_some() {
            self.reported = usage;
        }
        let no_choices = v.get("choices").and_then(Value::as_array).is_none_or(|c| c.is_empty());
        Ok(Chunk { data: Bytes::from(data), text, finish_reason, usage_only: usage.is_some() && no_choices })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn provider() -> Provider {
        Provider { name: "p".into(), endpoint: None, authorization: None, key: None, unavailable: None }
    }

    fn parse(body: &str) -> Result<Completion, UpstreamError> {
        parse_completion(&provider(), body.as_bytes().to_vec(), 7)
    }

    #[test]
    fn a_completion_is_read_and_kept_byte_for_byte() {
        let body = r#"{"id":"c1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5},"system_fingerprint":"x"}"#;
        let c = parse(body).unwrap();
        assert_eq!((c.id.as_str(), c.created, c.model.as_str()), ("c1", 1_700_000_000, "m"));
        assert_eq!((c.text.as_str(), c.finish_reason.as_str()), ("Hi", "length"));
        assert_eq!((c.usage.prompt, c.usage.completion), (3, 2));
        assert_eq!(c.into_openai(), Bytes::from(body));
    }

    #[test]
    fn fields_of_another_type_read_as_absent() {
        let c = parse(
            r#"{"id":5,"created":"soon","model":null,"choices":[{"message":{"content":[{"type":"text","text":"a"}]},"finish_reason":1}],"usage":{"prompt_tokens":"3","completion_tokens":2}}"#,
        )
        .unwrap();
        assert_eq!((c.id.as_str(), c.created, c.model.as_str()), ("", 0, ""));
        assert_eq!((c.text.as_str(), c.finish_reason.as_str()), ("", "stop"));
        // Usage the upstream did not report as numbers is estimated.
        assert_eq!(c.usage.prompt, 7);
        let c = parse(r#"{"choices":["odd"],"usage":[1]}"#).unwrap();
        assert_eq!((c.text.as_str(), c.usage.prompt), ("", 7));
    }

    #[test]
    fn no_choice_is_a_protocol_error() {
        for body in [r#"{"choices":[]}"#, r#"{"id":"x"}"#, r#"{"choices":{}}"#, "not json", "[]"] {
            assert!(matches!(parse(body), Err(UpstreamError::Protocol { .. })), "{body}");
        }
    }
}
