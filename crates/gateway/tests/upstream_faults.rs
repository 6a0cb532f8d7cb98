//! Upstreams that fail in the middle of an answer (docs/ai-gateway.md, "Errors" and "Limits of
//! an upstream call"): a connection cut or reset mid-stream, bytes that are not the protocol, a
//! body over `upstream_body_limit_bytes`, a stream that never ends and one that trickles under
//! the idle timeout. Each ends in the documented error — a 502/504 before the answer began, a
//! last error event after — and frees what it held: the open-streams gauge is back to 0 and the
//! upstream sees its connection closed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::*;
use regpilot_ai::{AiConfig, ModelConfig, ProviderConfig, QualityConfig};
use regpilot_keys::KeyType;
use regpilot_mock_upstream::{MockConfig, MockUpstream};
use regpilot_store::Backend;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Small, so the tests stay fast: 64 KiB.
const LIMIT: usize = 64 * 1024;
/// Far under the mock's endless and trickling streams' length, far over their pauses.
const MAX_STREAM_SECS: u64 = 1;

fn model(id: &str) -> ModelConfig {
    ModelConfig { id: id.into(), prompt_cents_per_1k: 0.5, completion_cents_per_1k: 1.5 }
}

/// The mock at `mock`, and the resetting server of [`resetting_upstream`] at `raw` (model
/// `raw-reset`).
fn ai_config(mock: String, raw: SocketAddr) -> AiConfig {
    let models = ["mock-model", "mock-reset", "mock-noise", "mock-endless", "mock-trickle", "mock-big-1000"];
    AiConfig {
        providers: vec![
            ProviderConfig {
                name: "mock".into(),
                base_url: mock,
                api_key_env: None,
                api_key_file: None,
                models: models.into_iter().map(model).chain([model(&format!("mock-big-{}", 2 * LIMIT))]).collect(),
            },
            ProviderConfig {
                name: "raw".into(),
                base_url: format!("http://{raw}/v1"),
                api_key_env: None,
                api_key_file: None,
                models: vec![model("raw-reset")],
            },
        ],
        quality: QualityConfig { cheap: None, balanced: Some("mock-model".into()), frontier: None },
        response_timeout_secs: 1,
        // Longer than the stream bound: a stream that ends at 1 s was ended by the bound.
        stream_idle_timeout_secs: 3,
        stream_max_duration_secs: MAX_STREAM_SECS,
        upstream_body_limit_bytes: LIMIT,
        ..AiConfig::default()
    }
}

struct Ctx {
    app: TestApp,
    mock: MockUpstream,
    prod: String,
}

async fn setup() -> Ctx {
    let mock = MockUpstream::start(MockConfig::default()).await.unwrap();
    let raw = resetting_upstream().await;
    let app = TestApp::with_ai(Backend::Sqlite, ai_config(mock.base_url(), raw)).await;
    let prod = app.valid_key(KeyType::Gateway).await.secret;
    Ctx { app, mock, prod }
}

