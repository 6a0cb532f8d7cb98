//! Snapshots of the contract a client sees: every error body and the OpenAPI document. A change
//! to any of them shows up in review as a snapshot diff (`cargo insta review`, or delete the
//! `.snap` file and re-run to accept).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request};
use common::*;
use regpilot_keys::KeyType;
use regpilot_store::Backend;

fn shown(resp: &Resp) -> String {
    let mut out = format!("{}\n", resp.status);
    for name in ["content-type", "www-authenticate", "allow"] {
        if let Some(v) = resp.header(name) {
            out.push_str(&format!("{name}: {v}\n"));
        }
    }
    out.push('\n');
    out.push_str(&resp.text());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_bodies() {
    let app = TestApp::with_body_limit(Backend::Sqlite, 64).await;
    let project = app.valid_key(KeyType::Project).await;
    let read_only = app.read_only_key(KeyType::Project).await;
    let unknown = unknown_key(KeyType::Project);

    insta::assert_snapshot!("missing_key", shown(&app.get("/api/compliance/status", None).await));
    insta::assert_snapshot!("invalid_key", shown(&app.get("/api/compliance/status", Some(&unknown)).await));
    insta::assert_snapshot!("invalid_key_on_health", shown(&app.get("/api/health", Some(&unknown)).await));
    let forbidden = app
        .call_with(Method::POST, "/api/compliance/violations", Some(&read_only.secret), Some(r#"{"title":"t"}"#))
        .await;
    insta::assert_snapshot!("insufficient_permissions", shown(&forbidden));
    let bad = app
        .call_with(
            Method::POST,
            "/api/compliance/violations",
            Some(&project.secret),
            Some(r#"{"title":"t","severity":"urgent"}"#),
        )
        .await;
    insta::assert_snapshot!("invalid_request", shown(&bad));
    let big = Request::builder()
        .method(Method::POST)
        .uri("/api/compliance/violations")
        .header("x-api-key", project.secret.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(vec![b' '; 65]))
        .unwrap();
    insta::assert_snapshot!("payload_too_large", shown(&app.send(big).await));
    insta::assert_snapshot!("not_found", shown(&app.get("/api/nothing-here", None).await));
    insta::assert_snapshot!("method_not_allowed", shown(&app.call(Method::DELETE, "/api/health", &[], None).await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document() {
    let app = TestApp::new(Backend::Sqlite).await;
    let resp = app.get("/api/openapi.json", None).await;
    assert_eq!(resp.status, 200);
    insta::assert_snapshot!("openapi", resp.text());
}
