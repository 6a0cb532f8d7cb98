//! Black-box tests: the built binary, run as a user runs it. `serve` in one process, the CLI in
//! others; a change made by the CLI is enforced by every running server within 1 second.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use regpilot_store::testing::{backends, fresh_url};
use regpilot_store::Backend;
use serde_json::json;

/// The bound README.md ("Command line") gives for a change made anywhere to be enforced everywhere.
const PROPAGATION: Duration = Duration::from_secs(1);

/// Creates a project and keys with the CLI, then walks one key through its lifecycle while
/// every server in `servers` is checked.
fn lifecycle(dir: &std::path::Path, db: &str, servers: &[&Server]) {
    // Limits have their own tests (tests/limits_usage.rs); here the polling must never meet them.
    let project =
        cli_json(dir, db, &["project", "create", "--name", "Acme", "--plan", "enterprise", "--burst", "100000"]);
    let pid = str_of(&project, "id");
    assert_eq!((project["plan"].as_str(), project["burst"].as_i64()), (Some("enterprise"), Some(100_000)));

    let key =
        cli_json(dir, db, &["key", "create", "--project", &pid, "--type", "gateway", "--env", "prod", "--name", "web"]);
    let secret = str_of(&key, "secret");
    let kid = str_of(&key, "id");
    assert!(secret.starts_with("sk_prod_") && secret.len() == 46, "{secret}");
    assert_eq!(key["prefix"], format!("{}…{}", &secret[..12], &secret[42..]));
    assert_eq!(key["scopes"], serde_json::json!(["chat", "models", "governor", "usage:read"]));

    let pkey = cli_json(
        dir,
        db,
        &["key", "create", "--project", &pid, "--type", "project", "--env", "dev", "--name", "ci", "--read-only"],
    );
    let psecret = str_of(&pkey, "secret");
    assert!(psecret.starts_with("pk_dev_"));
    assert_eq!(pkey["scopes"], serde_json::json!(["usage:read", "compliance:read"]));

    for s in servers {
        wait_for_status(&s.base, &secret, 200, PROPAGATION);
        let (status, body) = get(&s.base, "/api/health", &[("Authorization", &format!("Bearer {secret}"))]);
        assert_eq!(status, 200);
        assert_eq!(
            body,
            serde_json::json!({"status":"ok","authenticated":true,"project_id":pid,"key_type":"gateway","environment":"production"})
        );
        wait_for_status(&s.base, &psecret, 200, PROPAGATION);
        // Read-only project key: reads yes, writes no.
        assert_eq!(get(&s.base, "/api/compliance/status", &[("X-API-Key", &psecret)]).0, 200);
        let (status, body) = post(
            &s.base,
            "/api/compliance/violations",
            &[("X-API-Key", &psecret)],
            r#"{"title":"t","severity":"low"}"#,
        );
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["required"], "compliance:write");
        // A gateway key on a compliance route: wrong type.
        assert_eq!(get(&s.base, "/api/compliance/status", &[("X-API-Key", &secret)]).0, 403);
    }

    // The listing never carries a secret.
    let list = cli_json(dir, db, &["key", "list", "--project", &pid]);
    assert_eq!(list["keys"].as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains(&secret) && !list.to_string().contains(&psecret));

    // Deactivate: refused everywhere within 1 s.
    let out = cli_json(dir, db, &["key", "deactivate", &kid]);
    assert_eq!(out["status"], "inactive");
    for s in servers {
        let took = wait_for_status(&s.base, &secret, 401, PROPAGATION);
        eprintln!("deactivation enforced by {} after {took:?}", s.base);
        let (_, body) = get(&s.base, "/api/health", &[("X-API-Key", &secret)]);
        assert_eq!(
            body,
            serde_json::json!({"error":"Invalid or inactive API key","code":"INVALID_API_KEY","authenticated":false})
        );
    }
    // Reactivate restores it.
    assert_eq!(cli_json(dir, db, &["key", "reactivate", &kid])["status"], "active");
    for s in servers {
        wait_for_status(&s.base, &secret, 200, PROPAGATION);
    }
    // Delete is final.
    assert_eq!(cli_json(dir, db, &["key", "delete", &kid])["status"], "deleted");
    for s in servers {
        wait_for_status(&s.base, &secret, 401, PROPAGATION);
    }
    let out = cli(dir, db, &["key", "reactivate", &kid]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("deleted") && err.contains("cannot be reactivated"), "{err}");
    let out = cli(dir, db, &["key", "reactivate", &kid, "--json"]);
    assert!(!out.status.success());
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["code"], "CONFLICT");
    std::thread::sleep(Duration::from_millis(300));
    for s in servers {
        assert_eq!(health_status(&s.base, &secret), 401, "a deleted key stays refused");
    }
    // The listing leaves the deleted key out.
    assert_eq!(cli_json(dir, db, &["key", "list", "--project", &pid])["keys"].as_array().unwrap().len(), 1);
}

