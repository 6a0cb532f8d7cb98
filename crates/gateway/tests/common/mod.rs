//! In-process test harness: a fresh store, the control plane, a loaded key index and the router,
//! plus helpers to create keys in every state and to send requests with `oneshot`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use regpilot_control::{Actor, Control, NewKey, NewProject, Plan};
use regpilot_gateway::KeyIndex;
use regpilot_gateway::{build_router, AppState, Dashboard};
use regpilot_keys::{Environment, KeyType};
use regpilot_store::{AuditEntry, Backend, KeyRow, Store};
use tower::ServiceExt;

pub mod dashboard;

pub const MIB: usize = 1024 * 1024;
pub const DAY_MS: i64 = 86_400_000;

pub const INVALID_BODY: &str = r#"{"error":"Invalid or inactive API key","code":"INVALID_API_KEY"}"#;
pub const INVALID_BODY_HEALTH: &str =
    r#"{"error":"Invalid or inactive API key","code":"INVALID_API_KEY","authenticated":false}"#;
pub const MISSING_BODY: &str = r#"{"error":"Missing API key","code":"MISSING_API_KEY","headers_checked":["X-API-Key","X-RegPilot-Key","Api-Key","Authorization","X-Authorization","Proxy-Authorization"]}"#;

/// An AI catalogue whose one provider has no key configured: staging and production calls get
/// the 503 that says how to configure one, with no network involved.
pub fn unconfigured_ai() -> regpilot_ai::AiConfig {
    regpilot_ai::AiConfig {
        providers: vec![regpilot_ai::ProviderConfig {
            name: "upstream".into(),
            base_url: "http://127.0.0.1:9/v1".into(),
            api_key_env: Some("REGPILOT_TEST_UNSET_UPSTREAM_KEY".into()),
            api_key_file: None,
            models: vec![regpilot_ai::ModelConfig {
                id: "test-model".into(),
                prompt_cents_per_1k: 0.1,
                completion_cents_per_1k: 0.2,
            }],
        }],
        ..regpilot_ai::AiConfig::default()
    }
}

/// The same error in OpenAI's shape, as the `/v1` routes answer it: `{"error": {message, type,
/// param, code}}` with RegPilot's fields (README.md, "Errors") beside it.
pub fn openai_shaped(spec_body: &str, kind: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(spec_body).unwrap();
    let obj = v.as_object_mut().unwrap();
    let message = obj.remove("error").unwrap();
    let param = obj.get("field").cloned().unwrap_or(serde_json::Value::Null);
    let code = obj["code"].clone();
    obj.insert("error".into(), serde_json::json!({"message": message, "type": kind, "param": param, "code": code}));
    v
}

pub fn forbidden_body(scope: &str) -> String {
    format!(
        r#"{{"error":"API key lacks required permissions","code":"INSUFFICIENT_PERMISSIONS","required":"{scope}"}}"#
    )
}

/// A key as the tests use it: its id, its project and the secret.
#[derive(Clone)]
pub struct TestKey {
    pub id: String,
    pub project_id: String,
    pub secret: String,
}

/// An answer with its body read.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("body is UTF-8")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("ASCII header"))
    }

    /// Status and body in one line, for assertion messages.
    pub fn describe(&self) -> String {
        format!("{} {}", self.status, String::from_utf8_lossy(&self.body))
    }
}

/// Enterprise, no daily limit, a burst no test reaches (development keys get a tenth).
pub fn unlimited_project(name: &str) -> NewProject {
    NewProject { name: name.into(), plan: Plan::Enterprise, daily_limit: None, burst: Some(10_000_000) }
}

pub struct TestApp {
    pub backend: Backend,
    pub store: Store,
    pub control: Control,
    pub index: Arc<KeyIndex>,
    pub state: AppState,
    /// The dashboard's settings, clock and login throttle (its own state, beside `state`).
    pub dashboard: Arc<Dashboard>,
    pub router: Router,
    /// A project created with the app, on a plan whose limits these tests never reach (the
    /// limits have their own tests).
    pub project_id: String,
}

