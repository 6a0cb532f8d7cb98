//! The AI endpoints against a mock OpenAI-compatible upstream on 127.0.0.1: routing by quality
//! and model, what reaches the upstream (and what never does), the simulator for development
//! keys, streaming chunk by chunk, cancellation when the client leaves, upstream failures, field
//! validation, Governor, and the drain on shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::*;
use http_body_util::BodyExt;
use regpilot_ai::{AiConfig, ModelConfig, ProviderConfig, QualityConfig};
use regpilot_control::Plan;
use regpilot_keys::{Environment, KeyType};
use regpilot_mock_upstream::{MockConfig, MockUpstream};
use regpilot_store::Backend;
use serde_json::{json, Value};
use tower::ServiceExt;

const UPSTREAM_KEY: &str = "upstream-secret-7f3a";
const COMPLETION: &str = "The quick brown fox jumps over the lazy dog.";

fn model(id: &str, prompt: f64, completion: f64) -> ModelConfig {
    ModelConfig { id: id.into(), prompt_cents_per_1k: prompt, completion_cents_per_1k: completion }
}

fn ai_config(base_url: String) -> AiConfig {
    // Set before any app reads it, always to the same value, so parallel tests agree.
    std::env::set_var("REGPILOT_TEST_MOCK_KEY", UPSTREAM_KEY);
    AiConfig {
        providers: vec![ProviderConfig {
            name: "mock".into(),
            base_url,
            api_key_env: Some("REGPILOT_TEST_MOCK_KEY".into()),
            api_key_file: None,
            models: ["mock-model", "mock-small", "mock-slow", "mock-stall", "mock-hang", "mock-garbage"]
                .into_iter()
                .map(|m| model(m, 0.5, 1.5))
                .chain(["400", "401", "429", "500", "503"].map(|s| model(&format!("mock-status-{s}"), 0.0, 0.0)))
                .collect(),
        }],
        quality: QualityConfig {
            cheap: Some("mock-small".into()),
            balanced: Some("mock-model".into()),
            frontier: Some("mock-slow".into()),
        },
        response_timeout_secs: 1,
        stream_idle_timeout_secs: 1,
        ..AiConfig::default()
    }
}

struct Ctx {
    app: TestApp,
    mock: MockUpstream,
    /// Production gateway key of an enterprise project (Governor, no practical limit).
    prod: String,
    dev: String,
}

async fn setup_with(mock_config: MockConfig) -> Ctx {
    let mock = MockUpstream::start(MockConfig { api_key: Some(UPSTREAM_KEY.into()), ..mock_config }).await.unwrap();
    let app = TestApp::with_ai(Backend::Sqlite, ai_config(mock.base_url())).await;
    let prod = app.valid_key(KeyType::Gateway).await.secret;
    let dev = app.create_key(&app.project_id, KeyType::Gateway, Environment::Development, false, None).await.secret;
    Ctx { app, mock, prod, dev }
}

async fn setup() -> Ctx {
    setup_with(MockConfig::default()).await
}

