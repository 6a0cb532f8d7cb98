//! Every route × every credential state (README.md, "Presenting a key", "Errors", "Endpoints"),
//! then the six key headers, header priority, keys outside headers, expiry and lifecycle changes
//! reaching the router.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use common::*;
use regpilot_control::Actor;
use regpilot_gateway::route_table;
use regpilot_gateway::Access;
use regpilot_gateway::{find_key, verify, AuthOutcome, Presented};
use regpilot_keys::{Environment, KeyType, Scope};
use regpilot_store::testing::backends;
use regpilot_store::Backend;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cred {
    None,
    Malformed,
    BadChecksum,
    Unknown,
    Inactive,
    Deleted,
    Expired,
    WrongType,
    ReadOnly,
    Valid,
}

impl Cred {
    const ALL: [Cred; 10] = [
        Cred::None,
        Cred::Malformed,
        Cred::BadChecksum,
        Cred::Unknown,
        Cred::Inactive,
        Cred::Deleted,
        Cred::Expired,
        Cred::WrongType,
        Cred::ReadOnly,
        Cred::Valid,
    ];

    /// The states that must all get the one indistinguishable 401.
    fn is_invalid(self) -> bool {
        matches!(
            self,
            Cred::Malformed | Cred::BadChecksum | Cred::Unknown | Cred::Inactive | Cred::Deleted | Cred::Expired
        )
    }
}

