//! A property-based fuzzer over the whole HTTP layer, in process: random methods, paths (the
//! route templates with random segments, unknown paths, `..`, percent-encoding, very long ones),
//! header sets (the six key headers of README "Presenting a key" with valid, invalid, repeated,
//! huge and non-UTF-8 values, and others) and bodies (random bytes, JSON-ish, deeply nested,
//! around and over the body limit). The property: no panic and no 5xx. The AI routes answer
//! through a mock upstream, so no 503 `UPSTREAM_UNAVAILABLE` can be right.
//!
//! 256 cases by default; `FUZZ_CASES=1000000 cargo nextest run -p regpilot-gateway --test
//! fuzz_http` for a long run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request};
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use regpilot_ai::{AiConfig, ModelConfig, ProviderConfig, QualityConfig};
use regpilot_gateway::route_table;
use regpilot_keys::{Environment, KeyType};
use regpilot_mock_upstream::{MockConfig, MockUpstream};
use regpilot_store::Backend;

const KEY_HEADERS: [&str; 6] =
    ["x-api-key", "x-regpilot-key", "api-key", "authorization", "x-authorization", "proxy-authorization"];

/// Other headers the server reads (content type, origin checks, cookies, proxies) and a few it
/// does not.
const OTHER_HEADERS: [&str; 10] = [
    "content-type",
    "content-length",
    "accept",
    "origin",
    "referer",
    "cookie",
    "x-forwarded-for",
    "forwarded",
    "host",
    "x-request-id",
];

/// The dashboard's pages (its own page table, not public): where its forms and sessions are read.
const PAGES: [(&str, &str); 14] = [
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/account/password"),
    ("POST", "/account/password"),
    ("GET", "/projects/{id}"),
    ("GET", "/projects/{id}/keys"),
    ("POST", "/projects/{id}/keys"),
    ("GET", "/projects/{id}/keys/{key_id}"),
    ("POST", "/projects/{id}/keys/{key_id}/{action}"),
    ("GET", "/projects/{id}/alerts"),
    ("POST", "/projects/{id}/alerts/{alert_id}/ack"),
    ("GET", "/assets/app.css"),
];

const BODY_LIMIT: usize = 4096;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
}

/// One request to build: every part drawn independently.
#[derive(Debug, Clone)]
struct Fuzzed {
    method: Method,
    path: String,
    query: Option<String>,
    headers: Vec<(HeaderName, Vec<u8>)>,
    body: Vec<u8>,
}

fn method() -> impl Strategy<Value = Method> {
    let standard = prop::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
        Method::CONNECT,
    ]);
    prop_oneof![4 => standard, 1 => "[A-Z]{1,12}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap())]
}

/// A segment for `{id}`-like places and unknown paths.
fn segment(ids: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(ids),
        3 => "[a-zA-Z0-9._~-]{0,24}",
        1 => Just("..".to_owned()),
        1 => prop::sample::select(vec!["%2e%2e", "%2E%2e%2f", "%00", "%ff%fe", "%", "%zz", "%2F", ".", "~"])
            .prop_map(str::to_owned),
        2 => prop::collection::vec(any::<u8>(), 1..12)
            .prop_map(|b| b.iter().map(|b| format!("%{b:02X}")).collect::<String>()),
        1 => (1000usize..12_000).prop_map(|n| "a".repeat(n)),
    ]
}

/// A path, and the method of the route it was made from (none for an unknown path).
fn path(templates: Vec<(Method, String)>, ids: Vec<String>) -> impl Strategy<Value = (Option<Method>, String)> {
    let templated = (prop::sample::select(templates), prop::collection::vec(segment(ids.clone()), 4)).prop_map(
        |((method, template), segments)| {
            let mut out = String::new();
            let mut next = segments.into_iter();
            for part in template.split('/').skip(1) {
                out.push('/');
                if part.starts_with('{') {
                    out.push_str(&next.next().unwrap_or_default());
                } else {
                    out.push_str(part);
                }
            }
            if out.is_empty() {
                out.push('/');
            }
            (Some(method), out)
        },
    );
    let unknown = (
        prop::sample::select(vec!["", "/api", "/v1", "/projects", "/assets"]),
        prop::collection::vec(segment(ids), 0..5),
    )
        .prop_map(|(prefix, segments)| (None, format!("{prefix}/{}", segments.join("/"))));
    let decoration = prop_oneof![
        6 => Just(""),
        1 => prop::sample::select(vec!["/", "//", "/.", "/..", "?", "/%2e%2e/%2e%2e", "%20", ";x"]),
    ];
    (prop_oneof![4 => templated, 1 => unknown], decoration).prop_map(|((m, p), d)| (m, format!("{p}{d}")))
}

