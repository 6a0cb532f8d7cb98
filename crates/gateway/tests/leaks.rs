//! `POST /api/leaks` (README.md, "Leak response") in process: the reporter token (401 in the
//! error shape of README.md, "Errors", for every way of getting it wrong), malformed bodies
//! (400 naming the field, nothing changed), a live key refused on the next request, a replay
//! changing nothing, and the secret absent from every answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use common::*;
use regpilot_control::LeakAction;
use regpilot_gateway::{build_router, Dashboard, LeakReporterToken, LeakResponse};
use regpilot_keys::KeyType;
use regpilot_store::testing::backends;
use regpilot_store::Backend;
use serde_json::json;

const TOKEN: &str = "reporter-token-0123456789abcdef";
const REFUSED: &str = r#"{"error":"Missing or invalid leak reporter token","code":"INVALID_REPORTER_TOKEN"}"#;

/// The app with leak reports on.
async fn app_with(backend: Backend, action: LeakAction) -> TestApp {
    let mut app = TestApp::new(backend).await;
    let leaks = LeakResponse { reporter_token: LeakReporterToken::new(TOKEN), action };
    app.state = app.state.clone().with_leak_response(leaks);
    app.router = build_router(app.state.clone(), Arc::new(Dashboard::default()));
    app
}

