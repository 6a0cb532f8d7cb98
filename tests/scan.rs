//! `regpilot scan` and the leak response, run as a user runs them (README.md, "Secret scanning"
//! and "Leak response"): a fixture tree with live, inactive, deleted, malformed and
//! checksum-broken keys, an admin token, a .gitignored file and a binary; `--check` against the
//! store and against a gateway (a stub of the admin status endpoint); `--report` to a running
//! gateway, refused on a second instance within 1 s; no full secret in any output, log or store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use regpilot_store::testing::{backends, fresh_url};
use regpilot_store::Backend;
use serde_json::{json, Value};

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn prefix(secret: &str) -> String {
    regpilot_keys::display_prefix_of(secret)
}

#[track_caller]
fn assert_hidden(out: &Output, secrets: &[&str]) {
    let (stdout, stderr) = text(out);
    for s in secrets {
        assert!(!stdout.contains(s) && !stderr.contains(s), "a full secret was printed:\n{stdout}\n{stderr}");
    }
}

/// A secret whose last character no longer matches the checksum.
fn broken(secret: &str) -> String {
    let mut s = secret.to_owned();
    let last = s.pop().unwrap();
    s.push(if last == 'A' { 'B' } else { 'A' });
    s
}

struct Fixture {
    scratch: Scratch,
    db: String,
    live: String,
    live_id: String,
    inactive: String,
    deleted: String,
    token: String,
    /// Every full secret written into the tree.
    all: Vec<String>,
}

impl Fixture {
    fn dir(&self) -> &Path {
        self.scratch.path()
    }

    fn tree(&self) -> std::path::PathBuf {
        self.dir().join("tree")
    }

    fn scan(&self, args: &[&str]) -> Output {
        let mut all = vec!["scan"];
        all.extend_from_slice(args);
        cli(&self.tree(), &self.db, &all)
    }
}

fn create_key(dir: &Path, db: &str, project: &str, key_type: &str, name: &str) -> (String, String) {
    let k = cli_json(
        dir,
        db,
        &["key", "create", "--project", project, "--type", key_type, "--env", "prod", "--name", name],
    );
    (str_of(&k, "id"), str_of(&k, "secret"))
}

