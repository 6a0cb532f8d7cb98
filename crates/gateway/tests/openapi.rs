//! `GET /api/openapi.json` documents every route with the access it really has, and
//! `GET /metrics` counts auth outcomes without ever showing a key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::*;
use regpilot_gateway::route_table;
use regpilot_gateway::Access;
use regpilot_keys::KeyType;
use regpilot_store::Backend;
use serde_json::{json, Value};

async fn document(app: &TestApp) -> Value {
    let resp = app.get("/api/openapi.json", None).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.describe());
    assert!(resp.header("content-type").unwrap().starts_with("application/json"));
    resp.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_covers_every_route_with_its_access() {
    let app = TestApp::new(Backend::Sqlite).await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    assert!(doc["info"]["title"].is_string());
    assert!(doc.get("security").is_none(), "a document-wide requirement would cover the public routes too");
    assert_eq!(doc["components"]["securitySchemes"]["api_key"]["type"], "apiKey");
    assert_eq!(doc["components"]["securitySchemes"]["api_key"]["in"], "header");
    assert_eq!(doc["components"]["securitySchemes"]["api_key"]["name"], "X-API-Key");

    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "patch", "put", "delete", "head", "options", "trace"].contains(&method.as_str()) {
                documented.insert((method.clone(), path.clone()));
            }
        }
    }
    let mut served = BTreeSet::new();
    for route in route_table() {
        let method = route.method.as_str().to_ascii_lowercase();
        served.insert((method.clone(), route.path.to_owned()));
        let ctx = format!("{} {}", route.method, route.path);
        let op = &doc["paths"][route.path][&method];
        assert!(op.is_object(), "{ctx} is not documented");
        assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{ctx}: no responses");
        match route.access {
            Access::Public => assert!(op.get("security").is_none(), "{ctx}: a public route needs no key: {op}"),
            Access::OptionalKey => {
                let security = op["security"].as_array().unwrap_or_else(|| panic!("{ctx}: no security"));
                assert!(security.contains(&json!({})), "{ctx}: a key is optional: {security:?}");
                assert!(security.contains(&json!({"api_key": []})), "{ctx}: a key is accepted: {security:?}");
                assert_eq!(security.len(), 2, "{ctx}");
            }
            Access::Scope(scope) => {
                assert_eq!(op["security"], json!([{"api_key": [scope.as_str()]}]), "{ctx}");
            }
            Access::LeakReporter => {
                assert_eq!(op["security"], json!([{"leak_reporter": []}]), "{ctx}");
                assert_eq!(doc["components"]["securitySchemes"]["leak_reporter"]["scheme"], "bearer");
            }
            Access::Admin(_) => {
                let security = op["security"].as_array().unwrap_or_else(|| panic!("{ctx}: no security"));
                assert!(security.iter().any(|s| s.get("admin_token").is_some()), "{ctx}: {security:?}");
                assert!(security.iter().any(|s| s.get("dashboard_session").is_some()), "{ctx}: {security:?}");
                assert!(op["responses"]["401"].is_object() && op["responses"]["403"].is_object(), "{ctx}");
            }
        }
        if route.path.contains("{id}") {
            let params = op["parameters"].as_array().unwrap_or_else(|| panic!("{ctx}: no parameters"));
            assert!(params.iter().any(|p| p["name"] == "id" && p["in"] == "path" && p["required"] == true), "{ctx}");
        }
        // Actions on a record (archive, deactivate, …) take no body.
        let action = ["/archive", "/deactivate", "/reactivate", "/ack", "/password-reset"]
            .iter()
            .any(|a| route.path.ends_with(a));
        if route.method == Method::PATCH || (route.method == Method::POST && !action) {
            assert!(op["requestBody"]["content"]["application/json"].is_object(), "{ctx}: no JSON request body");
        }
    }
    assert_eq!(documented, served, "the document and the router disagree");
}