async fn report(app: &TestApp, headers: &[(&str, &str)], body: &str) -> Resp {
    app.call(Method::POST, "/api/leaks", headers, Some(body)).await
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn labels(resp: &Resp) -> Vec<String> {
    resp.json().as_array().unwrap().iter().map(|v| v["label"].as_str().unwrap().to_owned()).collect()
}

fn one(token: &str) -> String {
    json!([{"token": token, "type": "regpilot_api_key", "url": "https://example.com/blob/main/app.py", "source": "content"}])
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reporter_token_failures_are_401_and_change_nothing() {
    for backend in backends() {
        let app = app_with(backend, LeakAction::Deactivate).await;
        let key = app.valid_key(KeyType::Gateway).await;
        let body = one(&key.secret);
        let wrong = format!("Bearer {TOKEN}x");
        let basic = format!("Basic {TOKEN}");
        let key_as_bearer = format!("Bearer {}", key.secret);
        let cases: Vec<Vec<(&str, &str)>> = vec![
            vec![],
            vec![("authorization", &wrong)],
            vec![("authorization", "Bearer ")],
            vec![("authorization", &basic)],
            vec![("authorization", TOKEN)],
            vec![("x-api-key", &key.secret)],
            vec![("authorization", &key_as_bearer)],
        ];
        for headers in &cases {
            let resp = report(&app, headers, &body).await;
            assert_401(&resp, REFUSED, &format!("[{backend:?}] {headers:?}"));
        }
        // The right token twice: which copy counts would depend on who wrote it.
        let right = bearer();
        let headers = [("authorization", right.as_str()), ("authorization", right.as_str())];
        let twice = app.call(Method::POST, "/api/leaks", &headers, Some(&body)).await;
        assert_401(&twice, REFUSED, "twice");
        assert_eq!(app.get("/api/health", Some(&key.secret)).await.status, StatusCode::OK, "the key still works");
        assert!(app.control.list_alerts(&app.project_id, true).await.unwrap().is_empty());

        // `Bearer` in any case, with surrounding whitespace.
        let lower = format!("  bearer {TOKEN} ");
        assert_eq!(report(&app, &[("authorization", &lower)], "[]").await.status, StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_reports_are_400_naming_the_field_and_change_nothing() {
    for backend in backends() {
        let app = app_with(backend, LeakAction::Deactivate).await;
        let key = app.valid_key(KeyType::Gateway).await;
        let auth = bearer();
        let h = [("authorization", auth.as_str())];
        let good = json!({"token": key.secret, "type": "t", "url": "u", "source": "s"});
        let too_many = serde_json::Value::Array(vec![json!({"token": "x", "type": "t"}); 1001]).to_string();
        let long_url = json!([{"token": key.secret, "type": "t", "url": "u".repeat(3000)}]).to_string();
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "body"),
            ("not json".into(), "body"),
            (format!("[{good}"), "body"),
            (good.to_string(), "body"),
            (json!([good, {"type": "t"}]).to_string(), "[1].token"),
            (json!([{"token": 5, "type": "t"}]).to_string(), "[0].token"),
            (json!([{"token": key.secret}]).to_string(), "[0].type"),
            (json!([{"token": key.secret, "type": "t", "extra": 1}]).to_string(), "[0].extra"),
            (too_many, "body"),
            (long_url, "url"),
        ];
        for (body, field) in &cases {
            let resp = report(&app, &h, body).await;
            let ctx = format!("[{backend:?}] {field}: {}", resp.describe());
            assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{ctx}");
            assert_eq!(resp.json()["code"], "INVALID_REQUEST", "{ctx}");
            assert_eq!(resp.json()["field"], *field, "{ctx}");
            assert!(!resp.text().contains(&key.secret), "{ctx}: the secret is echoed");
        }
        let text = app
            .call(Method::POST, "/api/leaks", &[("authorization", &auth), ("content-type", "text/plain")], None)
            .await;
        assert_eq!(text.status, StatusCode::BAD_REQUEST);
        assert_eq!(text.json()["field"], "Content-Type");
        assert_eq!(app.get("/api/health", Some(&key.secret)).await.status, StatusCode::OK, "nothing changed");
        assert!(app.control.list_alerts(&app.project_id, true).await.unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_key_is_refused_at_once_and_a_replay_changes_nothing() {
    for backend in backends() {
        let app = app_with(backend, LeakAction::Deactivate).await;
        let live = app.valid_key(KeyType::Gateway).await;
        let off = app.inactive_key(KeyType::Project).await;
        let stranger = unknown_key(KeyType::Project);
        let broken = with_bad_checksum(&app.valid_key(KeyType::Project).await.secret);
        let auth = bearer();
        let h = [("authorization", auth.as_str())];
        let body = json!([
            {"token": live.secret, "type": "regpilot_api_key", "url": "https://example.com/a.py", "source": "content"},
            {"token": off.secret, "type": "regpilot_api_key", "url": "https://example.com/b.py", "source": "content"},
            {"token": stranger, "type": "regpilot_api_key", "url": "https://example.com/c.py", "source": "content"},
            {"token": broken, "type": "regpilot_api_key", "url": "https://example.com/d.py", "source": "content"},
        ])
        .to_string();
        let resp = report(&app, &h, &body).await;
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.describe());
        assert_eq!(resp.header("cache-control"), Some("no-store"));
        assert_eq!(labels(&resp), ["live_key_deactivated", "inactive", "unknown", "invalid"]);
        let first = &resp.json()[0];
        assert_eq!(first["status"], "inactive");
        assert_eq!(first["alert_raised"], true);
        assert_eq!(first["kind"], "api_key");
        assert_eq!(first["token_prefix"], regpilot_keys::display_prefix_of(&live.secret));
        assert_eq!(resp.json()[3]["token_prefix"], serde_json::Value::Null);
        for secret in [&live.secret, &off.secret, &stranger, &broken] {
            assert!(!resp.text().contains(secret.as_str()), "an answer echoes a reported string");
        }
        // This instance applied its own change before answering.
        let refused = app.get("/api/health", Some(&live.secret)).await;
        assert_401(&refused, INVALID_BODY_HEALTH, "the reported key");

        let alerts = app.control.list_alerts(&app.project_id, true).await.unwrap();
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].message.contains("https://example.com/a.py"));
        let replay = report(&app, &h, &body).await;
        assert_eq!(labels(&replay), ["inactive", "inactive", "unknown", "invalid"]);
        assert_eq!(replay.json()[0]["alert_raised"], false);
        assert_eq!(app.control.list_alerts(&app.project_id, true).await.unwrap().len(), 1, "no second alert");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_only_keeps_the_key_working() {
    for backend in backends() {
        let app = app_with(backend, LeakAction::Alert).await;
        let live = app.valid_key(KeyType::Gateway).await;
        let auth = bearer();
        let resp = report(&app, &[("authorization", auth.as_str())], &one(&live.secret)).await;
        assert_eq!(resp.json()[0]["label"], "live_key_alerted", "{}", resp.describe());
        assert_eq!(resp.json()[0]["status"], "live");
        assert_eq!(app.get("/api/health", Some(&live.secret)).await.status, StatusCode::OK);
        let alerts = app.control.list_alerts(&app.project_id, true).await.unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].kind, regpilot_control::AlertKind::KeyLeaked);
    }
}
