//! The AI gateway as a user runs it: the `regpilot` binary with a settings file naming a mock
//! OpenAI-compatible upstream (started by the test on 127.0.0.1). Usage with model, tokens and
//! cost reaches `/api/usage`; a client that hangs up cancels the upstream call; SIGTERM drains
//! open streams and exits 0 with usage written; the upstream key is never shown anywhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use regpilot_mock_upstream::{MockConfig, MockUpstream};
use serde_json::Value;

const UPSTREAM_KEY: &str = "upstream-key-Zq81-never-shown";

struct Upstream {
    mock: MockUpstream,
    rt: tokio::runtime::Runtime,
}

fn upstream(config: MockConfig) -> Upstream {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mock = rt.block_on(MockUpstream::start(MockConfig { api_key: Some(UPSTREAM_KEY.into()), ..config })).unwrap();
    Upstream { mock, rt }
}

/// A settings file for the mock: mock-model at 0.5 / 1.5 cents per 1k tokens.
fn settings(dir: &Path, mock: &MockUpstream) -> String {
    let path = dir.join("regpilot.toml");
    let text = format!(
        r#"[ai]
response_timeout_secs = 5
stream_idle_timeout_secs = 5
[ai.quality]
balanced = "mock-model"
[[ai.providers]]
name = "mock"
base_url = "{}"
api_key_env = "REGPILOT_TEST_UPSTREAM_KEY"
models = [
  {{ id = "mock-model", prompt_cents_per_1k = 0.5, completion_cents_per_1k = 1.5 }},
  {{ id = "mock-slow" }},
  {{ id = "mock-status-401" }},
]
"#,
        mock.base_url()
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn start(dir: &Path, db: &str, config: &str, rust_log: &str) -> Server {
    Server::start_with(
        dir,
        db,
        "serve",
        rust_log,
        &[
            ("REGPILOT_CONFIG", config),
            ("REGPILOT_TEST_UPSTREAM_KEY", UPSTREAM_KEY),
            ("REGPILOT_USAGE_FLUSH_MS", "100"),
            ("REGPILOT_SHUTDOWN_GRACE_SECS", "2"),
        ],
    )
}

/// An enterprise project (no practical limit) and a gateway key in `env`.
fn key(dir: &Path, db: &str, project: &str, env: &str) -> (String, String) {
    let k =
        cli_json(dir, db, &["key", "create", "--project", project, "--type", "gateway", "--env", env, "--name", env]);
    (str_of(&k, "id"), str_of(&k, "secret"))
}

fn enterprise(dir: &Path, db: &str) -> String {
    str_of(&cli_json(dir, db, &["project", "create", "--name", "AI", "--plan", "enterprise"]), "id")
}

/// A raw HTTP/1.1 request on its own connection, read as it arrives.
struct Raw {
    stream: TcpStream,
    got: String,
}

impl Raw {
    fn post(base: &str, path: &str, key: &str, body: &str) -> Raw {
        let addr = base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nX-API-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        Raw { stream, got: String::new() }
    }

    /// Reads until `needle` has arrived (true) or the connection ends or `limit` passes (false).
    fn read_until(&mut self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut buf = [0u8; 4096];
        while !self.got.contains(needle) {
            if Instant::now() > deadline {
                return false;
            }
            match self.stream.read(&mut buf) {
                Ok(0) => return self.got.contains(needle),
                Ok(n) => self.got.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// Reads to the end of the connection (or `limit`); true if it ended.
    fn read_to_end(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            match self.stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(n) => self.got.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => return true,
            }
        }
        false
    }
}

fn wait_for_ai_calls(base: &str, key: &str, calls: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, report) = get(base, "/api/usage?period=day", &[("X-API-Key", key)]);
        assert_eq!(status, 200, "{report}");
        if report["ai"]["calls"].as_i64() == Some(calls) {
            return report;
        }
        assert!(Instant::now() < deadline, "ai usage never reached {calls} calls: {report}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ai_calls_are_recorded_with_model_tokens_and_cost() {
    let dir = Scratch::new("ai-usage");
    let db = sqlite_url(dir.path());
    let up = upstream(MockConfig::default());
    let config = settings(dir.path(), &up.mock);
    let server = start(dir.path(), &db, &config, "info");
    let project = enterprise(dir.path(), &db);
    let (_, prod) = key(dir.path(), &db, &project, "prod");
    let (_, dev) = key(dir.path(), &db, &project, "dev");
    wait_for_status(&server.base, &prod, 200, Duration::from_secs(5));
    wait_for_status(&server.base, &dev, 200, Duration::from_secs(5));

    let body = r#"{"messages":[{"role":"user","content":"How much does this cost?"}]}"#;
    let mut expected_ucents = 0.0;
    let mut tokens = 0;
    for _ in 0..2 {
        let (status, v) = post(&server.base, "/api/ai/complete", &[("X-API-Key", &prod)], body);
        assert_eq!(status, 200, "{v}");
        let u = &v["usage"];
        expected_ucents += u["costCents"].as_f64().unwrap() * 1e6;
        tokens += u["totalTokens"].as_i64().unwrap();
        let (p, c) = (u["promptTokens"].as_f64().unwrap(), u["completionTokens"].as_f64().unwrap());
        assert_eq!(u["costCents"].as_f64().unwrap(), ((p * 0.5 + c * 1.5) * 1000.0).round() / 1e6, "{v}");
    }
    // A stream through the OpenAI route, and a simulated call of the development key.
    let mut s = Raw::post(
        &server.base,
        "/v1/chat/completions",
        &prod,
        r#"{"model":"mock-model","stream":true,"messages":[{"role":"user","content":"stream"}]}"#,
    );
    assert!(s.read_until("data: [DONE]", Duration::from_secs(10)), "{}", s.got);
    let (status, sim) = post(&server.base, "/api/ai/complete", &[("X-API-Key", &dev)], body);
    assert_eq!((status, sim["provider"].as_str()), (200, Some("simulator")));

    let report = wait_for_ai_calls(&server.base, &prod, 4);
    let ai = &report["ai"];
    let models = ai["models"].as_array().unwrap();
    let mock = models.iter().find(|m| m["provider"] == "mock").unwrap();
    let simulator = models.iter().find(|m| m["provider"] == "simulator").unwrap();
    assert_eq!((mock["model"].as_str(), mock["calls"].as_i64()), (Some("mock-model"), Some(3)), "{ai}");
    assert_eq!((simulator["calls"].as_i64(), simulator["cost_cents"].as_f64()), (Some(1), Some(0.0)), "{ai}");
    assert!(mock["total_tokens"].as_i64().unwrap() > tokens, "two calls and a stream: {ai}");
    assert!(mock["cost_cents"].as_f64().unwrap() * 1e6 > expected_ucents - 0.5, "{ai}");
    assert_eq!(ai["cost_cents"], mock["cost_cents"], "the simulator costs nothing");
    // The AI calls are requests of their keys too.
    assert!(report["requests"].as_i64().unwrap() >= 4, "{report}");
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn a_client_that_hangs_up_cancels_the_upstream_call() {
    let dir = Scratch::new("ai-cancel");
    let db = sqlite_url(dir.path());
    let up = upstream(MockConfig::default());
    let config = settings(dir.path(), &up.mock);
    let server = start(dir.path(), &db, &config, "info");
    let project = enterprise(dir.path(), &db);
    let (key_id, prod) = key(dir.path(), &db, &project, "prod");
    wait_for_status(&server.base, &prod, 200, Duration::from_secs(5));

    let mut s = Raw::post(
        &server.base,
        "/api/ai/chat",
        &prod,
        r#"{"messages":[{"role":"user","content":"a"}],"model":"mock-slow"}"#,
    );
    assert!(s.read_until(r#""type":"chunk""#, Duration::from_secs(10)), "{}", s.got);
    assert_eq!(up.mock.stats().streams_completed, 0, "the first chunk came before the upstream finished");
    drop(s);
    let cancelled = up.rt.block_on(up.mock.wait_for_cancelled(1, Duration::from_secs(5)));
    assert!(cancelled, "the upstream call outlived its client: {:?}", up.mock.stats());
    assert_eq!(up.mock.stats().streams_completed, 0);
    // What was answered before the hang-up is still recorded.
    let report = wait_for_ai_calls(&server.base, &prod, 1);
    assert_eq!(report["keys"][0]["key_id"], key_id.as_str());
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn sigterm_drains_open_streams_then_exits_zero_with_usage_written() {
    let dir = Scratch::new("ai-drain");
    let db = sqlite_url(dir.path());
    // A long answer: 400 chunks, 25 ms apart (10 s), longer than the 2 s drain grace.
    let up = upstream(MockConfig {
        stream_chunks: 400,
        chunk_delay: Duration::from_millis(25),
        completion: "word ".repeat(400),
        ..MockConfig::default()
    });
    let config = settings(dir.path(), &up.mock);
    let mut server = start(dir.path(), &db, &config, "info");
    let project = enterprise(dir.path(), &db);
    let (key_id, prod) = key(dir.path(), &db, &project, "prod");
    wait_for_status(&server.base, &prod, 200, Duration::from_secs(5));

    let mut s = Raw::post(&server.base, "/api/ai/chat", &prod, r#"{"messages":[{"role":"user","content":"a"}]}"#);
    assert!(s.read_until(r#""type":"chunk""#, Duration::from_secs(10)), "{}", s.got);
    let signalled = Instant::now();
    server.terminate();

    // Ready turns 503 at once; new requests are refused; the liveness probe still answers.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let (status, _) = get(&server.base, "/api/ready", &[]);
        if status == 503 {
            break;
        }
        assert!(Instant::now() < deadline, "ready still {status} after SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    }
    let (status, refused) = get(&server.base, "/api/ai/models", &[("X-API-Key", &prod)]);
    assert_eq!((status, refused["code"].as_str()), (503, Some("NOT_READY")), "{refused}");

    // The stream runs on until the deadline, then gets a final error event and ends.
    let before = s.got.matches(r#""type":"chunk""#).count();
    assert!(s.read_to_end(Duration::from_secs(10)), "the stream was not ended");
    let after = s.got.matches(r#""type":"chunk""#).count();
    assert!(after > before, "no chunk arrived while draining");
    assert!(
        s.got.contains(r#""code":"SHUTTING_DOWN""#),
        "no final error event: {}",
        &s.got[s.got.len().saturating_sub(300)..]
    );
    assert!(signalled.elapsed() >= Duration::from_millis(1900), "ended before the grace: {:?}", signalled.elapsed());

    let status = server.wait_exit(Duration::from_secs(10)).expect("the server did not exit");
    assert_eq!(status.code(), Some(0), "{}", server.logs());
    // The stream's usage was written before the process ended.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let totals = rt.block_on(async {
        let store = regpilot_store::Store::open(&db).await.unwrap();
        store.usage_by_model(regpilot_store::UsageScope::Key(&key_id), 0, i64::MAX).await.unwrap()
    });
    assert_eq!(totals.len(), 1, "{totals:?}");
    assert_eq!((totals[0].model.as_str(), totals[0].calls), ("mock-model", 1));
    assert!(totals[0].completion_tokens > 0, "{totals:?}");
}

#[test]
fn the_upstream_key_never_appears_in_logs_answers_or_the_store() {
    let dir = Scratch::new("ai-secret");
    let db = sqlite_url(dir.path());
    let up = upstream(MockConfig::default());
    let config = settings(dir.path(), &up.mock);
    let server = start(dir.path(), &db, &config, "debug");
    let project = enterprise(dir.path(), &db);
    let (_, prod) = key(dir.path(), &db, &project, "prod");
    wait_for_status(&server.base, &prod, 200, Duration::from_secs(5));
    let mut answers = String::new();
    for model in ["mock-model", "mock-status-401"] {
        let body = format!(r#"{{"messages":[{{"role":"user","content":"a"}}],"model":"{model}"}}"#);
        let (_, v) = post(&server.base, "/api/ai/complete", &[("X-API-Key", &prod)], &body);
        answers.push_str(&v.to_string());
        let body = format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"a"}}]}}"#);
        let (_, v) = post(&server.base, "/v1/chat/completions", &[("X-API-Key", &prod)], &body);
        answers.push_str(&v.to_string());
    }
    let (_, metrics) = get(&server.base, "/metrics", &[]);
    answers.push_str(metrics.as_str().unwrap());
    wait_for_ai_calls(&server.base, &prod, 2);
    let logs = server.logs();
    assert_eq!(server.stop().code(), Some(0));
    let mut store = Vec::new();
    for entry in std::fs::read_dir(dir.path().join("data")).unwrap() {
        store.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let store = String::from_utf8_lossy(&store);
    for (place, text) in [("answers", answers.as_str()), ("logs", logs.as_str()), ("store", &*store)] {
        assert!(!text.contains(UPSTREAM_KEY), "the upstream key is in the {place}");
        assert!(!text.contains(&prod), "the caller's key is in the {place}");
    }
    assert!(up.mock.requests().iter().all(|r| r.header("authorization") == Some(&format!("Bearer {UPSTREAM_KEY}"))));
}
