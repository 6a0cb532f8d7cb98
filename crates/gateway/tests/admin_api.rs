//! The admin API (README.md, "Admin API"): every admin route × every credential — no token, a
//! malformed, bad-checksum, unknown, revoked or expired token, a deactivated user's token, a
//! read-only token, a viewer's, an admin's, a dashboard session with and without its CSRF
//! token — then what the routes do: the secret shown once, paging, errors in the README's shape,
//! token uses audited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use axum::http::{Method, StatusCode};
use common::dashboard::{app_with_user, csrf_of, get as page, login, EMAIL};
use common::*;
use regpilot_control::{Actor, AdminTokenView};
use regpilot_gateway::{route_table, Access, AdminAccess};
use regpilot_keys::KeyType;
use regpilot_store::testing::backends;
use regpilot_store::{AdminTokenRow, AlertRow, Backend};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cred {
    None,
    Malformed,
    BadChecksum,
    Unknown,
    Revoked,
    Expired,
    UserInactive,
    ReadOnly,
    Viewer,
    Admin,
    SessionNoCsrf,
    Session,
}

const ALL: [Cred; 12] = [
    Cred::None,
    Cred::Malformed,
    Cred::BadChecksum,
    Cred::Unknown,
    Cred::Revoked,
    Cred::Expired,
    Cred::UserInactive,
    Cred::ReadOnly,
    Cred::Viewer,
    Cred::Admin,
    Cred::SessionNoCsrf,
    Cred::Session,
];

const INVALID: &str = r#"{"error":"Invalid, revoked or expired admin token","code":"INVALID_ADMIN_TOKEN"}"#;

static N: AtomicU32 = AtomicU32::new(0);

struct Fx {
    app: TestApp,
    admin_id: String,
    viewer_id: String,
    target_user: String,
    tokens: std::collections::HashMap<&'static str, String>,
    cookie: String,
    csrf: String,
    key_id: String,
    alert_id: String,
}

async fn token(app: &TestApp, user: &str, read_only: bool) -> (AdminTokenView, String) {
    let t = app.control.create_admin_token(&Actor::system(), user, "t", None, read_only).await.unwrap();
    let s = t.secret.expose().to_owned();
    (t.token, s)
}

async fn fixture(backend: Backend) -> Fx {
    let (app, admin_id) = app_with_user(backend).await;
    let viewer = app
        .control
        .create_user(&Actor::system(), "viewer@example.com", "a long enough password".into(), "viewer", false)
        .await
        .unwrap();
    let gone = app
        .control
        .create_user(&Actor::system(), "gone@example.com", "a long enough password".into(), "admin", false)
        .await
        .unwrap();
    let target = app
        .control
        .create_user(&Actor::system(), "target@example.com", "a long enough password".into(), "viewer", false)
        .await
        .unwrap();
    let mut tokens = std::collections::HashMap::new();
    tokens.insert("admin", token(&app, &admin_id, false).await.1);
    tokens.insert("read_only", token(&app, &admin_id, true).await.1);
    tokens.insert("viewer", token(&app, &viewer.id, false).await.1);
    let (revoked, secret) = token(&app, &admin_id, false).await;
    app.control.revoke_admin_token(&Actor::system(), &revoked.id, None).await.unwrap();
    tokens.insert("revoked", secret);
    tokens.insert("inactive", token(&app, &gone.id, false).await.1);
    app.control.deactivate_user(&Actor::system(), &gone.id).await.unwrap();
    // The API cannot make a token that has already expired: insert its row.
    let expired = regpilot_keys::generate_admin_token().unwrap();
    let now = regpilot_store::now_ms();
    let row = AdminTokenRow {
        id: "tok_expired".into(),
        user_id: admin_id.clone(),
        name: "old".into(),
        digest: regpilot_keys::digest(expired.expose()).to_hex(),
        display_prefix: regpilot_keys::admin_token_display_prefix(&expired),
        read_only: false,
        created_at: now - 10 * regpilot_store::DAY_MS,
        created_by: "test".into(),
        expires_at: Some(now - regpilot_store::DAY_MS),
        last_used_at: None,
        revoked_at: None,
        revoked_by: None,
    };
    let audit = regpilot_store::AuditEntry {
        at: now,
        actor: "test".into(),
        action: "admin_token.create".into(),
        target_type: "admin_token".into(),
        target_id: row.id.clone(),
        project_id: None,
        detail: None,
    };
    app.store.insert_admin_token(&row, &audit).await.unwrap();
    tokens.insert("expired", expired.expose().to_owned());
    let good = tokens["admin"].clone();
    let mut broken = good.clone();
    let last = broken.pop().unwrap();
    broken.push(if last == 'A' { 'B' } else { 'A' });
    assert!(!regpilot_keys::is_admin_token(&broken));
    tokens.insert("bad_checksum", broken);
    tokens.insert("unknown", regpilot_keys::generate_admin_token().unwrap().expose().to_owned());
    tokens.insert("malformed", "rpa_not-a-token".into());

    let cookie = login(&app).await;
    let csrf = csrf_of(&page(&app, "/", Some(&cookie)).await);
    let key = app.valid_key(KeyType::Gateway).await;
    let alert = AlertRow {
        id: "alrt_table".into(),
        project_id: app.project_id.clone(),
        key_id: Some(key.id.clone()),
        kind: "new_country".into(),
        severity: "warning".into(),
        message: "m".into(),
        detail: "{}".into(),
        dedupe: "table".into(),
        created_at: now,
        acknowledged_at: None,
        acknowledged_by: None,
        key_name: None,
    };
    assert!(app.store.insert_alert(&alert).await.unwrap());
    Fx {
        app,
        admin_id,
        viewer_id: viewer.id,
        target_user: target.id,
        tokens,
        cookie,
        csrf,
        key_id: key.id,
        alert_id: alert.id,
    }
}