#[test]
fn sqlite_cli_and_server_in_separate_processes() {
    let scratch = Scratch::new("sqlite");
    let db = sqlite_url(scratch.path());
    let server = Server::start(scratch.path(), &db, "serve", "info");
    // First start on an empty store: a default project and an admin, password printed once.
    let first = std::fs::read_to_string(&server.stdout).unwrap();
    assert!(first.contains("admin@localhost") && first.contains("One-time admin password"), "{first}");
    let (status, body) = get(&server.base, "/api/health", &[]);
    assert_eq!((status, body), (200, serde_json::json!({"status":"ok","authenticated":false})));
    assert_eq!(get(&server.base, "/api/ready", &[]).0, 200);

    lifecycle(scratch.path(), &db, &[&server]);

    let projects = cli_json(scratch.path(), &db, &["project", "list"]);
    assert_eq!(projects["projects"].as_array().unwrap().len(), 2, "Default + Acme: {projects}");
    let (status, metrics) = get(&server.base, "/metrics", &[]);
    assert_eq!(status, 200);
    assert!(metrics.as_str().unwrap().contains("regpilot_auth_outcomes_total{outcome=\"inactive\"}"));

    // A restart does not bootstrap again, and SIGTERM exits cleanly.
    assert!(server.stop().success());
    let again = Server::start(scratch.path(), &db, "serve2", "info");
    assert!(!std::fs::read_to_string(&again.stdout).unwrap().contains("One-time admin password"));
    assert!(again.stop().success());
}

#[test]
fn postgres_two_instances_follow_one_store() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let scratch = Scratch::new("pg");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(fresh_url(Backend::Postgres));
    let a = Server::start(scratch.path(), &db, "a", "info");
    let b = Server::start(scratch.path(), &db, "b", "info");
    // Only one of two instances starting together bootstraps.
    let boots = [&a, &b].iter().filter(|s| std::fs::read_to_string(&s.stdout).unwrap().contains("One-time")).count();
    assert_eq!(boots, 1);
    lifecycle(scratch.path(), &db, &[&a, &b]);
    assert!(a.stop().success());
    assert!(b.stop().success());
}

