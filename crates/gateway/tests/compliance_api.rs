//! `/api/compliance/*` through HTTP with a project key: violations, the model registry, the
//! status score, request validation (400/413), project isolation, 404 and 405.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::*;
use regpilot_keys::{Environment, KeyType};
use regpilot_store::testing::backends;
use serde_json::{json, Value};

const VIOLATIONS: &str = "/api/compliance/violations";
const MODELS: &str = "/api/compliance/models";

struct Client<'a> {
    app: &'a TestApp,
    key: TestKey,
}

impl Client<'_> {
    async fn get(&self, path: &str) -> Resp {
        self.app.get(path, Some(&self.key.secret)).await
    }
    async fn post(&self, path: &str, body: &str) -> Resp {
        self.app.call_with(Method::POST, path, Some(&self.key.secret), Some(body)).await
    }
    async fn post_empty(&self, path: &str) -> Resp {
        self.app.call_with(Method::POST, path, Some(&self.key.secret), None).await
    }
    async fn patch(&self, path: &str, body: &str) -> Resp {
        self.app.call_with(Method::PATCH, path, Some(&self.key.secret), Some(body)).await
    }
    async fn raw(&self, method: Method, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Resp {
        let mut b = Request::builder().method(method).uri(path).header("x-api-key", self.key.secret.as_str());
        if let Some(ct) = content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        self.app.send(b.body(Body::from(body)).unwrap()).await
    }
    async fn create_violation(&self, title: &str, severity: &str) -> Value {
        let resp = self.post(VIOLATIONS, &json!({"title": title, "severity": severity}).to_string()).await;
        assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.describe());
        resp.json()
    }
    async fn register_model(&self, body: Value) -> Value {
        let resp = self.post(MODELS, &body.to_string()).await;
        assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.describe());
        resp.json()
    }
}

async fn client(app: &TestApp) -> Client<'_> {
    Client { app, key: app.valid_key(KeyType::Project).await }
}

