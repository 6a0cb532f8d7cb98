//! The dashboard's admin pages over HTTP (in process): rolling a key with a grace period (its
//! successor's secret once, the links and uses shown), the admin tokens page (a token once,
//! revoke behind a confirmation), and the users page (role, deactivate, reset password), all
//! with the CSRF, confirmation and role rules of the other pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::dashboard::*;
use common::TestApp;
use regpilot_control::{Actor, AdminAuth};
use regpilot_keys::KeyType;
use regpilot_store::testing::backends;

struct Session {
    cookie: String,
    csrf: String,
}

async fn session(app: &TestApp) -> Session {
    let cookie = login(app).await;
    let csrf = csrf_of(&get(app, "/", Some(&cookie)).await);
    Session { cookie, csrf }
}

async fn send(app: &TestApp, s: &Session, path: &str, fields: &[(&str, &str)]) -> common::Resp {
    let mut f = fields.to_vec();
    f.push(("csrf", &s.csrf));
    post(app, path, Some(&s.cookie), Some(ORIGIN), &f).await
}

/// The text of `<code id="new-secret">…</code>`.
fn shown_secret(html: &str) -> String {
    let start = html.find(r#"<code id="new-secret">"#).expect("a secret dialog") + r#"<code id="new-secret">"#.len();
    html[start..].split('<').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_key_is_rolled_from_its_page_with_a_grace_period() {
    for backend in backends() {
        let (app, _) = app_with_user(backend).await;
        let s = session(&app).await;
        let key = app.valid_key(KeyType::Gateway).await;
        let pid = &app.project_id;
        let page = get(&app, &format!("/projects/{pid}/keys/{}", key.id), Some(&s.cookie)).await;
        assert!(page.text().contains(&format!(r#"href="/projects/{pid}/keys/{}/roll""#, key.id)), "a Roll button");
        let confirm = get(&app, &format!("/projects/{pid}/keys/{}/roll", key.id), Some(&s.cookie)).await;
        assert_eq!(confirm.status, StatusCode::OK);
        assert!(confirm.text().contains(r#"<select id="grace" name="grace">"#), "the grace choice");
        assert!(confirm.text().contains(r#"<option value="24h" selected>"#));

        // Without the CSRF token nothing happens.
        let forged = post(
            &app,
            &format!("/projects/{pid}/keys/{}/roll", key.id),
            Some(&s.cookie),
            Some(ORIGIN),
            &[("grace", "0")],
        )
        .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert!(app.control.get_key_detail(&key.id).await.unwrap().roll.rolled_to.is_none());

        let r = send(&app, &s, &format!("/projects/{pid}/keys/{}/roll", key.id), &[("grace", "1h")]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.describe());
        let secret = shown_secret(&r.text());
        assert!(regpilot_keys::parse(&secret).is_ok());
        assert_eq!(r.text().matches(&secret).count(), 1);
        assert!(r.text().contains("keeps working until"), "the grace is said");
        // Both keys work now, on this instance, at once.
        assert_eq!(app.get("/api/health", Some(&key.secret)).await.status, StatusCode::OK);
        assert_eq!(app.get("/api/health", Some(&secret)).await.status, StatusCode::OK);
        let d = app.control.get_key_detail(&key.id).await.unwrap();
        let new_id = d.roll.rolled_to.clone().unwrap();
        let old_page = get(&app, &format!("/projects/{pid}/keys/{}", key.id), Some(&s.cookie)).await.text();
        assert!(old_page.contains(r#"id="rolled-to""#) && old_page.contains(&new_id));
        assert!(old_page.contains(r#"id="uses-since-roll""#));
        assert!(!old_page.contains("/roll\""), "a rolled key is not rolled again");
        let new_page = get(&app, &format!("/projects/{pid}/keys/{new_id}"), Some(&s.cookie)).await.text();
        assert!(new_page.contains(r#"id="rolled-from""#) && new_page.contains(&key.id));
        assert!(!new_page.contains(&secret), "no page shows the secret after the answer");
        let list = get(&app, &format!("/projects/{pid}/keys"), Some(&s.cookie)).await.text();
        assert!(list.contains("rolled; 0 uses since") && !list.contains(&secret));
        let trail = app.control.key_audit(&key.id).await.unwrap();
        assert!(trail.iter().any(|a| a.action == "key.roll" && a.actor == format!("user:{EMAIL}")));

        // Grace 0: the old one is refused at once.
        let r = send(&app, &s, &format!("/projects/{pid}/keys/{new_id}/roll"), &[("grace", "0")]).await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert!(r.text().contains("has expired"));
        assert_eq!(app.get("/api/health", Some(&secret)).await.status, StatusCode::UNAUTHORIZED);
        // A grace period not offered is refused, and changes nothing.
        let other = app.valid_key(KeyType::Gateway).await;
        let r = send(&app, &s, &format!("/projects/{pid}/keys/{}/roll", other.id), &[("grace", "1y")]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(app.control.get_key_detail(&other.id).await.unwrap().roll.rolled_to.is_none());
    }
}

#[tokio::test]
async fn admin_tokens_are_made_shown_once_and_revoked_on_their_page() {
    for backend in backends() {
        let (app, user_id) = app_with_user(backend).await;
        let s = session(&app).await;
        let page = get(&app, "/account/tokens", Some(&s.cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains("No admin tokens yet"));
        let bad = send(&app, &s, "/account/tokens", &[("name", " ")]).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.text().contains(r#"id="name-error""#));
        let r = send(&app, &s, "/account/tokens", &[("name", "laptop"), ("expires_in_days", "30")]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.describe());
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let token = shown_secret(&r.text());
        assert!(regpilot_keys::is_admin_token(&token));
        assert_eq!(r.text().matches(&token).count(), 1);
        let now = regpilot_store::now_ms();
        assert!(matches!(app.control.authenticate_admin_token(&token, now).await.unwrap(), AdminAuth::Ok(_)));
        let list = get(&app, "/account/tokens", Some(&s.cookie)).await.text();
        assert!(!list.contains(&token) && list.contains("laptop"));
        let t = app.control.list_admin_tokens(Some(&user_id)).await.unwrap().remove(0);
        let confirm = get(&app, &format!("/account/tokens/{}/revoke", t.id), Some(&s.cookie)).await;
        assert!(confirm.text().contains("cannot be undone"));
        let forged = post(&app, &format!("/account/tokens/{}/revoke", t.id), Some(&s.cookie), Some(ORIGIN), &[]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        let r = send(&app, &s, &format!("/account/tokens/{}/revoke", t.id), &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(app.control.authenticate_admin_token(&token, now).await.unwrap(), AdminAuth::Revoked);
        // Another user's token is not found here.
        let other =
            app.control.create_user(&Actor::system(), "o@example.com", PASSWORD.into(), "admin", false).await.unwrap();
        let theirs = app.control.create_admin_token(&Actor::system(), &other.id, "x", None, false).await.unwrap();
        let r = send(&app, &s, &format!("/account/tokens/{}/revoke", theirs.token.id), &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn users_are_managed_on_the_users_page_by_admins_only() {
    for backend in backends() {
        let (app, _) = app_with_user(backend).await;
        let s = session(&app).await;
        let v = app
            .control
            .create_user(&Actor::system(), "viewer@example.com", PASSWORD.into(), "viewer", false)
            .await
            .unwrap();
        let page = get(&app, "/users", Some(&s.cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains("viewer@example.com") && page.text().contains(&format!("/users/{}/role", v.id)));
        let r = send(&app, &s, &format!("/users/{}/role", v.id), &[("role", "admin")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(app.control.find_user(&v.id).await.unwrap().role, "admin");
        let r = send(&app, &s, &format!("/users/{}/role", v.id), &[("role", "root")]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        send(&app, &s, &format!("/users/{}/role", v.id), &[("role", "viewer")]).await;

        // Deactivate: a confirmation page, then the user's session ends.
        let confirm = get(&app, &format!("/users/{}/deactivate", v.id), Some(&s.cookie)).await;
        assert!(confirm.text().contains("stop working at once"));
        let r = send(&app, &s, &format!("/users/{}/deactivate", v.id), &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(app.control.find_user(&v.id).await.unwrap().status, "inactive");
        send(&app, &s, &format!("/users/{}/reactivate", v.id), &[]).await;
        assert_eq!(app.control.find_user(&v.id).await.unwrap().status, "active");

        // Reset: a one-time password, shown once; the old password stops working.
        let r = send(&app, &s, &format!("/users/{}/password-reset", v.id), &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.describe());
        let pw = shown_secret(&r.text());
        assert_eq!(pw.len(), 20);
        let policy = regpilot_control::SessionPolicy::default();
        assert!(app.control.login("viewer@example.com", PASSWORD.into(), policy, T0).await.unwrap().is_none());
        let again = get(&app, "/users", Some(&s.cookie)).await.text();
        assert!(!again.contains(&pw), "shown once");

        // A viewer sees the list, without the forms, and every change is refused.
        let vs = {
            let r =
                post(&app, "/login", None, Some(ORIGIN), &[("email", "viewer@example.com"), ("password", &pw)]).await;
            session_cookie(&r)
        };
        // The reset password must be changed first.
        let r = get(&app, "/users", Some(&vs)).await;
        assert_eq!(r.header("location"), Some("/account/password"));
        app.control.reset_user_password(&Actor::system(), &v.id).await.unwrap();
        let v2 = app
            .control
            .create_user(&Actor::system(), "v2@example.com", PASSWORD.into(), "viewer", false)
            .await
            .unwrap();
        let r = post(&app, "/login", None, Some(ORIGIN), &[("email", "v2@example.com"), ("password", PASSWORD)]).await;
        let v2_cookie = session_cookie(&r);
        let page = get(&app, "/users", Some(&v2_cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains("may view users but not change them"));
        assert!(!page.text().contains("/role\""), "no role form for a viewer");
        let v2_csrf = csrf_of(&page);
        let r =
            post(&app, &format!("/users/{}/deactivate", v.id), Some(&v2_cookie), Some(ORIGIN), &[("csrf", &v2_csrf)])
                .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = post(
            &app,
            &format!("/users/{}/role", v2.id),
            Some(&v2_cookie),
            Some(ORIGIN),
            &[("csrf", &v2_csrf), ("role", "admin")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(app.control.find_user(&v2.id).await.unwrap().role, "viewer");
        // A viewer manages their own admin tokens, which carry the viewer role.
        let r = post(&app, "/account/tokens", Some(&v2_cookie), Some(ORIGIN), &[("csrf", &v2_csrf), ("name", "mine")])
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        let tok = shown_secret(&r.text());
        match app.control.authenticate_admin_token(&tok, regpilot_store::now_ms()).await.unwrap() {
            AdminAuth::Ok(p) => assert!(!p.may_write()),
            other => panic!("{other:?}"),
        }
    }
}
