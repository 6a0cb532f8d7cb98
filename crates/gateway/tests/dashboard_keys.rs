//! Manage Keys over HTTP (in process): the secret appears once, in the answer to the create,
//! and on no page after; bad form input is shown next to its field and creates nothing;
//! deactivate / reactivate / delete go through a confirmation page and are audited as the
//! logged-in user; the overview counts what it says.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::dashboard::*;
use common::TestApp;
use regpilot_control::KeyStatus;
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

async fn create(app: &TestApp, s: &Session, fields: &[(&str, &str)]) -> common::Resp {
    let mut f = fields.to_vec();
    f.push(("csrf", &s.csrf));
    post(app, &format!("/projects/{}/keys", app.project_id), Some(&s.cookie), Some(ORIGIN), &f).await
}

#[tokio::test]
async fn the_secret_is_shown_once_and_never_again() {
    for backend in backends() {
        let (app, _) = app_with_user(backend).await;
        let s = session(&app).await;
        let r = create(&app, &s, &[("name", "ci <deploy>"), ("type", "gateway"), ("environment", "prod")]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.describe());
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let keys = app.control.list_keys(&app.project_id).await.unwrap();
        assert_eq!(keys.len(), 1);
        let html = r.text();
        let start = html.find(r#"<code id="new-secret">"#).unwrap() + r#"<code id="new-secret">"#.len();
        let secret = html[start..].split('<').next().unwrap().to_owned();
        assert!(regpilot_keys::parse(&secret).is_ok(), "a real key: {secret}");
        assert_eq!(
            regpilot_keys::digest(&secret).to_hex(),
            app.store.list_keys(&app.project_id).await.unwrap()[0].digest
        );
        assert_eq!(html.matches(&secret).count(), 1, "once in the answer");
        assert!(html.contains("Copy it now: you will not see this key again"));
        assert!(html.contains(r#"data-copy="new-secret""#), "a copy button");
        assert!(html.contains("ci &lt;deploy&gt;") && !html.contains("ci <deploy>"), "names are escaped");

        let project = &app.project_id;
        let key = &keys[0].id;
        let later = [
            "/".to_owned(),
            format!("/projects/{project}"),
            format!("/projects/{project}/keys"),
            format!("/projects/{project}/keys/{key}/deactivate"),
            format!("/projects/{project}/keys/{key}/delete"),
        ];
        for path in later {
            let page = get(&app, &path, Some(&s.cookie)).await;
            assert_eq!(page.status, StatusCode::OK, "{path}");
            assert!(!page.text().contains(&secret), "{path} shows the secret");
        }
        let list = get(&app, &format!("/projects/{project}/keys"), Some(&s.cookie)).await.text();
        assert!(list.contains(&keys[0].prefix), "the table shows the display prefix");
    }
}

/// Form fields, the field whose message is expected, and a part of that message.
type BadInput = (&'static [(&'static str, &'static str)], &'static str, &'static str);

#[tokio::test]
async fn bad_input_is_shown_next_to_its_field_and_creates_nothing() {
    let (app, _) = app_with_user(regpilot_store::Backend::Sqlite).await;
    let s = session(&app).await;
    let cases: [BadInput; 6] = [
        (&[("name", "  "), ("type", "gateway"), ("environment", "prod")], "name", "name"),
        (&[("name", "k"), ("type", "admin"), ("environment", "prod")], "type", "Choose a type"),
        (&[("name", "k"), ("type", "gateway"), ("environment", "moon")], "environment", "Choose an environment"),
        (
            &[("name", "k"), ("type", "gateway"), ("environment", "prod"), ("expires_in_days", "-3")],
            "expires_in_days",
            "Expiry must be in the future",
        ),
        (
            &[("name", "k"), ("type", "gateway"), ("environment", "prod"), ("expires_in_days", "soon")],
            "expires_in_days",
            "whole number of days",
        ),
        (
            &[("name", "k"), ("type", "gateway"), ("environment", "prod"), ("expires_in_days", "99999")],
            "expires_in_days",
            "from 1 to 3650",
        ),
    ];
    for (fields, field, text) in cases {
        let r = create(&app, &s, fields).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}: {}", r.describe());
        let html = r.text();
        let at = html.find(&format!(r#"id="{field}-error""#)).unwrap_or_else(|| panic!("{field}: no message: {html}"));
        assert!(html[at..].split("</p>").next().unwrap().contains(text), "{field}: {html}");
        assert!(!html.contains("new-secret"), "{field}");
        assert!(app.control.list_keys(&app.project_id).await.unwrap().is_empty(), "{field}: a key was created");
    }
    // What was typed is kept in the form.
    let r =
        create(&app, &s, &[("name", "kept"), ("type", "project"), ("environment", "stg"), ("expires_in_days", "0")])
            .await;
    let html = r.text();
    assert!(html.contains(r#"value="kept""#) && html.contains(r#"<option value="project" selected>"#), "{html}");
}

#[tokio::test]
async fn lifecycle_actions_ask_first_and_are_audited_as_the_user() {
    let (app, _) = app_with_user(regpilot_store::Backend::Sqlite).await;
    let s = session(&app).await;
    let r = create(&app, &s, &[("name", "k"), ("type", "project"), ("environment", "dev"), ("read_only", "on")]).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let key = app.control.list_keys(&app.project_id).await.unwrap().remove(0);
    assert!(key.read_only);
    let base = format!("/projects/{}/keys/{}", app.project_id, key.id);

    let confirm = get(&app, &format!("{base}/delete"), Some(&s.cookie)).await;
    assert!(confirm.text().contains("This cannot be undone"), "{}", confirm.text());
    assert_eq!(app.control.get_key(&key.id).await.unwrap().status, KeyStatus::Active, "asking changes nothing");

    for (action, status) in
        [("deactivate", KeyStatus::Inactive), ("reactivate", KeyStatus::Active), ("delete", KeyStatus::Deleted)]
    {
        let page = get(&app, &format!("{base}/{action}"), Some(&s.cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{action}");
        let r = post(&app, &format!("{base}/{action}"), Some(&s.cookie), Some(ORIGIN), &[("csrf", &s.csrf)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{action}: {}", r.describe());
        assert_eq!(r.header("location"), Some(format!("/projects/{}/keys", app.project_id).as_str()));
        assert_eq!(app.control.get_key(&key.id).await.unwrap().status, status, "{action}");
    }
    let trail = app.control.key_audit(&key.id).await.unwrap();
    let actions: Vec<(&str, &str)> = trail.iter().map(|a| (a.action.as_str(), a.actor.as_str())).collect();
    let actor = format!("user:{EMAIL}");
    assert_eq!(
        actions,
        [
            ("key.create", actor.as_str()),
            ("key.deactivate", actor.as_str()),
            ("key.reactivate", actor.as_str()),
            ("key.delete", actor.as_str())
        ]
    );
    // A deleted key has no pages; an unknown action is not a page.
    assert_eq!(get(&app, &format!("{base}/reactivate"), Some(&s.cookie)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, &format!("{base}/explode"), Some(&s.cookie)).await.status, StatusCode::NOT_FOUND);
    let other = app.create_project("Other").await;
    let foreign = format!("/projects/{other}/keys/{}/deactivate", key.id);
    assert_eq!(get(&app, &foreign, Some(&s.cookie)).await.status, StatusCode::NOT_FOUND, "a key of another project");
}

#[tokio::test]
async fn the_overview_counts_active_keys_and_shows_the_plan() {
    let (app, _) = app_with_user(regpilot_store::Backend::Sqlite).await;
    let s = session(&app).await;
    for name in ["a", "b"] {
        create(&app, &s, &[("name", name), ("type", "gateway"), ("environment", "prod")]).await;
    }
    let first = app.control.list_keys(&app.project_id).await.unwrap().remove(0);
    app.control.deactivate_key(&regpilot_control::Actor::system(), &first.id).await.unwrap();
    let html = get(&app, &format!("/projects/{}", app.project_id), Some(&s.cookie)).await.text();
    assert!(html.contains(r#"id="active-keys">1<"#), "{html}");
    assert!(html.contains(r#"id="requests-today">0<"#), "{html}");
    let alerts_link = format!(r#"id="open-alerts"><a href="/projects/{}/alerts">0</a>"#, app.project_id);
    assert!(html.contains(&alerts_link), "the open-alerts count links to the alerts page: {html}");
    assert!(html.contains("<strong>enterprise</strong>"), "{html}");
    assert_eq!(html.matches("<rect ").count(), 24, "a bar per hour");
    let list = get(&app, "/", Some(&s.cookie)).await.text();
    assert!(list.contains("Test project") && list.contains("unlimited, burst 10,000,000"), "{list}");
}

/// The secret in the answer to a create.
fn secret_of(r: &common::Resp) -> String {
    let html = r.text();
    let start = html.find(r#"<code id="new-secret">"#).unwrap() + r#"<code id="new-secret">"#.len();
    html[start..].split('<').next().unwrap().to_owned()
}

/// Read-your-writes: the instance that made a change applies it to its own key index before it
/// answers. The in-process app has no follower, so without it nothing would ever apply it.
#[tokio::test]
async fn a_key_made_or_changed_here_is_enforced_here_on_the_next_call() {
    for backend in backends() {
        let (app, _) = app_with_user(backend).await;
        let s = session(&app).await;
        for i in 0..10 {
            let name = format!("key {i}");
            let r = create(&app, &s, &[("name", &name), ("type", "gateway"), ("environment", "prod")]).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.describe());
            let health = app.get("/api/health", Some(&secret_of(&r))).await;
            assert_eq!(health.status, StatusCode::OK, "{backend:?}, key {i}: {}", health.describe());
        }
        let r = create(&app, &s, &[("name", "to stop"), ("type", "gateway"), ("environment", "dev")]).await;
        let secret = secret_of(&r);
        let key = app.control.list_keys(&app.project_id).await.unwrap().into_iter().find(|k| k.name == "to stop");
        let base = format!("/projects/{}/keys/{}", app.project_id, key.unwrap().id);
        for (action, want) in [("deactivate", StatusCode::UNAUTHORIZED), ("reactivate", StatusCode::OK)] {
            let r = post(&app, &format!("{base}/{action}"), Some(&s.cookie), Some(ORIGIN), &[("csrf", &s.csrf)]).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{action}: {}", r.describe());
            assert_eq!(app.get("/api/health", Some(&secret)).await.status, want, "{backend:?}: after {action}");
        }
    }
}