/// What a (route, credential) pair must answer.
#[derive(Debug)]
enum Expect {
    /// The handler ran and answered this status.
    Handler(StatusCode),
    Missing,
    Invalid {
        health: bool,
    },
    Forbidden(&'static str),
    HealthAnonymous,
    HealthAuthenticated(KeyType),
    /// `POST /api/leaks` reads no key; without a configured reporter token it is off (404).
    LeakReportsOff,
}

fn expect(access: Access, method: &Method, path: &str, cred: Cred) -> Expect {
    let success =
        if *method == Method::POST && !path.ends_with("/archive") { StatusCode::CREATED } else { StatusCode::OK };
    match access {
        Access::Public => Expect::Handler(StatusCode::OK),
        Access::LeakReporter => Expect::LeakReportsOff,
        Access::Admin(_) => unreachable!("admin routes take admin tokens, not keys: tests/admin_api.rs walks them"),
        Access::OptionalKey => match cred {
            Cred::None => Expect::HealthAnonymous,
            Cred::WrongType => Expect::HealthAuthenticated(KeyType::Gateway),
            Cred::Valid | Cred::ReadOnly => Expect::HealthAuthenticated(KeyType::Project),
            _ => Expect::Invalid { health: true },
        },
        // The gateway key's own scopes: the table's "valid" key is a project key, so here the
        // roles swap: the project keys are the wrong type, the gateway key gets through.
        Access::Scope(scope @ (Scope::Chat | Scope::Models)) => match cred {
            Cred::None => Expect::Missing,
            c if c.is_invalid() => Expect::Invalid { health: false },
            Cred::Valid | Cred::ReadOnly => Expect::Forbidden(scope.as_str()),
            // The test catalogue's provider has no key: calls are 503 (it says how to configure one).
            _ if *method == Method::POST => Expect::Handler(StatusCode::SERVICE_UNAVAILABLE),
            _ => Expect::Handler(StatusCode::OK),
        },
        Access::Scope(scope) => match cred {
            Cred::None => Expect::Missing,
            c if c.is_invalid() => Expect::Invalid { health: false },
            // `usage:read` is granted to both key types (README.md, "Keys"): the gateway key is no
            // wrong type there.
            Cred::WrongType if scope != Scope::UsageRead => Expect::Forbidden(scope.as_str()),
            Cred::ReadOnly if !scope.is_read() => Expect::Forbidden(scope.as_str()),
            _ => Expect::Handler(success),
        },
    }
}

struct Fixture {
    app: TestApp,
    secrets: BTreeMap<Cred, Option<String>>,
    violation_id: String,
    model_id: String,
    archive_model_id: String,
    policy_id: String,
    audit_id: String,
}

async fn fixture(backend: Backend) -> Fixture {
    let app = TestApp::new(backend).await;
    let valid = app.valid_key(KeyType::Project).await;
    let mut secrets = BTreeMap::new();
    secrets.insert(Cred::None, None);
    secrets.insert(Cred::Malformed, Some("sk_prod_short".to_owned()));
    secrets.insert(Cred::BadChecksum, Some(with_bad_checksum(&valid.secret)));
    secrets.insert(Cred::Unknown, Some(unknown_key(KeyType::Project)));
    secrets.insert(Cred::Inactive, Some(app.inactive_key(KeyType::Project).await.secret));
    secrets.insert(Cred::Deleted, Some(app.deleted_key(KeyType::Project).await.secret));
    secrets.insert(Cred::Expired, Some(app.expired_key(KeyType::Project).await.secret));
    secrets.insert(Cred::WrongType, Some(app.valid_key(KeyType::Gateway).await.secret));
    secrets.insert(Cred::ReadOnly, Some(app.read_only_key(KeyType::Project).await.secret));
    secrets.insert(Cred::Valid, Some(valid.secret.clone()));

    let k = Some(valid.secret.as_str());
    let v = app
        .call_with(Method::POST, "/api/compliance/violations", k, Some(r#"{"title":"seed","severity":"high"}"#))
        .await;
    assert_eq!(v.status, StatusCode::CREATED, "{}", v.describe());
    let m =
        app.call_with(Method::POST, "/api/compliance/models", k, Some(r#"{"name":"m1","risk_level":"limited"}"#)).await;
    assert_eq!(m.status, StatusCode::CREATED, "{}", m.describe());
    let a =
        app.call_with(Method::POST, "/api/compliance/models", k, Some(r#"{"name":"m2","risk_level":"minimal"}"#)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.describe());
    let p = app
        .call_with(
            Method::POST,
            "/api/compliance/policies",
            k,
            Some(r#"{"name":"seed","keywords":["x"],"action":"warn"}"#),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.describe());
    // An audit entry as the gateway's writer stores it (the router alone writes none).
    let audit_id = regpilot_control::new_audit_id().unwrap();
    let record = regpilot_control::ValidationRecord {
        audit_id: audit_id.clone(),
        project_id: app.project_id.clone(),
        key_id: "key_table".into(),
        at_ms: regpilot_store::now_ms(),
        target: "response",
        action_type: "other".into(),
        sender_id: "table".into(),
        recipient_country: "unknown".into(),
        score: 5,
        level: regpilot_governor::Level::Low,
        action: "approved",
        mode: regpilot_governor::Mode::Sanitize,
        findings: Vec::new(),
        original_sha256: "0".repeat(64),
        delivered_sha256: "0".repeat(64),
        content: None,
        open_violation: false,
    };
    app.control.record_governor_validations(&[record]).await.unwrap();
    let id = |r: &Resp| r.json()["id"].as_str().unwrap().to_owned();
    Fixture {
        violation_id: id(&v),
        model_id: id(&m),
        archive_model_id: id(&a),
        policy_id: id(&p),
        audit_id,
        app,
        secrets,
    }
}

impl Fixture {
    fn concrete_path(&self, template: &str) -> String {
        if template.ends_with("/archive") {
            template.replace("{id}", &self.archive_model_id)
        } else if template.starts_with("/api/compliance/models/") {
            template.replace("{id}", &self.model_id)
        } else if template.starts_with("/api/compliance/policies/") {
            template.replace("{id}", &self.policy_id)
        } else if template.starts_with("/api/compliance/governor/audits/") {
            template.replace("{id}", &self.audit_id)
        } else {
            template.replace("{id}", &self.violation_id)
        }
    }
}

/// A body the handler accepts, so a request that gets through reaches a 2xx.
fn body_for(method: &Method, template: &str) -> Option<&'static str> {
    match (method.as_str(), template) {
        ("POST", "/api/compliance/violations") => Some(r#"{"title":"From the table","severity":"low"}"#),
        ("PATCH", "/api/compliance/violations/{id}") => Some(r#"{"status":"resolved","note":"fixed"}"#),
        ("POST", "/api/compliance/models") => Some(r#"{"name":"table model","risk_level":"minimal"}"#),
        ("PATCH", "/api/compliance/models/{id}") => Some(r#"{"owner":"platform team"}"#),
        ("POST", "/api/compliance/policies") => Some(r#"{"name":"table policy","keywords":["refund"],"action":"log"}"#),
        ("PATCH", "/api/compliance/policies/{id}") => Some(r#"{"severity":"high"}"#),
        ("PATCH", "/api/compliance/governor/settings") => Some(r#"{"mode":"monitor"}"#),
        ("POST", "/api/leaks") => Some("[]"),
        ("POST", "/api/ai/chat" | "/api/ai/complete") => Some(r#"{"messages":[{"role":"user","content":"Hello"}]}"#),
        ("POST", "/v1/chat/completions") => {
            Some(r#"{"model":"test-model","messages":[{"role":"user","content":"Hi"}]}"#)
        }
        _ => None,
    }
}

async fn run_table(backend: Backend) {
    let fx = fixture(backend).await;
    let app = &fx.app;
    // The admin routes take admin tokens, not keys: their own table is in tests/admin_api.rs.
    let table: Vec<_> = route_table().into_iter().filter(|r| !matches!(r.access, Access::Admin(_))).collect();
    assert_eq!(table.len(), 27, "the table below covers every keyed route; update it with the route table");
    let mut checked = 0;
    for route in &table {
        let path = fx.concrete_path(route.path);
        let body = body_for(&route.method, route.path);
        let mut invalid_bodies: Vec<(Cred, Vec<u8>)> = Vec::new();
        for cred in Cred::ALL {
            let secret = fx.secrets[&cred].as_deref();
            let resp = app.call_with(route.method.clone(), &path, secret, body).await;
            let ctx = format!("[{backend:?}] {} {} with {cred:?}", route.method, route.path);
            let expected = expect(route.access, &route.method, route.path, cred);
            // Every answer to a valid key, and only those, carries the rate-limit headers.
            let authenticated =
                matches!(expected, Expect::Forbidden(_) | Expect::HealthAuthenticated(_) | Expect::Handler(_))
                    && route.access != Access::Public
                    && secret.is_some();
            for h in ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"] {
                assert_eq!(resp.header(h).is_some(), authenticated, "{ctx}: {h}");
            }
            let openai = route.path.starts_with("/v1/");
            match expected {
                Expect::Missing if openai => assert_401_openai(&resp, MISSING_BODY, &ctx),
                Expect::Missing => assert_401(&resp, MISSING_BODY, &ctx),
                Expect::Invalid { .. } if openai => {
                    assert_401_openai(&resp, INVALID_BODY, &ctx);
                    invalid_bodies.push((cred, resp.body.clone()));
                }
                Expect::Invalid { health } => {
                    assert_401(&resp, if health { INVALID_BODY_HEALTH } else { INVALID_BODY }, &ctx);
                    invalid_bodies.push((cred, resp.body.clone()));
                }
                Expect::Forbidden(scope) => {
                    assert_eq!(resp.status, StatusCode::FORBIDDEN, "{ctx}: {}", resp.describe());
                    if openai {
                        assert_eq!(resp.json(), openai_shaped(&forbidden_body(scope), "permission_error"), "{ctx}");
                    } else {
                        assert_eq!(resp.text(), forbidden_body(scope), "{ctx}");
                    }
                    assert!(resp.header("www-authenticate").is_none(), "{ctx}: a 403 is no challenge");
                }
                Expect::HealthAnonymous => {
                    assert_eq!(resp.status, StatusCode::OK, "{ctx}: {}", resp.describe());
                    assert_eq!(resp.text(), r#"{"status":"ok","authenticated":false}"#, "{ctx}");
                }
                Expect::HealthAuthenticated(kt) => {
                    assert_eq!(resp.status, StatusCode::OK, "{ctx}: {}", resp.describe());
                    let expected = format!(
                        r#"{{"status":"ok","authenticated":true,"project_id":"{}","key_type":"{}","environment":"production"}}"#,
                        app.project_id,
                        kt.as_str()
                    );
                    assert_eq!(resp.text(), expected, "{ctx}");
                }
                Expect::LeakReportsOff => {
                    assert_eq!(resp.status, StatusCode::NOT_FOUND, "{ctx}: {}", resp.describe());
                    assert_eq!(resp.json()["code"], "NOT_FOUND", "{ctx}");
                    assert!(resp.json()["error"].as_str().unwrap().contains("leak_reporter_token"), "{ctx}");
                }
                Expect::Handler(status) => {
                    assert_eq!(resp.status, status, "{ctx}: {}", resp.describe());
                    assert!(resp.header("www-authenticate").is_none(), "{ctx}");
                    check_handler_body(app, route.path, &resp, &ctx);
                }
            }
            checked += 1;
        }
        // Whatever made the key invalid, the answer is byte for byte the same.
        if let Some((_, first)) = invalid_bodies.first() {
            for (cred, bytes) in &invalid_bodies {
                assert_eq!(bytes, first, "[{backend:?}] {} {}: {cred:?} answers differently", route.method, route.path);
            }
            assert_eq!(invalid_bodies.len(), 6, "{}", route.path);
        }
    }
    assert_eq!(checked, 27 * Cred::ALL.len());
}

#[track_caller]
fn assert_401_openai(resp: &Resp, spec_body: &str, context: &str) {
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{context}: {}", resp.describe());
    assert_eq!(resp.header("www-authenticate"), Some("Bearer"), "{context}: WWW-Authenticate");
    assert_eq!(resp.json(), openai_shaped(spec_body, "authentication_error"), "{context}: body");
}

fn check_handler_body(app: &TestApp, template: &str, resp: &Resp, ctx: &str) {
    match template {
        "/api/ready" => {
            assert_eq!(resp.text(), r#"{"status":"ready","store":"ok","rate_limiter":"local"}"#, "{ctx}")
        }
        "/metrics" => {
            assert!(resp.header("content-type").unwrap().starts_with("text/plain"), "{ctx}");
            assert!(resp.text().contains("regpilot_auth_outcomes_total"), "{ctx}");
        }
        "/api/openapi.json" => assert!(resp.json()["paths"].is_object(), "{ctx}"),
        "/api/compliance/violations" if resp.status == StatusCode::OK => {
            assert!(resp.json()["violations"].is_array(), "{ctx}")
        }
        "/api/compliance/models" if resp.status == StatusCode::OK => assert!(resp.json()["models"].is_array(), "{ctx}"),
        "/api/compliance/policies" if resp.status == StatusCode::OK => {
            assert!(resp.json()["policies"].is_array(), "{ctx}")
        }
        "/api/compliance/governor/audits" => assert!(resp.json()["audits"].is_array(), "{ctx}"),
        "/api/ai/chat" | "/api/ai/complete" => {
            assert_eq!(resp.json()["code"], "UPSTREAM_UNAVAILABLE", "{ctx}");
            assert!(resp.json()["error"].as_str().unwrap().contains("REGPILOT_TEST_UNSET_UPSTREAM_KEY"), "{ctx}");
        }
        "/v1/chat/completions" => {
            assert_eq!(resp.json()["code"], "UPSTREAM_UNAVAILABLE", "{ctx}");
            assert_eq!(resp.json()["error"]["type"], "server_error", "{ctx}");
        }
        "/api/ai/models" => assert_eq!(resp.json()["models"][0]["id"], "test-model", "{ctx}"),
        "/v1/models" => assert_eq!(resp.json()["data"][0]["id"], "test-model", "{ctx}"),
        _ => assert_eq!(resp.json()["project_id"], app.project_id.as_str(), "{ctx}: {}", resp.describe()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_times_every_credential_state() {
    for backend in backends() {
        run_table(backend).await;
    }
}

/// The access the table above assumes is the access the router declares.
#[test]
fn route_table_declares_the_specs_scopes() {
    let declared: Vec<(String, String, Access)> = route_table()
        .into_iter()
        .filter(|r| !matches!(r.access, Access::Admin(_)))
        .map(|r| (r.method.to_string(), r.path.to_owned(), r.access))
        .collect();
    let read = Access::Scope(Scope::ComplianceRead);
    let write = Access::Scope(Scope::ComplianceWrite);
    let expected = [
        ("GET", "/api/health", Access::OptionalKey),
        ("GET", "/api/ready", Access::Public),
        ("GET", "/metrics", Access::Public),
        ("GET", "/api/openapi.json", Access::Public),
        ("GET", "/api/compliance/violations", read),
        ("POST", "/api/compliance/violations", write),
        ("PATCH", "/api/compliance/violations/{id}", write),
        ("GET", "/api/compliance/models", read),
        ("POST", "/api/compliance/models", write),
        ("GET", "/api/compliance/models/{id}", read),
        ("PATCH", "/api/compliance/models/{id}", write),
        ("POST", "/api/compliance/models/{id}/archive", write),
        ("GET", "/api/compliance/status", read),
        ("GET", "/api/compliance/policies", read),
        ("POST", "/api/compliance/policies", write),
        ("PATCH", "/api/compliance/policies/{id}", write),
        ("GET", "/api/compliance/governor/settings", read),
        ("PATCH", "/api/compliance/governor/settings", write),
        ("GET", "/api/compliance/governor/audits", read),
        ("GET", "/api/compliance/governor/audits/{id}", read),
        ("GET", "/api/usage", Access::Scope(Scope::UsageRead)),
        ("POST", "/api/ai/chat", Access::Scope(Scope::Chat)),
        ("POST", "/api/ai/complete", Access::Scope(Scope::Chat)),
        ("GET", "/api/ai/models", Access::Scope(Scope::Models)),
        ("POST", "/v1/chat/completions", Access::Scope(Scope::Chat)),
        ("GET", "/v1/models", Access::Scope(Scope::Models)),
        ("POST", "/api/leaks", Access::LeakReporter),
    ];
    let expected: Vec<(String, String, Access)> =
        expected.iter().map(|(m, p, a)| ((*m).to_owned(), (*p).to_owned(), *a)).collect();
    assert_eq!(declared, expected);
}

// --- The six headers -----------------------------------------------------------------------

/// Every accepted way of presenting a key; `{k}` stands for the key.
const PRESENTATIONS: [(&str, &str); 22] = [
    ("X-API-Key", "{k}"),
    ("X-API-Key", "  {k}  "),
    ("X-API-Key", "\t{k} "),
    ("X-RegPilot-Key", "{k}"),
    ("X-RegPilot-Key", " {k}\t"),
    ("Api-Key", "{k}"),
    ("Api-Key", "   {k}"),
    ("Authorization", "Bearer {k}"),
    ("Authorization", "bearer {k}"),
    ("Authorization", "BEARER {k}"),
    ("Authorization", "  Bearer   {k}  "),
    ("Authorization", "Bearer\t{k}"),
    ("X-Authorization", "{k}"),
    ("X-Authorization", "  {k} "),
    ("X-Authorization", "Bearer {k}"),
    ("X-Authorization", "bearer {k}"),
    ("X-Authorization", " BEARER  {k} "),
    ("Proxy-Authorization", "Bearer {k}"),
    ("Proxy-Authorization", "bearer {k}"),
    ("Proxy-Authorization", "BEARER {k}"),
    ("Proxy-Authorization", " Bearer {k} "),
    ("Proxy-Authorization", "bEaReR\t{k}"),
];

const READ_ROUTE: &str = "/api/compliance/violations";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_of_the_six_headers_carries_a_key() {
    let app = TestApp::new(Backend::Sqlite).await;
    let valid = app.valid_key(KeyType::Project).await;
    let inactive = app.inactive_key(KeyType::Project).await;
    let invalids = [
        ("unknown", unknown_key(KeyType::Project)),
        ("malformed", "sk_prod_short".to_owned()),
        ("bad checksum", with_bad_checksum(&valid.secret)),
        ("inactive", inactive.secret.clone()),
    ];
    let mut headers_seen = std::collections::BTreeSet::new();
    for (name, template) in PRESENTATIONS {
        headers_seen.insert(name.to_ascii_lowercase());
        let value = template.replace("{k}", &valid.secret);
        let ctx = format!("{name}: {template:?}");
        let ok = app.call(Method::GET, READ_ROUTE, &[(name, &value)], None).await;
        assert_eq!(ok.status, StatusCode::OK, "{ctx}: {}", ok.describe());
        let health = app.call(Method::GET, "/api/health", &[(name, &value)], None).await;
        assert_eq!(health.json()["authenticated"], true, "{ctx}: {}", health.describe());
        for (what, bad) in &invalids {
            let value = template.replace("{k}", bad);
            let resp = app.call(Method::GET, READ_ROUTE, &[(name, &value)], None).await;
            assert_401(&resp, INVALID_BODY, &format!("{ctx} with a {what} key"));
            let resp = app.call(Method::GET, "/api/health", &[(name, &value)], None).await;
            assert_401(&resp, INVALID_BODY_HEALTH, &format!("{ctx} with a {what} key on /api/health"));
        }
    }
    assert_eq!(headers_seen.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_values_that_carry_no_key() {
    let app = TestApp::new(Backend::Sqlite).await;
    let valid = app.valid_key(KeyType::Project).await;
    let k = valid.secret.as_str();
    // `Authorization` and `Proxy-Authorization` carry a key only as `Bearer <key>`.
    for (name, value) in [
        ("Authorization", k.to_owned()),
        ("Proxy-Authorization", k.to_owned()),
        ("Authorization", format!("Basic {k}")),
        ("Proxy-Authorization", "Basic dXNlcjpwYXNz".to_owned()),
        ("Authorization", "Bearer".to_owned()),
        ("Authorization", "Bearer    ".to_owned()),
        ("X-API-Key", String::new()),
        ("X-API-Key", "   ".to_owned()),
    ] {
        let resp = app.call(Method::GET, READ_ROUTE, &[(name, &value)], None).await;
        assert_401(&resp, MISSING_BODY, &format!("{name}: {value:?}"));
        let health = app.call(Method::GET, "/api/health", &[(name, &value)], None).await;
        assert_eq!(health.text(), r#"{"status":"ok","authenticated":false}"#, "{name}: {value:?}");
    }
    // Such a value does not hide a key in a later header.
    let basic = app
        .call(
            Method::GET,
            READ_ROUTE,
            &[("Authorization", "Basic dXNlcjpwYXNz"), ("Proxy-Authorization", &format!("Bearer {k}"))],
            None,
        )
        .await;
    assert_eq!(basic.status, StatusCode::OK, "{}", basic.describe());
    let empty = app.call(Method::GET, READ_ROUTE, &[("X-API-Key", ""), ("Api-Key", k)], None).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.describe());
    // `Bearer` belongs to the Authorization headers: in X-API-Key it is part of the value.
    let resp = app.call(Method::GET, READ_ROUTE, &[("X-API-Key", &format!("Bearer {k}"))], None).await;
    assert_401(&resp, INVALID_BODY, "X-API-Key: Bearer <key>");
    // Bytes that are not visible ASCII are refused like a malformed key.
    let req = axum::http::Request::builder()
        .uri(READ_ROUTE)
        .header("x-api-key", axum::http::HeaderValue::from_bytes(b"sk_prod_\xff\xfe").unwrap())
        .body(axum::body::Body::empty())
        .unwrap();
    assert_401(&app.send(req).await, INVALID_BODY, "non-ASCII X-API-Key");
}

/// The header's name and the form a key takes in it, in the priority order of README.md,
/// "Presenting a key".
const PRIORITY: [(&str, &str); 6] = [
    ("X-API-Key", "{k}"),
    ("X-RegPilot-Key", "{k}"),
    ("Api-Key", "{k}"),
    ("Authorization", "Bearer {k}"),
    ("X-Authorization", "{k}"),
    ("Proxy-Authorization", "Bearer {k}"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_header_carrying_a_key_wins() {
    let app = TestApp::new(Backend::Sqlite).await;
    let valid = app.valid_key(KeyType::Project).await;
    let deleted = app.deleted_key(KeyType::Project).await;
    let unknown = unknown_key(KeyType::Project);
    for (i, (high, high_form)) in PRIORITY.iter().enumerate() {
        for (low, low_form) in &PRIORITY[i + 1..] {
            let ctx = format!("{high} before {low}");
            for bad in [unknown.as_str(), deleted.secret.as_str(), "sk_prod_short"] {
                let headers = [(*high, high_form.replace("{k}", bad)), (*low, low_form.replace("{k}", &valid.secret))];
                let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                let resp = app.call(Method::GET, READ_ROUTE, &headers, None).await;
                assert_401(&resp, INVALID_BODY, &format!("{ctx}: invalid first, valid second"));
            }
            let headers = [(*high, high_form.replace("{k}", &valid.secret)), (*low, low_form.replace("{k}", &unknown))];
            let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let resp = app.call(Method::GET, READ_ROUTE, &headers, None).await;
            assert_eq!(resp.status, StatusCode::OK, "{ctx}: valid first, invalid second: {}", resp.describe());
        }
    }
    // And the pure unit: find_key on all six at once picks X-API-Key.
    let mut all = axum::http::HeaderMap::new();
    for (name, form) in PRIORITY.iter().rev() {
        all.insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            form.replace("{k}", name).parse().unwrap(),
        );
    }
    assert_eq!(find_key(&all), Presented::Key("X-API-Key"));
}

/// A key header given twice is refused with a 400 naming it, whichever values it carries and
/// whatever other headers say: which copy counts would depend on who appended it (a proxy
/// behind the client). README.md, "Presenting a key".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_header_given_twice_is_a_400_naming_it() {
    let app = TestApp::new(Backend::Sqlite).await;
    let project = app.valid_key(KeyType::Project).await;
    let gateway = app.valid_key(KeyType::Gateway).await;
    let unknown = unknown_key(KeyType::Project);
    for (name, form) in PRIORITY {
        let message = format!("The {name} header was sent more than once; send the key in one header, once");
        let body = format!(r#"{{"error":"{message}","code":"INVALID_REQUEST","field":"{name}"}}"#);
        for (key, second) in [(&project.secret, &project.secret), (&project.secret, &unknown)] {
            let (first, second) = (form.replace("{k}", key), form.replace("{k}", second));
            for path in [READ_ROUTE, "/api/health"] {
                // Behind a valid key in X-API-Key too, unless that is the header given twice.
                let mut headers = vec![(name, first.as_str()), (name, second.as_str())];
                if name != "X-API-Key" {
                    headers.insert(0, ("X-API-Key", project.secret.as_str()));
                }
                let resp = app.call(Method::GET, path, &headers, None).await;
                assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{name} twice on {path}: {}", resp.describe());
                assert_eq!(resp.text(), body, "{name} twice on {path}");
            }
        }
        let twice = [(name, form.replace("{k}", &gateway.secret)), (name, form.replace("{k}", &gateway.secret))];
        let twice: Vec<(&str, &str)> = twice.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let resp = app.call(Method::GET, "/v1/models", &twice, None).await;
        assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{name} twice on /v1/models");
        assert_eq!(resp.json(), openai_shaped(&body, "invalid_request_error"), "{name} twice on /v1/models");
    }
    let metrics = app.get("/metrics", None).await.text();
    assert!(metrics.contains(r#"regpilot_auth_outcomes_total{outcome="duplicate_header"} 30"#), "{metrics}");
    // Once each, different headers: the first in the order still wins.
    let headers = [("Authorization", format!("Bearer {unknown}")), ("X-API-Key", project.secret.clone())];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    assert_eq!(app.call(Method::GET, READ_ROUTE, &headers, None).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_in_the_query_string_or_body_are_refused() {
    let app = TestApp::new(Backend::Sqlite).await;
    let valid = app.valid_key(KeyType::Project).await;
    let k = &valid.secret;
    for param in ["api_key", "apiKey", "key", "access_token", "x-api-key"] {
        let path = format!("{READ_ROUTE}?{param}={k}");
        assert_401(&app.get(&path, None).await, MISSING_BODY, &format!("?{param}="));
        let health = app.get(&format!("/api/health?{param}={k}"), None).await;
        assert_eq!(health.text(), r#"{"status":"ok","authenticated":false}"#, "?{param}= on /api/health");
    }
    let body = format!(r#"{{"api_key":"{k}","title":"t","severity":"low"}}"#);
    let resp = app.call(Method::POST, READ_ROUTE, &[], Some(&body)).await;
    assert_401(&resp, MISSING_BODY, "key in the body");
    // Nothing was recorded.
    let list = app.get(READ_ROUTE, Some(k)).await;
    assert_eq!(list.json()["violations"].as_array().unwrap().len(), 0);
}

// --- Expiry and lifecycle ------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_with_an_expiry_works_until_then_and_never_after() {
    let app = TestApp::new(Backend::Sqlite).await;
    let key = app.create_key(&app.project_id, KeyType::Project, Environment::Staging, false, Some(1)).await;
    let indexed = app.index.get(&regpilot_keys::digest(&key.secret)).expect("indexed");
    let expires = indexed.expires_at_ms.expect("has an expiry");
    let now = regpilot_store::now_ms();
    assert!(expires > now + DAY_MS - 60_000 && expires <= now + DAY_MS, "one day from now: {expires} vs {now}");

    let presented = Presented::Key(&key.secret);
    assert!(matches!(verify(presented, &app.index, now), AuthOutcome::Ok(_)));
    assert!(matches!(verify(presented, &app.index, expires - 1), AuthOutcome::Ok(_)));
    for at in [expires, expires + 1, expires + 365 * DAY_MS] {
        let outcome = verify(presented, &app.index, at);
        assert!(matches!(outcome, AuthOutcome::Expired(_)), "at {at}: {}", outcome.reason());
    }
    // Not yet expired: the router lets it through.
    let resp = app.get(READ_ROUTE, Some(&key.secret)).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.describe());

    // A key whose expiry has passed (inserted directly: the API cannot create one).
    let expired = app.expired_key(KeyType::Project).await;
    assert!(matches!(verify(Presented::Key(&expired.secret), &app.index, now), AuthOutcome::Expired(_)));
    assert_401(&app.get(READ_ROUTE, Some(&expired.secret)).await, INVALID_BODY, "expired");
    assert_401(&app.get("/api/health", Some(&expired.secret)).await, INVALID_BODY_HEALTH, "expired on health");

    // Expiry one millisecond ago vs one minute ahead.
    let just = app.insert_raw_key(KeyType::Project, Environment::Production, "active", Some(now - 1)).await;
    assert_401(&app.get(READ_ROUTE, Some(&just.secret)).await, INVALID_BODY, "expired a moment ago");
    let soon = app.insert_raw_key(KeyType::Project, Environment::Production, "active", Some(now + 60_000)).await;
    assert_eq!(app.get(READ_ROUTE, Some(&soon.secret)).await.status, StatusCode::OK);
}

#[test]
fn verify_names_every_reason() {
    let index = regpilot_gateway::KeyIndex::new();
    assert!(matches!(verify(Presented::None, &index, 0), AuthOutcome::Missing));
    assert!(matches!(verify(Presented::Unreadable, &index, 0), AuthOutcome::Malformed));
    assert!(matches!(verify(Presented::Key("sk_prod_short"), &index, 0), AuthOutcome::Malformed));
    let k = unknown_key(KeyType::Gateway);
    assert!(matches!(verify(Presented::Key(&with_bad_checksum(&k)), &index, 0), AuthOutcome::BadChecksum));
    assert!(matches!(verify(Presented::Key(&k), &index, 0), AuthOutcome::Unknown));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_changes_reach_the_router_through_the_feed() {
    for backend in backends() {
        let app = TestApp::new(backend).await;
        let key = app.valid_key(KeyType::Project).await;
        let actor = Actor::system();
        let ok = |r: &Resp| assert_eq!(r.status, StatusCode::OK, "[{backend:?}] {}", r.describe());

        ok(&app.get(READ_ROUTE, Some(&key.secret)).await);
        app.control.deactivate_key(&actor, &key.id).await.unwrap();
        app.refresh().await;
        assert_401(&app.get(READ_ROUTE, Some(&key.secret)).await, INVALID_BODY, "deactivated");
        app.control.reactivate_key(&actor, &key.id).await.unwrap();
        app.refresh().await;
        ok(&app.get(READ_ROUTE, Some(&key.secret)).await);
        app.control.delete_key(&actor, &key.id).await.unwrap();
        app.refresh().await;
        assert_401(&app.get(READ_ROUTE, Some(&key.secret)).await, INVALID_BODY, "deleted");
        assert!(app.control.reactivate_key(&actor, &key.id).await.is_err(), "a deleted key cannot come back");
        app.refresh().await;
        assert_401(&app.get(READ_ROUTE, Some(&key.secret)).await, INVALID_BODY, "deleted, after a reactivate attempt");
        assert!(matches!(
            verify(Presented::Key(&key.secret), &app.index, regpilot_store::now_ms()),
            AuthOutcome::Deleted(_)
        ));
    }
}

/// A second instance that loads the index after the keys changed (the start-up path) sees the
/// same states as the one that followed the feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_loaded_at_start_up_sees_every_state() {
    let app = TestApp::new(Backend::Sqlite).await;
    let valid = app.valid_key(KeyType::Project).await;
    let inactive = app.inactive_key(KeyType::Project).await;
    let deleted = app.deleted_key(KeyType::Project).await;
    let expired = app.expired_key(KeyType::Project).await;

    let index = std::sync::Arc::new(regpilot_gateway::KeyIndex::new());
    let state = regpilot_gateway::AppState::new(app.control.clone(), index.clone(), MIB);
    state.load_index().await.unwrap();
    state.set_ready(true);
    let second = regpilot_gateway::build_router(state, Default::default());
    let now = regpilot_store::now_ms();
    assert!(matches!(verify(Presented::Key(&valid.secret), &index, now), AuthOutcome::Ok(_)));
    assert!(matches!(verify(Presented::Key(&inactive.secret), &index, now), AuthOutcome::Inactive(_)));
    assert!(matches!(verify(Presented::Key(&deleted.secret), &index, now), AuthOutcome::Deleted(_)));
    assert!(matches!(verify(Presented::Key(&expired.secret), &index, now), AuthOutcome::Expired(_)));

    use tower::ServiceExt;
    for (secret, status) in [
        (&valid.secret, StatusCode::OK),
        (&inactive.secret, StatusCode::UNAUTHORIZED),
        (&deleted.secret, StatusCode::UNAUTHORIZED),
        (&expired.secret, StatusCode::UNAUTHORIZED),
    ] {
        let req = axum::http::Request::builder()
            .uri(READ_ROUTE)
            .header("x-api-key", secret.as_str())
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(second.clone().oneshot(req).await.unwrap().status(), status);
    }
}
