//! The mock upstream over real TCP: answer shapes, streams, auth, the special models,
//! cancellation, and shutdown on drop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use regpilot_mock_upstream::{MockConfig, MockStats, MockUpstream};
use serde_json::{json, Value};
use support::{chat, raw_request, send};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const COMPLETION: &str = "The quick brown fox jumps over the lazy dog.";

async fn mock(config: MockConfig) -> MockUpstream {
    MockUpstream::start(config).await.unwrap()
}

#[tokio::test]
async fn non_stream_answer_has_openai_shape_and_usage() {
    let upstream = mock(MockConfig::default()).await;
    assert_eq!(upstream.base_url(), format!("http://127.0.0.1:{}/v1", upstream.addr().port()));
    let request = json!({"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hello there"}, {"type": "image_url", "image_url": {"url": "x"}}]}
    ]});
    let reply = chat(upstream.addr(), &request).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let mut body = reply.json();
    assert_eq!(body["id"], "chatcmpl-mock-1");
    let created = body["created"].as_u64().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(created.abs_diff(now) < 5);
    body["created"] = json!(0);
    // prompt: (⌈9/4⌉ + 4) + (⌈11/4⌉ + 4) + 3 = 7 + 7 + 3; completion: ⌈44/4⌉.
    let expected = json!({
        "id": "chatcmpl-mock-1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": COMPLETION}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 17, "completion_tokens": 11, "total_tokens": 28}
    });
    assert_eq!(body, expected);
    let seen = upstream.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body, request);
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(seen[0].header("host"), Some("mock"));
    assert_eq!(upstream.stats(), MockStats { requests: 1, ..MockStats::default() });
    // Ids count up.
    assert_eq!(chat(upstream.addr(), &request).await.json()["id"], "chatcmpl-mock-2");
}

/// The stream's events as JSON, checking the common fields, and whether `[DONE]` ended it.
fn stream_events(reply: &support::Reply, model: &str) -> Vec<Value> {
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
    let mut events = reply.events();
    assert_eq!(events.pop().as_deref(), Some("[DONE]"));
    let events: Vec<Value> = events.iter().map(|event| serde_json::from_str(event).unwrap()).collect();
    for event in &events {
        assert_eq!(event["object"], "chat.completion.chunk");
        assert_eq!(event["model"], model);
        assert_eq!(event["id"], events[0]["id"]);
        assert!(event["created"].is_u64());
    }
    events
}

#[tokio::test]
async fn stream_sends_role_pieces_finish_and_done() {
    let upstream = mock(MockConfig::default()).await;
    let reply = chat(upstream.addr(), &json!({"model": "m1", "stream": true, "messages": []})).await;
    let events = stream_events(&reply, "m1");
    assert_eq!(events.len(), 1 + 8 + 1);
    assert_eq!(
        events[0]["choices"],
        json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}])
    );
    let pieces: Vec<&str> = events[1..9]
        .iter()
        .map(|event| {
            assert_eq!(event["choices"][0]["finish_reason"], Value::Null);
            assert_eq!(event["choices"][0]["delta"].as_object().unwrap().len(), 1);
            event["choices"][0]["delta"]["content"].as_str().unwrap()
        })
        .collect();
    assert_eq!(pieces.concat(), COMPLETION);
    assert_eq!(events[9]["choices"], json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]));
    assert!(events.iter().all(|event| event.get("usage").is_none()));
    let stats = upstream.stats();
    assert_eq!(stats, MockStats { requests: 1, streams_started: 1, streams_completed: 1, chunks_sent: 8, ..stats });
    assert_eq!(stats.streams_cancelled, 0);
}

