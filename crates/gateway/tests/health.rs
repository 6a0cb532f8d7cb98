//! `GET /api/health`, the three cases of README.md, "Endpoints".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use regpilot_keys::{Environment, KeyType};
use regpilot_store::testing::backends;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_is_a_liveness_probe() {
    for backend in backends() {
        let app = TestApp::new(backend).await;
        let resp = app.get("/api/health", None).await;
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.describe());
        assert_eq!(resp.json(), json!({"status": "ok", "authenticated": false}));
        assert_eq!(resp.text(), r#"{"status":"ok","authenticated":false}"#);
        assert!(resp.header("content-type").unwrap().starts_with("application/json"));
        assert!(resp.header("www-authenticate").is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_key_is_described() {
    for backend in backends() {
        let app = TestApp::new(backend).await;
        let other_project = app.create_project("Other").await;
        for project in [app.project_id.clone(), other_project] {
            for key_type in KeyType::ALL {
                for environment in Environment::ALL {
                    for read_only in [false, true] {
                        let key = app.create_key(&project, key_type, environment, read_only, None).await;
                        let resp = app.get("/api/health", Some(&key.secret)).await;
                        let ctx = format!("[{backend:?}] {key_type} {environment} read_only={read_only}");
                        assert_eq!(resp.status, StatusCode::OK, "{ctx}: {}", resp.describe());
                        assert_eq!(
                            resp.json(),
                            json!({
                                "status": "ok",
                                "authenticated": true,
                                "project_id": project,
                                "key_type": key_type.as_str(),
                                "environment": environment.as_str(),
                            }),
                            "{ctx}"
                        );
                        assert!(!resp.text().contains(&key.secret), "{ctx}: the secret is echoed");
                        assert!(!resp.text().contains(&key.id), "{ctx}: nothing but the documented fields");
                    }
                }
            }
        }
        // A key that expires later is valid today.
        let key = app.create_key(&app.project_id, KeyType::Gateway, Environment::Development, false, Some(30)).await;
        let resp = app.get("/api/health", Some(&key.secret)).await;
        assert_eq!(resp.json()["authenticated"], true, "{}", resp.describe());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_is_not_valid_is_refused() {
    for backend in backends() {
        let app = TestApp::new(backend).await;
        let valid = app.valid_key(KeyType::Gateway).await;
        let refused = [
            ("malformed", "sk_prod_short".to_owned()),
            ("bad checksum", with_bad_checksum(&valid.secret)),
            ("unknown", unknown_key(KeyType::Gateway)),
            ("inactive", app.inactive_key(KeyType::Gateway).await.secret),
            ("deleted", app.deleted_key(KeyType::Project).await.secret),
            ("expired", app.expired_key(KeyType::Project).await.secret),
        ];
        for (what, secret) in &refused {
            for (header, value) in [("X-API-Key", secret.clone()), ("Authorization", format!("Bearer {secret}"))] {
                let resp = app.call(axum::http::Method::GET, "/api/health", &[(header, &value)], None).await;
                assert_401(&resp, INVALID_BODY_HEALTH, &format!("[{backend:?}] {what} in {header}"));
                assert_eq!(
                    resp.json(),
                    json!({"error": "Invalid or inactive API key", "code": "INVALID_API_KEY", "authenticated": false})
                );
            }
        }
    }
}

/// A valid key over its limit is still a valid key: the health route's 429 says so, so a
/// script reading `authenticated` (the seed's `test_auth.py`) does not break on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_key_is_still_reported_authenticated() {
    let app = TestApp::new(regpilot_store::Backend::Sqlite).await;
    let free = app.create_project_on("Free", regpilot_control::Plan::Free).await;
    // A development key of the free plan: a burst of 1.
    let key = app.create_key(&free, KeyType::Gateway, regpilot_keys::Environment::Development, false, None).await;
    assert_eq!(app.get("/api/health", Some(&key.secret)).await.status, axum::http::StatusCode::OK);
    let limited = app.get("/api/health", Some(&key.secret)).await;
    assert_eq!(limited.status, axum::http::StatusCode::TOO_MANY_REQUESTS, "{}", limited.describe());
    assert_eq!(
        limited.json(),
        json!({"error": "Rate limit exceeded", "code": "RATE_LIMIT_EXCEEDED", "authenticated": true, "limit": "burst", "retry_after": 1})
    );
    // Elsewhere the 429 is the one of README.md, "Errors", without the field.
    let usage = app.get("/api/usage", Some(&key.secret)).await;
    assert_eq!(usage.status, axum::http::StatusCode::TOO_MANY_REQUESTS);
    assert!(usage.json().get("authenticated").is_none());
}
