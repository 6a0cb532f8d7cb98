//! The dashboard's phase-2 pages over HTTP (in process): the page per key (charts, countries,
//! AI usage, alerts, audit trail, never the secret; another project's key is 404; a deleted
//! key's page is a read-only tombstone), the Alerts page and its CSRF-protected acknowledge,
//! the forced password change, and the read-only `viewer` role refused on every POST.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::dashboard::*;
use common::TestApp;
use regpilot_control::{Actor, KeyStatus};
use regpilot_store::testing::backends;
use regpilot_store::{day_start, hour_start, AlertRow, CountryDelta, HourlyDelta, ModelDelta, UsageBatch, UsageCounts};

struct Session {
    cookie: String,
    csrf: String,
}

/// Logs `email` in and reads the CSRF token from the page the login leads to.
async fn session_of(app: &TestApp, email: &str, password: &str) -> Session {
    let r = post(app, "/login", None, Some(ORIGIN), &[("email", email), ("password", password)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.describe());
    let cookie = session_cookie(&r);
    let to = r.header("location").unwrap().to_owned();
    let csrf = csrf_of(&get(app, &to, Some(&cookie)).await);
    Session { cookie, csrf }
}

async fn send(app: &TestApp, s: &Session, path: &str, fields: &[(&str, &str)]) -> common::Resp {
    let mut f = fields.to_vec();
    f.push(("csrf", &s.csrf));
    post(app, path, Some(&s.cookie), Some(ORIGIN), &f).await
}

/// Creates a key through the dashboard; returns its id and the secret shown once.
async fn create_key(app: &TestApp, s: &Session, name: &str) -> (String, String) {
    let fields = [("name", name), ("type", "gateway"), ("environment", "prod")];
    let r = send(app, s, &format!("/projects/{}/keys", app.project_id), &fields).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.describe());
    let html = r.text();
    let start = html.find(r#"<code id="new-secret">"#).unwrap() + r#"<code id="new-secret">"#.len();
    let secret = html[start..].split('<').next().unwrap().to_owned();
    let keys = app.control.list_keys(&app.project_id).await.unwrap();
    (keys.into_iter().find(|k| k.name == name).unwrap().id, secret)
}

fn alert(app: &TestApp, id: &str, key_id: &str, kind: &str, message: &str, at: i64) -> AlertRow {
    AlertRow {
        id: id.into(),
        project_id: app.project_id.clone(),
        key_id: Some(key_id.into()),
        kind: kind.into(),
        severity: "warning".into(),
        message: message.into(),
        detail: "{}".into(),
        dedupe: format!("{kind}:{id}"),
        created_at: at,
        acknowledged_at: None,
        acknowledged_by: None,
        key_name: None,
    }
}

/// Traffic of `key_id` now (the dashboard clock): 40 requests (4 errors) from DE and 2 from an
/// unknown place, and 3 AI calls of one model.
async fn traffic(app: &TestApp, key_id: &str) {
    let hour = hour_start(T0);
    let p = app.project_id.clone();
    let k = key_id.to_owned();
    let batch = UsageBatch {
        hourly: vec![HourlyDelta {
            key_id: k.clone(),
            project_id: p.clone(),
            hour,
            counts: UsageCounts {
                requests: 42,
                errors: 4,
                limited: 1,
                refused: 0,
                latency_us_sum: 42 * 25_000,
                latency_us_max: 90_000,
            },
        }],
        countries: vec![
            CountryDelta {
                key_id: k.clone(),
                project_id: p.clone(),
                day: day_start(T0),
                country: "DE".into(),
                requests: 40,
            },
            CountryDelta {
                key_id: k.clone(),
                project_id: p.clone(),
                day: day_start(T0),
                country: "unknown".into(),
                requests: 2,
            },
        ],
        models: vec![ModelDelta {
            key_id: k.clone(),
            project_id: p,
            hour,
            model: "gpt-<mini>".into(),
            provider: "openai".into(),
            calls: 3,
            prompt_tokens: 300,
            completion_tokens: 120,
            cost_ucents: 2_500_000,
        }],
        last_used: vec![(k, T0)],
    };
    app.store.write_usage(&batch).await.unwrap();
}

#[tokio::test]
async fn the_key_page_shows_usage_alerts_and_audit_but_never_the_secret() {
    for backend in backends() {
        let (app, _) = app_with_user(backend).await;
        let s = session_of(&app, EMAIL, PASSWORD).await;
        let (key_id, secret) = create_key(&app, &s, "web <prod>").await;
        let pid = app.project_id.clone();
        let r = send(&app, &s, &format!("/projects/{pid}/keys/{key_id}/deactivate"), &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.describe());
        traffic(&app, &key_id).await;
        app.store
            .insert_alert(&alert(&app, "alr_1", &key_id, "new_country", "Key web used from <DE>", T0))
            .await
            .unwrap();

        let list = get(&app, &format!("/projects/{pid}/keys"), Some(&s.cookie)).await.text();
        assert!(list.contains(&format!(r#"<a href="/projects/{pid}/keys/{key_id}">web &lt;prod&gt;</a>"#)), "{list}");

        let page = get(&app, &format!("/projects/{pid}/keys/{key_id}"), Some(&s.cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.describe());
        let html = page.text();
        assert!(!html.contains(&secret), "the key page never shows the secret");
        assert!(html.contains("web &lt;prod&gt;") && !html.contains("web <prod>"), "names are escaped");
        assert_eq!(html.matches("<svg").count(), 2, "an hourly and a daily chart");
        assert_eq!(html.matches("<rect ").count(), 24 + 30, "24 hours and 30 days");
        assert!(html.contains(r#"id="key-status">inactive<"#), "{html}");
        assert!(html.contains(r#"id="requests">42<"#) && html.contains(r#"id="error-rate">9.5%<"#), "{html}");
        assert!(html.contains(r#"id="avg-latency">25.0 ms<"#) && html.contains(r#"id="max-latency">90.0 ms<"#));
        assert!(html.contains("<tr><td>DE</td><td>40</td></tr>") && html.contains("<td>unknown</td>"), "countries");
        assert!(html
            .contains("<td>gpt-&lt;mini&gt;</td><td>openai</td><td>3</td><td>300</td><td>120</td><td>$0.025000</td>"));
        assert!(html.contains("Key web used from &lt;DE&gt;"), "the key's alert, escaped");
        assert!(html.contains("/alerts/alr_1/ack"), "with an Acknowledge button");
        let audit = &html[html.find(r#"<table id="audit">"#).expect("an audit table")..];
        for entry in ["key.create", "key.deactivate", "user:admin@example.com"] {
            assert!(audit.contains(entry), "audit shows {entry}: {audit}");
        }

        // Another project's key, and no key at all: 404, whatever the path's project.
        let other = app.create_project("Other").await;
        let foreign = app.control.list_keys(&other).await.unwrap();
        assert!(foreign.is_empty());
        let theirs = app
            .create_key(&other, regpilot_keys::KeyType::Gateway, regpilot_keys::Environment::Production, false, None)
            .await;
        for path in [
            format!("/projects/{pid}/keys/{}", theirs.id),
            format!("/projects/{other}/keys/{key_id}"),
            format!("/projects/{pid}/keys/key_nope"),
        ] {
            let r = get(&app, &path, Some(&s.cookie)).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.describe());
        }

        // Deleted: the tombstone keeps its history, read-only.
        let r = send(&app, &s, &format!("/projects/{pid}/keys/{key_id}/delete"), &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.describe());
        let html = get(&app, &format!("/projects/{pid}/keys/{key_id}"), Some(&s.cookie)).await.text();
        assert!(html.contains(r#"id="tombstone""#) && html.contains(r#"id="key-status">deleted<"#), "{html}");
        assert!(html.contains("key.delete") && html.contains("<tr><td>DE</td><td>40</td></tr>"), "history kept");
        assert!(!html.contains("/deactivate") && !html.contains("/reactivate") && !html.contains("/ack"), "read-only");
    }
}

#[tokio::test]
async fn alerts_are_listed_open_first_and_acknowledged_with_the_csrf_token() {
    for backend in backends() {
        let (app, _) = app_with_user(backend).await;
        let s = session_of(&app, EMAIL, PASSWORD).await;
        let (key_id, _) = create_key(&app, &s, "ci").await;
        let pid = app.project_id.clone();
        app.store
            .insert_alert(&alert(&app, "alr_old", &key_id, "volume_spike", "older spike", T0 - 3_600_000))
            .await
            .unwrap();
        app.store.insert_alert(&alert(&app, "alr_new", &key_id, "high_error_rate", "newer errors", T0)).await.unwrap();

        let overview = get(&app, &format!("/projects/{pid}"), Some(&s.cookie)).await.text();
        assert!(overview.contains(&format!(r#"<a href="/projects/{pid}/alerts">2</a>"#)), "{overview}");
        assert!(overview.contains(&format!(r#"<a href="/projects/{pid}/alerts">Alerts</a>"#)), "the Alerts tab");

        let page = get(&app, &format!("/projects/{pid}/alerts"), Some(&s.cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        assert!(html.contains(r#"id="open-count">2<"#), "{html}");
        assert!(
            html.contains(&format!(r#"<a href="/projects/{pid}/keys/{key_id}">ci</a>"#)),
            "the key links to its page"
        );
        assert!(html.find("newer errors").unwrap() < html.find("older spike").unwrap(), "newest first");

        let ack = format!("/projects/{pid}/alerts/alr_old/ack");
        let no_token = post(&app, &ack, Some(&s.cookie), Some(ORIGIN), &[]).await;
        assert_eq!(no_token.status, StatusCode::FORBIDDEN);
        let wrong_site = post(&app, &ack, Some(&s.cookie), Some("http://evil.test"), &[("csrf", &s.csrf)]).await;
        assert_eq!(wrong_site.status, StatusCode::FORBIDDEN);
        assert!(app.control.get_alert("alr_old").await.unwrap().acknowledged_at.is_none(), "nothing changed");

        let r = send(&app, &s, &ack, &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.describe());
        assert_eq!(r.header("location"), Some(format!("/projects/{pid}/alerts").as_str()));
        let acked = app.control.get_alert("alr_old").await.unwrap();
        assert_eq!(acked.acknowledged_by.as_deref(), Some("user:admin@example.com"), "the acknowledging user");

        let html = get(&app, &format!("/projects/{pid}/alerts"), Some(&s.cookie)).await.text();
        assert!(html.contains(r#"id="open-count">1<"#), "{html}");
        let old_row = &html[html.find(r#"<tr id="alert-alr_old">"#).unwrap()..];
        let old_row = &old_row[..old_row.find("</tr>").unwrap()];
        assert!(old_row.contains("acknowledged") && old_row.contains("by user:admin@example.com"), "{old_row}");
        assert!(!old_row.contains("<button"), "no button once acknowledged");
        assert!(html.find("alert-alr_new").unwrap() < html.find("alert-alr_old").unwrap(), "open ones first");

        // From the key page, the button comes back to the key page.
        let r = send(&app, &s, &format!("/projects/{pid}/alerts/alr_new/ack"), &[("return", "key")]).await;
        assert_eq!(r.header("location"), Some(format!("/projects/{pid}/keys/{key_id}").as_str()));
        // Another project's path does not reach the alert.
        let other = app.create_project("Other").await;
        let r = send(&app, &s, &format!("/projects/{other}/alerts/alr_new/ack"), &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_generated_password_must_be_changed_before_anything_else() {
    for backend in backends() {
        let (app, _) = app_with_user(backend).await;
        let email = "first@example.com";
        let old = "the generated one 1234";
        let new = "my own new password";
        app.control.create_user(&Actor::system(), email, old.into(), "admin", true).await.unwrap();
        let r = post(&app, "/login", None, Some(ORIGIN), &[("email", email), ("password", old)]).await;
        assert_eq!(r.header("location"), Some("/account/password"), "{}", r.describe());
        let cookie = session_cookie(&r);
        let pid = app.project_id.clone();
        for path in [
            "/".to_owned(),
            format!("/projects/{pid}"),
            format!("/projects/{pid}/keys"),
            format!("/projects/{pid}/alerts"),
        ] {
            let r = get(&app, &path, Some(&cookie)).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
            assert_eq!(r.header("location"), Some("/account/password"), "{path}");
        }
        let form = get(&app, "/account/password", Some(&cookie)).await;
        assert_eq!(form.status, StatusCode::OK);
        let s = Session { cookie, csrf: csrf_of(&form) };
        let r = send(
            &app,
            &s,
            &format!("/projects/{pid}/keys"),
            &[("name", "x"), ("type", "gateway"), ("environment", "dev")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "no POST either");
        assert!(app.control.list_keys(&pid).await.unwrap().is_empty());
        // A second session, to see it end when the password changes.
        let other =
            session_cookie(&post(&app, "/login", None, Some(ORIGIN), &[("email", email), ("password", old)]).await);

        let change = |current: &'static str, new: &'static str, again: &'static str| {
            let s = &s;
            let app = &app;
            async move {
                let f = [("current_password", current), ("new_password", new), ("confirm_password", again)];
                send(app, s, "/account/password", &f).await
            }
        };
        let cases = [
            (change("not the password", new, new).await, "current_password-error", "The current password is wrong."),
            (change(old, new, "something else").await, "confirm_password-error", "The two new passwords differ."),
            (change(old, "short", "short").await, "new_password-error", "at least 12 characters"),
            (change(old, old, old).await, "new_password-error", "must differ from the current one"),
        ];
        for (r, id, text) in cases {
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{id}");
            let html = r.text();
            let at = html.find(&format!(r#"id="{id}""#)).unwrap_or_else(|| panic!("{id} in {html}"));
            assert!(html[at..].split("</p>").next().unwrap().contains(text), "{id}: {html}");
            assert!(!html.contains(old) && !html.contains(new), "passwords are never echoed");
        }
        assert_eq!(get(&app, "/", Some(&s.cookie)).await.header("location"), Some("/account/password"), "still due");

        let r = change(old, new, new).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.describe());
        assert_eq!(r.header("location"), Some("/"));
        assert_eq!(get(&app, "/", Some(&s.cookie)).await.status, StatusCode::OK, "this session goes on");
        assert_eq!(get(&app, "/", Some(&other)).await.header("location"), Some("/login"), "the other session ended");
        let r = post(&app, "/login", None, Some(ORIGIN), &[("email", email), ("password", old)]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the old password no longer logs in");
        let r = post(&app, "/login", None, Some(ORIGIN), &[("email", email), ("password", new)]).await;
        assert_eq!(r.header("location"), Some("/"), "the new one does, straight to the projects");
        // Still reachable later, from the header.
        let home = get(&app, "/", Some(&s.cookie)).await.text();
        assert!(home.contains(r#"<a href="/account/password">Change password</a>"#));
    }
}

#[tokio::test]
async fn a_viewer_sees_the_pages_but_every_change_is_refused() {
    for backend in backends() {
        let (app, _) = app_with_user(backend).await;
        let admin = session_of(&app, EMAIL, PASSWORD).await;
        let (key_id, _) = create_key(&app, &admin, "web").await;
        let pid = app.project_id.clone();
        app.store.insert_alert(&alert(&app, "alr_v", &key_id, "unused_key", "unused", T0)).await.unwrap();
        app.control
            .create_user(&Actor::system(), "viewer@example.com", PASSWORD.into(), "viewer", false)
            .await
            .unwrap();
        let v = session_of(&app, "viewer@example.com", PASSWORD).await;

        for path in [
            format!("/projects/{pid}"),
            format!("/projects/{pid}/keys"),
            format!("/projects/{pid}/keys/{key_id}"),
            format!("/projects/{pid}/alerts"),
        ] {
            let r = get(&app, &path, Some(&v.cookie)).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
            let html = r.text();
            assert!(
                !html.contains("/deactivate") && !html.contains("/ack") && !html.contains("Create key"),
                "{path}: no buttons"
            );
        }
        let refused = [
            (format!("/projects/{pid}/keys"), vec![("name", "x"), ("type", "gateway"), ("environment", "dev")]),
            (format!("/projects/{pid}/keys/{key_id}/deactivate"), vec![]),
            (format!("/projects/{pid}/keys/{key_id}/delete"), vec![]),
            (format!("/projects/{pid}/alerts/alr_v/ack"), vec![]),
        ];
        for (path, fields) in refused {
            let r = send(&app, &v, &path, &fields).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
            assert!(
                r.text().contains("Your role (viewer) may view the dashboard but not change keys, alerts or users"),
                "{path}"
            );
        }
        let confirm = get(&app, &format!("/projects/{pid}/keys/{key_id}/delete"), Some(&v.cookie)).await;
        assert_eq!(confirm.status, StatusCode::FORBIDDEN, "no confirmation page either");
        let keys = app.control.list_keys(&pid).await.unwrap();
        assert_eq!((keys.len(), keys[0].status), (1, KeyStatus::Active), "nothing created or changed");
        assert!(app.control.get_alert("alr_v").await.unwrap().acknowledged_at.is_none());
        // The viewer may still log out and change their own password.
        let r = send(&app, &v, "/logout", &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    }
}