#[tokio::test]
async fn stream_with_include_usage_ends_with_a_usage_chunk() {
    let config = MockConfig { completion: "one two three four five".into(), stream_chunks: 3, ..MockConfig::default() };
    let upstream = mock(config).await;
    let request = json!({"model": "m2", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "abcdefgh"}]});
    let events = stream_events(&chat(upstream.addr(), &request).await, "m2");
    assert_eq!(events.len(), 1 + 3 + 1 + 1);
    let pieces: Vec<&str> =
        events[1..4].iter().map(|e| e["choices"][0]["delta"]["content"].as_str().unwrap()).collect();
    assert_eq!(pieces, ["one two ", "three four ", "five"]);
    assert_eq!(events[4]["choices"][0]["finish_reason"], "stop");
    // prompt: (2 + 4) + 3; completion: ⌈23/4⌉.
    assert_eq!(events[5]["choices"], json!([]));
    assert_eq!(events[5]["usage"], json!({"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}));
}

#[tokio::test]
async fn mock_echo_answers_the_last_user_message_verbatim() {
    let upstream = mock(MockConfig { stream_chunks: 4, ..MockConfig::default() }).await;
    let said = "Write to  jane.doe@example.com, card 4111 1111 1111 1111 — ünïcode kept.";
    let messages = json!([
        {"role": "user", "content": "an earlier question"},
        {"role": "assistant", "content": "an earlier answer"},
        {"role": "user", "content": said}
    ]);
    let whole = chat(upstream.addr(), &json!({"model": "mock-echo", "messages": messages})).await.json();
    assert_eq!(whole["choices"][0]["message"]["content"], said);
    assert_eq!(whole["model"], "mock-echo");
    // The completion tokens count the echoed text: ⌈chars / 4⌉.
    assert_eq!(whole["usage"]["completion_tokens"], said.chars().count().div_ceil(4));

    let streamed = json!({"model": "mock-echo", "stream": true, "messages": messages});
    let events = stream_events(&chat(upstream.addr(), &streamed).await, "mock-echo");
    let pieces: Vec<&str> =
        events.iter().filter_map(|e| e["choices"][0]["delta"]["content"].as_str()).filter(|p| !p.is_empty()).collect();
    assert_eq!(pieces.len(), 4, "{pieces:?}");
    assert_eq!(pieces.concat(), said);
    assert_eq!(events.last().unwrap()["choices"][0]["finish_reason"], "stop");

    // Text parts are joined; without a user message the answer is empty.
    let parts = json!({"model": "mock-echo", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "one "}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "two"}]}]});
    assert_eq!(chat(upstream.addr(), &parts).await.json()["choices"][0]["message"]["content"], "one two");
    let none = json!({"model": "mock-echo", "messages": [{"role": "system", "content": "s"}]});
    assert_eq!(chat(upstream.addr(), &none).await.json()["choices"][0]["message"]["content"], "");
    // Other models still answer the fixed completion.
    let normal = chat(upstream.addr(), &json!({"model": "m", "messages": messages})).await.json();
    assert_eq!(normal["choices"][0]["message"]["content"], COMPLETION);
    assert_eq!(upstream.stats().streams_completed, 1);
}

#[tokio::test]
async fn api_key_is_required_when_set() {
    let upstream = mock(MockConfig { api_key: Some("sk-right-123456".into()), ..MockConfig::default() }).await;
    let body = json!({"model": "m", "messages": []}).to_string();
    let path = "/v1/chat/completions";
    let expected = json!({"error": {"message": "Incorrect API key provided: sk-****", "type": "invalid_request_error",
        "param": null, "code": "invalid_api_key"}});
    let missing = send(upstream.addr(), "POST", path, &[], &body).await;
    assert_eq!((missing.status, missing.json()), (401, expected.clone()));
    let wrong = send(upstream.addr(), "POST", path, &[("authorization", "Bearer sk-wrong-999999")], &body).await;
    assert_eq!((wrong.status, wrong.json()), (401, expected));
    assert!(!wrong.body.contains("999999"));
    let right = send(upstream.addr(), "POST", path, &[("authorization", "Bearer sk-right-123456")], &body).await;
    assert_eq!(right.status, 200);
    // Refused requests are logged too.
    let seen = upstream.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[1].header("authorization"), Some("Bearer sk-wrong-999999"));
}

#[tokio::test]
async fn body_that_is_not_json_is_a_400() {
    let upstream = mock(MockConfig::default()).await;
    let reply = send(upstream.addr(), "POST", "/v1/chat/completions", &[], "{nope").await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["type"], "invalid_request_error");
    assert_eq!(upstream.requests()[0].body, json!("{nope"));
}

#[tokio::test]
async fn mock_status_models_answer_openai_errors() {
    let upstream = mock(MockConfig::default()).await;
    for stream in [false, true] {
        let reply = chat(upstream.addr(), &json!({"model": "mock-status-500", "stream": stream})).await;
        assert_eq!(reply.status, 500);
        let expected =
            json!({"error": {"message": "mock error 500", "type": "server_error", "param": null, "code": null}});
        assert_eq!(reply.json(), expected);
        assert_eq!(reply.header("retry-after"), None);
    }
    let reply = chat(upstream.addr(), &json!({"model": "mock-status-429"})).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("7"));
    assert_eq!(reply.json()["error"]["message"], "mock error 429");
    assert_eq!(reply.json()["error"]["type"], "invalid_request_error");
    let reply = chat(upstream.addr(), &json!({"model": "mock-status-400"})).await;
    assert_eq!((reply.status, reply.json()["error"]["type"].as_str()), (400, Some("invalid_request_error")));
    assert_eq!(upstream.stats().streams_started, 0);
}