fn fixture() -> Fixture {
    let scratch = Scratch::new("scan");
    let dir = scratch.path().to_owned();
    let db = sqlite_url(&dir);
    let project = str_of(&cli_json(&dir, &db, &["project", "create", "--name", "Scan"]), "id");
    let (live_id, live) = create_key(&dir, &db, &project, "gateway", "live");
    let (inactive_id, inactive) = create_key(&dir, &db, &project, "project", "inactive");
    let (deleted_id, deleted) = create_key(&dir, &db, &project, "gateway", "deleted");
    assert!(cli(&dir, &db, &["key", "deactivate", &inactive_id]).status.success());
    assert!(cli(&dir, &db, &["key", "delete", &deleted_id]).status.success());
    let token = regpilot_keys::generate_admin_token().unwrap().expose().to_owned();
    let checksum_broken = broken(&live);
    let malformed = format!("sk_live_{}", &live[8..]);

    let tree = dir.join("tree");
    let write = |rel: &str, bytes: &[u8]| {
        let path = tree.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    write(".gitignore", b"ignored.env\nbuild/\n");
    write("app/config.py", format!("# settings\n\nAPI_KEY = \"{live}\"\n\nCOMPLIANCE = '{inactive}'\n").as_bytes());
    write("app/.env", format!("OLD_KEY={deleted}\nREGPILOT_ADMIN_TOKEN={token}\n").as_bytes());
    write("notes.md", format!("not keys: {malformed} {checksum_broken} x{live} sk_prod_short\n").as_bytes());
    write("ignored.env", format!("KEY={live}\n").as_bytes());
    write("build/out.txt", format!("{live}\n").as_bytes());
    let mut blob = vec![0u8, 1, 2, 3];
    blob.extend_from_slice(live.as_bytes());
    write("assets/blob.bin", &blob);
    write("clean/readme.txt", b"nothing to see: sk_ pk_ rpa_\n");
    let all = vec![live.clone(), inactive.clone(), deleted.clone(), token.clone(), checksum_broken, malformed];
    Fixture { scratch, db, live, live_id, inactive, deleted, token, all }
}

fn secrets(fx: &Fixture) -> Vec<&str> {
    fx.all.iter().map(String::as_str).collect()
}

#[test]
fn scan_finds_only_checksum_valid_secrets_and_checks_them_in_the_store() {
    let fx = fixture();
    let hidden = secrets(&fx);

    // Without --check: every valid secret counts; exit 1.
    let out = fx.scan(&["."]);
    assert_eq!(code(&out), 1, "{:?}", text(&out));
    assert_hidden(&out, &hidden);
    let (stdout, stderr) = text(&out);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("./app/.env:1:9: {}  gateway key, production", prefix(&fx.deleted)),
            format!("./app/.env:2:22: {}  admin token", prefix(&fx.token)),
            format!("./app/config.py:3:12: {}  gateway key, production", prefix(&fx.live)),
            format!("./app/config.py:5:15: {}  project key, production", prefix(&fx.inactive)),
        ],
        "the .gitignored file and folder, the binary, the malformed and checksum-broken strings are not found"
    );
    assert!(stderr.contains("4 secrets found in 5 files"), "{stderr}");
    assert!(stderr.contains("1 binary skipped"), "{stderr}");

    // With --check, by digest in the store.
    let out = fx.scan(&[".", "--check"]);
    assert_eq!(code(&out), 1, "a live key: {:?}", text(&out));
    assert_hidden(&out, &hidden);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains(&format!("{}  gateway key, production  [live, {}]", prefix(&fx.live), fx.live_id)),
        "{stdout}"
    );
    assert!(stdout.contains("project key, production  [inactive, key_"), "{stdout}");
    assert!(stdout.contains("gateway key, production  [deleted, key_"), "{stdout}");
    assert!(stdout.contains("admin token  [unknown]"), "{stdout}");

    // JSON: one object.
    let out = fx.scan(&["app", "--check", "--format", "json"]);
    assert_eq!(code(&out), 1);
    let (stdout, _) = text(&out);
    assert_eq!(stdout.trim().lines().count(), 1);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    let statuses: Vec<&str> = v["findings"].as_array().unwrap().iter().map(|f| f["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["deleted", "unknown", "live", "inactive"]);
    assert_eq!(v["findings"][2]["path"], "app/config.py");
    assert_eq!(v["findings"][2]["line"], 3);
    assert_eq!(v["findings"][2]["key_id"], fx.live_id.as_str());
    assert_eq!(v["findings"][1]["kind"], "admin_token");
    assert_eq!(v["summary"]["live"], 1);
    assert_eq!(v["summary"]["found"], 4);
    assert_hidden(&out, &hidden);
    // `--json` is the same as `--format json`.
    let global = fx.scan(&["app", "--json"]);
    assert!(serde_json::from_slice::<Value>(&global.stdout).unwrap()["findings"].is_array());

    // SARIF 2.1.0 (tests/clients/test_scan_sarif.py validates it against the schema).
    let out = fx.scan(&[".", "--check", "--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "regpilot scan");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    let live = results.iter().find(|r| r["message"]["text"].as_str().unwrap().contains(&prefix(&fx.live))).unwrap();
    assert_eq!(live["level"], "error");
    assert_eq!(live["ruleId"], "regpilot/api-key");
    let loc = &live["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "app/config.py");
    assert_eq!((loc["region"]["startLine"].as_u64(), loc["region"]["startColumn"].as_u64()), (Some(3), Some(12)));
    let levels: Vec<&str> = results.iter().map(|r| r["level"].as_str().unwrap()).collect();
    assert_eq!(levels, ["note", "warning", "error", "note"]);
    assert_hidden(&out, &hidden);

    // Once the live key is deactivated, --check passes (nothing found is live).
    assert!(cli(fx.dir(), &fx.db, &["key", "deactivate", &fx.live_id]).status.success());
    let out = fx.scan(&[".", "--check"]);
    assert_eq!(code(&out), 0, "{:?}", text(&out));
    assert!(text(&out).0.contains("[inactive, "));
    // Without --check, any secret still fails the scan.
    assert_eq!(code(&fx.scan(&["."])), 1);
}

#[test]
fn scan_inputs_exit_codes_and_standard_input() {
    let fx = fixture();
    let clean = fx.scan(&["clean"]);
    assert_eq!(code(&clean), 0, "{:?}", text(&clean));
    assert_eq!(text(&clean).0, "");
    assert_eq!(code(&fx.scan(&["no-such-dir"])), 2);
    assert_eq!(code(&fx.scan(&["--format", "yaml", "."])), 2);
    // A file named on the command line is read whatever .gitignore says.
    let named = fx.scan(&["ignored.env"]);
    assert_eq!(code(&named), 1);
    assert_eq!(text(&named).0, format!("ignored.env:1:5: {}  gateway key, production\n", prefix(&fx.live)));

    let piped = cli_with(&fx.tree(), &fx.db, &["scan", "-"], &[], Some(&format!("diff\n+ key = {}\n", fx.live)));
    assert_eq!(code(&piped), 1);
    assert_eq!(text(&piped).0, format!("-:2:9: {}  gateway key, production\n", prefix(&fx.live)));
    assert_hidden(&piped, &secrets(&fx));
    let nothing = cli_with(&fx.tree(), &fx.db, &["scan"], &[], Some("just text sk_prod_ and rpa_\n"));
    assert_eq!(code(&nothing), 0, "{:?}", text(&nothing));

    // --report without a server or token is a usage error, and nothing is read.
    assert_eq!(code(&fx.scan(&[".", "--report"])), 2);
    let no_token =
        cli_with(&fx.tree(), &fx.db, &["scan", ".", "--report", "--server", "http://127.0.0.1:9"], &[], None);
    assert_eq!(code(&no_token), 2);
    assert!(text(&no_token).1.contains("reporter token"), "{:?}", text(&no_token));
}

/// What the stub gateway received: the Authorization header and the body of each request.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A stand-in for `POST /api/admin/keys/status` with the answer shape the gateway documents:
/// `{"keys":[{"digest","status","prefix","key_id"}]}`, `live` for `live_digest`, `unknown`
/// otherwise; 401 in the error shape without the admin token.
fn stub_status_server(admin_token: String, live_digest: String) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut auth, mut len, mut request_line) = (String::new(), 0usize, String::new());
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "authorization" => auth = value.trim().to_owned(),
                    "content-length" => len = value.trim().parse().unwrap(),
                    _ => {}
                }
            }
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).unwrap();
            let body = String::from_utf8(body).unwrap();
            log.lock().unwrap().push((auth.clone(), body.clone()));
            let (status, answer) = if !request_line.starts_with("POST /api/admin/keys/status ") {
                ("404 Not Found", json!({"error": "No such route", "code": "NOT_FOUND"}))
            } else if auth != format!("Bearer {admin_token}") {
                ("401 Unauthorized", json!({"error": "Invalid admin token", "code": "INVALID_ADMIN_TOKEN"}))
            } else {
                let asked: Value = serde_json::from_str(&body).unwrap();
                let keys: Vec<Value> = asked["digests"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| {
                        if *d == live_digest {
                            json!({"digest": d, "status": "live", "prefix": "sk_prod_stub…stub", "key_id": "key_stub"})
                        } else {
                            json!({"digest": d, "status": "unknown", "prefix": null, "key_id": null})
                        }
                    })
                    .collect();
                ("200 OK", json!({ "keys": keys }))
            };
            let answer = answer.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (base, seen)
}

