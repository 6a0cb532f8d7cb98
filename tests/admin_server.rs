//! The CLI driving a running gateway through its admin API (`--server`, README.md, "Driving a
//! remote gateway"): the README walk-through done a second time with no store access from the
//! CLI, the same output and exit statuses as the local path, a key roll through one instance
//! honoured by another, and the admin token kept out of logs, answers and the store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;
use regpilot_store::testing::{backends, fresh_url};
use regpilot_store::Backend;
use serde_json::Value;

const PROPAGATION: Duration = Duration::from_secs(1);
const PASSWORD: &str = "a-long-enough-password";
/// What the remote CLI gets as its store: nothing listens there, so any store access fails.
const NO_STORE: &str = "postgres://nobody@127.0.0.1:1/none";

/// The remote CLI: `--server` from the environment, the token in `REGPILOT_ADMIN_TOKEN`, and a
/// store URL it must never use.
fn remote(dir: &Path, base: &str, token: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let env = [("REGPILOT_SERVER", base), ("REGPILOT_ADMIN_TOKEN", token), ("REGPILOT_DATABASE_TIMEOUT_MS", "100")];
    cli_with(dir, NO_STORE, args, &env, stdin)
}

fn remote_json(dir: &Path, base: &str, token: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = remote(dir, base, token, &all, None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{args:?} failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.trim().lines().count(), 1, "{stdout}");
    serde_json::from_str(stdout.trim()).unwrap()
}