#[test]
fn cli_errors_are_clear_and_exit_non_zero() {
    let scratch = Scratch::new("cli");
    let db = sqlite_url(scratch.path());
    let dir = scratch.path();
    let check = |args: &[&str], code: i32, needle: &str| {
        let out = cli(dir, &db, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
    };
    check(&["key", "list", "--project", "proj_nope"], 1, "project 'proj_nope' not found");
    check(&["key", "deactivate", "key_nope"], 1, "key 'key_nope' not found");
    check(&["project", "set-plan", "proj_nope", "--plan", "pro"], 1, "not found");
    check(&["project", "set-plan", "proj_nope"], 2, "--plan");
    check(&["project", "create", "--name", "x", "--plan", "gold"], 2, "unknown plan 'gold'");
    check(&["project", "create", "--name", "x", "--daily-limit", "5"], 2, "enterprise plan only");
    check(&["project", "create", "--name", "  "], 2, "name is required");
    let p = cli_json(dir, &db, &["project", "create", "--name", "P", "--plan", "enterprise", "--daily-limit", "5000"]);
    assert_eq!(
        (&p["plan"], &p["daily_limit"], &p["burst"], &p["governor"]),
        (&json!("enterprise"), &json!(5000), &json!(1000), &json!(true))
    );
    let pid = str_of(&p, "id");
    check(
        &["key", "create", "--project", &pid, "--type", "admin", "--env", "prod", "--name", "k"],
        2,
        "unknown key type 'admin'",
    );
    check(
        &["key", "create", "--project", &pid, "--type", "gateway", "--env", "live", "--name", "k"],
        2,
        "unknown environment 'live'",
    );
    check(
        &["key", "create", "--project", &pid, "--type", "gateway", "--env", "prod", "--name", "k", "--expires-in", "0"],
        2,
        "expiry",
    );
    check(
        &[
            "key",
            "create",
            "--project",
            &pid,
            "--type",
            "gateway",
            "--env",
            "prod",
            "--name",
            "k",
            "--scopes",
            "compliance:write",
        ],
        2,
        "cannot be granted",
    );
    check(&["key", "create", "--project", &pid, "--type", "gateway", "--env", "prod"], 2, "--name");
    check(&["frobnicate"], 2, "unrecognized subcommand");
    let k = cli_json(
        dir,
        &db,
        &["key", "create", "--project", &pid, "--type", "gateway", "--env", "stg", "--name", "k", "--expires-in", "30"],
    );
    assert!(k["expires_at"].is_string());
    let set = cli_json(dir, &db, &["project", "set-plan", &pid, "--plan", "pro"]);
    assert_eq!(set["daily_limit"], 100000);

    // user create reads the password from stdin.
    let out = cli_with(
        dir,
        &db,
        &["user", "create", "--email", "ops@example.com", "--json"],
        &[],
        Some("correct horse battery staple\n"),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let u: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(u["email"], "ops@example.com");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("horse"));
    let out =
        cli_with(dir, &db, &["user", "create", "--email", "ops@example.com"], &[], Some("another long password\n"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = cli_with(dir, &db, &["user", "create", "--email", "x@example.com"], &[], Some("short\n"));
    assert_eq!(out.status.code(), Some(2));
}

/// A dashboard form POST from the server's own origin; the status, the session cookie if one is
/// set, and the body.
fn dashboard_form(
    base: &str,
    path: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    let encode = |v: &str| -> String {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let mut req = agent
        .post(&format!("{base}{path}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Origin", base);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let mut resp = req.send(body.join("&").as_str()).unwrap();
    let set_cookie = resp.headers().get("set-cookie").map(|v| v.to_str().unwrap().split(';').next().unwrap().into());
    (resp.status().as_u16(), set_cookie, resp.body_mut().read_to_string().unwrap())
}

/// The text between `start` and the next `end` after it.
fn between<'a>(html: &'a str, start: &str, end: char) -> &'a str {
    let from = html.find(start).unwrap_or_else(|| panic!("no {start} in {html}")) + start.len();
    &html[from..from + html[from..].find(end).unwrap()]
}

/// Read-your-writes (README.md, "Several instances"): with a feed poll of a whole second, a key
/// made in a server's dashboard works on that server's very first call, and one deactivated
/// there is refused on the next.
#[test]
fn a_key_made_in_the_dashboard_works_on_the_first_call() {
    let scratch = Scratch::new("ryw");
    let (dir, db) = (scratch.path(), sqlite_url(scratch.path()));
    let server = Server::start_with(dir, &db, "serve", "info", &[("REGPILOT_FEED_POLL_MS", "1000")]);
    let password = "a-long-enough-password";
    let email = "keys@example.com";
    let made = cli_with(dir, &db, &["user", "create", "--email", email, "--role", "admin"], &[], Some(password));
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let project =
        cli_json(dir, &db, &["project", "create", "--name", "RYW", "--plan", "enterprise", "--burst", "1000"]);
    let pid = str_of(&project, "id");

    let (status, cookie, _) = dashboard_form(&server.base, "/login", None, &[("email", email), ("password", password)]);
    assert_eq!(status, 303);
    let cookie = cookie.unwrap();
    let page = agent().get(&format!("{}/projects/{pid}/keys", server.base)).header("Cookie", &cookie).call();
    let csrf = between(&page.unwrap().body_mut().read_to_string().unwrap(), r#"name="csrf" value=""#, '"').to_owned();
    let keys = format!("/projects/{pid}/keys");
    let mut last = String::new();
    for i in 0..5 {
        let name = format!("key {i}");
        let fields = [("csrf", csrf.as_str()), ("name", &name), ("type", "gateway"), ("environment", "prod")];
        let (status, _, html) = dashboard_form(&server.base, &keys, Some(&cookie), &fields);
        assert_eq!(status, 201, "{html}");
        last = between(&html, r#"<code id="new-secret">"#, '<').to_owned();
        assert_eq!(health_status(&server.base, &last), 200, "key {i} on its first call");
    }
    let listed = cli_json(dir, &db, &["key", "list", "--project", &pid]);
    let kid = listed["keys"].as_array().unwrap().iter().find(|k| k["name"] == "key 4").map(|k| str_of(k, "id"));
    let deactivate = format!("{keys}/{}/deactivate", kid.unwrap());
    let (status, _, _) = dashboard_form(&server.base, &deactivate, Some(&cookie), &[("csrf", &csrf)]);
    assert_eq!(status, 303);
    assert_eq!(health_status(&server.base, &last), 401, "deactivated here: refused on the next call");
    assert!(server.stop().success());
}
