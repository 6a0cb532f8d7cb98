//! The Governor as a user runs it (docs/governor.md): the `regpilot` binary in front of the mock
//! upstream, whose `mock-echo` model answers the last user message verbatim, so each test
//! decides exactly what the "model" says. Every mode on every surface, prompt checks, policies
//! reaching a second instance, the audit entry and its violation, plans, the simulator, and
//! secret hygiene: the personal data and secrets of the answers never reach the logs, the store
//! (unless content storage is on, and then only redacted), `/metrics` or the audit entries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use regpilot_mock_upstream::{MockConfig, MockUpstream};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const UPSTREAM_KEY: &str = "upstream-key-Gv27-never-shown";
const PROPAGATION: Duration = Duration::from_secs(1);

const EMAIL: &str = "jane.doe.governor@example.com";
/// Luhn-valid, spaced as people write it; `CARD_DIGITS` unspaced.
const CARD: &str = "4539 1488 0343 6467";
const CARD_DIGITS: &str = "4539148803436467";

/// A RegPilot gateway key secret that passes its checksum (and belongs to no project).
fn secret_key() -> String {
    regpilot_keys::generate(regpilot_keys::KeyType::Gateway, regpilot_keys::Environment::Production)
        .unwrap()
        .expose()
        .to_owned()
}

/// More than the stream guard's hold-back (1 KiB) of harmless text on both sides, so a stream
/// emits text before and after the risky part and the risky part crosses chunk boundaries.
fn filler(n: usize) -> String {
    "Thank you for waiting while we looked into your order. ".repeat(n)
}

/// The test answer: an e-mail address, a card number and a key secret in a long text.
fn risky_answer(secret: &str) -> String {
    format!(
        "{}Please write to {EMAIL} about it. The card on file is {CARD}, and the service key is {secret} for now. {}",
        filler(22),
        filler(22)
    )
}

/// What sanitizing `risky_answer` delivers.
fn redacted(answer: &str, secret: &str) -> String {
    answer.replace(EMAIL, "[EMAIL]").replace(CARD, "[CARD]").replace(secret, "[SECRET]")
}

const RISKY_RULES: [&str; 3] = ["pii.card", "pii.email", "secret.regpilot_key"];

