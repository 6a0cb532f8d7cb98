//! The dashboard over HTTP (in process): session cookie attributes, a new session at each
//! login, logout, idle timeout and absolute lifetime with the clock set by the test,
//! deactivation, login throttling, the bound on password checks, CSRF (token and origin),
//! security headers, the show-once secret, and form errors that change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::dashboard::*;
use regpilot_control::{Actor, PasswordHashing, SessionPolicy};
use regpilot_gateway::{AppState, Dashboard};
use regpilot_store::testing::backends;
use tower::ServiceExt;

#[tokio::test]
async fn the_session_cookie_is_httponly_strict_and_new_at_each_login() {
    for backend in backends() {
        let (app, _) = app_with_user(backend).await;
        let r = login_as(&app, None, PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.header("location"), Some("/"));
        let set = r.header("set-cookie").unwrap();
        let value = set.split(';').next().unwrap().strip_prefix("regpilot_session=").unwrap();
        assert_eq!(value.len(), 32, "128 bits in hex: {set}");
        let attrs: Vec<&str> = set.split(';').skip(1).map(str::trim).collect();
        for a in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
            assert!(attrs.contains(&a), "{a} in {set}");
        }
        assert!(!attrs.contains(&"Secure"), "not configured: {set}");
        let first = session_cookie(&r);
        assert_eq!(get(&app, "/", Some(&first)).await.status, StatusCode::OK);

        // Logging in again, with the old cookie, gives a new id and ends the old session.
        let again = login_as(&app, Some(&first), PASSWORD).await;
        let second = session_cookie(&again);
        assert_ne!(first, second);
        assert_to_login(&get(&app, "/", Some(&first)).await, "old session after a new login");
        assert_eq!(get(&app, "/", Some(&second)).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn secure_cookies_when_configured() {
    let (app, _) = app_with_user(regpilot_store::Backend::Sqlite).await;
    let dashboard = std::sync::Arc::new(Dashboard::new(SessionPolicy::default(), true));
    dashboard.clock.set(T0);
    let router = regpilot_gateway::build_router(app.state.clone(), dashboard);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .body(Body::from(form_body(&[("email", EMAIL), ("password", PASSWORD)])))
        .unwrap();
    let r = router.oneshot(req).await.unwrap();
    let set = r.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(set.split(';').any(|a| a.trim() == "Secure"), "{set}");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let (app, _) = app_with_user(regpilot_store::Backend::Sqlite).await;
    let cookie = login(&app).await;
    let page = get(&app, "/", Some(&cookie)).await;
    let r = post(&app, "/logout", Some(&cookie), Some(ORIGIN), &[("csrf", &csrf_of(&page))]).await;
    assert_to_login(&r, "logout");
    let cleared = r.header("set-cookie").unwrap();
    assert!(cleared.starts_with("regpilot_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    assert_to_login(&get(&app, "/", Some(&cookie)).await, "after logout");
}

#[tokio::test]
async fn an_idle_session_expires_and_so_does_an_old_one() {
    for backend in backends() {
        let (app, _) = app_with_user(backend).await;
        let clock = &app.dashboard.clock;
        let cookie = login(&app).await;
        clock.advance(29 * MINUTE);
        assert_eq!(get(&app, "/", Some(&cookie)).await.status, StatusCode::OK, "29 minutes idle");
        clock.advance(30 * MINUTE);
        assert_to_login(&get(&app, "/", Some(&cookie)).await, "30 minutes idle");

        // Active every 20 minutes, it still ends 12 hours after login.
        clock.set(T0);
        let cookie = login(&app).await;
        for _ in 0..35 {
            clock.advance(20 * MINUTE);
            assert_eq!(get(&app, "/", Some(&cookie)).await.status, StatusCode::OK);
        }
        clock.set(T0 + 12 * 60 * MINUTE);
        assert_to_login(&get(&app, "/", Some(&cookie)).await, "12 hours after login");
    }
}

#[tokio::test]
async fn deactivating_the_user_ends_the_users_sessions() {
    let (app, user_id) = app_with_user(regpilot_store::Backend::Sqlite).await;
    let a = login(&app).await;
    let b = login(&app).await;
    app.control.deactivate_user(&Actor::system(), &user_id).await.unwrap();
    assert_to_login(&get(&app, "/", Some(&a)).await, "first session");
    assert_to_login(&get(&app, "/", Some(&b)).await, "second session");
    let r = login_as(&app, None, PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "an inactive user cannot log in");
    assert!(r.header("set-cookie").is_none());
}

#[tokio::test]
async fn the_sixth_login_attempt_in_a_minute_is_refused() {
    let (app, _) = app_with_user(regpilot_store::Backend::Sqlite).await;
    for i in 0..5 {
        let r = login_as(&app, None, "a wrong password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {}", i + 1);
        assert!(r.text().contains("Wrong email or password."));
    }
    // Even with the right password, until the minute has passed.
    let r = login_as(&app, None, PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.describe());
    assert_eq!(r.header("retry-after"), Some("60"));
    assert!(r.header("set-cookie").is_none());
    assert!(r.text().contains("Too many login attempts"));
    app.dashboard.clock.advance(MINUTE);
    assert_eq!(login_as(&app, None, PASSWORD).await.status, StatusCode::SEE_OTHER);
}

/// Password checks are bounded (about 19 MiB each): past the bound, a login waits briefly, then
/// gets the login page again with 503 and `Retry-After`, and nothing is hashed for it.
#[tokio::test]
async fn a_login_that_finds_every_password_check_busy_gets_503_with_retry_after() {
    let (mut app, _) = app_with_user(regpilot_store::Backend::Sqlite).await;
    let hashing = PasswordHashing::new(1).with_wait(Duration::ZERO);
    let state = AppState::new(app.control.clone().with_password_hashing(hashing.clone()), app.index.clone(), 1 << 20);
    state.set_ready(true);
    app.router = regpilot_gateway::build_router(state, app.dashboard.clone());

    let first = login_as(&app, None, PASSWORD);
    let second = async {
        // Only once the first login holds the one permit.
        while hashing.available() > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        login_as(&app, None, "a wrong password").await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.describe());
    assert_eq!(second.status, StatusCode::SERVICE_UNAVAILABLE, "{}", second.describe());
    assert_eq!(second.header("retry-after"), Some("2"));
    assert!(second.header("set-cookie").is_none());
    let text = second.text();
    assert!(text.contains("The server is busy checking other logins. Try again in 2 seconds."), "{text}");
    assert!(text.contains(r#"action="/login""#) && text.contains(EMAIL), "the login form again, email kept");

    assert_eq!(hashing.available(), 1);
    assert_eq!(login_as(&app, None, "a wrong password").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn pages_need_a_session() {
    let (app, _) = app_with_user(regpilot_store::Backend::Sqlite).await;
    let project = app.project_id.clone();
    for path in ["/".to_owned(), format!("/projects/{project}"), format!("/projects/{project}/keys")] {
        assert_to_login(&get(&app, &path, None).await, &path);
        assert_to_login(&get(&app, &path, Some("regpilot_session=0123456789abcdef0123456789abcdef")).await, &path);
    }
    let r = post(&app, &format!("/projects/{project}/keys"), None, Some(ORIGIN), &[("name", "x")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.describe());
    assert!(app.control.list_keys(&project).await.unwrap().is_empty());
    assert_eq!(get(&app, "/login", None).await.status, StatusCode::OK);
    let css = get(&app, "/assets/app.css", None).await;
    assert_eq!((css.status, css.header("content-type")), (StatusCode::OK, Some("text/css; charset=utf-8")));
}

#[tokio::test]
async fn a_post_without_the_token_or_from_another_origin_is_refused_and_changes_nothing() {
    let (app, _) = app_with_user(regpilot_store::Backend::Sqlite).await;
    let cookie = login(&app).await;
    let path = format!("/projects/{}/keys", app.project_id);
    let token = csrf_of(&get(&app, &path, Some(&cookie)).await);
    let wrong = "0".repeat(token.len());
    let key_fields = [("name", "ci"), ("type", "gateway"), ("environment", "prod")];
    let with_token = |t: &str| {
        let mut f: Vec<(String, String)> = key_fields.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        f.push(("csrf".into(), t.into()));
        f
    };
    let without_token: Vec<(String, String)> = with_token("").into_iter().take(3).collect();
    let cases = [
        ("no token", Some(ORIGIN), without_token),
        ("wrong token", Some(ORIGIN), with_token(&wrong)),
        ("foreign origin", Some("https://evil.example"), with_token(&token)),
        ("null origin", Some("null"), with_token(&token)),
        ("no origin", None, with_token(&token)),
    ];
    for (what, origin, f) in cases {
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = post(&app, &path, Some(&cookie), origin, &f).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}: {}", r.describe());
        assert!(r.text().contains("nothing was changed"), "{what}");
        assert!(app.control.list_keys(&app.project_id).await.unwrap().is_empty(), "{what}");
    }
    // A login from another site is refused too.
    let r = post(&app, "/login", None, Some("https://evil.example"), &[("email", EMAIL), ("password", PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.header("set-cookie").is_none());
    let mut fields = key_fields.to_vec();
    fields.push(("csrf", &token));
    let ok = post(&app, &path, Some(&cookie), Some(ORIGIN), &fields).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.describe());
}

#[tokio::test]
async fn every_dashboard_answer_has_the_security_headers() {
    let (app, _) = app_with_user(regpilot_store::Backend::Sqlite).await;
    let cookie = login(&app).await;
    let pages = [
        get(&app, "/login", None).await,
        get(&app, "/", None).await,
        get(&app, "/", Some(&cookie)).await,
        get(&app, &format!("/projects/{}", app.project_id), Some(&cookie)).await,
        get(&app, &format!("/projects/{}/keys", app.project_id), Some(&cookie)).await,
        get(&app, "/projects/proj_nope/keys", Some(&cookie)).await,
        post(&app, "/logout", Some(&cookie), Some("https://evil.example"), &[]).await,
    ];
    for r in &pages {
        let ctx = r.describe();
        assert_eq!(
            r.header("content-security-policy"),
            Some(
                "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; \
                 frame-ancestors 'none'; base-uri 'none'"
            ),
            "{ctx}"
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{ctx}");
        assert_eq!(r.header("referrer-policy"), Some("same-origin"), "{ctx}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{ctx}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{ctx}");
    }
    assert_eq!(pages[5].status, StatusCode::NOT_FOUND);
    // No inline script or style: the CSP would block them.
    for r in &pages[..5] {
        let html = r.text();
        assert!(!html.contains("<script>") && !html.contains("style=") && !html.contains("<style"), "{html}");
    }
}