static ROW_COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestApp {
    pub async fn new(backend: Backend) -> TestApp {
        TestApp::with_body_limit(backend, MIB).await
    }

    pub async fn with_body_limit(backend: Backend, max_body_bytes: usize) -> TestApp {
        TestApp::build(backend, max_body_bytes, unconfigured_ai()).await
    }

    /// An app whose AI routes use `ai` (e.g. a mock upstream).
    pub async fn with_ai(backend: Backend, ai: regpilot_ai::AiConfig) -> TestApp {
        TestApp::build(backend, MIB, ai).await
    }

    /// An app whose AI routes use `ai`, with a body limit of its own.
    pub async fn with_ai_and_body_limit(backend: Backend, ai: regpilot_ai::AiConfig, max_body_bytes: usize) -> TestApp {
        TestApp::build(backend, max_body_bytes, ai).await
    }

    async fn build(backend: Backend, max_body_bytes: usize, ai: regpilot_ai::AiConfig) -> TestApp {
        let store = regpilot_store::testing::fresh_store(backend).await;
        let control = Control::new(store.clone());
        let project_id = control
            .create_project(&Actor::system(), unlimited_project("Test project"))
            .await
            .expect("create project")
            .id;
        let index = Arc::new(KeyIndex::new());
        let ai = regpilot_ai::Ai::new(&ai).expect("AI config");
        let state = AppState::new(control.clone(), index.clone(), max_body_bytes).with_ai(Arc::new(ai));
        state.load_index().await.expect("load index");
        state.set_ready(true);
        let dashboard = Arc::new(Dashboard::default());
        let router = build_router(state.clone(), dashboard.clone());
        TestApp { backend, store, control, index, state, dashboard, router, project_id }
    }

    /// Applies every key change made since the last load to the index (what the follower does).
    pub async fn refresh(&self) {
        self.state.feed.sync().await.expect("catch up");
    }

    pub async fn create_project(&self, name: &str) -> String {
        self.control.create_project(&Actor::system(), unlimited_project(name)).await.expect("create project").id
    }

    /// A project on `plan` (its standard limits), with the plan table refreshed.
    pub async fn create_project_on(&self, name: &str, plan: Plan) -> String {
        let p = NewProject { name: name.into(), plan, daily_limit: None, burst: None };
        let id = self.control.create_project(&Actor::system(), p).await.expect("create project").id;
        self.refresh().await;
        id
    }

    /// Creates a key through the control plane and refreshes the index.
    pub async fn create_key(
        &self,
        project_id: &str,
        key_type: KeyType,
        environment: Environment,
        read_only: bool,
        expires_in_days: Option<i64>,
    ) -> TestKey {
        let created = self
            .control
            .create_key(
                &Actor::system(),
                NewKey {
                    project_id: project_id.into(),
                    name: "test key".into(),
                    key_type,
                    environment,
                    read_only,
                    scopes: None,
                    expires_in_days,
                },
            )
            .await
            .expect("create key");
        self.refresh().await;
        TestKey { id: created.key.id, project_id: project_id.into(), secret: created.secret.expose().to_owned() }
    }

    /// An active key with the type's default scopes, in production, in the app's project.
    pub async fn valid_key(&self, key_type: KeyType) -> TestKey {
        self.create_key(&self.project_id, key_type, Environment::Production, false, None).await
    }

    pub async fn read_only_key(&self, key_type: KeyType) -> TestKey {
        self.create_key(&self.project_id, key_type, Environment::Production, true, None).await
    }

    pub async fn inactive_key(&self, key_type: KeyType) -> TestKey {
        let k = self.valid_key(key_type).await;
        self.control.deactivate_key(&Actor::system(), &k.id).await.expect("deactivate");
        self.refresh().await;
        k
    }

    pub async fn deleted_key(&self, key_type: KeyType) -> TestKey {
        let k = self.valid_key(key_type).await;
        self.control.delete_key(&Actor::system(), &k.id).await.expect("delete");
        self.refresh().await;
        k
    }

    /// The API cannot create a key that has already expired: insert its row directly, with an
    /// expiry one day in the past.
    pub async fn expired_key(&self, key_type: KeyType) -> TestKey {
        let now = regpilot_store::now_ms();
        self.insert_raw_key(key_type, Environment::Production, "active", Some(now - DAY_MS)).await
    }

    /// Inserts a key row directly into the store (bypassing the control plane's rules).
    pub async fn insert_raw_key(
        &self,
        key_type: KeyType,
        environment: Environment,
        status: &str,
        expires_at: Option<i64>,
    ) -> TestKey {
        let secret = regpilot_keys::generate(key_type, environment).expect("generate");
        let now = regpilot_store::now_ms();
        let id = format!("key_raw{}x{}", std::process::id(), ROW_COUNTER.fetch_add(1, Ordering::Relaxed));
        let row = KeyRow {
            id: id.clone(),
            project_id: self.project_id.clone(),
            name: "raw key".into(),
            key_type: key_type.as_str().into(),
            environment: environment.as_str().into(),
            scopes: key_type.default_scopes().to_list(),
            status: status.into(),
            digest: regpilot_keys::digest(secret.expose()).to_hex(),
            display_prefix: regpilot_keys::display_prefix(&secret),
            created_at: now - 2 * DAY_MS,
            created_by: "test".into(),
            expires_at,
            last_used_at: None,
            deleted_at: None,
        };
        let audit = AuditEntry {
            at: now,
            actor: "test".into(),
            action: "key.create".into(),
            target_type: "key".into(),
            target_id: id.clone(),
            project_id: Some(self.project_id.clone()),
            detail: None,
        };
        self.store.insert_key(&row, &audit).await.expect("insert key row");
        self.refresh().await;
        TestKey { id, project_id: self.project_id.clone(), secret: secret.expose().to_owned() }
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let response = self.router.clone().oneshot(req).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.expect("read body").to_bytes().to_vec();
        Resp { status, headers, body }
    }

    /// Sends `method path` with the given headers; a JSON body gets `Content-Type:
    /// application/json`.
    pub async fn call(&self, method: Method, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Resp {
        let mut builder = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = match body {
            Some(b) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_owned())
            }
            None => Body::empty(),
        };
        self.send(builder.body(body).expect("request")).await
    }

    /// Sends with the key in `X-API-Key` (or no key).
    pub async fn call_with(&self, method: Method, path: &str, key: Option<&str>, body: Option<&str>) -> Resp {
        match key {
            Some(k) => self.call(method, path, &[("x-api-key", k)], body).await,
            None => self.call(method, path, &[], body).await,
        }
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> Resp {
        self.call_with(Method::GET, path, key, None).await
    }
}

/// A well-formed key of the same shape whose checksum no longer matches: its last character is
/// replaced by another base62 character.
pub fn with_bad_checksum(secret: &str) -> String {
    let mut s = secret.to_owned();
    let last = s.pop().expect("non-empty");
    s.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(regpilot_keys::parse(&s).err(), Some(regpilot_keys::ParseError::BadChecksum), "still a valid key");
    s
}

/// A freshly generated, well-formed key that was never stored.
pub fn unknown_key(key_type: KeyType) -> String {
    regpilot_keys::generate(key_type, Environment::Production).expect("generate").expose().to_owned()
}

/// Asserts a 401 answer: the status, `WWW-Authenticate: Bearer` and the exact body bytes.
#[track_caller]
pub fn assert_401(resp: &Resp, expected_body: &str, context: &str) {
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{context}: {}", resp.describe());
    assert_eq!(resp.header("www-authenticate"), Some("Bearer"), "{context}: WWW-Authenticate");
    assert_eq!(resp.text(), expected_body, "{context}: body");
}
