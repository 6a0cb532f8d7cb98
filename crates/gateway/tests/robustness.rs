//! Arbitrary input never panics the server and never gets a 500: random bytes in every key
//! header, random paths and query strings, random bodies on every route.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request};
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use regpilot_gateway::router::route_table;
use regpilot_keys::KeyType;
use regpilot_store::Backend;

const KEY_HEADERS: [&str; 6] =
    ["x-api-key", "x-regpilot-key", "api-key", "authorization", "x-authorization", "proxy-authorization"];

#[test]
fn arbitrary_requests_get_a_client_error_or_success_never_a_500() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(TestApp::with_body_limit(Backend::Sqlite, 4096));
    let key = rt.block_on(app.valid_key(KeyType::Project)).secret;
    let routes: Vec<(Method, String)> =
        route_table().iter().map(|r| (r.method.clone(), r.path.replace("{id}", "x"))).collect();

    let strategy = (
        0..routes.len(),
        prop::option::of((0..KEY_HEADERS.len(), prop::collection::vec(any::<u8>(), 0..80))),
        any::<bool>(),
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
            if use_valid {
                builder.headers.insert("x-api-key", HeaderValue::from_str(&key).unwrap());
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
            prop_assert!(resp.status.as_u16() < 500, "{} {uri}: {}", method, resp.describe());
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