fn metric(text: &str, series: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.split_once(' ').is_some_and(|(name, _)| name == series))
        .unwrap_or_else(|| panic!("no series {series} in:\n{text}"));
    line.rsplit_once(' ').unwrap().1.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_outcomes_and_never_show_a_key() {
    let app = TestApp::new(Backend::Sqlite).await;
    let valid = app.valid_key(KeyType::Project).await;
    let read_only = app.read_only_key(KeyType::Project).await;
    let inactive = app.inactive_key(KeyType::Gateway).await;
    let deleted = app.deleted_key(KeyType::Project).await;
    let expired = app.expired_key(KeyType::Project).await;
    let unknown = [unknown_key(KeyType::Project), unknown_key(KeyType::Gateway), unknown_key(KeyType::Project)];
    let bad_checksum = with_bad_checksum(&valid.secret);
    let used = [&valid, &read_only, &inactive, &deleted, &expired];

    let list = "/api/compliance/violations";
    for k in &unknown {
        assert_eq!(app.get(list, Some(k)).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.get("/api/health", Some(&unknown[0])).await.status, StatusCode::UNAUTHORIZED);
    for k in [&inactive, &deleted, &expired] {
        assert_eq!(app.get(list, Some(&k.secret)).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.get(list, Some(&bad_checksum)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(list, Some("sk_prod_short")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(list, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/health", None).await.status, StatusCode::OK);
    // A key in the query string must not leak into a label either.
    assert_eq!(app.get(&format!("{list}?api_key={}", valid.secret), None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&format!("/nowhere?api_key={}", valid.secret), None).await.status, StatusCode::NOT_FOUND);
    let created =
        app.call_with(Method::POST, list, Some(&valid.secret), Some(r#"{"title":"t","severity":"low"}"#)).await.json();
    let vid = created["id"].as_str().unwrap().to_owned();
    let patch = format!("{list}/{vid}");
    let resp = app.call_with(Method::PATCH, &patch, Some(&read_only.secret), Some(r#"{"status":"open"}"#)).await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(list, Some(&read_only.secret)).await.status, StatusCode::OK);

    let resp = app.get("/metrics", Some(&valid.secret)).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert!(resp.header("content-type").unwrap().starts_with("text/plain"));
    let text = resp.text();

    assert_eq!(metric(&text, r#"regpilot_auth_outcomes_total{outcome="unknown"}"#), 4, "{text}");
    assert_eq!(metric(&text, r#"regpilot_auth_outcomes_total{outcome="malformed"}"#), 1);
    assert_eq!(metric(&text, r#"regpilot_auth_outcomes_total{outcome="bad_checksum"}"#), 1);
    assert_eq!(metric(&text, r#"regpilot_auth_outcomes_total{outcome="inactive"}"#), 1);
    assert_eq!(metric(&text, r#"regpilot_auth_outcomes_total{outcome="deleted"}"#), 1);
    assert_eq!(metric(&text, r#"regpilot_auth_outcomes_total{outcome="expired"}"#), 1);
    // No key: the list twice (once with the key in the URL), health once.
    assert_eq!(metric(&text, r#"regpilot_auth_outcomes_total{outcome="missing"}"#), 3);
    // The create, the forbidden patch (its key is valid) and the read-only list.
    assert_eq!(metric(&text, r#"regpilot_auth_outcomes_total{outcome="ok"}"#), 3);
    assert_eq!(metric(&text, r#"regpilot_auth_outcomes_total{outcome="insufficient_permissions"}"#), 1);
    let series = |route: &str, method: &str, status: u16| {
        format!(r#"regpilot_http_requests_total{{route="{route}",method="{method}",status="{status}"}}"#)
    };
    assert_eq!(metric(&text, &series(list, "GET", 401)), 10, "{text}");
    assert_eq!(metric(&text, &series("/api/compliance/violations/{id}", "PATCH", 403)), 1);
    assert_eq!(metric(&text, &series("/api/health", "GET", 200)), 1);
    assert_eq!(metric(&text, &series("/api/health", "GET", 401)), 1);
    assert_eq!(metric(&text, &series("unmatched", "GET", 404)), 1);
    assert!(metric(&text, "regpilot_keys_indexed") >= 5);

    for k in used {
        let digest = regpilot_keys::digest(&k.secret).to_hex();
        assert!(!text.contains(&k.secret), "a secret is in /metrics");
        assert!(!text.contains(&digest), "a digest is in /metrics");
        assert!(!text.contains(&digest.to_ascii_uppercase()), "a digest is in /metrics");
        assert!(!text.contains(&k.secret[8..24]), "part of a secret is in /metrics");
        assert!(!text.contains(&k.id), "a key id is a label: unbounded cardinality");
    }
    for s in unknown.iter().chain([&bad_checksum]) {
        assert!(!text.contains(s.as_str()), "a presented string is in /metrics");
        assert!(!text.contains(&regpilot_keys::digest(s).to_hex()), "a presented digest is in /metrics");
    }
    assert!(!text.contains("sk_prod_short"));
    assert!(!text.contains(&vid), "a record id is a label");
    assert!(!text.contains("api_key="), "a URL is a label");
}
