//! The OpenAI-compatible HTTP client: hyper's own pooled HTTP/1 client (hyper-util's), one for
//! every provider, tuned for a few upstreams that each take many calls (bench/README.md, "The
//! upstream client"). Each provider's URI, `Host` and `Authorization` (marked sensitive: never
//! logged) are made once at start ([`crate::endpoint::Endpoint`], the catalogue); a call only fills a request
//! from those parts. Waits are bounded, errors become [`UpstreamError`]s, and nothing from the
//! caller's request goes upstream but the body the gateway wrote: the headers are the gateway's.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as _, Incoming};
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, RETRY_AFTER, USER_AGENT};
use hyper::{Method, Request, Response, Uri};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
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

/// Idle connections kept per upstream. Each is a descriptor, and the connection cap already
/// counts one upstream socket per client connection (docs/limits.md, "Connections"); past a
/// burst of more concurrent calls than this, the extra connections are closed when they finish.
const MAX_IDLE_PER_UPSTREAM: usize = 1024;

/// How long an idle upstream connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

const USER_AGENT_VALUE: &str = concat!("regpilot-gateway/", env!("CARGO_PKG_VERSION"));

/// The pooled client of every upstream call.
pub(crate) type Client = hyper_util::client::legacy::Client<Connector, Full<Bytes>>;

/// The client: TCP with `TCP_NODELAY`, rustls (ring, Mozilla's roots) for https upstreams,
/// HTTP/1 only, `connect_timeout` over the TCP connection and the TLS handshake together. No
/// redirect is ever followed (hyper's client has none): a 3xx is an upstream error like any
/// other status, so a redirect cannot carry the request and its key somewhere else.
pub(crate) fn client(connect_timeout: Duration) -> Result<Client, rustls::Error> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let https = HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(IDLE_TIMEOUT)
        .pool_max_idle_per_host(MAX_IDLE_PER_UPSTREAM)
        // The endpoint's `Host` is made once, not per call.
        .set_host(false)
        .build(Connector { inner: https, timeout: connect_timeout }))
}

/// The https-or-http connector, its whole connection (TCP and TLS) bounded by the connect
/// timeout.
#[derive(Clone)]
pub(crate) struct Connector {
    inner: HttpsConnector<HttpConnector>,
    timeout: Duration,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Uri> for Connector {
    type Response = MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let connecting = self.inner.call(dst);
        let wait = self.timeout;
        Box::pin(async move {
            match timeout(wait, connecting).await {
                Ok(connected) => connected,
                Err(_) => Err(Box::new(ConnectTimedOut) as BoxError),
            }
        })
    }
}

#[derive(Debug)]
struct ConnectTimedOut;

impl std::fmt::Display for ConnectTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no connection within the connect timeout")
    }
}

impl std::error::Error for ConnectTimedOut {}

/// A failed call before any answer: no connection (503), or an answer head that is not HTTP
/// (502); else the connection closed before answering (503, as when it cannot be reached).
fn classify(provider: &Provider, e: &hyper_util::client::legacy::Error) -> UpstreamError {
    // The error chain, never a URL: a base URL is configuration, with no business in logs per call.
    tracing::warn!(provider = %provider.name, error = %Chain(e), "upstream call failed");
    let name = provider.name.clone();
    if e.is_connect() {
        return UpstreamError::Unreachable { provider: name };
    }
    match hyper_error(e) {
        Some(h) if h.is_parse() || h.is_parse_status() => UpstreamError::Protocol { provider: name },
        _ => UpstreamError::Unreachable { provider: name },
    }
}

fn hyper_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a hyper::Error> {
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            return Some(h);
        }
        source = s.source();
    }
    None
}

/// An error reading an answer's body: the headers came, so the connection is there, and a
/// failure now means it broke (reset, or closed mid-body).
fn body_error(provider: &Provider, e: &hyper::Error) -> UpstreamError {
    tracing::warn!(provider = %provider.name, error = %Chain(e), "upstream connection broke mid-answer");
    UpstreamError::Cut { provider: provider.name.clone() }
}