fn meta() -> Value {
    json!({"actionType": "customer_support", "senderId": "support-bot", "recipientCountry": "DE"})
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// The gateway, its upstream and its keys.

struct Upstream {
    mock: MockUpstream,
    rt: tokio::runtime::Runtime,
}

fn upstream() -> Upstream {
    upstream_with(Duration::ZERO)
}

/// The mock, pausing `chunk_delay` before each piece of a stream.
fn upstream_with(chunk_delay: Duration) -> Upstream {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let config =
        MockConfig { api_key: Some(UPSTREAM_KEY.into()), stream_chunks: 24, chunk_delay, ..MockConfig::default() };
    let mock = rt.block_on(MockUpstream::start(config)).unwrap();
    Upstream { mock, rt }
}

/// A settings file naming the mock: `mock-echo` is the balanced model, priced.
fn settings(dir: &Path, mock: &MockUpstream) -> String {
    let path = dir.join("regpilot.toml");
    let text = format!(
        r#"[ai]
response_timeout_secs = 5
stream_idle_timeout_secs = 5
[ai.quality]
balanced = "mock-echo"
[[ai.providers]]
name = "mock"
base_url = "{}"
api_key_env = "REGPILOT_TEST_UPSTREAM_KEY"
models = [
  {{ id = "mock-echo", prompt_cents_per_1k = 0.5, completion_cents_per_1k = 1.5 }},
  {{ id = "mock-reset" }},
]
"#,
        mock.base_url()
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn start(dir: &Path, db: &str, config: &str, name: &str, rust_log: &str, extra: &[(&str, &str)]) -> Server {
    let mut env = vec![
        ("REGPILOT_CONFIG", config),
        ("REGPILOT_TEST_UPSTREAM_KEY", UPSTREAM_KEY),
        ("REGPILOT_USAGE_FLUSH_MS", "100"),
        ("REGPILOT_SHUTDOWN_GRACE_SECS", "2"),
    ];
    env.extend_from_slice(extra);
    Server::start_with(dir, db, name, rust_log, &env)
}

/// One gateway on its own SQLite store, a project on `plan` with a production gateway key
/// (`sk`) and a project key (`pk`).
struct Gw {
    dir: Scratch,
    db: String,
    up: Upstream,
    server: Server,
    project: String,
    sk: String,
    pk: String,
}

fn key(dir: &Path, db: &str, project: &str, kind: &str, env: &str) -> String {
    let k = cli_json(dir, db, &["key", "create", "--project", project, "--type", kind, "--env", env, "--name", kind]);
    str_of(&k, "secret")
}

fn project(dir: &Path, db: &str, plan: &str) -> String {
    str_of(&cli_json(dir, db, &["project", "create", "--name", "Gov", "--plan", plan]), "id")
}

fn gateway(tag: &str, plan: &str, rust_log: &str, extra: &[(&str, &str)]) -> Gw {
    let dir = Scratch::new(tag);
    let db = sqlite_url(dir.path());
    let up = upstream();
    let config = settings(dir.path(), &up.mock);
    let server = start(dir.path(), &db, &config, "serve", rust_log, extra);
    let project = project(dir.path(), &db, plan);
    let sk = key(dir.path(), &db, &project, "gateway", "prod");
    let pk = key(dir.path(), &db, &project, "project", "prod");
    wait_for_status(&server.base, &sk, 200, Duration::from_secs(5));
    wait_for_status(&server.base, &pk, 200, Duration::from_secs(5));
    Gw { dir, db, up, server, project, sk, pk }
}

impl Gw {
    /// Changes the Governor settings through the API (applied on this instance before the answer).
    fn set(&self, patch: Value) -> Value {
        let a = send(&self.server.base, "PATCH", "/api/compliance/governor/settings", &self.pk, &patch.to_string());
        assert_eq!(a.status, 200, "{patch}: {}", a.text);
        a.json()
    }

    fn ask(&self, surface: Surface, text: &str) -> Outcome {
        ask(&self.server.base, &self.sk, surface, text, &meta())
    }

    /// Polls the audit entry `id` until the writer has stored it.
    fn audit(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let a = send(&self.server.base, "GET", &format!("/api/compliance/governor/audits/{id}"), &self.pk, "");
            if a.status == 200 {
                return a.json();
            }
            assert_eq!(a.status, 404, "{}", a.text);
            assert!(Instant::now() < deadline, "audit {id} never written");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP: whole answers and event streams, with every header and byte received.

struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    text: String,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The `data:` events of a stream, parsed; and whether `[DONE]` ended it.
    fn events(&self) -> (Vec<Value>, bool) {
        let mut done = false;
        let mut out = Vec::new();
        for frame in self.text.split("\n\n").filter(|f| !f.trim().is_empty()) {
            let data = frame.strip_prefix("data: ").unwrap_or_else(|| panic!("not an SSE data frame: {frame:?}"));
            assert!(!done, "an event after [DONE]: {data}");
            if data == "[DONE]" {
                done = true;
            } else {
                out.push(serde_json::from_str(data).unwrap_or_else(|e| panic!("bad event ({e}): {data}")));
            }
        }
        (out, done)
    }

    /// The headers and the body, as received: what must not carry a raw secret.
    fn everything(&self) -> String {
        let mut all: String = self.headers.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
        all.push_str(&self.text);
        all
    }
}

fn send(base: &str, method: &str, path: &str, key: &str, body: &str) -> Answer {
    let agent = agent();
    let url = format!("{base}{path}");
    let mut resp = match method {
        "GET" => agent.get(&url).header("X-API-Key", key).call(),
        "POST" => agent.post(&url).header("X-API-Key", key).header("Content-Type", "application/json").send(body),
        "PATCH" => agent.patch(&url).header("X-API-Key", key).header("Content-Type", "application/json").send(body),
        other => panic!("method {other}"),
    }
    .unwrap();
    let status = resp.status().as_u16();
    let headers =
        resp.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect();
    let mut text = String::new();
    resp.body_mut().as_reader().read_to_string(&mut text).unwrap();
    Answer { status, headers, text }
}

/// The five ways to ask for an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Surface {
    Complete,
    ChatStream,
    ChatWhole,
    V1Stream,
    V1Whole,
}

const SURFACES: [Surface; 5] =
    [Surface::Complete, Surface::ChatStream, Surface::ChatWhole, Surface::V1Stream, Surface::V1Whole];

impl Surface {
    fn streamed(self) -> bool {
        matches!(self, Surface::ChatStream | Surface::V1Stream)
    }

    /// The path and body asking `text` of `mock-echo` with Governor `metadata`. `/v1` requests
    /// carry it as `metadata.governor` when streamed, as `governorMetadata` when not.
    fn request(self, text: &str, metadata: &Value) -> (&'static str, String) {
        let messages = json!([{"role": "user", "content": text}]);
        let body = match self {
            Surface::Complete => json!({"messages": messages, "governorMetadata": metadata}),
            Surface::ChatStream => json!({"messages": messages, "governorMetadata": metadata}),
            Surface::ChatWhole => json!({"messages": messages, "governorMetadata": metadata, "stream": false}),
            Surface::V1Stream => {
                json!({"model": "mock-echo", "messages": messages, "stream": true, "metadata": {"governor": metadata}})
            }
            Surface::V1Whole => json!({"model": "mock-echo", "messages": messages, "governorMetadata": metadata}),
        };
        let path = match self {
            Surface::Complete => "/api/ai/complete",
            Surface::ChatStream | Surface::ChatWhole => "/api/ai/chat",
            Surface::V1Stream | Surface::V1Whole => "/v1/chat/completions",
        };
        (path, body.to_string())
    }
}

/// What a surface delivered: the text the client got, the Governor's result and an error code.
struct Outcome {
    surface: Surface,
    answer: Answer,
    text: String,
    governor: Value,
    error_code: Option<String>,
    /// A stream ended with `[DONE]`.
    done: bool,
}

fn ask(base: &str, key: &str, surface: Surface, text: &str, metadata: &Value) -> Outcome {
    let (path, body) = surface.request(text, metadata);
    let answer = send(base, "POST", path, key, &body);
    outcome(surface, answer)
}

fn outcome(surface: Surface, answer: Answer) -> Outcome {
    let mut text = String::new();
    let mut governor = Value::Null;
    let mut error_code = None;
    let mut done = false;
    // A refusal before any stream began is one JSON error, on every surface.
    let whole = !surface.streamed() || answer.status != 200;
    match surface {
        _ if whole => {
            let v = answer.json();
            if answer.status == 200 {
                text = match surface {
                    Surface::V1Whole | Surface::V1Stream => {
                        v["choices"][0]["message"]["content"].as_str().unwrap().to_owned()
                    }
                    _ => v["text"].as_str().unwrap().to_owned(),
                };
            } else {
                // RegPilot's error shape; OpenAI's on `/v1` also names the code inside `error`.
                error_code = v["code"].as_str().map(str::to_owned);
                if matches!(surface, Surface::V1Whole | Surface::V1Stream) {
                    assert_eq!(v["error"]["code"], v["code"], "{v}");
                }
            }
            governor = v["governor"].clone();
        }
        Surface::ChatStream => {
            let (events, ended) = answer.events();
            done = ended;
            for e in events {
                match e["type"].as_str().unwrap() {
                    "chunk" => text.push_str(e["content"].as_str().unwrap()),
                    "governor" => {
                        assert!(governor.is_null(), "two governor events");
                        governor = e.clone();
                        governor.as_object_mut().unwrap().remove("type");
                    }
                    "error" => error_code = e["code"].as_str().map(str::to_owned),
                    "usage" => assert!(!governor.is_null(), "the governor event comes before usage"),
                    other => panic!("unknown event type {other}"),
                }
            }
        }
        Surface::V1Stream | Surface::Complete | Surface::ChatWhole | Surface::V1Whole => {
            let (events, ended) = answer.events();
            done = ended;
            let model = events.first().map(|e| e["model"].clone()).unwrap_or(Value::Null);
            for e in events {
                if let Some(piece) = e.pointer("/choices/0/delta/content").and_then(Value::as_str) {
                    assert!(governor.is_null(), "text after the governor chunk");
                    text.push_str(piece);
                }
                if e.get("governor").is_some() {
                    assert_eq!(e["object"], "chat.completion.chunk", "{e}");
                    assert_eq!(e["choices"], json!([]), "the result's chunk carries no choice: {e}");
                    assert_eq!(e["model"], model, "the added chunk carries the stream's model: {e}");
                    governor = e["governor"].clone();
                }
                if let Some(err) = e.get("error") {
                    error_code = err["code"].as_str().map(str::to_owned);
                }
            }
        }
    }
    Outcome { surface, answer, text, governor, error_code, done }
}

impl Outcome {
    fn rules(&self) -> Vec<String> {
        let mut rules: Vec<String> = self.governor["findings"]
            .as_array()
            .unwrap_or_else(|| panic!("{:?}: no findings in {}", self.surface, self.governor))
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_owned())
            .collect();
        rules.sort();
        rules.dedup();
        rules
    }

    /// The result's fields every answer shares, and the headers that repeat them.
    fn check_result(&self, mode: &str, action: &str, level: &str) {
        let g = &self.governor;
        let s = self.surface;
        assert_eq!(g["validated"], true, "{s:?}: {g}");
        assert_eq!((g["mode"].as_str(), g["action"].as_str()), (Some(mode), Some(action)), "{s:?}: {g}");
        assert_eq!(g["riskLevel"], level, "{s:?}: {g}");
        let score = g["riskScore"].as_u64().unwrap();
        let expected_level = match score {
            0..=30 => "low",
            31..=70 => "medium",
            _ => "high",
        };
        assert_eq!(expected_level, level, "{s:?}: score {score} does not match its level");
        assert_eq!(g["recipientCountry"], "DE", "{s:?}: {g}");
        let findings = g["findings"].as_array().unwrap();
        assert_eq!(g["violations"].as_u64(), Some(findings.iter().filter(|f| f["shadow"] == false).count() as u64));
        for f in findings {
            let keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys.len(), 6, "{s:?}: a finding is rule, category, severity, start, end, shadow: {f}");
            assert!(f["start"].as_u64().unwrap() <= f["end"].as_u64().unwrap(), "{f}");
        }
        let audit_id = g["auditId"].as_str().unwrap();
        assert!(audit_id.starts_with("gva_"), "{audit_id}");
        // Every surface names the audit in a header; a whole answer also repeats the result.
        assert_eq!(self.answer.header("x-governor-audit-id"), audit_id, "{s:?}");
        if !s.streamed() {
            let h = |n: &str| self.answer.header(n).to_owned();
            assert_eq!(h("x-governor-validated"), "true", "{s:?}");
            assert_eq!(h("x-governor-risk-score"), score.to_string(), "{s:?}");
            assert_eq!(h("x-governor-risk-level"), level, "{s:?}");
            assert_eq!(h("x-governor-violations"), g["violations"].to_string(), "{s:?}");
            assert_eq!(h("x-governor-action"), action, "{s:?}");
        }
    }

    fn audit_id(&self) -> String {
        self.governor["auditId"].as_str().unwrap().to_owned()
    }
}

/// Whether `text` carries any of the raw values of `risky_answer`.
fn leaks(text: &str, secret: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    if text.contains(EMAIL) {
        out.push("e-mail");
    }
    if text.contains(CARD) || text.contains(CARD_DIGITS) {
        out.push("card");
    }
    if text.contains(secret) {
        out.push("secret");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 1. Every mode on every surface.

#[test]
fn sanitize_redacts_and_delivers_on_every_surface() {
    let gw = gateway("gov-sanitize", "enterprise", "info", &[]);
    let settings = gw.set(json!({"mode": "sanitize"}));
    assert_eq!((settings["mode"].as_str(), settings["enabled"].as_bool()), (Some("sanitize"), Some(true)));
    let secret = secret_key();
    let answer = risky_answer(&secret);
    let expected = redacted(&answer, &secret);
    for surface in SURFACES {
        let o = gw.ask(surface, &answer);
        assert_eq!(o.answer.status, 200, "{surface:?}: {}", o.answer.text);
        assert_eq!(o.error_code, None, "{surface:?}");
        assert_eq!(o.text, expected, "{surface:?}: the redacted answer, nothing else changed");
        o.check_result("sanitize", "sanitized", "high");
        assert_eq!(o.rules(), RISKY_RULES, "{surface:?}");
        assert_eq!(leaks(&o.answer.everything(), &secret), Vec::<&str>::new(), "{surface:?} leaked");
        // The audit's digests are of the model's answer and of what the client got.
        let entry = gw.audit(&o.audit_id());
        assert_eq!(entry["original_sha256"], sha256_hex(&answer), "{surface:?}");
        assert_eq!(entry["delivered_sha256"], sha256_hex(&o.text), "{surface:?}");
        if surface.streamed() {
            assert!(o.done, "{surface:?}: the stream ends with [DONE]");
            // The stream sent text before its end: the guard holds back only what it must.
            let (events, _) = o.answer.events();
            let texts = events
                .iter()
                .filter(|e| {
                    e["type"] == "chunk"
                        || e.pointer("/choices/0/delta/content").and_then(Value::as_str).is_some_and(|t| !t.is_empty())
                })
                .count();
            assert!(texts >= 3, "{surface:?}: {texts} text events");
        }
    }
    // The findings' offsets are into the answer the model gave.
    let o = gw.ask(Surface::Complete, &answer);
    for f in o.governor["findings"].as_array().unwrap() {
        let span = &answer[f["start"].as_u64().unwrap() as usize..f["end"].as_u64().unwrap() as usize];
        let want = match f["rule"].as_str().unwrap() {
            "pii.email" => EMAIL,
            "pii.card" => CARD,
            _ => secret.as_str(),
        };
        assert_eq!(span, want, "{f}");
    }
    // A `/v1` stream that asks for usage still gets it, after the redacted text and the result.
    let body = json!({"model": "mock-echo", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": answer}], "governorMetadata": meta()});
    let o =
        outcome(Surface::V1Stream, send(&gw.server.base, "POST", "/v1/chat/completions", &gw.sk, &body.to_string()));
    assert_eq!(o.text, expected);
    o.check_result("sanitize", "sanitized", "high");
    let (events, done) = o.answer.events();
    assert!(done);
    let usage = events.iter().position(|e| e["usage"].is_object()).expect("a usage chunk");
    assert!(events[usage]["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    assert_eq!(leaks(&o.answer.everything(), &secret), Vec::<&str>::new());
    assert_eq!(gw.up.mock.stats().requests, 7);
}

#[test]
fn block_withholds_a_high_risk_answer_on_every_surface() {
    let gw = gateway("gov-block", "enterprise", "info", &[]);
    gw.set(json!({"mode": "block"}));
    let secret = secret_key();
    let answer = risky_answer(&secret);
    for surface in SURFACES {
        let o = gw.ask(surface, &answer);
        assert_eq!(o.error_code.as_deref(), Some("GOVERNOR_BLOCKED"), "{surface:?}: {}", o.answer.text);
        o.check_result("block", "blocked", "high");
        assert_eq!(o.rules(), RISKY_RULES, "{surface:?}");
        assert_eq!(leaks(&o.answer.everything(), &secret), Vec::<&str>::new(), "{surface:?} leaked");
        if surface.streamed() {
            // Cut: what went out before the risky part, then the result and the error, no [DONE].
            assert!(!o.done, "{surface:?}: a cut stream does not end with [DONE]");
            assert!(answer.starts_with(&o.text), "{surface:?}: only a clean prefix is sent: {:?}", o.text);
            assert!(o.text.len() < answer.find(EMAIL).unwrap(), "{surface:?}");
            let (events, _) = o.answer.events();
            let last = events.last().unwrap();
            assert!(last.get("error").is_some(), "{surface:?}: the error event is last: {last}");
            // The audit names what did reach the client: the clean prefix.
            let entry = gw.audit(&o.audit_id());
            assert_eq!(entry["action"], "blocked");
            assert_eq!(entry["delivered_sha256"], sha256_hex(&o.text), "{surface:?}: {entry}");
        } else {
            assert_eq!(o.answer.status, 422, "{surface:?}");
            let v = o.answer.json();
            let mut rules: Vec<&str> = v["rules"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
            rules.sort();
            assert_eq!(rules, RISKY_RULES, "{v}");
            assert!(!o.answer.text.contains("Thank you for waiting"), "{surface:?}: nothing of the answer is sent");
            let entry = gw.audit(&o.audit_id());
            assert_eq!(entry["original_sha256"], sha256_hex(&answer), "{surface:?}");
            assert_eq!(entry["delivered_sha256"], sha256_hex(""), "{surface:?}: nothing was delivered");
        }
    }
    // A low-risk answer still passes in mode block.
    let o = gw.ask(Surface::Complete, "Your order ships tomorrow.");
    assert_eq!(o.answer.status, 200);
    assert_eq!(o.text, "Your order ships tomorrow.");
    o.check_result("block", "approved", "low");
    // A medium one (an e-mail address alone) is redacted, not withheld.
    let o = gw.ask(Surface::V1Stream, &format!("Write to {EMAIL}."));
    assert_eq!((o.text.as_str(), o.error_code.as_deref()), ("Write to [EMAIL].", None));
    o.check_result("block", "sanitized", "medium");
}

#[test]
fn monitor_delivers_unchanged_but_scores_and_audits() {
    let gw = gateway("gov-monitor", "pro", "info", &[]);
    gw.set(json!({"mode": "monitor"}));
    let secret = secret_key();
    let answer = risky_answer(&secret);
    let mut ids = Vec::new();
    for surface in SURFACES {
        let o = gw.ask(surface, &answer);
        assert_eq!((o.answer.status, o.error_code.as_deref()), (200, None), "{surface:?}: {}", o.answer.text);
        assert_eq!(o.text, answer, "{surface:?}: delivered unchanged");
        o.check_result("monitor", "flagged", "high");
        assert_eq!(o.rules(), RISKY_RULES, "{surface:?}");
        assert_eq!(o.done, surface.streamed());
        ids.push(o.audit_id());
    }
    // Each answer is audited under the id it named, with the digest of what was delivered.
    for id in &ids {
        let a = gw.audit(id);
        assert_eq!(
            (a["mode"].as_str(), a["action"].as_str(), a["risk_level"].as_str()),
            (Some("monitor"), Some("flagged"), Some("high"))
        );
        assert_eq!(a["original_sha256"], sha256_hex(&answer));
        assert_eq!(a["delivered_sha256"], sha256_hex(&answer));
    }
}

#[test]
fn a_stream_the_client_leaves_is_audited_with_what_it_was_sent() {
    let dir = Scratch::new("gov-leave");
    let db = sqlite_url(dir.path());
    // 24 pieces, 40 ms apart: about a second of answer.
    let up = upstream_with(Duration::from_millis(40));
    let config = settings(dir.path(), &up.mock);
    let server = start(dir.path(), &db, &config, "serve", "info", &[]);
    let project = project(dir.path(), &db, "enterprise");
    let sk = key(dir.path(), &db, &project, "gateway", "prod");
    let pk = key(dir.path(), &db, &project, "project", "prod");
    wait_for_status(&server.base, &sk, 200, Duration::from_secs(5));
    wait_for_status(&server.base, &pk, 200, Duration::from_secs(5));
    let secret = secret_key();
    let answer = risky_answer(&secret);
    let (path, body) = Surface::ChatStream.request(&answer, &meta());
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    use std::io::Write;
    write!(
        conn,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nX-API-Key: {sk}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // Read until the first text event, then hang up.
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    while !got.contains(r#""type":"chunk""#) {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0, "the stream ended early: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    drop(conn);
    assert!(up.rt.block_on(up.mock.wait_for_cancelled(1, Duration::from_secs(5))), "the upstream call went on");
    let audit_id = got
        .lines()
        .find_map(|l| l.strip_prefix("x-governor-audit-id: "))
        .unwrap_or_else(|| panic!("no audit id header: {got}"))
        .trim()
        .to_owned();
    assert_eq!(leaks(&got, &secret), Vec::<&str>::new());
    // Audited all the same: what had arrived from the model, what had gone to the client.
    let deadline = Instant::now() + Duration::from_secs(10);
    let entry = loop {
        let a = send(&server.base, "GET", &format!("/api/compliance/governor/audits/{audit_id}"), &pk, "");
        if a.status == 200 {
            break a.json();
        }
        assert!(Instant::now() < deadline, "the audit of a stream the client left was never written");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!((entry["target"].as_str(), entry["mode"].as_str()), (Some("response"), Some("sanitize")));
    assert_ne!(entry["original_sha256"], sha256_hex(&answer), "only part of the answer had arrived");
    assert_ne!(entry["delivered_sha256"], entry["original_sha256"], "the held-back text was never sent");
    assert!(server.stop().success());
}

#[test]
fn a_stream_the_upstream_cuts_is_audited_with_what_it_was_sent() {
    let gw = gateway("gov-reset", "enterprise", "info", &[]);
    // mock-reset: the first piece of the fixed completion, then the connection is cut.
    let body = json!({"model": "mock-reset", "stream": true, "governorMetadata": meta(),
        "messages": [{"role": "user", "content": "Hello"}]});
    for path in ["/api/ai/chat", "/v1/chat/completions"] {
        let surface = if path == "/api/ai/chat" { Surface::ChatStream } else { Surface::V1Stream };
        let o = outcome(surface, send(&gw.server.base, "POST", path, &gw.sk, &body.to_string()));
        assert!(o.error_code.is_some() && !o.done, "{path}: {}", o.answer.text);
        assert!(!o.governor.is_null(), "{path}: the result comes before the error");
        // The guard had held the text back: nothing was sent, and the audit says so.
        assert_eq!(o.text, "", "{path}");
        let entry = gw.audit(&o.audit_id());
        assert_eq!(entry["original_sha256"], sha256_hex("The "), "{path}: {entry}");
        assert_eq!(entry["delivered_sha256"], sha256_hex(""), "{path}: {entry}");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Prompts checked on their way out.

#[test]
fn prompts_are_redacted_or_kept_back_before_the_upstream() {
    let gw = gateway("gov-prompt", "enterprise", "info", &[]);
    let secret = secret_key();
    let prompt = format!("My e-mail is {EMAIL} and my key is {secret}; the card is {CARD}.");
    // Switched on from the command line: the server follows within a second.
    let s = cli_json(
        gw.dir.path(),
        &gw.db,
        &["project", "set-governor", &gw.project, "--mode", "sanitize", "--check-prompts"],
    );
    assert_eq!((s["mode"].as_str(), s["check_prompts"].as_bool()), (Some("sanitize"), Some(true)), "{s}");
    let start = Instant::now();
    // (The answer is redacted either way: what the upstream received tells.)
    loop {
        gw.ask(Surface::Complete, &prompt);
        let got = gw.up.mock.requests().last().unwrap().body["messages"][0]["content"].to_string();
        if !got.contains(EMAIL) {
            break;
        }
        assert!(start.elapsed() < PROPAGATION, "--check-prompts not applied after {:?}", start.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    for surface in [Surface::Complete, Surface::V1Stream] {
        let before = gw.up.mock.requests().len();
        let o = gw.ask(surface, &prompt);
        assert_eq!((o.answer.status, o.error_code.as_deref()), (200, None), "{}", o.answer.text);
        let seen = gw.up.mock.requests();
        assert_eq!(seen.len(), before + 1);
        let sent = seen.last().unwrap().body["messages"][0]["content"].as_str().unwrap().to_owned();
        assert_eq!(sent, "My e-mail is [EMAIL] and my key is [SECRET]; the card is [CARD].", "{surface:?}");
        assert_eq!(leaks(&seen.last().unwrap().body.to_string(), &secret), Vec::<&str>::new());
        // mock-echo repeats what it received: the redacted prompt, which the answer check passes.
        assert_eq!(o.text, sent);
        o.check_result("sanitize", "approved", "low");
    }

    // Mode block: a high-risk prompt is never sent.
    gw.set(json!({"mode": "block"}));
    let before = gw.up.mock.stats().requests;
    for surface in SURFACES {
        let (path, body) = surface.request(&prompt, &meta());
        let a = send(&gw.server.base, "POST", path, &gw.sk, &body);
        assert_eq!(a.status, 422, "{surface:?}: refused before any stream begins: {}", a.text);
        let v = a.json();
        assert_eq!(v["code"], "GOVERNOR_BLOCKED", "{v}");
        assert_eq!(v["governor"]["action"], "blocked");
        let audit = v["governor"]["auditId"].as_str().unwrap().to_owned();
        // The refusal carries the same x-governor-* headers as a withheld answer.
        assert_eq!(a.header("x-governor-audit-id"), audit, "{surface:?}");
        assert_eq!((a.header("x-governor-action"), a.header("x-governor-risk-level")), ("blocked", "high"));
        assert_eq!(leaks(&a.everything(), &secret), Vec::<&str>::new());
        let entry = gw.audit(&audit);
        assert_eq!((entry["target"].as_str(), entry["action"].as_str()), (Some("prompt"), Some("blocked")));
    }
    assert_eq!(gw.up.mock.stats().requests, before, "a blocked prompt reached the upstream");
    // Prompts without risk still go.
    let o = gw.ask(Surface::ChatWhole, "When does my order ship?");
    assert_eq!((o.answer.status, o.text.as_str()), (200, "When does my order ship?"));
    assert_eq!(gw.up.mock.stats().requests, before + 1);
}

// ---------------------------------------------------------------------------------------------
// 3. Policies through the API, on a second instance within a second.

/// Polls `base` until an answer to `text` satisfies `done`; returns how long that took.
fn wait_for_answer(base: &str, key: &str, text: &str, done: impl Fn(&Outcome) -> bool) -> Duration {
    let start = Instant::now();
    loop {
        let o = ask(base, key, Surface::Complete, text, &meta());
        assert_eq!(o.answer.status, 200, "{}", o.answer.text);
        if done(&o) {
            return start.elapsed();
        }
        assert!(start.elapsed() < PROPAGATION, "{base}: not applied after {:?}: {}", start.elapsed(), o.governor);
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn policies_reach_a_second_instance(backend: regpilot_store::Backend) {
    let dir = Scratch::new("gov-policy");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(regpilot_store::testing::fresh_url(backend));
    let up = upstream();
    let config = settings(dir.path(), &up.mock);
    let a = start(dir.path(), &db, &config, "a", "info", &[]);
    let b = start(dir.path(), &db, &config, "b", "info", &[]);
    let project = project(dir.path(), &db, "enterprise");
    let sk = key(dir.path(), &db, &project, "gateway", "prod");
    let pk = key(dir.path(), &db, &project, "project", "prod");
    for s in [&a, &b] {
        wait_for_status(&s.base, &sk, 200, Duration::from_secs(5));
    }
    let text = "Our Project Zephyr launch is next week.";
    let before = ask(&b.base, &sk, Surface::Complete, text, &meta());
    assert_eq!((before.text.as_str(), before.rules().len()), (text, 0), "{}", before.governor);

    // A pattern that does not compile is refused, naming it.
    let bad = send(
        &a.base,
        "POST",
        "/api/compliance/policies",
        &pk,
        r#"{"name":"x","pattern":"(unclosed","action":"redact"}"#,
    );
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!((bad.json()["code"].as_str(), bad.json()["field"].as_str()), (Some("INVALID_REQUEST"), Some("pattern")));

    let created = send(
        &a.base,
        "POST",
        "/api/compliance/policies",
        &pk,
        r#"{"name":"Code names","pattern":"(?i)project\\s{1,3}zephyr","action":"replace","replacement":"[CODE NAME]","severity":"high"}"#,
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let policy = created.json();
    let id = str_of(&policy, "id");
    assert_eq!((policy["version"].as_i64(), policy["enabled"].as_bool()), (Some(1), Some(true)));
    let rule = format!("policy.{id}");
    // Instance A applied it before answering; B within a second.
    let o = ask(&a.base, &sk, Surface::Complete, text, &meta());
    assert_eq!(o.text, "Our [CODE NAME] launch is next week.", "{}", o.governor);
    let took = wait_for_answer(&b.base, &sk, text, |o| o.text == "Our [CODE NAME] launch is next week.");
    eprintln!("policy created on A, applied by B after {took:?}");
    let o = ask(&b.base, &sk, Surface::V1Stream, text, &meta());
    assert_eq!(o.text, "Our [CODE NAME] launch is next week.");
    assert_eq!(o.rules(), std::slice::from_ref(&rule));

    // Shadow: matched and reported, nothing changed.
    let patched = send(&a.base, "PATCH", &format!("/api/compliance/policies/{id}"), &pk, r#"{"shadow":true}"#);
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!((patched.json()["version"].as_i64(), patched.json()["shadow"].as_bool()), (Some(2), Some(true)));
    let took = wait_for_answer(&b.base, &sk, text, |o| {
        o.text == text
            && o.governor["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule"] == rule.as_str() && f["shadow"] == true)
    });
    eprintln!("shadow applied by B after {took:?}");
    let o = ask(&b.base, &sk, Surface::Complete, text, &meta());
    assert_eq!((o.governor["violations"].as_u64(), o.governor["action"].as_str()), (Some(0), Some("approved")));

    // Disabled: not matched at all.
    let patched =
        send(&a.base, "PATCH", &format!("/api/compliance/policies/{id}"), &pk, r#"{"enabled":false,"shadow":false}"#);
    assert_eq!(patched.status, 200, "{}", patched.text);
    let took = wait_for_answer(&b.base, &sk, text, |o| o.rules().is_empty());
    eprintln!("disabling applied by B after {took:?}");
    // A PATCH with a bad pattern changes nothing.
    let bad = send(&a.base, "PATCH", &format!("/api/compliance/policies/{id}"), &pk, r#"{"pattern":"a{99999}"}"#);
    assert_eq!((bad.status, bad.json()["field"].as_str()), (400, Some("pattern")), "{}", bad.text);
    let list = send(&b.base, "GET", "/api/compliance/policies", &pk, "").json();
    assert_eq!(list["policies"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(
        (list["policies"][0]["version"].as_i64(), list["policies"][0]["enabled"].as_bool()),
        (Some(3), Some(false))
    );
    // Custom policies are counted under one label, never by id or pattern.
    let (_, metrics) = get(&b.base, "/metrics", &[]);
    let metrics = metrics.as_str().unwrap();
    assert!(metrics.contains("regpilot_governor_findings_total{rule=\"policy\"}"), "{metrics}");
    assert!(!metrics.contains(&id) && !metrics.to_lowercase().contains("zephyr"));
    assert!(a.stop().success());
    assert!(b.stop().success());
}

#[test]
fn policies_reach_a_second_instance_sqlite() {
    policies_reach_a_second_instance(regpilot_store::Backend::Sqlite);
}

#[test]
fn policies_reach_a_second_instance_postgres() {
    if !regpilot_store::testing::backends().contains(&regpilot_store::Backend::Postgres) {
        return;
    }
    policies_reach_a_second_instance(regpilot_store::Backend::Postgres);
}

// ---------------------------------------------------------------------------------------------
// 4. The audit entry, its violation, and the CLI.

fn violations(gw: &Gw) -> Vec<Value> {
    let v = send(&gw.server.base, "GET", "/api/compliance/violations", &gw.pk, "").json();
    v["violations"].as_array().unwrap().clone()
}

#[test]
fn audits_keep_findings_and_digests_and_open_violations() {
    let gw = gateway("gov-audit", "enterprise", "info", &[]);
    let secret = secret_key();
    let answer = risky_answer(&secret);
    let o = gw.ask(Surface::Complete, &answer);
    let delivered = o.text.clone();
    let entry = gw.audit(&o.audit_id());
    assert_eq!(entry["id"], o.audit_id().as_str());
    assert_eq!(entry["project_id"], gw.project.as_str());
    assert_eq!((entry["target"].as_str(), entry["action_type"].as_str()), (Some("response"), Some("customer_support")));
    assert_eq!((entry["sender_id"].as_str(), entry["recipient_country"].as_str()), (Some("support-bot"), Some("DE")));
    assert_eq!(entry["risk_score"], o.governor["riskScore"]);
    assert_eq!((entry["risk_level"].as_str(), entry["action"].as_str()), (Some("high"), Some("sanitized")));
    let findings = entry["findings"].as_array().unwrap();
    let mut rules: Vec<&str> = findings.iter().map(|f| f["rule"].as_str().unwrap()).collect();
    rules.sort();
    assert_eq!(rules, RISKY_RULES);
    assert_eq!(json!(findings), o.governor["findings"], "the audit's findings are the answer's");
    let email_at = answer.find(EMAIL).unwrap();
    let email = findings.iter().find(|f| f["rule"] == "pii.email").unwrap();
    assert_eq!(
        (email["start"].as_u64(), email["end"].as_u64(), email["category"].as_str()),
        (Some(email_at as u64), Some((email_at + EMAIL.len()) as u64), Some("personal_data"))
    );
    assert_eq!(entry["original_sha256"], sha256_hex(&answer));
    assert_eq!(entry["delivered_sha256"], sha256_hex(&delivered));
    assert!(entry.get("content").is_none(), "content is not stored by default: {entry}");
    assert_eq!(leaks(&entry.to_string(), &secret), Vec::<&str>::new());

    // The high result opened a violation, linked both ways.
    let vid = str_of(&entry, "violation_id");
    let all = violations(&gw);
    let v = all.iter().find(|v| v["id"] == vid.as_str()).unwrap_or_else(|| panic!("{vid} not in {all:?}"));
    assert_eq!((v["category"].as_str(), v["status"].as_str()), (Some("governor"), Some("open")), "{v}");
    assert_eq!(v["severity"], "critical", "a card and a secret are critical findings: {v}");
    assert!(v["description"].as_str().unwrap().contains(&o.audit_id()), "{v}");
    assert_eq!(leaks(&v.to_string(), &secret), Vec::<&str>::new());

    // A medium result opens none, until the project asks for it.
    let medium = format!("Please write to {EMAIL}.");
    let o = gw.ask(Surface::ChatWhole, &medium);
    assert_eq!(o.governor["riskLevel"], "medium", "{}", o.governor);
    assert_eq!(gw.audit(&o.audit_id())["violation_id"], Value::Null);
    let out = cli(gw.dir.path(), &gw.db, &["project", "set-governor", &gw.project, "--violations", "medium"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("violations opened from medium risk"), "{shown}");
    // The CLI wrote the store; the gateway follows within a second. Medium now opens one.
    let start = Instant::now();
    let medium_audit = loop {
        let o = gw.ask(Surface::ChatWhole, &medium);
        let entry = gw.audit(&o.audit_id());
        if !entry["violation_id"].is_null() {
            break entry;
        }
        assert!(start.elapsed() < PROPAGATION, "--violations medium not applied after {:?}", start.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    };
    let v = violations(&gw).into_iter().find(|v| v["id"] == medium_audit["violation_id"]).unwrap();
    assert_eq!((v["severity"].as_str(), v["category"].as_str()), (Some("medium"), Some("governor")));

    // The CLI lists the audits: newest first, as a table and as JSON.
    let page = cli_json(gw.dir.path(), &gw.db, &["governor", "audits", "--project", &gw.project]);
    let audits = page["audits"].as_array().unwrap();
    assert!(audits.len() >= 3, "{page}");
    assert_eq!(audits[0]["id"], medium_audit["id"]);
    assert!(audits.iter().any(|a| a["id"] == entry["id"] && a["violation_id"] == vid.as_str()));
    assert_eq!(leaks(&page.to_string(), &secret), Vec::<&str>::new());
    let high = cli_json(gw.dir.path(), &gw.db, &["governor", "audits", "--project", &gw.project, "--level", "high"]);
    assert_eq!(high["audits"].as_array().unwrap().len(), 1, "{high}");
    let one = cli_json(gw.dir.path(), &gw.db, &["governor", "audits", "--project", &gw.project, "--limit", "1"]);
    let cursor = str_of(&one, "next_cursor");
    let next = cli_json(
        gw.dir.path(),
        &gw.db,
        &["governor", "audits", "--project", &gw.project, "--limit", "1", "--cursor", &cursor],
    );
    assert_eq!(next["audits"][0]["id"], audits[1]["id"]);
    let out = cli(gw.dir.path(), &gw.db, &["governor", "audits", "--project", &gw.project]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    let header = table.lines().next().unwrap();
    for column in ["ID", "TIME", "TARGET", "ACTION TYPE", "COUNTRY", "RISK", "ACTION", "RULES"] {
        assert!(header.contains(column), "{table}");
    }
    let row = table.lines().find(|l| l.contains(entry["id"].as_str().unwrap())).unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains("sanitized") && row.contains("pii.email") && row.contains("DE"), "{row}");
    let bad = cli(gw.dir.path(), &gw.db, &["governor", "audits", "--project", &gw.project, "--level", "severe"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("level"), "{}", String::from_utf8_lossy(&bad.stderr));

    // The API lists the same, with its filters checked.
    let api = send(&gw.server.base, "GET", "/api/compliance/governor/audits?level=high", &gw.pk, "").json();
    assert_eq!(api["audits"].as_array().unwrap().len(), 1, "{api}");
    let bad = send(&gw.server.base, "GET", "/api/compliance/governor/audits?since=yesterday", &gw.pk, "");
    assert_eq!((bad.status, bad.json()["field"].as_str()), (400, Some("since")));
}

// ---------------------------------------------------------------------------------------------
// 5. Plans, the project switch, bad metadata, and the simulator.

#[test]
fn plans_switches_metadata_and_the_simulator() {
    let gw = gateway("gov-plans", "pro", "info", &[]);
    let dir = gw.dir.path();
    let base = &gw.server.base;
    // Pro: on by default.
    let o = gw.ask(Surface::Complete, "Hello");
    assert_eq!(o.answer.status, 200);
    o.check_result("sanitize", "approved", "low");

    // Bad metadata: 400 naming the field, on every surface, before the upstream is called.
    let calls = gw.up.mock.stats().requests;
    for surface in SURFACES {
        for (metadata, field) in [
            (json!({"senderId": "s"}), "actionType"),
            (json!({"actionType": "customer_support"}), "senderId"),
            (json!({"actionType": "gossip", "senderId": "s"}), "actionType"),
            (json!({"actionType": "other", "senderId": "s", "recipientCountry": "Germany"}), "recipientCountry"),
            (json!({"actionType": "other", "senderId": "s", "mood": "happy"}), "mood"),
        ] {
            let (path, body) = surface.request("Hello", &metadata);
            let a = send(base, "POST", path, &gw.sk, &body);
            assert_eq!(a.status, 400, "{surface:?} {metadata}: {}", a.text);
            let v = a.json();
            let named = if surface == Surface::V1Stream {
                format!("metadata.governor.{field}")
            } else {
                format!("governorMetadata.{field}")
            };
            let got = v["field"].as_str().or(v["error"]["param"].as_str());
            assert_eq!(got, Some(named.as_str()), "{surface:?} {metadata}: {v}");
        }
    }
    assert_eq!(gw.up.mock.stats().requests, calls);

    // Pro switched off: 403 naming the governor permission; without metadata still answered.
    let out = cli(dir, &gw.db, &["project", "set-governor", &gw.project, "--disabled"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("switched off"));
    let start = Instant::now();
    loop {
        let o = gw.ask(Surface::Complete, "Hello");
        if o.answer.status == 403 {
            let v = o.answer.json();
            assert_eq!(
                (v["code"].as_str(), v["required"].as_str()),
                (Some("INSUFFICIENT_PERMISSIONS"), Some("governor"))
            );
            break;
        }
        assert!(start.elapsed() < PROPAGATION, "--disabled not applied: {}", o.answer.text);
        // 25 ms apart: well under the pro plan's burst of 100 a second.
        std::thread::sleep(Duration::from_millis(25));
    }
    for surface in SURFACES {
        let o = gw.ask(surface, "Hello");
        assert_eq!(o.answer.status, 403, "{surface:?}: {}", o.answer.text);
    }
    let plain = send(base, "POST", "/api/ai/complete", &gw.sk, r#"{"messages":[{"role":"user","content":"Hello"}]}"#);
    assert_eq!(plain.status, 200);
    assert!(plain.json().get("governor").is_none() && plain.header("x-governor-audit-id").is_empty());
    // Switched back on through the API.
    let s = gw.set(json!({"enabled": true}));
    assert_eq!(s["enabled"], true);
    assert_eq!(gw.ask(Surface::Complete, "Hello").answer.status, 200);

    // A key without the `governor` scope: 403 naming it, on a plan that has the Governor.
    let k = cli_json(
        dir,
        &gw.db,
        &[
            "key",
            "create",
            "--project",
            &gw.project,
            "--type",
            "gateway",
            "--env",
            "prod",
            "--name",
            "chat only",
            "--scopes",
            "chat,models",
        ],
    );
    let chat_only = str_of(&k, "secret");
    wait_for_status(base, &chat_only, 200, Duration::from_secs(5));
    let o = ask(base, &chat_only, Surface::ChatStream, "Hello", &meta());
    assert_eq!((o.answer.status, o.answer.json()["required"].as_str()), (403, Some("governor")), "{}", o.answer.text);

    // Free: 403, and the switch cannot turn it on.
    let free = project(dir, &gw.db, "free");
    let free_sk = key(dir, &gw.db, &free, "gateway", "prod");
    let free_pk = key(dir, &gw.db, &free, "project", "prod");
    wait_for_status(base, &free_sk, 200, Duration::from_secs(5));
    wait_for_status(base, &free_pk, 200, Duration::from_secs(5));
    let o = ask(base, &free_sk, Surface::V1Whole, "Hello", &meta());
    assert_eq!(o.answer.status, 403, "{}", o.answer.text);
    let v = o.answer.json();
    assert_eq!(
        (v["error"]["code"].as_str(), v["required"].as_str()),
        (Some("INSUFFICIENT_PERMISSIONS"), Some("governor")),
        "{v}"
    );
    let refused = send(base, "PATCH", "/api/compliance/governor/settings", &free_pk, r#"{"enabled":true}"#);
    assert_eq!((refused.status, refused.json()["field"].as_str()), (400, Some("enabled")), "{}", refused.text);
    let shown = send(base, "GET", "/api/compliance/governor/settings", &free_pk, "").json();
    assert_eq!((shown["available"].as_bool(), shown["enabled"].as_bool()), (Some(false), Some(false)));

    // Enterprise: cannot be switched off (API and CLI).
    let ent = project(dir, &gw.db, "enterprise");
    let ent_pk = key(dir, &gw.db, &ent, "project", "prod");
    wait_for_status(base, &ent_pk, 200, Duration::from_secs(5));
    let refused = send(base, "PATCH", "/api/compliance/governor/settings", &ent_pk, r#"{"enabled":false}"#);
    assert_eq!((refused.status, refused.json()["field"].as_str()), (400, Some("enabled")), "{}", refused.text);
    let out = cli(dir, &gw.db, &["project", "set-governor", &ent, "--disabled"]);
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be switched off"));
    let bad = send(base, "PATCH", "/api/compliance/governor/settings", &ent_pk, r#"{"mode":"shout"}"#);
    assert_eq!((bad.status, bad.json()["field"].as_str()), (400, Some("mode")));

    // A development key: the simulator answers, at no cost, in test mode, and is governed.
    // (On the enterprise project: the pro plan's burst is smaller than this test's pace.)
    let dev = key(dir, &gw.db, &ent, "gateway", "dev");
    wait_for_status(base, &dev, 200, Duration::from_secs(5));
    let calls = gw.up.mock.stats().requests;
    let said = format!("Contact {EMAIL} about order 1234");
    for surface in SURFACES {
        let o = ask(base, &dev, surface, &said, &meta());
        assert_eq!((o.answer.status, o.error_code.as_deref()), (200, None), "{surface:?}: {}", o.answer.text);
        assert_eq!(o.answer.header("x-regpilot-test-mode"), "true", "{surface:?}");
        assert!(o.text.contains("Contact [EMAIL] about order 1234"), "{surface:?}: {}", o.text);
        assert!(!o.text.contains(EMAIL));
        o.check_result("sanitize", "sanitized", "medium");
        assert_eq!(o.rules(), ["pii.email"]);
        if surface == Surface::Complete {
            let v = o.answer.json();
            assert_eq!(
                (v["provider"].as_str(), v["usage"]["costCents"].as_f64()),
                (Some("simulator"), Some(0.0)),
                "{v}"
            );
        }
    }
    // The simulator's demo line: the answer is exactly the text given (docs/ai-gateway.md).
    let secret = secret_key();
    let demo = format!("Please write to {EMAIL}. The card on file is {CARD}, and the key is {secret}.");
    for surface in SURFACES {
        let o = ask(base, &dev, surface, &format!("governor-demo: {demo}"), &meta());
        assert_eq!((o.answer.status, o.error_code.as_deref()), (200, None), "{surface:?}: {}", o.answer.text);
        assert_eq!(o.text, redacted(&demo, &secret), "{surface:?}");
        o.check_result("sanitize", "sanitized", "high");
        assert_eq!(o.rules(), RISKY_RULES, "{surface:?}");
        assert_eq!(leaks(&o.answer.everything(), &secret), Vec::<&str>::new(), "{surface:?} leaked");
    }
    let s = send(base, "PATCH", "/api/compliance/governor/settings", &ent_pk, r#"{"mode":"block"}"#);
    assert_eq!((s.status, s.json()["mode"].as_str()), (200, Some("block")), "{}", s.text);
    for surface in SURFACES {
        let o = ask(base, &dev, surface, &format!("governor-demo: {demo}"), &meta());
        assert_eq!(o.error_code.as_deref(), Some("GOVERNOR_BLOCKED"), "{surface:?}: {}", o.answer.text);
        assert_eq!(leaks(&o.answer.everything(), &secret), Vec::<&str>::new(), "{surface:?} leaked");
    }
    assert_eq!(gw.up.mock.stats().requests, calls, "the simulator never calls the upstream");
}

// ---------------------------------------------------------------------------------------------
// 6. Secret hygiene.

/// Every byte of the store's files (SQLite: the database and its write-ahead log).
fn store_bytes(dir: &Path) -> String {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.join("data")).unwrap() {
        match std::fs::read(entry.unwrap().path()) {
            Ok(b) => bytes.extend(b),
            // SQLite's shared-memory file goes when the last connection closes.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("{e}"),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Every text column of every table, read through SQL (the files may hold pages compressed or
/// split in ways a byte scan misses).
fn store_rows(db: &str) -> String {
    use sqlx::Row;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(db).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        let mut out = String::new();
        for table in tables {
            let rows = sqlx::query(&format!("SELECT * FROM \"{table}\"")).fetch_all(&mut conn).await.unwrap();
            for row in rows {
                for (i, _) in row.columns().iter().enumerate() {
                    if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                        out.push_str(&text);
                        out.push('\n');
                    }
                }
            }
        }
        out
    })
}

/// Sends the risky answer through every surface in every mode; returns the audit ids.
fn all_traffic(gw: &Gw, secret: &str) -> Vec<(String, String)> {
    let answer = risky_answer(secret);
    let mut ids = Vec::new();
    for mode in ["sanitize", "block", "monitor"] {
        gw.set(json!({"mode": mode, "check_prompts": mode == "sanitize"}));
        for surface in SURFACES {
            let o = gw.ask(surface, &answer);
            ids.push((mode.to_owned(), o.audit_id()));
        }
    }
    ids
}

#[test]
fn answers_secrets_never_reach_logs_store_metrics_or_audits() {
    let gw = gateway("gov-hygiene", "enterprise", "trace", &[]);
    let secret = secret_key();
    // check_prompts: the prompts (the same risky text) are checked and audited too.
    let ids = all_traffic(&gw, &secret);
    let mut audits = String::new();
    for (_, id) in &ids {
        let a = gw.audit(id);
        assert!(a.get("content").is_none());
        audits.push_str(&a.to_string());
    }
    let page = send(&gw.server.base, "GET", "/api/compliance/governor/audits?limit=500", &gw.pk, "");
    audits.push_str(&page.text);
    let (_, metrics) = get(&gw.server.base, "/metrics", &[]);
    let metrics = metrics.as_str().unwrap().to_owned();
    for needle in [
        "regpilot_governor_validations_total{level=\"high\",action=\"sanitized\"}",
        "regpilot_governor_validations_total{level=\"high\",action=\"blocked\"}",
        "regpilot_governor_validations_total{level=\"high\",action=\"flagged\"}",
        "regpilot_governor_findings_total{rule=\"secret.regpilot_key\"}",
        "regpilot_governor_validation_seconds_count",
        "regpilot_governor_audits_written_total",
    ] {
        assert!(metrics.contains(needle), "{needle} not in /metrics");
    }
    let logs_before_stop = gw.server.logs();
    assert!(logs_before_stop.contains("DEBUG"), "the log level is verbose");
    let Gw { dir, db, server, .. } = gw;
    assert!(server.stop().success());
    let logs = std::fs::read_to_string(dir.path().join("serve.stdout")).unwrap()
        + &std::fs::read_to_string(dir.path().join("serve.stderr")).unwrap();
    let files = store_bytes(dir.path());
    let rows = store_rows(&db);
    assert!(rows.contains("gva_"), "the audit rows were read");
    for (place, text) in
        [("logs", &logs), ("store files", &files), ("store rows", &rows), ("/metrics", &metrics), ("audits", &audits)]
    {
        assert_eq!(leaks(text, &secret), Vec::<&str>::new(), "raw values in the {place}");
        assert!(!text.contains(UPSTREAM_KEY), "the upstream key is in the {place}");
    }
}

#[test]
fn stored_content_is_the_redacted_text_never_the_raw_one() {
    let gw = gateway("gov-content", "enterprise", "info", &[("REGPILOT_GOVERNOR_STORE_CONTENT", "true")]);
    let secret = secret_key();
    let answer = risky_answer(&secret);
    let expected = redacted(&answer, &secret);
    gw.set(json!({"mode": "sanitize"}));
    let o = gw.ask(Surface::V1Stream, &answer);
    let entry = gw.audit(&o.audit_id());
    assert_eq!(entry["content"], expected.as_str(), "the delivered text is kept");
    assert_eq!(entry["delivered_sha256"], sha256_hex(&expected));
    // Mode block keeps what it delivered: nothing of the withheld answer.
    gw.set(json!({"mode": "block"}));
    let o = gw.ask(Surface::Complete, &answer);
    let blocked = gw.audit(&o.audit_id());
    assert_eq!(blocked["action"], "blocked");
    assert_eq!(blocked["content"], "", "a withheld answer delivered nothing: {blocked}");
    // A cut stream delivered its clean beginning: that is what is kept.
    let o = gw.ask(Surface::ChatStream, &answer);
    assert_eq!(o.error_code.as_deref(), Some("GOVERNOR_BLOCKED"));
    assert!(!o.text.is_empty());
    assert_eq!(gw.audit(&o.audit_id())["content"], o.text.as_str());
    // Mode monitor delivers the original answer: nothing of it is kept (docs/governor.md, "Audit").
    gw.set(json!({"mode": "monitor"}));
    for surface in [Surface::ChatWhole, Surface::V1Stream] {
        let o = gw.ask(surface, &answer);
        assert_eq!(o.text, answer);
        let monitored = gw.audit(&o.audit_id());
        assert!(monitored.get("content").is_none(), "{surface:?}: {monitored}");
        assert_eq!(monitored["delivered_sha256"], sha256_hex(&answer));
    }
    let all = send(&gw.server.base, "GET", "/api/compliance/governor/audits", &gw.pk, "");
    let Gw { dir, db, server, .. } = gw;
    assert!(server.stop().success());
    let files = store_bytes(dir.path());
    let rows = store_rows(&db);
    assert!(rows.contains("[CARD]"), "the redacted text is in the store");
    for (place, text) in [("store files", &files), ("store rows", &rows), ("audits", &all.text)] {
        assert_eq!(leaks(text, &secret), Vec::<&str>::new(), "raw values in the {place}");
    }
}