#[track_caller]
fn assert_400(resp: &Resp, field: &str, context: &str) {
    assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{context}: {}", resp.describe());
    let body = resp.json();
    assert_eq!(body["code"], "INVALID_REQUEST", "{context}: {}", resp.describe());
    assert_eq!(body["field"], field, "{context}: {}", resp.describe());
    let message = body["error"].as_str().expect("error is a string");
    assert!(!message.is_empty(), "{context}");
    assert!(!message.contains(" at line "), "{context}: parser positions are noise: {message}");
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list[key].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn violations_are_created_listed_and_filtered() {
    for backend in backends() {
        let app = TestApp::new(backend).await;
        let c = client(&app).await;
        let resp = c
            .post(
                VIOLATIONS,
                r#"{"title":"  PII in prompt log  ","description":"Emails were logged","severity":"critical","category":"data-protection"}"#,
            )
            .await;
        assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.describe());
        assert!(resp.header("content-type").unwrap().starts_with("application/json"));
        let created = resp.json();
        assert!(created["id"].as_str().unwrap().starts_with("vio_"));
        assert_eq!(created["project_id"], app.project_id.as_str());
        assert_eq!(created["title"], "PII in prompt log", "titles are trimmed");
        assert_eq!(created["description"], "Emails were logged");
        assert_eq!(created["severity"], "critical");
        assert_eq!(created["category"], "data-protection");
        assert_eq!(created["status"], "open");
        assert_eq!(created["created_by"], format!("key:{}", c.key.id));
        assert_eq!(created["resolved_at"], Value::Null);
        assert!(!resp.text().contains(&c.key.secret));

        let high = c.create_violation("High one", "high").await;
        let medium = c.create_violation("Medium one", "medium").await;
        let low = c.create_violation("Low one", "low").await;

        let all = c.get(VIOLATIONS).await;
        assert_eq!(all.status, StatusCode::OK);
        assert_eq!(ids(&all.json(), "violations").len(), 4);

        for (severity, expected) in [("critical", &created), ("high", &high), ("medium", &medium), ("low", &low)] {
            let list = c.get(&format!("{VIOLATIONS}?severity={severity}")).await.json();
            assert_eq!(ids(&list, "violations"), vec![expected["id"].as_str().unwrap().to_owned()], "{severity}");
        }
        assert_eq!(ids(&c.get(&format!("{VIOLATIONS}?status=open")).await.json(), "violations").len(), 4);
        assert!(ids(&c.get(&format!("{VIOLATIONS}?status=resolved")).await.json(), "violations").is_empty());

        let path = format!("{VIOLATIONS}/{}", high["id"].as_str().unwrap());
        assert_eq!(c.patch(&path, r#"{"status":"resolved","note":"Rotated"}"#).await.status, StatusCode::OK);
        let resolved = c.get(&format!("{VIOLATIONS}?status=resolved")).await.json();
        assert_eq!(ids(&resolved, "violations"), vec![high["id"].as_str().unwrap().to_owned()]);
        assert_eq!(ids(&c.get(&format!("{VIOLATIONS}?status=open")).await.json(), "violations").len(), 3);
        assert!(ids(&c.get(&format!("{VIOLATIONS}?status=open&severity=high")).await.json(), "violations").is_empty());
        let both = c.get(&format!("{VIOLATIONS}?status=resolved&severity=high")).await.json();
        assert_eq!(ids(&both, "violations").len(), 1);

        assert_400(&c.get(&format!("{VIOLATIONS}?severity=urgent")).await, "severity", "bad severity filter");
        assert_400(&c.get(&format!("{VIOLATIONS}?status=closed")).await, "status", "bad status filter");
        // Undecodable percent-escapes are kept literally, then refused as a value.
        assert_400(&c.get(&format!("{VIOLATIONS}?severity=%ZZ")).await, "severity", "bad URL encoding");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_violation_bodies_name_the_field() {
    let app = TestApp::new(regpilot_store::Backend::Sqlite).await;
    let c = client(&app).await;
    for (body, field) in [
        (r#"{"title":"x","severity":"urgent"}"#, "severity"),
        (r#"{"title":"x","severity":"HIGH"}"#, "severity"),
        (r#"{"title":"x"}"#, "severity"),
        (r#"{"severity":"low"}"#, "title"),
        (r#"{"title":"   ","severity":"low"}"#, "title"),
        (r#"{"title":42,"severity":"low"}"#, "title"),
        (r#"{"title":null,"severity":"low"}"#, "title"),
        (r#"{"title":"x","severity":"low","priority":1}"#, "priority"),
        (r#"{"title":"x","severity":"low","model_id":"mdl_nope"}"#, "model_id"),
        (r#"{"title":"x","severity":"low""#, "body"),
        (r#"{"title":"x",}"#, "body"),
        ("not json", "body"),
        ("", "body"),
        ("[]", "body"),
        ("null", "body"),
    ] {
        assert_400(&c.post(VIOLATIONS, body).await, field, body);
    }
    let msg = c.post(VIOLATIONS, r#"{"title":"x","severity":"urgent"}"#).await.json();
    assert!(msg["error"].as_str().unwrap().contains("severity"), "{msg}");
    let msg = c.post(VIOLATIONS, r#"{"severity":"low"}"#).await.json();
    assert!(msg["error"].as_str().unwrap().contains("title"), "{msg}");

    let valid = br#"{"title":"x","severity":"low"}"#.to_vec();
    for ct in [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data"), None] {
        let resp = c.raw(Method::POST, VIOLATIONS, ct, valid.clone()).await;
        assert_400(&resp, "Content-Type", &format!("{ct:?}"));
    }
    for ct in ["application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"] {
        let resp = c.raw(Method::POST, VIOLATIONS, Some(ct), valid.clone()).await;
        assert_eq!(resp.status, StatusCode::CREATED, "{ct}: {}", resp.describe());
    }
    // Nothing but the accepted requests were recorded.
    assert_eq!(ids(&c.get(VIOLATIONS).await.json(), "violations").len(), 3);
}

/// README.md, "Errors": malformed JSON is a 400: trailing data after the object, or an array in
/// place of the object (which serde's derive would read by position), is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_single_json_object_is_a_body() {
    let app = TestApp::new(regpilot_store::Backend::Sqlite).await;
    let c = client(&app).await;
    for body in [
        r#"{"title":"x","severity":"low"} trailing"#,
        r#"{"title":"x","severity":"low"}{"title":"y","severity":"low"}"#,
        r#"["x", null, "low", null, null]"#,
    ] {
        assert_400(&c.post(VIOLATIONS, body).await, "body", body);
    }
    assert_400(&c.post(VIOLATIONS, "[1]").await, "body", "[1]");
    assert!(ids(&c.get(VIOLATIONS).await.json(), "violations").is_empty(), "nothing was recorded");
}

/// README.md, "Errors": a wrong type is a 400 naming the field, for the enum fields (`severity`,
/// `risk_level`, `status`) too: a number, `null` or an array there names the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enum_fields_of_the_wrong_type_are_named() {
    let app = TestApp::new(regpilot_store::Backend::Sqlite).await;
    let c = client(&app).await;
    for body in
        [r#"{"title":"x","severity":3}"#, r#"{"title":"x","severity":null}"#, r#"{"title":"x","severity":["low"]}"#]
    {
        assert_400(&c.post(VIOLATIONS, body).await, "severity", body);
    }
    assert_400(&c.post(MODELS, r#"{"name":"x","risk_level":7}"#).await, "risk_level", "risk_level: 7");
    let v = c.create_violation("v", "low").await;
    let path = format!("{VIOLATIONS}/{}", v["id"].as_str().unwrap());
    assert_400(&c.patch(&path, r#"{"status":1}"#).await, "status", "status: 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_get_413() {
    let app = TestApp::with_body_limit(regpilot_store::Backend::Sqlite, MIB).await;
    let c = client(&app).await;
    let expected = r#"{"error":"Request body too large","code":"PAYLOAD_TOO_LARGE","limit_bytes":1048576}"#;

    // Exactly the limit: accepted (valid JSON padded with whitespace).
    let head = br#"{"title":"big","severity":"low"}"#;
    let mut at_limit = head.to_vec();
    at_limit.resize(MIB, b' ');
    let resp = c.raw(Method::POST, VIOLATIONS, Some("application/json"), at_limit.clone()).await;
    assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.describe());

    // One byte over: refused, whether or not Content-Length announces it.
    let mut over = at_limit.clone();
    over.push(b' ');
    let resp = c.raw(Method::POST, VIOLATIONS, Some("application/json"), over.clone()).await;
    assert_eq!(resp.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", resp.describe());
    assert_eq!(resp.text(), expected);
    let req = Request::builder()
        .method(Method::POST)
        .uri(VIOLATIONS)
        .header("x-api-key", c.key.secret.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, over.len().to_string())
        .body(Body::from(over.clone()))
        .unwrap();
    let resp = app.send(req).await;
    assert_eq!((resp.status, resp.text()), (StatusCode::PAYLOAD_TOO_LARGE, expected.to_owned()));

    // Much bigger, on every route with a body.
    let huge = vec![b' '; 3 * MIB];
    let model = c.register_model(json!({"name": "m", "risk_level": "minimal"})).await;
    let violation = c.create_violation("v", "low").await;
    for (method, path) in [
        (Method::POST, VIOLATIONS.to_owned()),
        (Method::PATCH, format!("{VIOLATIONS}/{}", violation["id"].as_str().unwrap())),
        (Method::POST, MODELS.to_owned()),
        (Method::PATCH, format!("{MODELS}/{}", model["id"].as_str().unwrap())),
    ] {
        let resp = c.raw(method.clone(), &path, Some("application/json"), huge.clone()).await;
        assert_eq!((resp.status, resp.text()), (StatusCode::PAYLOAD_TOO_LARGE, expected.to_owned()), "{method} {path}");
    }
    // Authentication comes first: no key, no 413.
    let req = Request::builder()
        .method(Method::POST)
        .uri(VIOLATIONS)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(huge))
        .unwrap();
    assert_401(&app.send(req).await, MISSING_BODY, "oversized body without a key");

    // A smaller configured limit is the one enforced and reported.
    let small = TestApp::with_body_limit(regpilot_store::Backend::Sqlite, 64).await;
    let c = client(&small).await;
    let resp = c.post(VIOLATIONS, &format!(r#"{{"title":"{}","severity":"low"}}"#, "x".repeat(64))).await;
    assert_eq!(resp.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", resp.describe());
    assert_eq!(resp.json()["limit_bytes"], 64);
    assert_eq!(c.post(VIOLATIONS, r#"{"title":"ok","severity":"low"}"#).await.status, StatusCode::CREATED);

    // A larger configured limit is honoured too (no smaller default limit hides behind it).
    let large = TestApp::with_body_limit(regpilot_store::Backend::Sqlite, 4 * MIB).await;
    let c = client(&large).await;
    let mut body = head.to_vec();
    body.resize(3 * MIB, b' ');
    let resp = c.raw(Method::POST, VIOLATIONS, Some("application/json"), body).await;
    assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.describe());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn violations_are_resolved_with_a_note_and_reopened() {
    for backend in backends() {
        let app = TestApp::new(backend).await;
        let c = client(&app).await;
        let v = c.create_violation("Unlogged model change", "medium").await;
        let path = format!("{VIOLATIONS}/{}", v["id"].as_str().unwrap());

        assert_400(&c.patch(&path, r#"{"status":"resolved"}"#).await, "note", "no note");
        assert_400(&c.patch(&path, r#"{"status":"resolved","note":"   "}"#).await, "note", "blank note");
        assert_400(&c.patch(&path, r#"{"status":"done","note":"x"}"#).await, "status", "bad status");
        assert_400(&c.patch(&path, r#"{}"#).await, "status", "neither status nor note");
        assert_400(&c.patch(&path, r#"{"status":"resolved","note":"x","by":"me"}"#).await, "by", "unknown field");
        let still = c.get(VIOLATIONS).await.json();
        assert_eq!(still["violations"][0]["status"], "open", "a refused change changes nothing");

        let resp = c.patch(&path, r#"{"status":"resolved","note":"Change reviewed and logged"}"#).await;
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.describe());
        let r = resp.json();
        assert_eq!(r["id"], v["id"]);
        assert_eq!(r["status"], "resolved");
        assert_eq!(r["resolution_note"], "Change reviewed and logged");
        assert_eq!(r["resolved_by"], format!("key:{}", c.key.id));
        assert!(r["resolved_at"].is_string(), "{r}");

        let resp = c.patch(&path, r#"{"status":"open"}"#).await;
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.describe());
        let r = resp.json();
        assert_eq!((r["status"].clone(), r["resolved_at"].clone()), (json!("open"), Value::Null));
        // The alias `resolution_note` is accepted too.
        let resp = c.patch(&path, r#"{"status":"resolved","resolution_note":"Second pass"}"#).await;
        assert_eq!(resp.json()["resolution_note"], "Second pass", "{}", resp.describe());

        for missing in ["vio_doesnotexist", "x", "%20"] {
            let resp = c.patch(&format!("{VIOLATIONS}/{missing}"), r#"{"status":"resolved","note":"n"}"#).await;
            assert_eq!(resp.status, StatusCode::NOT_FOUND, "{missing}: {}", resp.describe());
            assert_eq!(resp.json()["code"], "NOT_FOUND");
        }
        let resp = c.patch(&format!("{VIOLATIONS}/vio_doesnotexist"), r#"{"status":"resolved","note":"n"}"#).await;
        assert_eq!(resp.text(), r#"{"error":"Violation 'vio_doesnotexist' not found","code":"NOT_FOUND"}"#);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_registry_round_trips() {
    for backend in backends() {
        let app = TestApp::new(backend).await;
        let c = client(&app).await;
        let m = c
            .register_model(json!({
                "name": "gpt-4o triage", "provider": "OpenAI", "version": "2024-08-06",
                "purpose": "Ticket triage", "risk_level": "limited", "owner": "support-platform"
            }))
            .await;
        let id = m["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("mdl_"));
        assert_eq!(m["project_id"], app.project_id.as_str());
        assert_eq!((m["risk_level"].clone(), m["status"].clone()), (json!("limited"), json!("active")));
        assert_eq!(m["archived_at"], Value::Null);
        let path = format!("{MODELS}/{id}");

        for (body, field) in [
            (r#"{"name":"m","risk_level":"extreme"}"#, "risk_level"),
            (r#"{"name":"m","risk_level":"HIGH"}"#, "risk_level"),
            (r#"{"name":"m"}"#, "risk_level"),
            (r#"{"risk_level":"high"}"#, "name"),
            (r#"{"name":"","risk_level":"high"}"#, "name"),
            (r#"{"name":"m","risk_level":"high","tags":[]}"#, "tags"),
            (r#"{"name":"m","risk_level":"high","owner":7}"#, "owner"),
        ] {
            assert_400(&c.post(MODELS, body).await, field, body);
        }

        let got = c.get(&path).await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.describe());
        assert_eq!(got.json(), m);
        let list = c.get(MODELS).await.json();
        assert_eq!(ids(&list, "models"), vec![id.clone()]);

        let resp = c.patch(&path, r#"{"risk_level":"high","owner":"ml-governance","version":"2024-11-20"}"#).await;
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.describe());
        let u = resp.json();
        assert_eq!((u["risk_level"].clone(), u["owner"].clone()), (json!("high"), json!("ml-governance")));
        assert_eq!((u["version"].clone(), u["name"].clone()), (json!("2024-11-20"), json!("gpt-4o triage")));
        assert_eq!(u["provider"], "OpenAI", "absent fields stay as they are");
        assert_eq!(c.get(&path).await.json(), u);
        assert_400(&c.patch(&path, r#"{"risk_level":"severe"}"#).await, "risk_level", "patch risk_level");
        assert_400(&c.patch(&path, r#"{"name":"  "}"#).await, "name", "patch blank name");
        assert_400(&c.patch(&path, r#"{"colour":"red"}"#).await, "colour", "patch unknown field");

        let resp = c.post_empty(&format!("{path}/archive")).await;
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.describe());
        let a = resp.json();
        assert_eq!(a["status"], "archived");
        assert!(a["archived_at"].is_string());
        let again = c.post_empty(&format!("{path}/archive")).await;
        assert_eq!((again.status, again.json()["archived_at"].clone()), (StatusCode::OK, a["archived_at"].clone()));
        assert_eq!(c.get(&path).await.json()["status"], "archived", "the record stays");

        let other = c.register_model(json!({"name": "embedder", "risk_level": "minimal"})).await;
        let other_id = other["id"].as_str().unwrap().to_owned();
        assert_eq!(ids(&c.get(MODELS).await.json(), "models"), vec![other_id.clone()], "archived are hidden");
        assert_eq!(ids(&c.get(&format!("{MODELS}?status=active")).await.json(), "models"), vec![other_id.clone()]);
        assert_eq!(ids(&c.get(&format!("{MODELS}?status=archived")).await.json(), "models"), vec![id.clone()]);
        let mut all = ids(&c.get(&format!("{MODELS}?status=all")).await.json(), "models");
        all.sort();
        let mut expected = vec![id.clone(), other_id];
        expected.sort();
        assert_eq!(all, expected);
        assert_400(&c.get(&format!("{MODELS}?status=deleted")).await, "status", "bad model status filter");

        let resp = c.patch(&path, r#"{"owner":"someone"}"#).await;
        assert_eq!(resp.status, StatusCode::CONFLICT, "archived entries are read-only: {}", resp.describe());
        assert_eq!(resp.json()["code"], "CONFLICT");

        for resp in [
            c.get(&format!("{MODELS}/mdl_nope")).await,
            c.patch(&format!("{MODELS}/mdl_nope"), r#"{"owner":"x"}"#).await,
            c.post_empty(&format!("{MODELS}/mdl_nope/archive")).await,
        ] {
            assert_eq!(resp.status, StatusCode::NOT_FOUND, "{}", resp.describe());
            assert_eq!(resp.text(), r#"{"error":"Model 'mdl_nope' not found","code":"NOT_FOUND"}"#);
        }

        // A violation can name a model of the registry.
        let resp = c.post(VIOLATIONS, &json!({"title": "t", "severity": "low", "model_id": id}).to_string()).await;
        assert_eq!((resp.status, resp.json()["model_id"].clone()), (StatusCode::CREATED, json!(id)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_score_follows_the_formula() {
    for backend in backends() {
        let app = TestApp::new(backend).await;
        let c = client(&app).await;
        let fresh = c.get("/api/compliance/status").await;
        assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.describe());
        let s = fresh.json();
        assert_eq!((s["score"].clone(), s["status"].clone()), (json!(100), json!("compliant")));
        assert_eq!(s["project_id"], app.project_id.as_str());
        assert_eq!(s["open_violations"], json!({"critical": 0, "high": 0, "medium": 0, "low": 0, "total": 0}));
        assert_eq!(s["registry"]["completeness"], 1.0);
        assert!(s["formula"].as_str().unwrap().starts_with("score = "));

        c.create_violation("h", "high").await;
        c.create_violation("m", "medium").await;
        let low = c.create_violation("l", "low").await;
        let p = format!("{VIOLATIONS}/{}", low["id"].as_str().unwrap());
        assert_eq!(c.patch(&p, r#"{"status":"resolved","note":"done"}"#).await.status, StatusCode::OK);
        c.register_model(
            json!({"name": "a", "provider": "p", "version": "1", "purpose": "x", "owner": "o", "risk_level": "high"}),
        )
        .await;
        c.register_model(json!({"name": "b", "provider": "p", "owner": "o", "risk_level": "minimal"})).await;
        let banned = c.register_model(json!({"name": "c", "risk_level": "unacceptable"})).await;
        let archive = format!("{MODELS}/{}/archive", banned["id"].as_str().unwrap());
        assert_eq!(c.post_empty(&archive).await.status, StatusCode::OK);

        // V = 100 - 10 - 5 = 85; R = 100 * 6/8 = 75; round(59.5 + 22.5) = 82.
        let s = c.get("/api/compliance/status").await.json();
        assert_eq!(s["open_violations"], json!({"critical": 0, "high": 1, "medium": 1, "low": 0, "total": 2}));
        assert_eq!(
            s["registry"],
            json!({"active": 2, "archived": 1, "unacceptable": 0, "high_risk": 1, "completeness": 0.75})
        );
        assert_eq!((s["score"].clone(), s["status"].clone()), (json!(82), json!("at_risk")), "{s}");

        // An active unacceptable-risk model counts as one more critical:
        // V = 100 - 25 - 10 - 5 = 60; R = 100 * 10/12; round(42 + 25) = 67.
        c.register_model(json!({"name": "d", "provider": "p", "version": "1", "purpose": "x", "owner": "o", "risk_level": "unacceptable"}))
            .await;
        let s = c.get("/api/compliance/status").await.json();
        assert_eq!(s["registry"]["unacceptable"], 1);
        assert_eq!(s["open_violations"]["critical"], 0, "models are not violations");
        assert_eq!((s["score"].clone(), s["status"].clone()), (json!(67), json!("non_compliant")), "{s}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_never_sees_another_projects_records() {
    for backend in backends() {
        let app = TestApp::new(backend).await;
        let a = client(&app).await;
        let project_b = app.create_project("Project B").await;
        let b = Client {
            app: &app,
            key: app.create_key(&project_b, KeyType::Project, Environment::Production, false, None).await,
        };

        let bv = b.create_violation("B's secret violation", "critical").await;
        let bm = b.register_model(json!({"name": "B's model", "risk_level": "high"})).await;
        let (bv, bm) = (bv["id"].as_str().unwrap(), bm["id"].as_str().unwrap());
        let av = a.create_violation("A's violation", "low").await;

        let list = a.get(VIOLATIONS).await.json();
        assert_eq!(ids(&list, "violations"), vec![av["id"].as_str().unwrap().to_owned()]);
        assert!(ids(&a.get(&format!("{MODELS}?status=all")).await.json(), "models").is_empty());
        for resp in [
            a.get(&format!("{MODELS}/{bm}")).await,
            a.patch(&format!("{MODELS}/{bm}"), r#"{"owner":"intruder"}"#).await,
            a.post_empty(&format!("{MODELS}/{bm}/archive")).await,
            a.patch(&format!("{VIOLATIONS}/{bv}"), r#"{"status":"resolved","note":"hidden"}"#).await,
        ] {
            assert_eq!(resp.status, StatusCode::NOT_FOUND, "{}", resp.describe());
            assert!(!resp.text().contains("B's"), "{}", resp.describe());
        }
        let resp = a.post(VIOLATIONS, &json!({"title": "t", "severity": "low", "model_id": bm}).to_string()).await;
        assert_400(&resp, "model_id", "another project's model");
        let s = a.get("/api/compliance/status").await.json();
        assert_eq!(s["project_id"], app.project_id.as_str());
        assert_eq!(s["open_violations"]["critical"], 0);
        assert_eq!(s["registry"]["active"], 0);

        // B's records are untouched.
        let bl = b.get(VIOLATIONS).await.json();
        assert_eq!(bl["violations"][0]["status"], "open");
        let bmv = b.get(&format!("{MODELS}/{bm}")).await.json();
        assert_eq!((bmv["status"].clone(), bmv["owner"].clone()), (json!("active"), Value::Null));
        assert_eq!(b.get("/api/compliance/status").await.json()["open_violations"]["critical"], 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_wrong_methods_answer_json() {
    let app = TestApp::new(regpilot_store::Backend::Sqlite).await;
    let c = client(&app).await;
    let not_found = r#"{"error":"No such route","code":"NOT_FOUND"}"#;
    // `/` is the dashboard (its own tests are in dashboard_*.rs).
    for path in ["/api", "/api/nope", "/api/compliance", "/api/compliance/violations/x/y", "/v1", "/metrics/x"] {
        for key in [None, Some(c.key.secret.as_str())] {
            let resp = app.get(path, key).await;
            assert_eq!(resp.status, StatusCode::NOT_FOUND, "{path}: {}", resp.describe());
            assert_eq!(resp.text(), not_found, "{path}");
            assert!(resp.header("content-type").unwrap().starts_with("application/json"), "{path}");
        }
    }
    let not_allowed = r#"{"error":"Method not allowed on this route","code":"METHOD_NOT_ALLOWED"}"#;
    for (method, path, allowed) in [
        (Method::DELETE, VIOLATIONS, &["GET", "POST"][..]),
        (Method::PUT, VIOLATIONS, &["GET", "POST"]),
        (Method::POST, "/api/health", &["GET"]),
        (Method::DELETE, "/api/compliance/models/mdl_x", &["GET", "PATCH"]),
        (Method::GET, "/api/compliance/models/mdl_x/archive", &["POST"]),
        (Method::POST, "/api/compliance/status", &["GET"]),
        (Method::POST, "/metrics", &["GET"]),
        (Method::PATCH, "/api/ready", &["GET"]),
    ] {
        // With a key, or none: the method is wrong either way.
        for key in [Some(c.key.secret.as_str()), None, Some("sk_prod_short")] {
            let resp = app.call_with(method.clone(), path, key, None).await;
            let ctx = format!("{method} {path} with {}", if key.is_some() { "a key" } else { "no key" });
            assert_eq!(resp.status, StatusCode::METHOD_NOT_ALLOWED, "{ctx}: {}", resp.describe());
            assert_eq!(resp.text(), not_allowed, "{ctx}");
            assert!(resp.header("content-type").unwrap().starts_with("application/json"), "{ctx}");
            let allow: Vec<&str> = resp.header("allow").unwrap_or_default().split(',').map(str::trim).collect();
            for m in allowed {
                assert!(allow.contains(m), "{ctx}: Allow {allow:?} lacks {m}");
            }
        }
    }
}

/// Lenient forms a client may reasonably send: a note alone resolves; `resolution_note` and
/// `resolution` are the note; a violation may be given by its description alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolution_and_title_have_lenient_forms() {
    let app = TestApp::new(regpilot_store::Backend::Sqlite).await;
    let c = client(&app).await;
    for body in
        [r#"{"note":"fixed"}"#, r#"{"status":"resolved","resolution_note":"fixed"}"#, r#"{"resolution":"fixed"}"#]
    {
        let v = c.create_violation("t", "low").await;
        let resp = c.patch(&format!("{VIOLATIONS}/{}", v["id"].as_str().unwrap()), body).await;
        assert_eq!(resp.status, StatusCode::OK, "{body}: {}", resp.describe());
        assert_eq!(
            (resp.json()["status"].clone(), resp.json()["resolution_note"].clone()),
            (json!("resolved"), json!("fixed"))
        );
    }
    let resp =
        c.post(VIOLATIONS, r#"{"description":"Prompt logs kept past retention\nDetails…","severity":"high"}"#).await;
    assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.describe());
    assert_eq!(resp.json()["title"], "Prompt logs kept past retention");
    assert_400(&c.post(VIOLATIONS, r#"{"severity":"high"}"#).await, "title", "neither title nor description");
}

/// A body declared over the limit is refused before anything else, even authentication.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_declared_body_is_refused_first() {
    let app = TestApp::with_body_limit(regpilot_store::Backend::Sqlite, 1024).await;
    for key in [None, Some("not-a-key")] {
        let mut b = Request::builder().method(Method::POST).uri(VIOLATIONS).header(header::CONTENT_LENGTH, "2048");
        if let Some(k) = key {
            b = b.header("x-api-key", k);
        }
        let resp = app.send(b.body(Body::from(vec![b'x'; 2048])).unwrap()).await;
        assert_eq!(resp.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", resp.describe());
        assert_eq!(resp.json()["code"], "PAYLOAD_TOO_LARGE");
    }
}