fn too_large(provider: &Provider, limit: usize) -> UpstreamError {
    tracing::warn!(provider = %provider.name, limit, "upstream answer over the body limit");
    UpstreamError::TooLarge { provider: provider.name.clone(), limit }
}

/// An error and its sources, `: `-separated. Neither hyper's nor the connector's errors carry
/// the URL.
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

/// Sends `body` and waits (up to `wait`) for the answer's status and headers. A non-2xx status
/// becomes an error. The request is the endpoint's parts and the gateway's own headers only.
pub(crate) async fn send(
    client: &Client,
    provider: &Provider,
    body: Vec<u8>,
    stream: bool,
    wait: Duration,
) -> Result<Incoming, UpstreamError> {
    let Some(endpoint) = &provider.endpoint else {
        return Err(UpstreamError::Unreachable { provider: provider.name.clone() });
    };
    let mut req = Request::new(Full::new(Bytes::from(body)));
    *req.method_mut() = Method::POST;
    // A clone of a parsed URI shares its bytes: nothing is parsed or copied per call.
    *req.uri_mut() = endpoint.uri.clone();
    let headers = req.headers_mut();
    headers.reserve(5);
    headers.insert(HOST, endpoint.host.clone());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(ACCEPT, HeaderValue::from_static(if stream { "text/event-stream" } else { "application/json" }));
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    if let Some(auth) = &provider.authorization {
        headers.insert(AUTHORIZATION, auth.clone());
    }
    let response = match timeout(wait, client.request(req)).await {
        Err(_) => {
            tracing::warn!(provider = %provider.name, waited_ms = wait.as_millis() as u64, "upstream did not answer in time");
            return Err(UpstreamError::Timeout { provider: provider.name.clone(), after: wait });
        }
        Ok(Err(e)) => return Err(classify(provider, &e)),
        Ok(Ok(r)) => r,
    };
    if response.status().is_success() {
        return Ok(response.into_body());
    }
    Err(status_error(provider, response).await)
}

/// The next data of a body (trailers skipped); `None` at its end.
async fn next_data(body: &mut Incoming) -> Option<Result<Bytes, hyper::Error>> {
    loop {
        match body.frame().await? {
            Ok(frame) => match frame.into_data() {
                Ok(data) => return Some(Ok(data)),
                Err(_trailers) => continue,
            },
            Err(e) => return Some(Err(e)),
        }
    }
}