/// A value for a key header: keys of every kind, in every form, and everything that is not one.
fn key_value(keys: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    let key = prop::sample::select(keys);
    prop_oneof![
        3 => key.clone().prop_map(String::into_bytes),
        2 => (prop::sample::select(vec!["Bearer ", "bearer ", "BEARER  ", " Bearer\t", "Basic ", "Bearer"]), key.clone())
            .prop_map(|(p, k)| format!("{p}{k}").into_bytes()),
        1 => (key, 0usize..60, any::<u8>()).prop_map(|(k, at, b)| {
            // One character changed: the checksum no longer matches.
            let mut k = k.into_bytes();
            let at = at % k.len().max(1);
            if let Some(c) = k.get_mut(at) {
                *c = b'a' + b % 26;
            }
            k
        }),
        2 => "(sk|pk|rp)_[a-z]{0,5}_[A-Za-z0-9_]{0,60}".prop_map(String::into_bytes),
        2 => prop::collection::vec(any::<u8>(), 0..120),
        1 => (1000usize..40_000).prop_map(|n| vec![b'k'; n]),
    ]
}

fn other_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            "application/json",
            "application/json; charset=utf-8",
            "application/x-www-form-urlencoded",
            "text/plain",
            "multipart/form-data; boundary=x",
            "http://127.0.0.1:8080",
            "null",
            "0",
            "4096",
            "99999999999999999999",
            "-1",
            "rp_session=abc; rp_csrf=def",
            "203.0.113.7, 10.0.0.1",
            "for=\"[::1]\";proto=https",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..200),
        (1000usize..20_000).prop_map(|n| vec![b'v'; n]),
    ]
}

fn headers(keys: Vec<String>) -> impl Strategy<Value = Vec<(HeaderName, Vec<u8>)>> {
    let key_header = (prop::sample::select(KEY_HEADERS.to_vec()), key_value(keys))
        .prop_map(|(name, value)| (HeaderName::from_static(name), value));
    let other_header = (
        prop_oneof![
            4 => prop::sample::select(OTHER_HEADERS.to_vec()).prop_map(HeaderName::from_static),
            1 => "[a-z][a-z0-9-]{0,30}".prop_map(|n| HeaderName::from_bytes(n.as_bytes()).unwrap()),
        ],
        other_value(),
    );
    // Appended, not inserted: the same header may come twice (or more).
    prop::collection::vec(prop_oneof![3 => key_header, 2 => other_header], 0..7)
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
        prop::sample::select(vec!["user", "assistant", "system", "mock-model", "cheap", "json", "gpt-4o"])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "messages",
                    "role",
                    "content",
                    "model",
                    "stream",
                    "quality",
                    "mode",
                    "maxTokens",
                    "max_tokens",
                    "governorMetadata",
                    "name",
                    "scopes",
                    "environment",
                    "email",
                    "password",
                    "type",
                    "text",
                    "x",
                ]),
                inner,
                0..5,
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let chat = (
        prop::sample::select(vec!["mock-model", "cheap", "frontier", "unknown-model", ""]),
        any::<bool>(),
        ".{0,40}",
    )
        .prop_map(|(model, stream, content)| {
            serde_json::json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": content}]})
                .to_string()
                .into_bytes()
        });
    let mutated = (chat.clone(), 0usize..200, prop::collection::vec(any::<u8>(), 0..6)).prop_map(|(mut b, at, ins)| {
        let at = at.min(b.len());
        b.splice(at..at, ins);
        b
    });
    prop_oneof![
        2 => Just(Vec::new()),
        3 => prop::collection::vec(any::<u8>(), 0..600),
        3 => chat,
        2 => mutated,
        3 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => (1usize..3000, prop::sample::select(vec!["[", "{\"a\":", "[{\"messages\":"]))
            .prop_map(|(n, open)| open.repeat(n).into_bytes()),
        1 => "(email|password|csrf|name|environment|scopes)=[^&]{0,20}(&(email|password|csrf|name)=[^&]{0,20}){0,3}"
            .prop_map(String::into_bytes),
        1 => (BODY_LIMIT - 8..BODY_LIMIT + 8).prop_map(|n| vec![b' '; n]),
        1 => (2 * BODY_LIMIT..64 * BODY_LIMIT).prop_map(|n| vec![b'x'; n]),
    ]
}