impl Fx {
    /// The user a credential acts as (for the caller's own tokens).
    fn user_of(&self, cred: Cred) -> &str {
        match cred {
            Cred::Viewer => &self.viewer_id,
            _ => &self.admin_id,
        }
    }

    fn headers(&self, cred: Cred, method: &Method) -> Vec<(&'static str, String)> {
        let bearer = |name: &str| vec![("authorization", format!("Bearer {}", self.tokens[name]))];
        match cred {
            Cred::None => vec![],
            Cred::Malformed => bearer("malformed"),
            Cred::BadChecksum => bearer("bad_checksum"),
            Cred::Unknown => bearer("unknown"),
            Cred::Revoked => bearer("revoked"),
            Cred::Expired => bearer("expired"),
            Cred::UserInactive => bearer("inactive"),
            Cred::ReadOnly => bearer("read_only"),
            Cred::Viewer => bearer("viewer"),
            Cred::Admin => bearer("admin"),
            Cred::SessionNoCsrf => vec![("cookie", self.cookie.clone())],
            Cred::Session if *method == Method::GET => vec![("cookie", self.cookie.clone())],
            Cred::Session => vec![("cookie", self.cookie.clone()), ("x-csrf-token", self.csrf.clone())],
        }
    }

    /// A concrete path for the route: destructive routes get a record of their own each call.
    async fn path(&self, template: &str, cred: Cred) -> String {
        let app = &self.app;
        let id = match template {
            t if t.starts_with("/api/admin/projects/{id}") => app.project_id.clone(),
            "/api/admin/keys/{id}" | "/api/admin/keys/{id}/roll" => app.valid_key(KeyType::Gateway).await.id,
            t if t.starts_with("/api/admin/keys/{id}") => self.key_id.clone(),
            t if t.starts_with("/api/admin/alerts/{id}") => self.alert_id.clone(),
            t if t.starts_with("/api/admin/users/{id}") => self.target_user.clone(),
            "/api/admin/tokens/{id}" => token(app, self.user_of(cred), false).await.0.id,
            _ => String::new(),
        };
        template.replace("{id}", &id)
    }
}

