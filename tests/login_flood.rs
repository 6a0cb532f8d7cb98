//! 200 concurrent `POST /login` with unknown emails against the real `regpilot serve`: from one
//! address the per-IP throttle stops all but 30 before any password is hashed; from 200
//! addresses (through a trusted proxy) the bound on concurrent Argon2 checks holds, so the
//! server's peak memory stays under 150 MB (unbounded, the same flood took it to 1.43 GB).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Barrier};

use common::*;

const LOGINS: usize = 200;
/// The per-IP limit (README, "Dashboard").
const PER_IP: usize = 30;
const PEAK_LIMIT_KB: u64 = 150 * 1024;

/// Fires `LOGINS` logins at once, the i-th from the address `client(i)`, each with its own
/// unknown email; returns each answer's status and `Retry-After`.
fn flood(base: &str, tag: &str, client: impl Fn(usize) -> String) -> Vec<(u16, Option<String>)> {
    let start = Arc::new(Barrier::new(LOGINS));
    let threads: Vec<_> = (0..LOGINS)
        .map(|i| {
            let (base, start, from) = (base.to_owned(), start.clone(), client(i));
            let body = format!("email=nobody-{tag}-{i}%40example.com&password=a-guess-{i}");
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .max_redirects(0)
                    .timeout_global(Some(std::time::Duration::from_secs(30)))
                    .build()
                    .into();
                start.wait();
                let resp = agent
                    .post(&format!("{base}/login"))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .header("Origin", &base)
                    .header("X-Forwarded-For", &from)
                    .send(body)
                    .unwrap();
                let retry_after = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
                (resp.status().as_u16(), retry_after)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// The process's peak resident set (`VmHWM`), in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn count(answers: &[(u16, Option<String>)], status: u16) -> usize {
    answers.iter().filter(|(s, _)| *s == status).count()
}

#[test]
fn a_flood_of_logins_with_unknown_emails_is_throttled_and_bounded_in_memory() {
    let dir = Scratch::new("login-flood");
    let db = sqlite_url(dir.path());
    let server = Server::start_with(dir.path(), &db, "serve", "info", &[("REGPILOT_TRUSTED_PROXIES", "127.0.0.1")]);

    // (a) One address: 30 get to the password check (401, or 503 if it was busy), the rest are
    // refused by the per-IP throttle with Retry-After.
    let one = flood(&server.base, "a", |_| "192.0.2.7".into());
    assert_eq!(count(&one, 429), LOGINS - PER_IP, "{one:?}");
    assert_eq!(count(&one, 401) + count(&one, 503), PER_IP, "{one:?}");
    assert!(one.iter().filter(|(s, _)| *s == 429).all(|(_, r)| r.as_deref() == Some("60")), "{one:?}");

    // (b) 200 addresses: the throttle lets every one through to the bounded password check.
    let many = flood(&server.base, "b", |i| format!("198.51.100.{}", i + 1));
    assert_eq!(count(&many, 401) + count(&many, 503), LOGINS, "{many:?}");
    assert!(many.iter().filter(|(s, _)| *s == 503).all(|(_, r)| r.as_deref() == Some("2")), "{many:?}");

    let peak = peak_rss_kb(server.pid());
    eprintln!(
        "peak RSS {} MB; one address: {} x 401, {} x 503, {} x 429; 200 addresses: {} x 401, {} x 503",
        peak / 1024,
        count(&one, 401),
        count(&one, 503),
        count(&one, 429),
        count(&many, 401),
        count(&many, 503)
    );
    assert!(peak < PEAK_LIMIT_KB, "peak RSS {} MB is over 150 MB", peak / 1024);
    assert!(server.stop().success());
}