fn fuzzed(templates: Vec<(Method, String)>, ids: Vec<String>, keys: Vec<String>) -> impl Strategy<Value = Fuzzed> {
    // Mostly the route's own method, so that most requests get past the router.
    let own_method = prop::sample::select(vec![true, true, true, false]);
    (own_method, method(), path(templates, ids), prop::option::of("[ -~]{0,60}"), headers(keys), body()).prop_map(
        |(own, random, (route_method, path), query, headers, body)| {
            let method = route_method.filter(|_| own).unwrap_or(random);
            Fuzzed { method, path, query, headers, body }
        },
    )
}

fn model(id: &str) -> ModelConfig {
    ModelConfig { id: id.into(), prompt_cents_per_1k: 0.5, completion_cents_per_1k: 1.5 }
}

#[test]
fn random_requests_never_panic_and_never_get_a_5xx() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mock = rt.block_on(MockUpstream::start(MockConfig::default())).unwrap();
    let ai = AiConfig {
        providers: vec![ProviderConfig {
            name: "mock".into(),
            base_url: mock.base_url(),
            api_key_env: None,
            api_key_file: None,
            models: vec![model("mock-model"), model("gpt-4o")],
        }],
        quality: QualityConfig::default(),
        response_timeout_secs: 5,
        stream_idle_timeout_secs: 5,
        ..AiConfig::default()
    };
    let app = rt.block_on(TestApp::with_ai_and_body_limit(Backend::Sqlite, ai, BODY_LIMIT));
    let project_key = rt.block_on(app.valid_key(KeyType::Project));
    let gateway_key = rt.block_on(app.valid_key(KeyType::Gateway));
    let dev_key = rt.block_on(app.create_key(&app.project_id, KeyType::Gateway, Environment::Development, false, None));
    let inactive = rt.block_on(app.inactive_key(KeyType::Gateway));
    let keys = vec![
        project_key.secret.clone(),
        gateway_key.secret.clone(),
        dev_key.secret.clone(),
        inactive.secret.clone(),
        unknown_key(KeyType::Gateway),
        with_bad_checksum(&gateway_key.secret),
    ];
    let ids = vec![app.project_id.clone(), project_key.id.clone(), gateway_key.id.clone(), "deactivate".into()];
    let templates: Vec<(Method, String)> = route_table()
        .iter()
        .map(|r| (r.method.clone(), r.path.to_owned()))
        .chain(PAGES.iter().map(|(m, p)| (Method::from_bytes(m.as_bytes()).unwrap(), (*p).to_owned())))
        .collect();

    let config = Config { cases: cases(), failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let started = std::time::Instant::now();
    let sent = std::cell::Cell::new(0u64);
    let skipped = std::cell::Cell::new(0u64);
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::new());
    runner
        .run(&fuzzed(templates, ids, keys), |f| {
            let uri = match &f.query {
                Some(q) => format!("{}?{}", f.path, q.replace([' ', '#'], "")),
                None => f.path.clone(),
            };
            let build =
                |uri: &str| Request::builder().method(f.method.clone()).uri(uri).body(()).map(|r| r.into_parts().0);
            // A query with characters a URI cannot hold is sent percent-encoded, as a client would.
            let encoded = || match &f.query {
                Some(q) => format!("{}?{}", f.path, q.bytes().map(|b| format!("%{b:02X}")).collect::<String>()),
                None => f.path.clone(),
            };
            let Ok(mut parts) = build(&uri).or_else(|_| build(&encoded())) else {
                skipped.set(skipped.get() + 1);
                return Ok(()); // not a URI a client could send
            };
            for (name, value) in &f.headers {
                if let Ok(v) = HeaderValue::from_bytes(value) {
                    parts.headers.append(name.clone(), v);
                }
            }
            let request = Request::from_parts(parts, Body::from(f.body.clone()));
            let resp = rt.block_on(app.send(request));
            sent.set(sent.get() + 1);
            let status = resp.status.as_u16();
            *statuses.borrow_mut().entry(status).or_insert(0u64) += 1;
            prop_assert!(status < 500, "{} {uri:.200}: {}", f.method, resp.describe());
            // Errors of the API routes are JSON with a code, in their route's dialect.
            let api = f.path.starts_with("/api/") || f.path.starts_with("/v1/");
            if api && status >= 400 && f.method != Method::HEAD {
                let v: serde_json::Value = serde_json::from_slice(&resp.body)
                    .map_err(|e| TestCaseError::fail(format!("{uri:.200}: not JSON ({e}): {}", resp.describe())))?;
                prop_assert!(v["code"].is_string(), "{uri:.200}: {v}");
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "fuzz_http: {} requests sent ({} not a URI) in {:.1} s; statuses {:?}",
        sent.get(),
        skipped.get(),
        started.elapsed().as_secs_f64(),
        statuses.borrow()
    );
}
