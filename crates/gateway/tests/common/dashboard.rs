//! Helpers for the dashboard tests: a user, logging in, form POSTs from the right (or a wrong)
//! origin, and the CSRF token of a page.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use regpilot_control::Actor;

use super::{Resp, TestApp};

pub const HOST: &str = "gw.test";
pub const ORIGIN: &str = "http://gw.test";
pub const EMAIL: &str = "admin@example.com";
pub const PASSWORD: &str = "a long enough password";
pub const T0: i64 = 1_700_000_000_000;
pub const MINUTE: i64 = 60_000;

pub async fn app_with_user(backend: regpilot_store::Backend) -> (TestApp, String) {
    let app = TestApp::new(backend).await;
    let user = app.control.create_user(&Actor::system(), EMAIL, PASSWORD.into(), "admin", false).await.unwrap();
    app.dashboard.clock.set(T0);
    (app, user.id)
}

pub fn form_body(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).unwrap()
}

/// A POST of a form, from `origin` (none: no Origin header), with the session cookie if any.
pub async fn post(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    fields: &[(&str, &str)],
) -> Resp {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(o) = origin {
        b = b.header(header::ORIGIN, o);
    }
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    app.send(b.body(Body::from(form_body(fields))).unwrap()).await
}

pub async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> Resp {
    let mut b = Request::builder().uri(path).header(header::HOST, HOST);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    app.send(b.body(Body::empty()).unwrap()).await
}

pub async fn login_as(app: &TestApp, cookie: Option<&str>, password: &str) -> Resp {
    post(app, "/login", cookie, Some(ORIGIN), &[("email", EMAIL), ("password", password)]).await
}

/// Logs in and returns the `name=value` pair to send back as `Cookie`.
pub async fn login(app: &TestApp) -> String {
    let r = login_as(app, None, PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.describe());
    session_cookie(&r)
}

pub fn session_cookie(r: &Resp) -> String {
    let set = r.header("set-cookie").expect("Set-Cookie");
    set.split(';').next().unwrap().to_owned()
}

/// The CSRF token in a page's forms.
pub fn csrf_of(page: &Resp) -> String {
    let html = page.text();
    let at = html.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    html[at..].split('"').next().unwrap().to_owned()
}

#[track_caller]
pub fn assert_to_login(r: &Resp, ctx: &str) {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{ctx}: {}", r.describe());
    assert_eq!(r.header("location"), Some("/login"), "{ctx}");
}