async fn status_error(provider: &Provider, response: Response<Incoming>) -> UpstreamError {
    let status = response.status().as_u16();
    let retry_after =
        response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    let mut response = response.into_body();
    let mut body = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    while body.len() < MAX_ERROR_BYTES {
        match timeout_at(deadline, next_data(&mut response)).await {
            Ok(Some(Ok(bytes))) => body.extend_from_slice(&bytes),
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
///
/// A body that arrives in one piece (most do) is kept as it came, without a copy: it is parsed
/// from, and passed on as, the buffer hyper read it into.
pub(crate) async fn read_completion(
    provider: &Provider,
    mut response: Incoming,
    bounds: ReadBounds,
    prompt_estimate: u32,
) -> Result<Completion, UpstreamError> {
    let ReadBounds { deadline, waited, limit } = bounds;
    let declared = response.size_hint().exact().and_then(|n| usize::try_from(n).ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(provider, limit));
    }
    // The body while it is one piece; once a second piece comes, all of it joined.
    let mut whole: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    loop {
        match timeout_at(deadline, next_data(&mut response)).await {
            Err(_) => return Err(UpstreamError::Timeout { provider: provider.name.clone(), after: waited }),
            Ok(Some(Err(e))) => return Err(body_error(provider, &e)),
            Ok(None) => break,
            Ok(Some(Ok(bytes))) => {
                let held = whole.as_ref().map_or(joined.len(), Bytes::len);
                if held + bytes.len() > limit {
                    return Err(too_large(provider, limit));
                }
                match whole.take() {
                    None if joined.is_empty() => whole = Some(bytes),
                    None => joined.extend_from_slice(&bytes),
                    Some(head) => {
                        joined.reserve(declared.unwrap_or(0).max(head.len() + bytes.len()));
                        joined.extend_from_slice(&head);
                        joined.extend_from_slice(&bytes);
                    }
                }
            }
        }
    }
    let body = whole.unwrap_or_else(|| Bytes::from(joined));
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

fn parse_completion(provider: &Provider, body: Bytes, prompt_estimate: u32) -> Result<Completion, UpstreamError> {
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
        raw: Some(body),
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
    pub(crate) response: Incoming,
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
            match timeout(self.idle.min(left), next_data(&mut self.response)).await {
                Err(_) if Instant::now() >= self.ends_by => {
                    tracing::warn!(provider = %self.provider.name, "upstream stream ran past its longest duration");
                    let after = self.max_duration;
                    return Err(UpstreamError::Unfinished { provider: self.provider.name.clone(), after });
                }
                Err(_) => {
                    tracing::warn!(provider = %self.provider.name, "upstream stream went silent");
                    return Err(UpstreamError::Timeout { provider: self.provider.name.clone(), after: self.idle });
                }
                Ok(Some(Err(e))) => return Err(body_error(&self.provider, &e)),
                Ok(Some(Ok(bytes))) => self.parser.push(&bytes),
                Ok(None) => {
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
    use crate::endpoint::Endpoint;

    fn provider() -> Provider {
        Provider { name: "p".into(), endpoint: None, authorization: None, key: None, unavailable: None }
    }

    /// A provider at `base` with a key, as the catalogue makes one.
    fn provider_at(base: &str) -> Provider {
        let url = url::Url::parse(&format!("{base}/chat/completions")).unwrap();
        let mut auth = HeaderValue::from_static("Bearer sk-upstream-secret-42");
        auth.set_sensitive(true);
        Provider {
            name: "p".into(),
            endpoint: Endpoint::new(&url),
            authorization: Some(auth),
            key: Some("sk-upstream-secret-42".into()),
            unavailable: None,
        }
    }

    #[tokio::test]
    async fn the_connect_timeout_bounds_the_tls_handshake_too() {
        // Accepts and holds every connection, never saying a TLS word.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((tcp, _)) = listener.accept().await {
                held.push(tcp);
            }
        });
        let client = client(Duration::from_millis(300)).unwrap();
        let p = provider_at(&format!("https://{addr}/v1"));
        let started = std::time::Instant::now();
        let e = send(&client, &p, b"{}".to_vec(), false, Duration::from_secs(10)).await.unwrap_err();
        let took = started.elapsed();
        assert!(matches!(e, UpstreamError::Unreachable { .. }), "{e:?}");
        // It waited on the handshake (TCP connected at once), and no longer than the timeout.
        assert!(took >= Duration::from_millis(250) && took < Duration::from_secs(3), "{took:?}");
        holder.abort();
    }

    #[tokio::test]
    async fn a_failed_call_logs_and_says_neither_the_url_nor_the_key() {
        let client = client(Duration::from_millis(500)).unwrap();
        let p = provider_at("http://127.0.0.1:9/private-path-7");
        let endpoint = p.endpoint.clone().unwrap();
        let mut req = Request::new(Full::new(Bytes::from_static(b"{}")));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = endpoint.uri.clone();
        req.headers_mut().insert(AUTHORIZATION, p.authorization.clone().unwrap());
        let e = client.request(req).await.unwrap_err();
        let classified = classify(&p, &e);
        assert!(matches!(classified, UpstreamError::Unreachable { .. }), "{classified:?}");
        for text in [Chain(&e).to_string(), classified.to_string()] {
            for secret in ["127.0.0.1", "private-path-7", "sk-upstream-secret-42"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
        assert!(!format!("{p:?}").contains("sk-upstream-secret-42"));
    }

    fn parse(body: &str) -> Result<Completion, UpstreamError> {
        parse_completion(&provider(), Bytes::copy_from_slice(body.as_bytes()), 7)
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