#[tokio::test]
async fn mock_garbage_sends_what_is_not_json() {
    let upstream = mock(MockConfig::default()).await;
    let reply = chat(upstream.addr(), &json!({"model": "mock-garbage"})).await;
    assert_eq!(
        (reply.status, reply.header("content-type"), reply.body.as_str()),
        (200, Some("application/json"), "not json")
    );
    let reply = chat(upstream.addr(), &json!({"model": "mock-garbage", "stream": true})).await;
    assert_eq!(reply.events(), ["{broken", "[DONE]"]);
}

/// Opens a stream and reads until the first content chunk has arrived; returns the connection.
async fn read_until_first_content(upstream: &MockUpstream, model: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(upstream.addr()).await.unwrap();
    let body = json!({"model": model, "stream": true, "messages": []}).to_string();
    tcp.write_all(&raw_request("POST", "/v1/chat/completions", &[], &body)).await.unwrap();
    let mut raw = Vec::new();
    let mut buf = [0; 4096];
    while !String::from_utf8_lossy(&raw).contains(r#""delta":{"content":"#) {
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "EOF before the first content chunk");
        raw.extend_from_slice(&buf[..n]);
    }
    tcp
}

#[tokio::test]
async fn client_that_disconnects_cancels_the_stream() {
    let words: Vec<String> = (0..20).map(|i| format!("w{i}")).collect();
    let config = MockConfig {
        completion: words.join(" "),
        stream_chunks: 20,
        chunk_delay: Duration::from_millis(50),
        ..MockConfig::default()
    };
    let upstream = mock(config).await;
    let tcp = read_until_first_content(&upstream, "m").await;
    drop(tcp);
    assert!(upstream.wait_for_cancelled(1, Duration::from_secs(5)).await);
    let stats = upstream.stats();
    assert_eq!((stats.streams_started, stats.streams_completed, stats.streams_cancelled), (1, 0, 1));
    assert!(stats.chunks_sent < 20, "{stats:?}");
}

#[tokio::test]
async fn mock_stall_stops_after_the_first_chunk() {
    let upstream = mock(MockConfig::default()).await;
    let mut tcp = read_until_first_content(&upstream, "mock-stall").await;
    let mut buf = [0; 1024];
    assert!(tokio::time::timeout(Duration::from_millis(300), tcp.read(&mut buf)).await.is_err());
    assert_eq!(upstream.stats().chunks_sent, 1);
    drop(tcp);
    assert!(upstream.wait_for_cancelled(1, Duration::from_secs(5)).await);
}

#[tokio::test]
async fn mock_slow_paces_chunks_and_mock_hang_never_answers() {
    let upstream = mock(MockConfig { stream_chunks: 3, ..MockConfig::default() }).await;
    let start = std::time::Instant::now();
    let reply = chat(upstream.addr(), &json!({"model": "mock-slow", "stream": true})).await;
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(reply.events().len(), 1 + 3 + 1 + 1);
    let hang = chat(upstream.addr(), &json!({"model": "mock-hang"}));
    assert!(tokio::time::timeout(Duration::from_millis(300), hang).await.is_err());
}

#[tokio::test]
async fn models_and_unknown_routes() {
    let upstream = mock(MockConfig::default()).await;
    let reply = send(upstream.addr(), "GET", "/v1/models", &[], "").await;
    assert_eq!(reply.status, 200);
    let expected =
        json!({"object": "list", "data": [{"id": "mock-model", "object": "model", "created": 0, "owned_by": "mock"}]});
    assert_eq!(reply.json(), expected);
    for (method, path) in [("GET", "/v1/nope"), ("GET", "/v1/chat/completions"), ("POST", "/v1/models")] {
        let reply = send(upstream.addr(), method, path, &[], "").await;
        assert_eq!(reply.status, 404, "{method} {path}");
        assert!(reply.json()["error"]["message"].is_string());
    }
    assert_eq!(upstream.stats().requests, 0);
}

#[tokio::test]
async fn dropping_the_mock_stops_it() {
    let upstream = mock(MockConfig { chunk_delay: Duration::from_millis(50), ..MockConfig::default() }).await;
    let addr = upstream.addr();
    // A hanging request and a stream in flight do not keep it alive.
    let hang = tokio::spawn(chat(addr, &json!({"model": "mock-hang"})));
    let _stream = read_until_first_content(&upstream, "m").await;
    while upstream.stats().requests < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(upstream);
    let reply = tokio::time::timeout(Duration::from_secs(5), hang).await.unwrap().unwrap();
    assert_eq!(reply.status, 503);
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("still accepting connections after the drop");
}
