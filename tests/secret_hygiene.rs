//! No secret reaches a log line, CLI stderr, or the store: the whole black-box scenario at
//! `RUST_LOG=trace`, keys sent every way a client might (including the refused ones: query
//! string, body), then every captured byte is searched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use regpilot_store::testing::{backends, fresh_url};
use regpilot_store::Backend;

const TRACE: &str = "trace";

struct Capture {
    /// Secrets created in the scenario, with their digests (which must not be logged either).
    secrets: Vec<String>,
    /// Everything a person or a log collector would see, except the one create answer.
    logs: Vec<(String, Vec<u8>)>,
}

fn run_scenario(dir: &Path, db: &str, server: &Server) -> Capture {
    let env = [("RUST_LOG", TRACE)];
    let mut logs = Vec::new();
    let mut cli_logged = |args: &[&str], keep_stdout: bool| -> serde_json::Value {
        let out = cli_with(dir, db, args, &env, None);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        logs.push((format!("stderr of {args:?}"), out.stderr.clone()));
        if keep_stdout {
            logs.push((format!("stdout of {args:?}"), out.stdout.clone()));
        }
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let pid = str_of(&cli_logged(&["project", "create", "--name", "Hygiene", "--json"], true), "id");
    let mut secrets = Vec::new();
    let mut ids = Vec::new();
    for (t, e) in [("gateway", "prod"), ("project", "stg"), ("project", "dev"), ("gateway", "dev")] {
        // The create answer is the one place the secret is meant to be: not kept as a log.
        let k =
            cli_logged(&["key", "create", "--project", &pid, "--type", t, "--env", e, "--name", "h", "--json"], false);
        secrets.push(str_of(&k, "secret"));
        ids.push(str_of(&k, "id"));
    }
    let _ = cli_logged(&["key", "list", "--project", &pid, "--json"], true);
    let base = &server.base;
    for s in &secrets {
        wait_for_status(base, s, 200, std::time::Duration::from_secs(1));
        for h in ["X-API-Key", "X-RegPilot-Key", "Api-Key"] {
            get(base, "/api/health", &[(h, s)]);
            get(base, "/api/compliance/violations?status=open", &[(h, s)]);
        }
        let bearer = format!("Bearer {s}");
        for h in ["Authorization", "X-Authorization", "Proxy-Authorization"] {
            get(base, "/api/compliance/status", &[(h, &bearer)]);
        }
        get(base, "/api/health", &[("X-Authorization", s)]);
        // Misplaced keys: refused, and must not be logged from the URL or the body.
        get(base, &format!("/api/health?api_key={s}"), &[]);
        get(base, &format!("/api/compliance/status?key={s}"), &[]);
        post(base, "/api/compliance/violations", &[], &format!(r#"{{"api_key":"{s}"}}"#));
        post(
            base,
            "/api/compliance/violations",
            &[("X-API-Key", s)],
            &format!(r#"{{"title":"{s}","severity":"bogus"}}"#),
        );
        // Near misses: a bad checksum and a truncated key.
        let mut bad = s.clone();
        bad.pop();
        get(base, "/api/health", &[("X-API-Key", &format!("{bad}0"))]);
        get(base, "/api/health", &[("X-API-Key", &bad)]);
        get(base, &format!("/no/such/route/{s}"), &[("X-API-Key", s)]);
    }
    // A secret passed where an id belongs (a common mix-up) is refused without being echoed.
    let mut mixups = Vec::new();
    for args in [vec!["key", "deactivate", secrets[2].as_str()], vec!["key", "list", "--project", secrets[3].as_str()]]
    {
        let out = cli_with(dir, db, &args, &env, None);
        assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a"), "a clear message");
        mixups.push(("stderr of a secret given as an id".to_string(), out.stderr));
        mixups.push(("stdout of a secret given as an id".to_string(), out.stdout));
    }
    let _ = cli_logged(&["key", "deactivate", &ids[0], "--json"], true);
    wait_for_status(base, &secrets[0], 401, std::time::Duration::from_secs(1));
    let _ = cli_logged(&["key", "delete", &ids[1], "--json"], true);
    wait_for_status(base, &secrets[1], 401, std::time::Duration::from_secs(1));
    get(base, "/api/health", &[("X-API-Key", &secrets[0])]);
    let (_, metrics) = get(base, "/metrics", &[]);
    logs.push(("GET /metrics".into(), metrics.as_str().unwrap().as_bytes().to_vec()));
    logs.extend(mixups);
    Capture { secrets, logs }
}

/// A form POST to the dashboard (same origin), without following redirects; the status, the
/// `Set-Cookie` value (if any) and the page.
fn form(base: &str, path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> (u16, Option<String>, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let body: String = fields.iter().map(|(k, v)| format!("{k}={}", url_encode(v))).collect::<Vec<_>>().join("&");
    let mut req = agent
        .post(&format!("{base}{path}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Origin", base);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let mut resp = req.send(body.as_str()).unwrap();
    let set_cookie =
        resp.headers().get("set-cookie").map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    (resp.status().as_u16(), set_cookie, resp.body_mut().read_to_string().unwrap())
}

fn page(base: &str, path: &str, cookie: &str) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    agent.get(&format!("{base}{path}")).header("Cookie", cookie).call().unwrap().body_mut().read_to_string().unwrap()
}

fn url_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of the first `attr="…"` after `marker` in `html`.
fn attr_after(html: &str, marker: &str, attr: &str) -> String {
    let rest = &html[html.find(marker).unwrap_or_else(|| panic!("no {marker} in {html}"))..];
    let start = rest.find(&format!("{attr}=\"")).unwrap() + attr.len() + 2;
    rest[start..start + rest[start..].find('"').unwrap()].to_owned()
}

/// The dashboard as a person uses it: a wrong password, the first login with the one-time
/// password, the forced change, a key created in the page. Returns the secrets it saw: the
/// session cookies, the CSRF token, the new password and the key made in the page.
fn dashboard_session(base: &str, admin_password: &str, project_id: &str) -> Vec<String> {
    let (status, cookie, _) =
        form(base, "/login", None, &[("email", "admin@localhost"), ("password", "wrong-password-1")]);
    assert_eq!((status, cookie), (401, None));
    let (status, cookie, _) = form(base, "/login", None, &[("email", "admin@localhost"), ("password", admin_password)]);
    assert_eq!(status, 303);
    let first = cookie.unwrap();
    let html = page(base, "/account/password", &first);
    let csrf = attr_after(&html, "name=\"csrf\"", "value");
    let new_password = "hygiene-new-password-42";
    let (status, _, _) = form(
        base,
        "/account/password",
        Some(&first),
        &[
            ("csrf", &csrf),
            ("current_password", admin_password),
            ("new_password", new_password),
            ("confirm_password", new_password),
        ],
    );
    assert!(status == 303 || status == 200, "password change: {status}");
    let (status, cookie, _) =
        form(base, "/login", Some(&first), &[("email", "admin@localhost"), ("password", new_password)]);
    assert_eq!(status, 303);
    let second = cookie.unwrap();
    let html = page(base, &format!("/projects/{project_id}/keys"), &second);
    let csrf2 = attr_after(&html, "name=\"csrf\"", "value");
    let (status, _, html) = form(
        base,
        &format!("/projects/{project_id}/keys"),
        Some(&second),
        &[("csrf", &csrf2), ("name", "from the page"), ("type", "gateway"), ("environment", "prod")],
    );
    assert_eq!(status, 201, "{html}");
    let start = html.find("<code id=\"new-secret\">").unwrap() + "<code id=\"new-secret\">".len();
    let secret = html[start..start + html[start..].find('<').unwrap()].to_owned();
    wait_for_status(base, &secret, 200, std::time::Duration::from_secs(2));
    let value = |c: &str| c.split_once('=').unwrap().1.to_owned();
    vec![value(&first), value(&second), csrf, csrf2, new_password.to_owned(), secret]
}

fn assert_clean(what: &str, bytes: &[u8], secrets: &[String], check_digests: bool) {
    let text = String::from_utf8_lossy(bytes);
    for s in secrets {
        assert!(!text.contains(s.as_str()), "a secret appears in {what}");
        // Also no long piece of it (a log that truncates would still leak most of the key).
        assert!(!text.contains(&s[8..40]), "the body of a secret appears in {what}");
        if check_digests {
            let d = regpilot_keys::digest(s).to_hex();
            assert!(!text.contains(&d), "a key digest appears in {what}");
        }
    }
}

#[test]
fn sqlite_logs_stderr_and_store_files_hold_no_secret() {
    let scratch = Scratch::new("hygiene-sqlite");
    let db = sqlite_url(scratch.path());
    let server = Server::start(scratch.path(), &db, "serve", TRACE);
    let cap = run_scenario(scratch.path(), &db, &server);
    let logs = server.logs();
    assert!(logs.contains("TRACE") || logs.contains("DEBUG"), "the scenario ran with verbose logs");
    let password =
        logs.split("change it at first login): ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap().to_owned();
    let default_project = cli_json(scratch.path(), &db, &["project", "list"])["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Default")
        .map(|p| str_of(p, "id"))
        .unwrap();
    let dashboard = dashboard_session(&server.base, &password, &default_project);
    assert!(server.stop().success());
    let stderr = std::fs::read(scratch.path().join("serve.stderr")).unwrap();
    for s in &dashboard {
        assert!(!String::from_utf8_lossy(&stderr).contains(s.as_str()), "a dashboard secret is in the server log");
    }

    let stderr = std::fs::read(scratch.path().join("serve.stderr")).unwrap();
    assert_clean("serve logs", &stderr, &cap.secrets, true);
    assert!(!String::from_utf8_lossy(&stderr).contains(&password), "the admin password is never logged");
    for (what, bytes) in &cap.logs {
        assert_clean(what, bytes, &cap.secrets, true);
    }
    let data = scratch.path().join("data");
    let mut files = 0;
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert_clean(&path.display().to_string(), &bytes, &cap.secrets, false);
        assert!(!String::from_utf8_lossy(&bytes).contains(&password), "admin password in {}", path.display());
        // Session ids are kept as digests; the new password as an Argon2 hash; the key made in
        // the page as a digest. (The CSRF token is stored: it is no credential on its own.)
        for (i, s) in dashboard.iter().enumerate().filter(|(i, _)| ![2, 3].contains(i)) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(s.as_str()),
                "dashboard secret {i} in {}",
                path.display()
            );
        }
        files += 1;
    }
    assert!(files >= 1);
}

#[test]
fn postgres_logs_and_dump_hold_no_secret() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let scratch = Scratch::new("hygiene-pg");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(fresh_url(Backend::Postgres));
    // With Redis where the test script started one: the limiter's keys must be clean too.
    let redis = std::env::var("REGPILOT_TEST_REDIS_URL").ok().filter(|u| !u.is_empty());
    let env: Vec<(&str, &str)> = redis.iter().map(|u| ("REGPILOT_REDIS_URL", u.as_str())).collect();
    let server = Server::start_with(scratch.path(), &db, "serve", TRACE, &env);
    let cap = run_scenario(scratch.path(), &db, &server);
    assert!(server.stop().success());
    if let Some(url) = &redis {
        let keys = Command::new("redis-cli").args(["-u", url, "--scan", "--pattern", "regpilot:*"]).output().unwrap();
        assert!(keys.status.success());
        let names = String::from_utf8_lossy(&keys.stdout).to_string();
        assert!(!names.trim().is_empty(), "the scenario left limiter state in Redis");
        assert_clean("Redis key names", names.as_bytes(), &cap.secrets, true);
        for name in names.lines().take(200) {
            let value = Command::new("redis-cli").args(["-u", url, "DUMP", name]).output().unwrap();
            assert_clean(&format!("Redis value of {name}"), &value.stdout, &cap.secrets, true);
        }
    }
    let stderr = std::fs::read(scratch.path().join("serve.stderr")).unwrap();
    assert_clean("serve logs", &stderr, &cap.secrets, true);
    for (what, bytes) in &cap.logs {
        assert_clean(what, bytes, &cap.secrets, true);
    }
    let dump = Command::new(pg_dump()).args(["--no-owner", "--data-only", &db]).output().unwrap();
    assert!(dump.status.success(), "pg_dump: {}", String::from_utf8_lossy(&dump.stderr));
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(text.contains("api_keys"), "the dump holds the keys table");
    assert_clean("pg_dump", &dump.stdout, &cap.secrets, false);
}

fn pg_dump() -> String {
    if let Ok(bin) = std::env::var("PG_BIN") {
        return format!("{bin}/pg_dump");
    }
    for v in ["17", "16", "15"] {
        let p = format!("/usr/lib/postgresql/{v}/bin/pg_dump");
        if Path::new(&p).exists() {
            return p;
        }
    }
    "pg_dump".into()
}