fn text(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An admin user and a token for it, made on the host (the operator's one local step).
fn admin_token(dir: &Path, db: &str) -> String {
    let out = cli_with(dir, db, &["user", "create", "--email", "ops@example.com", "--json"], &[], Some(PASSWORD));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let t = cli_json(dir, db, &["token", "create", "--user", "ops@example.com", "--name", "laptop"]);
    let token = str_of(&t, "secret");
    assert!(regpilot_keys::is_admin_token(&token));
    token
}

fn db_for_walkthrough(rt: &tokio::runtime::Runtime, dir: &Path) -> String {
    if backends().contains(&Backend::Postgres) {
        rt.block_on(fresh_url(Backend::Postgres))
    } else {
        sqlite_url(dir)
    }
}

#[test]
fn the_readme_walkthrough_through_the_admin_api() {
    let scratch = Scratch::new("remote");
    let dir = scratch.path();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = db_for_walkthrough(&rt, dir);
    let server = Server::start(dir, &db, "serve", "trace");
    let token = admin_token(dir, &db);
    let base = server.base.clone();
    let mut cli_stderr = Vec::new();
    let mut run = |args: &[&str], stdin: Option<&str>| {
        let out = remote(dir, &base, &token, args, stdin);
        cli_stderr.extend_from_slice(&out.stderr);
        out
    };

    // The README's project is on the free plan; a development key's burst of 1/s there would
    // meet the polling below (limits have their own tests).
    let out = run(&["project", "create", "--name", "My App", "--plan", "enterprise", "--burst", "100000"], None);
    let line = text(&out);
    assert!(
        line.starts_with("Created project proj_")
            && line.contains("(My App) on the enterprise plan: unlimited/day, burst 100000/s"),
        "{line}"
    );
    let pid = line.split_whitespace().nth(2).unwrap().to_owned();

    let out = run(
        &["key", "create", "--project", &pid, "--type", "gateway", "--env", "dev", "--name", "laptop", "--json"],
        None,
    );
    let key: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (secret, kid) = (str_of(&key, "secret"), str_of(&key, "id"));
    assert!(secret.starts_with("sk_dev_"));
    assert_eq!(key["scopes"], serde_json::json!(["chat", "models", "governor", "usage:read"]));
    wait_for_status(&server.base, &secret, 200, PROPAGATION);

    let out = run(&["key", "deactivate", &kid], None);
    assert_eq!(text(&out), format!("Key {kid} is inactive: it is refused everywhere within a second\n"));
    wait_for_status(&server.base, &secret, 401, PROPAGATION);
    assert_eq!(text(&run(&["key", "reactivate", &kid], None)), format!("Key {kid} is active\n"));
    wait_for_status(&server.base, &secret, 200, PROPAGATION);

    let alerts = text(&run(&["alerts", "list", "--project", &pid], None));
    assert_eq!(alerts, format!("No open alerts in project {pid}.\n"));

    // The same output as the local path, text and JSON.
    for args in [
        vec!["project", "list"],
        vec!["project", "list", "--json"],
        vec!["key", "list", "--project", &pid],
        vec!["key", "list", "--project", &pid, "--json"],
        vec!["alerts", "list", "--project", &pid, "--all", "--json"],
        vec!["user", "list"],
    ] {
        let local = cli(dir, &db, &args);
        let far = run(&args, None);
        assert_eq!(text(&far), text(&local), "{args:?}");
    }

    // A roll: the successor's secret once, both keys work during the grace.
    let rolled = remote_json(dir, &base, &token, &["key", "roll", &kid, "--grace", "1h"]);
    let new_secret = str_of(&rolled, "secret");
    assert_eq!(rolled["rolled_from"]["id"], kid.as_str());
    wait_for_status(&server.base, &new_secret, 200, PROPAGATION);
    assert_eq!(health_status(&server.base, &secret), 200);

    let out = run(&["key", "delete", &kid], None);
    assert_eq!(text(&out), format!("Key {kid} is deleted for good\n"));
    wait_for_status(&server.base, &secret, 401, PROPAGATION);

    // set-plan, users and tokens.
    let p = remote_json(dir, &base, &token, &["project", "set-plan", &pid, "--plan", "enterprise", "--burst", "5000"]);
    assert_eq!((p["plan"].as_str(), p["burst"].as_i64()), (Some("enterprise"), Some(5000)));
    let u = run(&["user", "create", "--email", "viewer@example.com", "--role", "viewer", "--json"], Some(PASSWORD));
    let u: Value = serde_json::from_slice(&u.stdout).unwrap();
    assert_eq!(u["role"], "viewer");
    let tokens = remote_json(dir, &base, &token, &["token", "list"]);
    assert_eq!(tokens["tokens"].as_array().unwrap().len(), 1, "the caller's own: {tokens}");
    let t2 = remote_json(
        dir,
        &base,
        &token,
        &["token", "create", "--user", "ops@example.com", "--name", "ci", "--read-only"],
    );
    let ro = str_of(&t2, "secret");
    // A read-only token reads and is refused a write, with the local exit status of a failure.
    assert_eq!(remote_json(dir, &base, &ro, &["project", "list"])["projects"].as_array().unwrap().len(), 2);
    let refused = remote(dir, &base, &ro, &["project", "create", "--name", "x", "--json"], None);
    assert_eq!(refused.status.code(), Some(1));
    let body: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(body["code"], "FORBIDDEN");
    remote_json(dir, &base, &token, &["token", "revoke", &str_of(&t2, "id")]);
    let out = remote(dir, &base, &ro, &["project", "list"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("REGPILOT_ADMIN_TOKEN"));

    // The same exit statuses and codes as the local path.
    for (args, status, code) in [
        (vec!["key", "deactivate", "key_nope"], 1, "NOT_FOUND"),
        (vec!["key", "reactivate", &kid], 1, "CONFLICT"),
        (vec!["key", "list", "--project", "proj_nope"], 1, "NOT_FOUND"),
        (vec!["project", "create", "--name", "  "], 2, "INVALID_ARGUMENT"),
        (vec!["project", "create", "--name", "x", "--plan", "gold"], 2, "INVALID_ARGUMENT"),
        (vec!["key", "roll", &kid, "--grace", "2y"], 2, "INVALID_ARGUMENT"),
        (vec!["user", "set-role", "nobody@example.com", "--role", "admin"], 1, "NOT_FOUND"),
    ] {
        let mut with_json = args.clone();
        with_json.push("--json");
        let local = cli(dir, &db, &with_json);
        let far = run(&with_json, None);
        assert_eq!((far.status.code(), local.status.code()), (Some(status), Some(status)), "{args:?}");
        let (lj, fj): (Value, Value) =
            (serde_json::from_slice(&local.stdout).unwrap(), serde_json::from_slice(&far.stdout).unwrap());
        assert_eq!((fj["code"].as_str(), lj["code"].as_str()), (Some(code), Some(code)), "{args:?}");
        assert_eq!(fj["error"], lj["error"], "{args:?}");
    }
    // Without a token: a usage error, nothing sent.
    let out = cli_with(dir, NO_STORE, &["project", "list"], &[("REGPILOT_SERVER", &server.base)], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("REGPILOT_ADMIN_TOKEN"));

    // The admin token appears in no log, answer, CLI message or the store.
    let digest = regpilot_keys::digest(&token).to_hex();
    std::thread::sleep(Duration::from_millis(300));
    let logs = server.logs();
    assert!(logs.contains("admin"), "the trace log was written");
    for (what, hay) in [("server log", logs.as_bytes()), ("CLI stderr", &cli_stderr[..])] {
        let hay = String::from_utf8_lossy(hay);
        assert!(!hay.contains(&token), "{what} holds the admin token");
        assert!(!hay.contains(&digest), "{what} holds the admin token's digest");
        assert!(!hay.contains(&new_secret) && !hay.contains(&secret), "{what} holds a key");
        assert!(!hay.contains(&ro[4..]), "{what} holds the read-only token");
    }
    let store_bytes = store_contents(&db, dir);
    assert!(!store_bytes.is_empty());
    let store_text = String::from_utf8_lossy(&store_bytes);
    assert!(!store_text.contains(&token) && !store_text.contains(&ro), "the store holds an admin token");
    assert!(store_text.contains(&digest), "the store keeps the digest");
    assert!(server.stop().success());
}

/// Everything the store holds: the SQLite files, or a PostgreSQL dump.
fn store_contents(db: &str, dir: &Path) -> Vec<u8> {
    if db.starts_with("postgres") {
        let dump = Command::new(pg_dump()).args(["--no-owner", "--data-only", db]).output().unwrap();
        assert!(dump.status.success(), "pg_dump: {}", String::from_utf8_lossy(&dump.stderr));
        return dump.stdout;
    }
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir.join("data")).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("regpilot.db") {
            all.extend(std::fs::read(p).unwrap());
        }
    }
    all
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

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[test]
fn a_roll_through_one_instance_is_honoured_by_the_other() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let scratch = Scratch::new("roll2");
    let dir = scratch.path();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(fresh_url(Backend::Postgres));
    let a = Server::start(dir, &db, "a", "info");
    let b = Server::start(dir, &db, "b", "info");
    let token = admin_token(dir, &db);
    let p = remote_json(
        dir,
        &a.base,
        &token,
        &["project", "create", "--name", "Two", "--plan", "enterprise", "--burst", "100000"],
    );
    let pid = str_of(&p, "id");
    let key = remote_json(
        dir,
        &a.base,
        &token,
        &["key", "create", "--project", &pid, "--type", "gateway", "--env", "prod", "--name", "web"],
    );
    let (old, kid) = (str_of(&key, "secret"), str_of(&key, "id"));
    for s in [&a, &b] {
        wait_for_status(&s.base, &old, 200, PROPAGATION);
    }

    // Roll through A with a 3 s grace: B accepts the successor within 1 s, both keep the old
    // key until the grace ends, then refuse it within 1 s.
    let before = now_ms();
    let rolled = remote_json(dir, &a.base, &token, &["key", "roll", &kid, "--grace", "3s"]);
    let after = now_ms();
    let new = str_of(&rolled, "secret");
    // The grace ends 3 s after the server rolled, between `before` and `after`.
    let (earliest_end, latest_end) = (before + 3000, after + 3000);
    let took = wait_for_status(&b.base, &new, 200, PROPAGATION);
    eprintln!("the successor works on the other instance after {took:?}");
    assert_eq!(health_status(&a.base, &new), 200, "the instance that rolled applies it before answering");
    let mut old_uses = 0;
    while now_ms() < earliest_end - 300 {
        for s in [&a, &b] {
            assert_eq!(health_status(&s.base, &old), 200, "the old key works during the grace");
            old_uses += 1;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    while now_ms() < latest_end {
        std::thread::sleep(Duration::from_millis(10));
    }
    for s in [&a, &b] {
        let took = wait_for_status(&s.base, &old, 401, PROPAGATION);
        eprintln!("the old key refused by {} {took:?} after the grace ended", s.base);
        assert_eq!(health_status(&s.base, &new), 200);
    }
    // The old key's uses after the roll are counted and shown (usage is written once a second).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let list = remote_json(dir, &b.base, &token, &["key", "list", "--project", &pid]);
        let old_row = list["keys"].as_array().unwrap().iter().find(|k| k["id"] == kid.as_str()).unwrap().clone();
        assert_eq!(old_row["rolled_to"], rolled["id"]);
        let counted = old_row["uses_since_roll"].as_i64().unwrap();
        if counted >= old_uses {
            assert!(old_row["expired"].as_bool().unwrap());
            break;
        }
        assert!(Instant::now() < deadline, "{counted} of {old_uses} uses counted");
        std::thread::sleep(Duration::from_millis(200));
    }
    let listed = text(&remote(dir, &b.base, &token, &["key", "list", "--project", &pid], None));
    assert!(
        listed.contains(&format!("rolled to {}", str_of(&rolled, "id"))) && listed.contains("uses since"),
        "{listed}"
    );

    // Grace 0 through B: the successor's predecessor is refused on A within 1 s.
    let again = remote_json(dir, &b.base, &token, &["key", "roll", &str_of(&rolled, "id"), "--grace", "0"]);
    for s in [&a, &b] {
        wait_for_status(&s.base, &new, 401, PROPAGATION);
        wait_for_status(&s.base, &str_of(&again, "secret"), 200, PROPAGATION);
    }
    assert!(a.stop().success());
    assert!(b.stop().success());
}