fn chat(messages: &str) -> String {
    format!(r#"{{"messages":[{{"role":"user","content":"{messages}"}}]}}"#)
}

/// The `data:` payloads of an SSE body.
fn events(body: &str) -> Vec<String> {
    body.split("\n\n").filter_map(|e| e.strip_prefix("data: ")).map(str::to_owned).collect()
}

fn post(path: &str, key: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("x-api-key", key)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn development_keys_get_the_simulator_offline() {
    let c = setup().await;
    let r = c.app.call_with(Method::POST, "/api/ai/complete", Some(&c.dev), Some(&chat("Hello"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.describe());
    let v = r.json();
    assert_eq!(v["provider"], "simulator");
    assert_eq!(v["model"], "mock-model", "routed like any request: balanced");
    assert_eq!(v["cacheHit"], false);
    assert!(v["text"].as_str().unwrap().starts_with("Simulated reply to \"Hello\"."), "{v}");
    let usage = &v["usage"];
    assert!(usage["promptTokens"].as_u64().unwrap() > 0 && usage["completionTokens"].as_u64().unwrap() > 5);
    assert_eq!(
        usage["totalTokens"],
        usage["promptTokens"].as_u64().unwrap() + usage["completionTokens"].as_u64().unwrap()
    );
    assert_eq!(usage["costCents"], 0.0);
    assert_eq!(r.header("x-regpilot-test-mode"), Some("true"));
    assert_eq!(r.header("x-regpilot-model"), Some("mock-model"));
    assert_eq!(r.header("x-regpilot-credits-charged"), Some("0"));
    assert_eq!(r.header("x-regpilot-prompt-tokens").unwrap(), usage["promptTokens"].to_string());

    // Deterministic: the same request, the same answer; another request, another answer.
    let again = c.app.call_with(Method::POST, "/api/ai/complete", Some(&c.dev), Some(&chat("Hello"))).await.json();
    assert_eq!(again["text"], v["text"]);
    let other = c.app.call_with(Method::POST, "/api/ai/complete", Some(&c.dev), Some(&chat("Bonjour"))).await.json();
    assert_ne!(other["text"], v["text"]);

    // The stream spells the same text, then the usage event and [DONE].
    let s = c.app.call_with(Method::POST, "/api/ai/chat", Some(&c.dev), Some(&chat("Hello"))).await;
    assert_eq!(s.status, StatusCode::OK);
    assert_eq!(s.header("content-type"), Some("text/event-stream"));
    assert_eq!(s.header("x-regpilot-test-mode"), Some("true"));
    let ev = events(&s.text());
    assert_eq!(ev.last().unwrap(), "[DONE]");
    let usage_event: Value = serde_json::from_str(&ev[ev.len() - 2]).unwrap();
    assert_eq!(usage_event["type"], "usage");
    assert_eq!(usage_event["usage"], v["usage"]);
    let text: String = ev[..ev.len() - 2]
        .iter()
        .map(|e| serde_json::from_str::<Value>(e).unwrap())
        .inspect(|e| assert_eq!(e["type"], "chunk"))
        .map(|e| e["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, v["text"].as_str().unwrap());

    // A model no provider offers is a 400 on `model` for a development key as for a production
    // one: test mode shows the mistake before production does.
    let body = r#"{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"Hello"}]}"#;
    let unknown = "Unknown model 'gpt-3.5-turbo'; GET /api/ai/models lists the models offered";
    for key in [&c.dev, &c.prod] {
        let r = c.app.call_with(Method::POST, "/v1/chat/completions", Some(key), Some(body)).await;
        assert_eq!((r.status, r.json()["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, Some("model")));
        assert_eq!(r.json()["error"]["message"], unknown);
        let r = c.app.call_with(Method::POST, "/api/ai/complete", Some(key), Some(body)).await;
        assert_eq!((r.status, r.json()["field"].as_str()), (StatusCode::BAD_REQUEST, Some("model")));
        assert_eq!(r.json()["error"], unknown);
    }
    // A model of the catalogue, by id, is still the simulator's in test mode.
    let body = r#"{"model":"mock-model","messages":[{"role":"user","content":"Hello"}]}"#;
    let r = c.app.call_with(Method::POST, "/v1/chat/completions", Some(&c.dev), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.describe());
    assert_eq!(
        (r.header("x-regpilot-model"), r.header("x-regpilot-provider")),
        (Some("mock-model"), Some("simulator"))
    );

    // `"stream": false` asks /api/ai/chat for the one JSON object of /api/ai/complete.
    let whole = c
        .app
        .call_with(
            Method::POST,
            "/api/ai/chat",
            Some(&c.dev),
            Some(r#"{"messages":[{"role":"user","content":"Hello"}],"stream":false}"#),
        )
        .await;
    assert_eq!(whole.header("content-type"), Some("application/json"));
    assert_eq!(whole.json()["text"], v["text"]);
    let r = c
        .app
        .call_with(
            Method::POST,
            "/api/ai/complete",
            Some(&c.dev),
            Some(r#"{"messages":[{"role":"user","content":"Hello"}],"stream":true}"#),
        )
        .await;
    assert_eq!((r.status, r.json()["field"].as_str()), (StatusCode::BAD_REQUEST, Some("stream")));

    // Through the OpenAI route too, and never a call upstream.
    let o = c
        .app
        .call_with(
            Method::POST,
            "/v1/chat/completions",
            Some(&c.dev),
            Some(r#"{"model":"cheap","messages":[{"role":"user","content":"Hello"}]}"#),
        )
        .await;
    assert_eq!(o.status, StatusCode::OK, "{}", o.describe());
    assert_eq!(o.json()["object"], "chat.completion");
    assert_eq!(o.json()["model"], "mock-small");
    assert_eq!(c.mock.stats().requests, 0, "development keys never reach an upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_keys_route_by_quality_and_model_to_the_upstream() {
    let c = setup().await;
    for (body, expected_model) in [
        (chat("a"), "mock-model"),
        (r#"{"messages":[{"role":"user","content":"a"}],"quality":"cheap"}"#.to_owned(), "mock-small"),
        (
            r#"{"messages":[{"role":"user","content":"a"}],"quality":"cheap","model":"mock-model"}"#.to_owned(),
            "mock-model",
        ),
    ] {
        let r = c.app.call_with(Method::POST, "/api/ai/complete", Some(&c.prod), Some(&body)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.describe());
        let v = r.json();
        assert_eq!((v["model"].as_str().unwrap(), v["provider"].as_str().unwrap()), (expected_model, "mock"));
        assert_eq!(v["text"], COMPLETION);
        assert!(r.header("x-regpilot-test-mode").is_none());
        let seen = c.mock.requests().pop().unwrap();
        assert_eq!(seen.body["model"], expected_model);
    }
    // Cost: the mock's reported tokens at the configured prices (0.5 and 1.5 cents per 1k).
    let r = c.app.call_with(Method::POST, "/api/ai/complete", Some(&c.prod), Some(&chat("price me"))).await;
    let u = &r.json()["usage"];
    let (p, cpl) = (u["promptTokens"].as_f64().unwrap(), u["completionTokens"].as_f64().unwrap());
    let expected = ((p * 0.5 + cpl * 1.5) * 1000.0).round() / 1_000_000.0;
    assert_eq!(u["costCents"].as_f64().unwrap(), expected);
    assert_eq!(r.header("x-regpilot-credits-charged").unwrap().parse::<f64>().unwrap(), expected);

    // What reaches the upstream: its own key, the gateway's body; never the caller's key or headers.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/ai/complete")
        .header("authorization", format!("Bearer {}", c.prod))
        .header("x-forwarded-host", "evil.example")
        .header("x-upstream-url", "http://evil.example")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(chat("headers")))
        .unwrap();
    assert_eq!(c.app.send(req).await.status, StatusCode::OK);
    let seen = c.mock.requests().pop().unwrap();
    assert_eq!(seen.header("authorization"), Some(format!("Bearer {UPSTREAM_KEY}").as_str()));
    for (name, value) in &seen.headers {
        assert!(!value.contains(&c.prod), "the caller's key reached the upstream in {name}");
        assert!(!name.starts_with("x-"), "caller header {name} reached the upstream");
    }
    assert_eq!(seen.body["messages"], json!([{"role": "user", "content": "headers"}]));
    assert_eq!(seen.body["stream"], false);

    // A body cannot choose the upstream.
    let r = c
        .app
        .call_with(
            Method::POST,
            "/api/ai/complete",
            Some(&c.prod),
            Some(r#"{"messages":[{"role":"user","content":"a"}],"baseUrl":"http://evil.example"}"#),
        )
        .await;
    assert_eq!((r.status, r.json()["field"].as_str()), (StatusCode::BAD_REQUEST, Some("baseUrl")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invalid_field_gets_a_400_naming_it() {
    let c = setup().await;
    let m = r#""messages":[{"role":"user","content":"a"}]"#;
    let cases: Vec<(String, &str)> = vec![
        ("{}".into(), "messages"),
        (r#"{"messages":[]}"#.into(), "messages"),
        (r#"{"messages":"hi"}"#.into(), "messages"),
        (r#"{"messages":[{"role":"tool","content":"a"}]}"#.into(), "messages[0].role"),
        (r#"{"messages":[{"content":"a"}]}"#.into(), "messages[0].role"),
        (r#"{"messages":[{"role":"user","content":5}]}"#.into(), "messages[0].content"),
        (
            r#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"x"}]}]}"#.into(),
            "messages[0].content",
        ),
        (format!(r#"{{{m},"quality":"best"}}"#), "quality"),
        (format!(r#"{{{m},"temperature":3}}"#), "temperature"),
        (format!(r#"{{{m},"temperature":-0.1}}"#), "temperature"),
        (format!(r#"{{{m},"temperature":"hot"}}"#), "temperature"),
        (format!(r#"{{{m},"maxTokens":0}}"#), "maxTokens"),
        (format!(r#"{{{m},"maxTokens":-1}}"#), "maxTokens"),
        (format!(r#"{{{m},"mode":"xml"}}"#), "mode"),
        (format!(r#"{{{m},"model":""}}"#), "model"),
        (format!(r#"{{{m},"model":"gpt-99"}}"#), "model"),
        (format!(r#"{{{m},"governorMetadata":"x"}}"#), "governorMetadata"),
        (format!(r#"{{{m},"headers":{{"x":"y"}}}}"#), "headers"),
        ("not json".into(), "body"),
    ];
    for path in ["/api/ai/chat", "/api/ai/complete"] {
        for (body, field) in &cases {
            let r = c.app.call_with(Method::POST, path, Some(&c.prod), Some(body)).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path} {body}: {}", r.describe());
            let v = r.json();
            assert_eq!(
                (v["code"].as_str(), v["field"].as_str()),
                (Some("INVALID_REQUEST"), Some(*field)),
                "{path} {body}: {v}"
            );
            assert!(
                v["error"].as_str().unwrap().contains(field.trim_end_matches(|c: char| !c.is_alphanumeric())),
                "{body}: {v}"
            );
        }
    }
    let openai_cases: Vec<(String, &str)> = vec![
        (format!(r#"{{{m}}}"#), "model"),
        (r#"{"model":"mock-model"}"#.into(), "messages"),
        (format!(r#"{{{m},"model":"mock-model","n":2}}"#), "n"),
        (format!(r#"{{{m},"model":"mock-model","top_p":2}}"#), "top_p"),
        (format!(r#"{{{m},"model":"mock-model","max_tokens":0}}"#), "max_tokens"),
        (format!(r#"{{{m},"model":"mock-model","response_format":{{"type":"yaml"}}}}"#), "response_format"),
        (format!(r#"{{{m},"model":"mock-model","api_base":"http://evil.example"}}"#), "api_base"),
        (format!(r#"{{{m},"model":"nope"}}"#), "model"),
    ];
    for (body, field) in &openai_cases {
        let r = c.app.call_with(Method::POST, "/v1/chat/completions", Some(&c.prod), Some(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.describe());
        let v = r.json();
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
        assert_eq!(
            (v["error"]["param"].as_str(), v["code"].as_str()),
            (Some(*field), Some("INVALID_REQUEST")),
            "{body}: {v}"
        );
    }
    assert_eq!(c.mock.stats().requests, 0, "no invalid request reaches the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governor_metadata_needs_the_plan_is_checked_and_validates_the_answer() {
    let c = setup().await;
    let bad = r#"{"messages":[{"role":"user","content":"a"}],"governorMetadata":{"policy":"eu-ai-act"}}"#;
    let good = r#"{"messages":[{"role":"user","content":"a"}],"governorMetadata":{"actionType":"customer_support","senderId":"bot-1","recipientCountry":"DE"}}"#;
    let free = c.app.create_project_on("Free", Plan::Free).await;
    let free_key = c.app.create_key(&free, KeyType::Gateway, Environment::Production, false, None).await.secret;
    let pro = c.app.create_project_on("Pro", Plan::Pro).await;
    let pro_key = c.app.create_key(&pro, KeyType::Gateway, Environment::Production, false, None).await.secret;
    for path in ["/api/ai/chat", "/api/ai/complete"] {
        let r = c.app.call_with(Method::POST, path, Some(&free_key), Some(good)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.describe());
        assert_eq!(r.text(), forbidden_body("governor"));
        // Metadata without its required fields is a 400 naming the field, before any call.
        let r = c.app.call_with(Method::POST, path, Some(&pro_key), Some(bad)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.describe());
        assert_eq!(r.json()["code"], "INVALID_REQUEST");
        assert!(r.json()["field"].as_str().unwrap().starts_with("governorMetadata"), "{}", r.describe());
    }
    assert_eq!(c.mock.stats().requests, 0, "no refused Governor request reaches the upstream");
    let r = c.app.call_with(Method::POST, "/api/ai/complete", Some(&pro_key), Some(good)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.describe());
    assert_eq!(r.header("x-governor-validated"), Some("true"));
    for h in [
        "x-governor-risk-score",
        "x-governor-risk-level",
        "x-governor-violations",
        "x-governor-audit-id",
        "x-governor-action",
    ] {
        assert!(r.header(h).is_some(), "{h}: {}", r.describe());
    }
    let v = r.json();
    assert_eq!(v["governor"]["validated"], true);
    assert_eq!(v["governor"]["recipientCountry"], "DE");
    assert_eq!(v["governor"]["auditId"].as_str(), r.header("x-governor-audit-id"));
    let openai = r#"{"model":"mock-model","messages":[{"role":"user","content":"a"}],"governorMetadata":{}}"#;
    let r = c.app.call_with(Method::POST, "/v1/chat/completions", Some(&free_key), Some(openai)).await;
    assert_eq!((r.status, r.json()["required"].as_str()), (StatusCode::FORBIDDEN, Some("governor")));
    let openai = r#"{"model":"mock-model","messages":[{"role":"user","content":"a"}],"metadata":{"governor":{"actionType":"other","senderId":"s"}}}"#;
    let r = c.app.call_with(Method::POST, "/v1/chat/completions", Some(&pro_key), Some(openai)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.describe());
    assert_eq!(r.json()["object"], "chat.completion");
    assert_eq!(r.json()["governor"]["validated"], true, "{}", r.describe());
    assert_eq!(r.json()["governor"]["recipientCountry"], "unknown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_failures_map_to_clear_gateway_errors_without_the_upstream_key() {
    let c = setup().await;
    let cases = [
        ("mock-status-500", StatusCode::BAD_GATEWAY, "UPSTREAM_ERROR", "failed (HTTP 500)"),
        ("mock-status-503", StatusCode::BAD_GATEWAY, "UPSTREAM_ERROR", "failed (HTTP 503)"),
        ("mock-status-401", StatusCode::BAD_GATEWAY, "UPSTREAM_ERROR", "refused the gateway's credentials"),
        (
            "mock-status-400",
            StatusCode::BAD_GATEWAY,
            "UPSTREAM_ERROR",
            "rejected the request (HTTP 400): mock error 400",
        ),
        ("mock-status-429", StatusCode::SERVICE_UNAVAILABLE, "UPSTREAM_UNAVAILABLE", "rate limiting the gateway"),
        ("mock-garbage", StatusCode::BAD_GATEWAY, "UPSTREAM_ERROR", "cannot read"),
        ("mock-hang", StatusCode::GATEWAY_TIMEOUT, "UPSTREAM_TIMEOUT", "did not answer within 1 s"),
    ];
    for (model, status, code, says) in cases {
        let body = format!(r#"{{"messages":[{{"role":"user","content":"a"}}],"model":"{model}"}}"#);
        for path in ["/api/ai/complete", "/api/ai/chat"] {
            let r = c.app.call_with(Method::POST, path, Some(&c.prod), Some(&body)).await;
            let ctx = format!("{path} {model}");
            if path == "/api/ai/chat" && model == "mock-garbage" {
                // The stream began (200) and its first event was unreadable: an error event.
                let ev = events(&r.text());
                let last: Value = serde_json::from_str(ev.last().unwrap()).unwrap();
                assert_eq!((last["type"].as_str(), last["code"].as_str()), (Some("error"), Some(code)), "{ctx}");
                continue;
            }
            assert_eq!(r.status, status, "{ctx}: {}", r.describe());
            let v = r.json();
            assert_eq!(v["code"], code, "{ctx}");
            assert!(v["error"].as_str().unwrap().contains(says), "{ctx}: {v}");
            assert!(!r.text().contains(UPSTREAM_KEY), "{ctx}");
            if model == "mock-status-429" {
                assert_eq!(r.header("retry-after"), Some("7"), "{ctx}: the upstream's Retry-After is passed on");
            }
        }
    }
    // An upstream that is not there at all.
    let mut config = ai_config("http://127.0.0.1:9/v1".into());
    config.connect_timeout_ms = 500;
    let down = TestApp::with_ai(Backend::Sqlite, config).await;
    let key = down.valid_key(KeyType::Gateway).await.secret;
    let r = down.call_with(Method::POST, "/api/ai/complete", Some(&key), Some(&chat("a"))).await;
    assert_eq!((r.status, r.json()["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("UPSTREAM_UNAVAILABLE")));
    let r = down
        .call_with(
            Method::POST,
            "/v1/chat/completions",
            Some(&key),
            Some(r#"{"model":"mock-model","messages":[{"role":"user","content":"a"}]}"#),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error"]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("UPSTREAM_UNAVAILABLE"))
    );

    // A stream that goes silent ends with an error event after the idle timeout.
    let r = c
        .app
        .call_with(
            Method::POST,
            "/api/ai/chat",
            Some(&c.prod),
            Some(r#"{"messages":[{"role":"user","content":"a"}],"model":"mock-stall"}"#),
        )
        .await;
    let ev = events(&r.text());
    let last: Value = serde_json::from_str(ev.last().unwrap()).unwrap();
    assert_eq!((last["type"].as_str(), last["code"].as_str()), (Some("error"), Some("UPSTREAM_TIMEOUT")), "{ev:?}");
    assert!(ev.len() >= 2, "the chunk sent before the stall was forwarded: {ev:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_are_forwarded_as_they_arrive_and_cancelled_when_the_client_leaves() {
    // 8 chunks, 100 ms apart (the mock-slow model).
    let c = setup().await;
    let body = r#"{"messages":[{"role":"user","content":"a"}],"model":"mock-slow"}"#;
    let response = c.app.router.clone().oneshot(post("/api/ai/chat", &c.prod, body)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = loop {
        let frame = body.frame().await.unwrap().unwrap();
        if let Ok(data) = frame.into_data() {
            if !data.is_empty() {
                break String::from_utf8(data.to_vec()).unwrap();
            }
        }
    };
    assert!(first.starts_with("data: {") && first.contains(r#""type":"chunk""#), "{first}");
    // The first chunk is here while the upstream is still writing the answer.
    let stats = c.mock.stats();
    assert_eq!((stats.streams_started, stats.streams_completed), (1, 0), "{stats:?}");
    assert!(stats.chunks_sent < 8, "{stats:?}");
    // The client leaves: the gateway drops the upstream call at once.
    drop(body);
    assert!(c.mock.wait_for_cancelled(1, Duration::from_secs(5)).await, "{:?}", c.mock.stats());
    assert_eq!(c.mock.stats().streams_completed, 0);

    // A stream read to the end ends with the usage event; the upstream saw the gateway ask for
    // usage on the stream.
    let r = c.app.send(post("/api/ai/chat", &c.prod, &chat("whole"))).await;
    let ev = events(&r.text());
    let text: String = ev
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter(|e| e["type"] == "chunk")
        .map(|e| e["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, COMPLETION);
    let usage: Value = serde_json::from_str(&ev[ev.len() - 2]).unwrap();
    assert_eq!((usage["type"].as_str(), usage["provider"].as_str()), (Some("usage"), Some("mock")));
    assert!(usage["usage"]["costCents"].as_f64().unwrap() > 0.0);
    assert_eq!(c.mock.requests().last().unwrap().body["stream_options"]["include_usage"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_route_speaks_openai() {
    let c = setup().await;
    let req = r#"{"model":"mock-model","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi"}]}],"temperature":0.2,"max_tokens":50,"top_p":0.9,"seed":7,"user":"u1"}"#;
    let r = c.app.call_with(Method::POST, "/v1/chat/completions", Some(&c.prod), Some(req)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.describe());
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-mock-"), "the upstream's answer, unchanged: {v}");
    assert_eq!(v["choices"][0]["message"]["content"], COMPLETION);
    assert_eq!(r.header("x-regpilot-model"), Some("mock-model"));
    assert_eq!(r.header("x-regpilot-completion-tokens").unwrap(), v["usage"]["completion_tokens"].to_string());
    let seen = c.mock.requests().pop().unwrap().body;
    for (k, want) in [
        ("temperature", json!(0.2)),
        ("max_tokens", json!(50)),
        ("top_p", json!(0.9)),
        ("seed", json!(7)),
        ("user", json!("u1")),
    ] {
        assert_eq!(seen[k], want, "{k} passed on");
    }
    assert_eq!(seen["messages"][1]["content"][0]["text"], "Hi");
    // The newer cap goes on under its own name (models that refuse max_tokens take it), and a
    // caller's json_schema format is passed on as given.
    let req = r#"{"model":"mock-model","messages":[{"role":"user","content":"Hi"}],"max_completion_tokens":20,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}}}"#;
    assert_eq!(
        c.app.call_with(Method::POST, "/v1/chat/completions", Some(&c.prod), Some(req)).await.status,
        StatusCode::OK
    );
    let seen = c.mock.requests().pop().unwrap().body;
    assert_eq!((seen["max_completion_tokens"].as_u64(), seen.get("max_tokens")), (Some(20), None));
    assert_eq!(seen["response_format"]["type"], "json_schema");

    // Streamed: OpenAI's chunks, then [DONE]; the usage chunk only when asked for.
    for include_usage in [false, true] {
        let body = format!(
            r#"{{"model":"balanced","stream":true,"stream_options":{{"include_usage":{include_usage}}},"messages":[{{"role":"user","content":"Hi"}}]}}"#
        );
        let r = c.app.call_with(Method::POST, "/v1/chat/completions", Some(&c.prod), Some(&body)).await;
        assert_eq!(r.header("content-type"), Some("text/event-stream"));
        let ev = events(&r.text());
        assert_eq!(ev.last().unwrap(), "[DONE]");
        let chunks: Vec<Value> = ev[..ev.len() - 1].iter().map(|e| serde_json::from_str(e).unwrap()).collect();
        assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"));
        let text: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
        assert_eq!(text, COMPLETION);
        assert_eq!(chunks.last().unwrap()["usage"].is_object(), include_usage, "{:?}", chunks.last());
    }
    // Every error under /v1 takes OpenAI's shape: unknown routes and wrong methods too.
    let r = c.app.get("/v1/embeddings", Some(&c.prod)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        (r.json()["error"]["type"].as_str(), r.json()["code"].as_str()),
        (Some("not_found_error"), Some("NOT_FOUND"))
    );
    let r = c.app.get("/v1/chat/completions", Some(&c.prod)).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json()["error"]["code"], "METHOD_NOT_ALLOWED");
    let models = c.app.get("/v1/models", Some(&c.prod)).await.json();
    assert_eq!(models["object"], "list");
    assert!(models["data"].as_array().unwrap().iter().any(|m| m["id"] == "mock-model" && m["owned_by"] == "mock"));
    let ours = c.app.get("/api/ai/models", Some(&c.prod)).await.json();
    assert_eq!(ours["quality"], json!({"cheap": "mock-small", "balanced": "mock-model", "frontier": "mock-slow"}));
    let small = ours["models"].as_array().unwrap().iter().find(|m| m["id"] == "mock-small").unwrap().clone();
    assert_eq!(small["qualities"], json!(["cheap"]));
    assert_eq!(small["available"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_refuses_new_requests_and_ends_open_streams_at_the_deadline() {
    let c = setup().await;
    let body = r#"{"messages":[{"role":"user","content":"a"}],"model":"mock-stall"}"#;
    let response = c.app.router.clone().oneshot(post("/api/ai/chat", &c.prod, body)).await.unwrap();
    let mut stream = response.into_body();
    let _first = stream.frame().await.unwrap().unwrap();
    assert_eq!(c.app.state.drain.in_flight(), 1, "the open stream counts as in flight");

    c.app.state.drain.begin();
    c.app.state.set_ready(false);
    let r = c.app.call_with(Method::POST, "/api/ai/complete", Some(&c.prod), Some(&chat("late"))).await;
    assert_eq!((r.status, r.json()["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("NOT_READY")));
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(c.app.get("/api/ready", None).await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(c.app.get("/api/health", None).await.status, StatusCode::OK, "liveness still answers");

    c.app.state.drain.reach_deadline();
    let rest = stream.collect().await.unwrap().to_bytes();
    let ev = events(std::str::from_utf8(&rest).unwrap());
    let last: Value = serde_json::from_str(ev.last().unwrap()).unwrap();
    assert_eq!((last["type"].as_str(), last["code"].as_str()), (Some("error"), Some("SHUTTING_DOWN")), "{ev:?}");
    assert_eq!(c.app.state.drain.in_flight(), 0);
    assert!(c.mock.wait_for_cancelled(1, Duration::from_secs(5)).await, "the upstream call ends with the stream");
}
