//! Driving the built `regpilot` binary the way a user does: `serve` in its own process, the
//! CLI in others, HTTP over loopback.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_regpilot");

/// A scratch folder, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("regpilot-bb-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `regpilot serve`; stopped (SIGTERM, then SIGKILL) on drop.
pub struct Server {
    child: Child,
    pub base: String,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Server {
    /// Starts on a free port with `REGPILOT_DATABASE_URL=db` in `dir`, and waits until it
    /// listens.
    pub fn start(dir: &Path, db: &str, name: &str, rust_log: &str) -> Server {
        Server::start_with(dir, db, name, rust_log, &[])
    }

    /// As [`Server::start`], with more environment variables.
    pub fn start_with(dir: &Path, db: &str, name: &str, rust_log: &str, env: &[(&str, &str)]) -> Server {
        let stdout = dir.join(format!("{name}.stdout"));
        let stderr = dir.join(format!("{name}.stderr"));
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0"]).env("REGPILOT_DATABASE_URL", db).env("RUST_LOG", rust_log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut server = Server { child, base: String::new(), stdout, stderr };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let log = std::fs::read_to_string(&server.stderr).unwrap_or_default();
            if let Some(i) = log.find("listening on http://") {
                let rest = &log[i + "listening on ".len()..];
                server.base = rest.split_whitespace().next().unwrap().to_owned();
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("serve exited with {status}:\n{log}");
            }
            assert!(Instant::now() < deadline, "serve did not start:\n{log}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM without waiting.
    pub fn terminate(&self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
    }

    /// Waits up to `limit` for the process to exit; `None` if it has not.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn logs(&self) -> String {
        let mut out = std::fs::read_to_string(&self.stdout).unwrap_or_default();
        out.push_str(&std::fs::read_to_string(&self.stderr).unwrap_or_default());
        out
    }

    /// SIGTERM, and wait for the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
            for _ in 0..100 {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the CLI with `REGPILOT_DATABASE_URL=db`.
pub fn cli(dir: &Path, db: &str, args: &[&str]) -> Output {
    cli_with(dir, db, args, &[], None)
}

pub fn cli_with(dir: &Path, db: &str, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("REGPILOT_DATABASE_URL", db).current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Runs the CLI with `--json`, expects success and one JSON object on stdout.
pub fn cli_json(dir: &Path, db: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = cli(dir, db, &all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{args:?} failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.trim().lines().count(), 1, "one JSON object on one line: {stdout}");
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(v.is_object(), "{v}");
    v
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// GET with headers; returns status and the parsed JSON body.
pub fn get(base: &str, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = agent().get(&format!("{base}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.call().unwrap();
    let status = resp.status().as_u16();
    let mut body = String::new();
    resp.body_mut().as_reader().read_to_string(&mut body).unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

/// An answer with its headers (names lower case).
pub struct Resp {
    pub status: u16,
    pub headers: std::collections::HashMap<String, String>,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// GET with headers; the whole answer.
pub fn get_full(base: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut req = agent().get(&format!("{base}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.call().unwrap();
    let status = resp.status().as_u16();
    let headers =
        resp.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect();
    let mut body = String::new();
    resp.body_mut().as_reader().read_to_string(&mut body).unwrap();
    Resp { status, headers, body: serde_json::from_str(&body).unwrap_or(Value::String(body)) }
}

pub fn post(base: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let mut req = agent().post(&format!("{base}{path}")).header("Content-Type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.send(body).unwrap();
    let status = resp.status().as_u16();
    let mut text = String::new();
    resp.body_mut().as_reader().read_to_string(&mut text).unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub fn health_status(base: &str, key: &str) -> u16 {
    get(base, "/api/health", &[("X-API-Key", key)]).0
}

/// Polls until `health_status` is `want`; returns how long that took, or panics after
/// `limit`. README.md ("Command line") promises 1 s; the caller passes the bound.
pub fn wait_for_status(base: &str, key: &str, want: u16, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let got = health_status(base, key);
        if got == want {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{base}: still {got} after {:?}, wanted {want}", start.elapsed());
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}/data/regpilot.db", dir.display())
}

pub fn str_of(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_else(|| panic!("no string field {field} in {v}")).to_owned()
}