#[test]
fn scan_check_through_a_server_sends_digests_only() {
    let fx = fixture();
    let admin = regpilot_keys::generate_admin_token().unwrap().expose().to_owned();
    let live_digest = regpilot_keys::digest(&fx.live).to_hex();
    let (base, seen) = stub_status_server(admin.clone(), live_digest);
    // No store is opened: the database URL points nowhere usable.
    let nowhere = "sqlite:///nonexistent-folder/for/sure/regpilot.db";
    let run = |env: &[(&str, &str)]| {
        cli_with(&fx.tree(), nowhere, &["scan", "app", "--check", "--server", &base, "--format", "json"], env, None)
    };

    let missing = run(&[]);
    assert_eq!(code(&missing), 2, "{:?}", text(&missing));
    assert!(text(&missing).1.contains("REGPILOT_ADMIN_TOKEN"));
    let wrong = run(&[("REGPILOT_ADMIN_TOKEN", "rpa_wrong")]);
    assert_eq!(code(&wrong), 2);
    assert!(text(&wrong).1.contains("401: Invalid admin token (INVALID_ADMIN_TOKEN)"), "{:?}", text(&wrong));

    let out = run(&[("REGPILOT_ADMIN_TOKEN", &admin)]);
    assert_eq!(code(&out), 1, "{:?}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let statuses: Vec<&str> = v["findings"].as_array().unwrap().iter().map(|f| f["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["unknown", "unknown", "live", "unknown"]);
    assert_eq!(v["findings"][2]["key_id"], "key_stub");

    let seen = seen.lock().unwrap();
    let last = &seen.last().unwrap().1;
    let asked: Value = serde_json::from_str(last).unwrap();
    assert_eq!(asked["digests"].as_array().unwrap().len(), 4, "each distinct secret once: {last}");
    for (_, body) in seen.iter() {
        for s in secrets(&fx) {
            assert!(!body.contains(s), "a secret left the machine on --check");
        }
    }
}

#[test]
fn leak_reports_deactivate_everywhere_within_a_second_and_replays_change_nothing() {
    for backend in backends() {
        eprintln!("backend: {}", backend.as_str());
        let scratch = Scratch::new("leaks");
        let db = match backend {
            Backend::Sqlite => sqlite_url(scratch.path()),
            Backend::Postgres => tokio::runtime::Runtime::new().unwrap().block_on(fresh_url(Backend::Postgres)),
        };
        leak_reports_through_two_instances(scratch.path(), &db, backend);
    }
}