fn body_for(method: &Method, template: &str) -> Option<String> {
    let n = N.fetch_add(1, Ordering::Relaxed);
    let b = match (method.as_str(), template) {
        ("POST", "/api/admin/projects") => json!({"name": format!("P{n}")}),
        ("POST", "/api/admin/projects/{id}/plan") => json!({"plan": "enterprise", "burst": 10_000_000}),
        ("POST", "/api/admin/projects/{id}/keys") => json!({"type": "gateway", "environment": "dev", "name": "k"}),
        ("POST", "/api/admin/keys/status") => json!({"digests": ["0".repeat(64)]}),
        ("PATCH", "/api/admin/keys/{id}") => json!({"name": "renamed"}),
        ("POST", "/api/admin/keys/{id}/roll") => json!({"grace": "1h"}),
        ("POST", "/api/admin/users") => {
            json!({"email": format!("u{n}@example.com"), "password": "a long enough password", "role": "viewer"})
        }
        ("POST", "/api/admin/users/{id}/role") => json!({"role": "viewer"}),
        ("POST", "/api/admin/tokens") => json!({"name": "t"}),
        _ => return None,
    };
    Some(b.to_string())
}

/// What the handler answers when it runs.
fn success(method: &Method, template: &str) -> StatusCode {
    let created = [
        "/api/admin/projects",
        "/api/admin/projects/{id}/keys",
        "/api/admin/users",
        "/api/admin/keys/{id}/roll",
        "/api/admin/tokens",
    ];
    if *method == Method::POST && created.contains(&template) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

#[derive(Debug, PartialEq)]
enum Expect {
    Ran,
    Missing,
    Invalid,
    Forbidden,
    Csrf,
}

fn expect(access: AdminAccess, method: &Method, cred: Cred) -> Expect {
    let writes = *method != Method::GET;
    match cred {
        Cred::None => Expect::Missing,
        Cred::Malformed | Cred::BadChecksum | Cred::Unknown | Cred::Revoked | Cred::Expired | Cred::UserInactive => {
            Expect::Invalid
        }
        Cred::SessionNoCsrf if writes => Expect::Csrf,
        Cred::ReadOnly if writes && access != AdminAccess::Read => Expect::Forbidden,
        Cred::Viewer if access == AdminAccess::Write => Expect::Forbidden,
        _ => Expect::Ran,
    }
}

async fn run_table(backend: Backend) {
    let fx = fixture(backend).await;
    let app = &fx.app;
    let admin_routes: Vec<_> = route_table().into_iter().filter(|r| matches!(r.access, Access::Admin(_))).collect();
    assert_eq!(admin_routes.len(), 27, "every admin route is in the table below");
    let mut checked = 0;
    for route in &admin_routes {
        let Access::Admin(access) = route.access else { unreachable!() };
        let mut invalid_bodies = Vec::new();
        for cred in ALL {
            let path = fx.path(route.path, cred).await;
            let headers = fx.headers(cred, &route.method);
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let body = body_for(&route.method, route.path);
            let resp = app.call(route.method.clone(), &path, &headers, body.as_deref()).await;
            let ctx = format!("[{backend:?}] {} {} with {cred:?}", route.method, route.path);
            assert_eq!(resp.header("cache-control"), Some("no-store"), "{ctx}");
            for secret in fx.tokens.values() {
                assert!(!resp.text().contains(secret.as_str()), "{ctx}: a token in the answer");
            }
            match expect(access, &route.method, cred) {
                Expect::Ran => {
                    assert_eq!(resp.status, success(&route.method, route.path), "{ctx}: {}", resp.describe());
                    assert!(resp.json().is_object(), "{ctx}");
                }
                Expect::Missing => {
                    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{ctx}");
                    assert_eq!(resp.header("www-authenticate"), Some("Bearer"), "{ctx}");
                    assert_eq!(resp.json()["code"], "MISSING_ADMIN_TOKEN", "{ctx}");
                }
                Expect::Invalid => {
                    assert_401(&resp, INVALID, &ctx);
                    invalid_bodies.push(resp.body.clone());
                }
                Expect::Forbidden => {
                    assert_eq!(resp.status, StatusCode::FORBIDDEN, "{ctx}: {}", resp.describe());
                    assert_eq!(
                        (resp.json()["code"].as_str(), resp.json()["required"].as_str()),
                        (Some("INSUFFICIENT_PERMISSIONS"), Some("admin")),
                        "{ctx}"
                    );
                }
                Expect::Csrf => {
                    assert_eq!(resp.status, StatusCode::FORBIDDEN, "{ctx}: {}", resp.describe());
                    assert_eq!(resp.json()["code"], "CSRF_REJECTED", "{ctx}");
                }
            }
            checked += 1;
        }
        assert_eq!(invalid_bodies.len(), 6);
        assert!(invalid_bodies.iter().all(|b| b == &invalid_bodies[0]), "one 401 for every unusable token");
    }
    assert_eq!(checked, 27 * ALL.len());

    // Token writes are audited, and every token use is recorded as the token's last use.
    let audit = app.store.audit_page(None, None, 10_000).await.unwrap();
    let uses = audit.iter().filter(|(_, a)| a.action == "admin_token.use").count();
    assert!(uses >= 20, "{uses} token writes audited");
    assert!(audit.iter().any(|(_, a)| a.action == "key.roll" && a.actor.starts_with(&format!("user:{EMAIL} token:"))));
    assert!(
        audit.iter().any(|(_, a)| a.action == "key.roll" && a.actor == format!("user:{EMAIL}")),
        "session writes name the user"
    );
    for name in ["admin", "read_only", "viewer"] {
        let digest = regpilot_keys::digest(&fx.tokens[name]).to_hex();
        let row = app.store.admin_token_by_digest(&digest).await.unwrap().unwrap();
        assert!(row.last_used_at.is_some(), "{name}: the use is recorded");
    }
    for name in ["revoked", "inactive", "expired"] {
        let digest = regpilot_keys::digest(&fx.tokens[name]).to_hex();
        let row = app.store.admin_token_by_digest(&digest).await.unwrap().unwrap();
        assert!(row.last_used_at.is_none(), "{name}: a refused token was not used");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_times_every_credential() {
    for backend in backends() {
        run_table(backend).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_manages_keys_with_the_same_rules_and_shapes() {
    for backend in backends() {
        let (app, admin_id) = app_with_user(backend).await;
        let (_, tok) = token(&app, &admin_id, false).await;
        let auth = format!("Bearer {tok}");
        let h = [("authorization", auth.as_str())];
        let call = |m: Method, p: String, b: Option<Value>| {
            let app = &app;
            async move { app.call(m, &p, &h, b.map(|b| b.to_string()).as_deref()).await }
        };

        // A project, then a key: the secret once, never in a listing.
        let p = call(Method::POST, "/api/admin/projects".into(), Some(json!({"name": "Acme", "plan": "pro"}))).await;
        assert_eq!(p.status, StatusCode::CREATED, "{}", p.describe());
        let pid = p.json()["id"].as_str().unwrap().to_owned();
        let k = call(
            Method::POST,
            format!("/api/admin/projects/{pid}/keys"),
            Some(json!({"type": "gateway", "environment": "prod", "name": "web"})),
        )
        .await;
        assert_eq!(k.status, StatusCode::CREATED, "{}", k.describe());
        let secret = k.json()["secret"].as_str().unwrap().to_owned();
        let kid = k.json()["id"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("sk_prod_"));
        // Applied on this instance before the answer: the key works at once.
        assert_eq!(app.get("/api/health", Some(&secret)).await.status, StatusCode::OK);
        let list = call(Method::GET, format!("/api/admin/projects/{pid}/keys"), None).await;
        assert_eq!(list.json()["keys"].as_array().unwrap().len(), 1);
        assert!(list.json()["next_cursor"].is_null());
        assert!(!list.text().contains(&secret));
        let got = call(Method::GET, format!("/api/admin/keys/{kid}"), None).await;
        assert!(!got.text().contains(&secret) && got.json()["rolled_to"].is_null());

        // Errors in the README's shape, naming the field.
        let bad = call(
            Method::POST,
            format!("/api/admin/projects/{pid}/keys"),
            Some(json!({"type": "gateway", "environment": "moon", "name": "x"})),
        )
        .await;
        assert_eq!(
            (bad.status, bad.json()["code"].as_str(), bad.json()["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("INVALID_REQUEST"), Some("environment"))
        );
        let bad = call(
            Method::POST,
            format!("/api/admin/projects/{pid}/keys"),
            Some(json!({"type": "gateway", "environment": "dev", "name": "x", "extra": 1})),
        )
        .await;
        assert_eq!(bad.json()["field"], "extra");
        let none = call(Method::GET, "/api/admin/keys/key_nope".into(), None).await;
        assert_eq!((none.status, none.json()["code"].as_str()), (StatusCode::NOT_FOUND, Some("NOT_FOUND")));
        let bad = call(Method::POST, format!("/api/admin/keys/{kid}/roll"), Some(json!({"grace": "1y"}))).await;
        assert_eq!((bad.status, bad.json()["field"].as_str()), (StatusCode::BAD_REQUEST, Some("grace")));
        let bad = call(Method::GET, "/api/admin/projects?limit=0".into(), None).await;
        assert_eq!(bad.json()["field"], "limit");
        let bad = call(Method::GET, "/api/admin/projects?cursor=zz".into(), None).await;
        assert_eq!(bad.json()["field"], "cursor");
        let bad = call(Method::POST, "/api/admin/keys/status".into(), Some(json!({"digests": ["nothex"]}))).await;
        assert_eq!(bad.json()["field"], "digests");

        // Rename, deactivate (refused at once), reactivate, roll, delete.
        let r = call(Method::PATCH, format!("/api/admin/keys/{kid}"), Some(json!({"name": "web-2"}))).await;
        assert_eq!(r.json()["name"], "web-2");
        let r = call(Method::POST, format!("/api/admin/keys/{kid}/deactivate"), None).await;
        assert_eq!(r.json()["status"], "inactive");
        assert_eq!(app.get("/api/health", Some(&secret)).await.status, StatusCode::UNAUTHORIZED);
        call(Method::POST, format!("/api/admin/keys/{kid}/reactivate"), None).await;
        assert_eq!(app.get("/api/health", Some(&secret)).await.status, StatusCode::OK);
        let rolled = call(Method::POST, format!("/api/admin/keys/{kid}/roll"), None).await;
        assert_eq!(rolled.status, StatusCode::CREATED, "{}", rolled.describe());
        let new_secret = rolled.json()["secret"].as_str().unwrap().to_owned();
        let new_id = rolled.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(rolled.json()["rolled_from"]["id"], kid.as_str());
        assert_eq!(rolled.json()["name"], "web-2");
        // During the grace (24 hours by default) both authenticate.
        assert_eq!(app.get("/api/health", Some(&secret)).await.status, StatusCode::OK);
        assert_eq!(app.get("/api/health", Some(&new_secret)).await.status, StatusCode::OK);
        let old = call(Method::GET, format!("/api/admin/keys/{kid}"), None).await;
        assert_eq!(old.json()["rolled_to"], new_id.as_str());
        assert_eq!(old.json()["uses_since_roll"], 0);
        let again = call(Method::POST, format!("/api/admin/keys/{kid}/roll"), Some(json!({"grace": "0"}))).await;
        assert_eq!((again.status, again.json()["code"].as_str()), (StatusCode::CONFLICT, Some("CONFLICT")));
        let trail = call(Method::GET, format!("/api/admin/keys/{kid}/audit?limit=2"), None).await;
        assert_eq!(trail.json()["entries"].as_array().unwrap().len(), 2);
        let next = trail.json()["next_cursor"].as_str().unwrap().to_owned();
        let rest = call(Method::GET, format!("/api/admin/keys/{kid}/audit?limit=100&cursor={next}"), None).await;
        let rest = rest.json();
        let actions: Vec<&str> =
            rest["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"key.roll"), "{actions:?}");
        let usage = call(Method::GET, format!("/api/admin/keys/{kid}/usage"), None).await;
        assert_eq!(usage.json()["key_id"], kid.as_str());
        let status = call(
            Method::POST,
            "/api/admin/keys/status".into(),
            Some(json!({"digests": [regpilot_keys::digest(&new_secret).to_hex(), "f".repeat(64)]})),
        )
        .await;
        assert_eq!(status.json()["keys"][0]["status"], "live");
        assert_eq!(status.json()["keys"][0]["key_id"], new_id.as_str());
        assert_eq!(status.json()["keys"][1]["status"], "unknown");
        let d = call(Method::DELETE, format!("/api/admin/keys/{new_id}"), None).await;
        assert_eq!(d.json()["status"], "deleted");
        assert_eq!(app.get("/api/health", Some(&new_secret)).await.status, StatusCode::UNAUTHORIZED);

        // Paging: three projects, two a page.
        for n in 0..2 {
            call(Method::POST, "/api/admin/projects".into(), Some(json!({"name": format!("More {n}")}))).await;
        }
        let mut seen = Vec::new();
        let mut url = "/api/admin/projects?limit=2".to_owned();
        loop {
            let page = call(Method::GET, url.clone(), None).await;
            let items = page.json()["projects"].as_array().unwrap().clone();
            assert!(items.len() <= 2);
            seen.extend(items.into_iter().map(|p| p["id"].as_str().unwrap().to_owned()));
            match page.json()["next_cursor"].as_str() {
                Some(c) => url = format!("/api/admin/projects?limit=2&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(seen.len(), 4, "the app's project and three more: {seen:?}");
        let log = call(Method::GET, format!("/api/admin/audit?project={pid}&limit=1"), None).await;
        assert_eq!(log.json()["entries"].as_array().unwrap().len(), 1);
        assert!(log.json()["next_cursor"].is_string());

        // Users: create, role, reset (the password once), deactivate: the user's token stops.
        let u = call(
            Method::POST,
            "/api/admin/users".into(),
            Some(json!({"email": "new@example.com", "password": "a long enough password", "role": "viewer"})),
        )
        .await;
        assert_eq!(u.status, StatusCode::CREATED, "{}", u.describe());
        let short =
            call(Method::POST, "/api/admin/users".into(), Some(json!({"email": "x@example.com", "password": "short"})))
                .await;
        assert_eq!(short.json()["field"], "password");
        let r =
            call(Method::POST, "/api/admin/users/new@example.com/role".into(), Some(json!({"role": "admin"}))).await;
        assert_eq!(r.json()["role"], "admin");
        let reset = call(Method::POST, "/api/admin/users/new@example.com/password-reset".into(), None).await;
        assert_eq!(reset.json()["password"].as_str().unwrap().len(), 20);
        let (_, their) = token(&app, "new@example.com", false).await;
        let theirs = format!("Bearer {their}");
        assert_eq!(
            app.call(Method::GET, "/api/admin/users", &[("authorization", &theirs)], None).await.status,
            StatusCode::OK
        );
        call(Method::POST, "/api/admin/users/new@example.com/deactivate".into(), None).await;
        assert_eq!(
            app.call(Method::GET, "/api/admin/users", &[("authorization", &theirs)], None).await.status,
            StatusCode::UNAUTHORIZED
        );

        // Own tokens: create (shown once), list (never the token), revoke (stops at once), and
        // never for another user.
        let t = call(Method::POST, "/api/admin/tokens".into(), Some(json!({"name": "ci", "read_only": true}))).await;
        assert_eq!(t.status, StatusCode::CREATED);
        let t_secret = t.json()["secret"].as_str().unwrap().to_owned();
        let t_id = t.json()["id"].as_str().unwrap().to_owned();
        let listed = call(Method::GET, "/api/admin/tokens".into(), None).await;
        assert!(!listed.text().contains(&t_secret) && !listed.text().contains(&tok));
        assert!(listed.json()["tokens"].as_array().unwrap().iter().all(|t| t["user_id"] == admin_id.as_str()));
        let other =
            call(Method::POST, "/api/admin/tokens".into(), Some(json!({"name": "x", "user": "viewer@example.com"})))
                .await;
        assert_eq!(other.status, StatusCode::FORBIDDEN);
        let ro = format!("Bearer {t_secret}");
        assert_eq!(
            app.call(Method::GET, "/api/admin/projects", &[("authorization", &ro)], None).await.status,
            StatusCode::OK
        );
        call(Method::DELETE, format!("/api/admin/tokens/{t_id}"), None).await;
        assert_eq!(
            app.call(Method::GET, "/api/admin/projects", &[("authorization", &ro)], None).await.status,
            StatusCode::UNAUTHORIZED
        );
        // A key is not an admin token.
        let as_key = format!("Bearer {secret}");
        assert_eq!(
            app.call(Method::GET, "/api/admin/projects", &[("authorization", &as_key)], None).await.json()["code"],
            "INVALID_ADMIN_TOKEN"
        );
        // And an admin token opens no keyed route.
        assert_eq!(
            app.call(Method::GET, "/api/usage", &[("authorization", &auth)], None).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}