fn body(model: &str) -> String {
    format!(r#"{{"messages":[{{"role":"user","content":"a"}}],"model":"{model}"}}"#)
}

/// The `data:` payloads of an SSE body.
fn events(body: &str) -> Vec<String> {
    body.split("\n\n").filter_map(|e| e.strip_prefix("data: ")).map(str::to_owned).collect()
}

/// A call that the gateway must end: a fault left unbounded fails the test instead of hanging it.
async fn bounded(call: impl std::future::Future<Output = Resp>) -> Resp {
    tokio::time::timeout(Duration::from_secs(10), call).await.expect("the gateway ended the call within 10 s")
}

impl Ctx {
    /// `POST /api/ai/chat` (a stream): its chunks' text and its last event, which must be an
    /// error event with `code`.
    async fn failed_stream(&self, model: &str, code: &str) -> (String, String) {
        let r = bounded(self.app.call_with(Method::POST, "/api/ai/chat", Some(&self.prod), Some(&body(model)))).await;
        assert_eq!(r.status, StatusCode::OK, "{model}: the stream began: {}", r.describe());
        let ev = events(&r.text());
        let last: Value = serde_json::from_str(ev.last().unwrap()).unwrap();
        assert_eq!((last["type"].as_str(), last["code"].as_str()), (Some("error"), Some(code)), "{model}: {ev:?}");
        let text = ev
            .iter()
            .filter_map(|e| serde_json::from_str::<Value>(e).ok())
            .filter(|e| e["type"] == "chunk")
            .map(|e| e["content"].as_str().unwrap().to_owned())
            .collect();
        self.assert_freed(model);
        (text, last["error"].as_str().unwrap().to_owned())
    }

    /// `POST /api/ai/complete` (one body): the error's status must be `status` with `code`; its
    /// message.
    async fn failed_answer(&self, model: &str, status: StatusCode, code: &str) -> String {
        let r =
            bounded(self.app.call_with(Method::POST, "/api/ai/complete", Some(&self.prod), Some(&body(model)))).await;
        assert_eq!(r.status, status, "{model}: {}", r.describe());
        let v = r.json();
        assert_eq!(v["code"], code, "{model}: {v}");
        v["error"].as_str().unwrap().to_owned()
    }

    /// No stream is left open: the gauge of `/metrics` is 0.
    fn assert_freed(&self, context: &str) {
        let metrics = self.app.state.metrics.render_with(&self.app.state.limiter.stats());
        assert!(
            metrics.lines().any(|l| l == "regpilot_ai_streams_open 0"),
            "{context}: a stream is still counted open"
        );
    }

    /// `regpilot_ai_calls_total` of the mock with `outcome`.
    fn calls(&self, outcome: &str) -> u64 {
        let label = format!(r#"regpilot_ai_calls_total{{provider="mock",outcome="{outcome}"}} "#);
        let metrics = self.app.state.metrics.render_with(&self.app.state.limiter.stats());
        metrics.lines().find_map(|l| l.strip_prefix(label.as_str())).map_or(0, |n| n.parse().unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_cut_mid_answer_is_a_502_or_an_error_event_after_what_came() {
    let c = setup().await;
    let (text, error) = c.failed_stream("mock-reset", "UPSTREAM_ERROR").await;
    assert_eq!(text, "The quick ", "the chunk before the cut was forwarded");
    assert!(error.contains("'mock' closed the connection before its answer ended"), "{error}");
    let error = c.failed_answer("mock-reset", StatusCode::BAD_GATEWAY, "UPSTREAM_ERROR").await;
    assert!(error.contains("closed the connection"), "{error}");
    assert_eq!(c.calls("cut"), 2);

    // The same through a real TCP reset (RST), on OpenAI's route too.
    let (text, error) = c.failed_stream("raw-reset", "UPSTREAM_ERROR").await;
    assert_eq!(text, "Hi", "the chunk before the reset was forwarded");
    assert!(error.contains("'raw' closed the connection"), "{error}");
    c.failed_answer("raw-reset", StatusCode::BAD_GATEWAY, "UPSTREAM_ERROR").await;
    let openai = r#"{"model":"raw-reset","stream":true,"messages":[{"role":"user","content":"a"}]}"#;
    let r = c.app.call_with(Method::POST, "/v1/chat/completions", Some(&c.prod), Some(openai)).await;
    let ev = events(&r.text());
    let last: Value = serde_json::from_str(ev.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "UPSTREAM_ERROR", "{ev:?}");
    assert_eq!(last["error"]["type"], "server_error", "{ev:?}");
    c.assert_freed("raw-reset on /v1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_are_not_the_protocol_stop_at_the_body_limit() {
    let c = setup().await;
    // No line break ever comes: the event being gathered passes the limit.
    let (text, error) = c.failed_stream("mock-noise", "UPSTREAM_ERROR").await;
    assert_eq!(text, "");
    assert!(error.contains(&format!("larger than the gateway's limit of {LIMIT} bytes")), "{error}");
    let error = c.failed_answer("mock-noise", StatusCode::BAD_GATEWAY, "UPSTREAM_ERROR").await;
    assert!(error.contains("larger than the gateway's limit"), "{error}");
    // Both endless bodies were dropped: the mock saw its connections closed.
    assert!(c.mock.wait_for_cancelled(2, Duration::from_secs(5)).await, "{:?}", c.mock.stats());
    assert_eq!(c.calls("too_large"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_the_body_limit_is_refused_one_under_it_passes() {
    let c = setup().await;
    let big = format!("mock-big-{}", 2 * LIMIT);
    // Declared over the limit (Content-Length): refused before reading.
    let error = c.failed_answer(&big, StatusCode::BAD_GATEWAY, "UPSTREAM_ERROR").await;
    assert!(error.contains(&format!("limit of {LIMIT} bytes")), "{error}");
    // One stream event over the limit.
    c.failed_stream(&big, "UPSTREAM_ERROR").await;
    // A body that never ends is read up to the limit only.
    c.failed_answer("mock-endless", StatusCode::BAD_GATEWAY, "UPSTREAM_ERROR").await;
    assert_eq!(c.calls("too_large"), 3);

    let r = c.app.call_with(Method::POST, "/api/ai/complete", Some(&c.prod), Some(&body("mock-big-1000"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.describe());
    assert_eq!(r.json()["text"].as_str().unwrap().len(), 1000);
    let r = c.app.call_with(Method::POST, "/api/ai/chat", Some(&c.prod), Some(&body("mock-big-1000"))).await;
    let ev = events(&r.text());
    assert!(ev[ev.len() - 2].contains(r#""type":"usage""#), "{ev:?}");
    c.assert_freed("mock-big-1000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_never_ends_is_ended_at_its_longest_duration() {
    let c = setup().await;
    let started = Instant::now();
    let (text, error) = c.failed_stream("mock-endless", "UPSTREAM_TIMEOUT").await;
    let took = started.elapsed();
    assert!(text.starts_with("more more "), "chunks flowed until the bound: {text:.40}");
    assert_eq!(error, format!("The upstream provider 'mock' did not finish its answer within {MAX_STREAM_SECS} s"));
    // Generous bounds: the bound fired, neither at once nor by the (3 s) idle timeout.
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "{took:?}");
    assert!(c.mock.wait_for_cancelled(1, Duration::from_secs(5)).await, "{:?}", c.mock.stats());
    assert_eq!(c.calls("too_long"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickle_under_the_idle_timeout_still_ends_by_the_documented_bounds() {
    let c = setup().await;
    // A byte every 20 ms: never idle, never done. The stream ends at its longest duration…
    let started = Instant::now();
    let (_, error) = c.failed_stream("mock-trickle", "UPSTREAM_TIMEOUT").await;
    assert!(error.contains("did not finish its answer within 1 s"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    // …and a whole answer at the response timeout, which covers all of it.
    let started = Instant::now();
    let error = c.failed_answer("mock-trickle", StatusCode::GATEWAY_TIMEOUT, "UPSTREAM_TIMEOUT").await;
    assert_eq!(error, "The upstream provider 'mock' did not answer within 1 s");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert!(c.mock.wait_for_cancelled(2, Duration::from_secs(5)).await, "{:?}", c.mock.stats());
}

/// A server that answers every request with the beginning of an answer — a stream's headers
/// and one chunk, or a JSON body's first bytes — and then resets the connection (RST).
async fn resetting_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let request = read_request(&mut tcp).await;
                let stream = request.contains(r#""stream":true"#);
                let head = if stream {
                    let event = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{event}\r\n",
                        event.len()
                    )
                } else {
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"id\":"
                        .to_owned()
                };
                tcp.write_all(head.as_bytes()).await.unwrap();
                // Time for the gateway to read (and forward) what came before the reset.
                tokio::time::sleep(Duration::from_millis(200)).await;
                tcp.set_zero_linger().unwrap();
                drop(tcp);
            });
        }
    });
    addr
}

/// Reads one request: its head, and as many body bytes as its `content-length` says.
async fn read_request(tcp: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tcp.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                break;
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}
