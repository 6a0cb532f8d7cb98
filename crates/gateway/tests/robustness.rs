//! Arbitrary input never panics the server and never gets a 500: random bytes in every key
//! header, random paths and query strings, random bodies on every route.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request};
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use regpilot_gateway::route_table;
use regpilot_keys::KeyType;
use regpilot_store::Backend;

const KEY_HEADERS: [&str; 6] =
    ["x-api-key", "x-regpilot-key", "api-key", "authorization", "x-authorization", "proxy-authorization"];

#[test]
fn arbitrary_requests_get_a_client_error_or_success_never_a_500() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(TestApp::with_body_limit(Backend::Sqlite, 4096));
    // A project key, and a gateway key (whose routes parse chat bodies).
    let keys =
        [rt.block_on(app.valid_key(KeyType::Project)).secret, rt.block_on(app.valid_key(KeyType::Gateway)).secret];
    let routes: Vec<(Method, String)> =
        route_table().iter().map(|r| (r.method.clone(), r.path.replace("{id}", "x"))).collect();

    let strategy = (
        0..routes.len(),
        prop::option::of((0..KEY_HEADERS.len(), prop::collection::vec(any::<u8>(), 0..80))),
        prop::option::of(0..2usize),
        "[ -~]{0,40}",
        prop::collection::vec(any::<u8>(), 0..300),
        prop::option::of("[a-z/+;=-]{0,30}"),
    );
    let mut runner = TestRunner::new(Config { cases: 1500, ..Config::default() });
    runner
        .run(&strategy, |(route, header, use_valid, query, body, content_type)| {
            let (method, path) = &routes[route];
            let query: String = query.chars().filter(|c| !c.is_whitespace() && *c != '#').collect();
            let uri = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
            let Ok(mut builder) =
                Request::builder().method(method.clone()).uri(&uri).body(()).map(|r| r.into_parts().0)
            else {
                return Ok(()); // not a URI a client could send
            };
            if let Some(k) = use_valid {
                builder.headers.insert("x-api-key", HeaderValue::from_str(&keys[k]).unwrap());
            }
            if let Some((h, bytes)) = header {
                if let Ok(v) = HeaderValue::from_bytes(&bytes) {
                    builder.headers.insert(KEY_HEADERS[h], v);
                }
            }
            if let Some(ct) = content_type {
                if let Ok(v) = HeaderValue::from_str(&ct) {
                    builder.headers.insert("content-type", v);
                }
            }
            let req = Request::from_parts(builder, Body::from(body));
            let resp = rt.block_on(app.send(req));
            // The one 5xx a client can cause: a well-formed chat request while the test
            // catalogue's provider has no key (503 UPSTREAM_UNAVAILABLE, never a 500).
            let no_upstream = resp.status.as_u16() == 503 && resp.text().contains("UPSTREAM_UNAVAILABLE");
            prop_assert!(resp.status.as_u16() < 500 || no_upstream, "{} {uri}: {}", method, resp.describe());
            if !resp.status.is_success() {
                let v: serde_json::Value = serde_json::from_slice(&resp.body).expect("error bodies are JSON");
                // The OpenAI-compatible routes nest the message in OpenAI's shape.
                let message = if path.starts_with("/v1/") { &v["error"]["message"] } else { &v["error"] };
                prop_assert!(message.is_string() && v["code"].is_string(), "{v}");
            }
            Ok(())
        })
        .unwrap();
}

/// Arbitrary chat bodies — the known field names with values of any JSON type, and unknown
/// fields — on every chat route with a development key (the simulator: no network): each gets
/// a 200 or a 400 naming a field, never a 500.
#[test]
fn arbitrary_chat_bodies_get_an_answer_or_a_400_naming_the_field() {
    use serde_json::{json, Map, Value};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(TestApp::new(Backend::Sqlite));
    let dev = rt
        .block_on(app.create_key(
            &app.project_id,
            KeyType::Gateway,
            regpilot_keys::Environment::Development,
            false,
            None,
        ))
        .secret;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-5.0f64..5.0).prop_map(Value::from),
        "[a-z]{0,8}".prop_map(Value::from),
        prop::sample::select(vec![
            "user",
            "system",
            "assistant",
            "tool",
            "cheap",
            "frontier",
            "json",
            "text",
            "test-model"
        ])
        .prop_map(Value::from),
    ];
    let value = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec!["role", "content", "type", "text", "include_usage", "x"]),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    });
    const FIELDS: [&str; 14] = [
        "messages",
        "quality",
        "model",
        "temperature",
        "maxTokens",
        "mode",
        "governorMetadata",
        "stream",
        "max_tokens",
        "stream_options",
        "top_p",
        "n",
        "response_format",
        "extra",
    ];
    let body = prop::collection::btree_map(prop::sample::select(FIELDS.to_vec()), value, 0..6);
    let good_message = json!([{"role": "user", "content": "hi"}]);
    let mut runner = TestRunner::new(Config { cases: 600, ..Config::default() });
    runner
        .run(&(body, 0..3usize, any::<bool>()), |(fields, route, keep_messages)| {
            let mut obj: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            if keep_messages {
                obj.insert("messages".into(), good_message.clone());
            }
            let path = ["/api/ai/chat", "/api/ai/complete", "/v1/chat/completions"][route];
            if route == 2 && !obj.contains_key("model") {
                obj.insert("model".into(), json!("test-model"));
            }
            let body = Value::Object(obj).to_string();
            let resp = rt.block_on(app.call_with(Method::POST, path, Some(&dev), Some(&body)));
            let status = resp.status.as_u16();
            prop_assert!(
                status == 200 || status == 400 || status == 403 || status == 501,
                "{path} {body}: {}",
                resp.describe()
            );
            if status == 400 {
                let v = resp.json();
                let field = v["field"].as_str().unwrap_or("");
                prop_assert!(!field.is_empty(), "{path} {body}: a 400 without a field: {v}");
            }
            Ok(())
        })
        .unwrap();
}

/// A path id that does not decode to UTF-8 gets the JSON 400 naming `id`, like any bad field
/// (found by tests/fuzz_http.rs: it was axum's plain-text rejection).
#[tokio::test]
async fn a_path_id_that_is_not_utf8_gets_a_json_400() {
    let app = TestApp::new(Backend::Sqlite).await;
    let key = app.valid_key(KeyType::Project).await.secret;
    for (method, path) in [
        (Method::GET, "/api/compliance/models/%80"),
        (Method::POST, "/api/compliance/models/%ff%fe/archive"),
        (Method::PATCH, "/api/compliance/violations/%C3"),
    ] {
        let r = app.call_with(method, path, Some(&key), Some("{}")).await;
        assert_eq!(r.status.as_u16(), 400, "{path}: {}", r.describe());
        let v = r.json();
        assert_eq!((v["code"].as_str(), v["field"].as_str()), (Some("INVALID_REQUEST"), Some("id")), "{path}: {v}");
    }
}