/// Two instances on one store; `--report` through the first.
fn leak_reports_through_two_instances(dir: &Path, db: &str, backend: Backend) {
    let db = db.to_owned();
    let reporter = "leak-reporter-token-for-the-test";
    let env = [("REGPILOT_LEAK_REPORTER_TOKEN", reporter), ("REGPILOT_FEED_POLL_MS", "100")];
    let project = str_of(&cli_json(dir, &db, &["project", "create", "--name", "Leaks", "--plan", "pro"]), "id");
    let (key_id, live) = create_key(dir, &db, &project, "gateway", "leaked");
    let a = Server::start_with(dir, &db, "a", "info", &env);
    let b = Server::start_with(dir, &db, "b", "info", &env);
    assert_eq!(health_status(&a.base, &live), 200);
    assert_eq!(health_status(&b.base, &live), 200);

    // Reporter-token failures: 401 in the error shape, nothing changed.
    let report =
        json!([{"token": live, "type": "regpilot_api_key", "url": "https://example.com/x", "source": "content"}])
            .to_string();
    for headers in [vec![], vec![("Authorization", "Bearer nope")], vec![("X-API-Key", live.as_str())]] {
        let (status, body) = post(&a.base, "/api/leaks", &headers, &report);
        assert_eq!(status, 401);
        assert_eq!(body, json!({"error": "Missing or invalid leak reporter token", "code": "INVALID_REPORTER_TOKEN"}));
    }
    let bearer = format!("Bearer {reporter}");
    let (status, body) = post(&a.base, "/api/leaks", &[("Authorization", &bearer)], "{\"token\": 1}");
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_REQUEST")));
    assert_eq!(health_status(&b.base, &live), 200, "nothing changed");

    // `scan --report` through instance A.
    let tree = dir.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("leak.txt"), format!("token: {live}\n")).unwrap();
    let scan = |token: &str| {
        cli_with(&tree, &db, &["scan", ".", "--report", "--server", &a.base, "--reporter-token", token], &[], None)
    };
    let wrong = scan("not-the-token");
    assert_eq!(code(&wrong), 2, "{:?}", text(&wrong));
    let started = std::time::Instant::now();
    let out = scan(reporter);
    assert_eq!(code(&out), 1, "{:?}", text(&out));
    assert!(text(&out).0.contains(&format!("reported {}: live_key_deactivated", prefix(&live))), "{:?}", text(&out));
    assert_eq!(health_status(&a.base, &live), 401, "refused at once where it was reported");
    let waited = wait_for_status(&b.base, &live, 401, Duration::from_secs(1));
    eprintln!("refused by the other instance {waited:?} after the report answered ({:?} in all)", started.elapsed());

    // A replay: answered inactive, no second alert.
    let replay = scan(reporter);
    assert_eq!(
        text(&replay).0,
        format!("./leak.txt:1:8: {}  gateway key, production\nreported {}: inactive\n", prefix(&live), prefix(&live))
    );
    let alerts = cli_json(dir, &db, &["alerts", "list", "--project", &project, "--all"]);
    let leaked: Vec<&Value> =
        alerts["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == "key_leaked").collect();
    assert_eq!(leaked.len(), 1, "{alerts}");
    assert!(leaked[0]["message"].as_str().unwrap().contains("leak.txt:1:8"), "{}", leaked[0]);
    assert_eq!(leaked[0]["key_id"], key_id.as_str());
    let keys = cli_json(dir, &db, &["key", "list", "--project", &project]);
    assert_eq!(keys["keys"][0]["status"], "inactive");

    // Secret hygiene: no full key or reporter token in logs, answers or the store; no digest
    // in the logs either.
    drop(a);
    drop(b);
    let mut logs = String::new();
    for name in ["a", "b"] {
        for ext in ["stdout", "stderr"] {
            logs.push_str(&std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).unwrap_or_default());
        }
    }
    assert!(logs.contains("leaked key reported"), "the report is logged: {logs}");
    let mut everything = logs.clone();
    everything.push_str(&alerts.to_string());
    for o in [&out, &replay, &wrong] {
        everything.push_str(&String::from_utf8_lossy(&o.stdout));
        everything.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    if backend == Backend::Sqlite {
        for f in std::fs::read_dir(dir.join("data")).unwrap() {
            everything.push_str(&String::from_utf8_lossy(&std::fs::read(f.unwrap().path()).unwrap()));
        }
    }
    assert!(!everything.contains(&live), "the leaked key's secret was written somewhere");
    assert!(!everything.contains(reporter), "the reporter token was written somewhere");
    assert!(!logs.contains(&regpilot_keys::digest(&live).to_hex()), "a digest reached a log");
}
