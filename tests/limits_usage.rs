//! Black-box tests of rate limits and usage monitoring (README.md, "Rate limits" and
//! "Usage monitoring and alerts"): the built binary, keys
//! made with the CLI, HTTP over loopback. Timing bounds are the README's (a plan change
//! within 1 s) or generous upper bounds; nothing waits for a refill.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use regpilot_gateway::testing::{country_db, Layout};
use serde_json::Value;

/// Usage is written every 50 ms in these tests, so reports are current almost at once.
const FAST_FLUSH: (&str, &str) = ("REGPILOT_USAGE_FLUSH_MS", "50");

fn project(dir: &std::path::Path, db: &str, extra: &[&str]) -> String {
    let mut args = vec!["project", "create", "--name", "Limits"];
    args.extend_from_slice(extra);
    str_of(&cli_json(dir, db, &args), "id")
}

/// (id, secret)
fn key(dir: &std::path::Path, db: &str, pid: &str, key_type: &str, env: &str) -> (String, String) {
    let k = cli_json(dir, db, &["key", "create", "--project", pid, "--type", key_type, "--env", env, "--name", "k"]);
    (str_of(&k, "id"), str_of(&k, "secret"))
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn next_midnight(at: i64) -> i64 {
    (at / 86_400 + 1) * 86_400
}

fn health(base: &str, secret: &str) -> Resp {
    get_full(base, "/api/health", &[("X-API-Key", secret)])
}

/// Polls `f` until it returns `Some`, for at most `limit`.
fn eventually<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "condition not met within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_authenticated_answer_carries_the_headers_and_a_refusal_is_the_specs_429() {
    let dir = Scratch::new("limits-headers");
    let db = sqlite_url(dir.path());
    let server = Server::start(dir.path(), &db, "serve", "info");
    let pid = project(dir.path(), &db, &[]);
    let (_, secret) = key(dir.path(), &db, &pid, "gateway", "prod");
    wait_for_status(&server.base, &secret, 200, Duration::from_secs(1));

    // The wait above used some requests; the headers count them.
    let before = unix_now();
    let r = health(&server.base, &secret);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ratelimit-limit"), "1000", "free plan, production key");
    let remaining: i64 = r.header("x-ratelimit-remaining").parse().unwrap();
    assert!((990..=998).contains(&remaining), "{remaining}");
    let reset: i64 = r.header("x-ratelimit-reset").parse().unwrap();
    assert!(reset == next_midnight(before) || reset == next_midnight(unix_now()), "{reset}");

    // A 403 is an authenticated answer too: it counts and carries the headers.
    let r = get_full(&server.base, "/api/compliance/status", &[("X-API-Key", &secret)]);
    assert_eq!(r.status, 403);
    assert_eq!(r.header("x-ratelimit-remaining"), (remaining - 1).to_string());
    // No key, no limit headers.
    let r = get_full(&server.base, "/api/health", &[]);
    assert_eq!(r.status, 200);
    assert!(!r.headers.contains_key("x-ratelimit-limit"));

    // Burst 10 per second on the free plan: a fast run of 40 is cut, smoothly.
    let (_, fresh) = key(dir.path(), &db, &pid, "gateway", "stg");
    wait_for_status(&server.base, &fresh, 200, Duration::from_secs(1));
    let start = Instant::now();
    let answers: Vec<Resp> = (0..40).map(|_| health(&server.base, &fresh)).collect();
    let elapsed = start.elapsed().as_secs_f64();
    let admitted = answers.iter().filter(|r| r.status == 200).count() as f64 + 1.0;
    let refused: Vec<&Resp> = answers.iter().filter(|r| r.status == 429).collect();
    assert_eq!(admitted as usize + refused.len(), 41, "only 200 or 429");
    assert!(!refused.is_empty(), "40 requests in {elapsed:.2}s within a burst of 10/s");
    assert!(admitted <= 10.0 + 10.0 * elapsed + 1e-9, "admitted {admitted} in {elapsed:.2}s");
    let r = refused[0];
    assert_eq!(r.body["error"], "Rate limit exceeded");
    assert_eq!(r.body["code"], "RATE_LIMIT_EXCEEDED");
    assert_eq!(r.body["limit"], "burst");
    assert_eq!(r.body["retry_after"], 1, "a burst refill is under a second, rounded up");
    assert_eq!(r.header("retry-after"), "1");
    assert_eq!(r.header("x-ratelimit-limit"), "1000");
    // Refused requests do not use up the quota: what is left is 1000 minus the admitted.
    let last = answers.last().unwrap();
    let left: f64 = last.header("x-ratelimit-remaining").parse().unwrap();
    assert_eq!(left, 1000.0 - admitted, "after {admitted} admitted");

    // Development keys get a tenth of the plan: 100 a day, a burst of 1.
    let (_, dev) = key(dir.path(), &db, &pid, "gateway", "dev");
    wait_for_status(&server.base, &dev, 200, Duration::from_secs(1));
    let r = health(&server.base, &dev);
    assert_eq!(r.header("x-ratelimit-limit"), "100");
    assert_eq!(r.status, 429, "a burst of 1 per second");
    assert_eq!(r.body["limit"], "burst");
}

#[test]
fn daily_quota_survives_a_restart_and_a_plan_change_applies_within_a_second() {
    let dir = Scratch::new("limits-daily");
    let db = sqlite_url(dir.path());
    let env = [FAST_FLUSH];
    let server = Server::start_with(dir.path(), &db, "serve1", "info", &env);
    let pid = project(dir.path(), &db, &["--plan", "enterprise", "--daily-limit", "8", "--burst", "1000"]);
    let (_, secret) = key(dir.path(), &db, &pid, "gateway", "prod");
    wait_for_status(&server.base, &secret, 200, Duration::from_secs(1));
    // One used by the wait; two more.
    for want in ["6", "5"] {
        let r = health(&server.base, &secret);
        assert_eq!((r.status, r.header("x-ratelimit-limit"), r.header("x-ratelimit-remaining")), (200, "8", want));
    }
    // A restart at any hour of the day does not hand out a fresh quota.
    assert!(server.stop().success());
    let server = Server::start_with(dir.path(), &db, "serve2", "info", &env);
    for want in ["4", "3", "2", "1", "0"] {
        let r = health(&server.base, &secret);
        assert_eq!((r.status, r.header("x-ratelimit-remaining")), (200, want), "{}", r.body);
    }
    for _ in 0..3 {
        let before = unix_now();
        let r = health(&server.base, &secret);
        assert_eq!(r.status, 429);
        assert_eq!(r.body["limit"], "daily");
        let retry = r.body["retry_after"].as_i64().unwrap();
        let to_midnight = next_midnight(before) - before;
        assert!(retry >= to_midnight - 1 && retry <= to_midnight + 1, "{retry} vs {to_midnight}");
        assert_eq!(r.header("retry-after"), retry.to_string());
        assert_eq!(r.header("x-ratelimit-remaining"), "0");
    }

    // A plan change reaches the limiter within a second: 20 a day now, 8 used.
    let out = cli(dir.path(), &db, &["project", "set-plan", &pid, "--plan", "enterprise", "--daily-limit", "20"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let changed = Instant::now();
    let r = eventually(Duration::from_secs(1), || {
        let r = health(&server.base, &secret);
        (r.status == 200).then_some(r)
    });
    assert!(changed.elapsed() <= Duration::from_secs(1));
    assert_eq!((r.header("x-ratelimit-limit"), r.header("x-ratelimit-remaining")), ("20", "11"));
}

fn write_geo_db(dir: &std::path::Path) -> String {
    let db = country_db(
        &[(Ipv4Addr::new(203, 0, 113, 0), 24, "DE"), (Ipv4Addr::new(198, 51, 100, 0), 24, "JP")],
        Layout::CountryCode,
    );
    let path = dir.join("country.mmdb");
    std::fs::write(&path, db).unwrap();
    path.display().to_string()
}

fn countries(report: &Value) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = report["keys"][0]["countries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (str_of(c, "country"), c["requests"].as_i64().unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn usage_is_reported_by_period_with_countries_from_a_trusted_proxy_only() {
    let dir = Scratch::new("usage");
    let db = sqlite_url(dir.path());
    let geo = write_geo_db(dir.path());
    let server = Server::start_with(
        dir.path(),
        &db,
        "serve",
        "info",
        &[FAST_FLUSH, ("REGPILOT_GEOIP_DB", &geo), ("REGPILOT_TRUSTED_PROXIES", "127.0.0.1")],
    );
    let pid = project(dir.path(), &db, &["--plan", "pro"]);
    let (kid, secret) = key(dir.path(), &db, &pid, "gateway", "prod");
    wait_for_status(&server.base, &secret, 200, Duration::from_secs(1));
    let h = |xff: &str| get_full(&server.base, "/api/health", &[("X-API-Key", &secret), ("X-Forwarded-For", xff)]);
    for _ in 0..3 {
        assert_eq!(h("203.0.113.7").status, 200);
    }
    // The nearest untrusted hop is the client; a spoofed left part is ignored.
    assert_eq!(h("6.6.6.6, 198.51.100.9").status, 200);
    // An error: a gateway key on a compliance route.
    assert_eq!(get_full(&server.base, "/api/compliance/status", &[("X-API-Key", &secret)]).status, 403);

    // 1 (wait) + 4 + 1 error, plus the usage calls themselves from 127.0.0.1 (unknown).
    let report = eventually(Duration::from_secs(5), || {
        let (status, body) = get(&server.base, "/api/usage?period=day", &[("X-API-Key", &secret)]);
        assert_eq!(status, 200, "{body}");
        (body["requests"].as_i64().unwrap() >= 6).then_some(body)
    });
    assert_eq!(report["project_id"], pid);
    assert_eq!(report["period"], "day");
    assert_eq!(report["errors"], 1);
    assert_eq!(report["keys"][0]["key_id"], kid);
    let c = countries(&report);
    assert!(c.contains(&("DE".into(), 3)) && c.contains(&("JP".into(), 1)), "{c:?}");
    assert_eq!(report["days"].as_array().unwrap().len(), 1);
    let (status, week) = get(&server.base, "/api/usage?period=week", &[("X-API-Key", &secret)]);
    assert_eq!(status, 200);
    assert_eq!(week["days"].as_array().unwrap().len(), 7);
    assert_eq!(
        get(&server.base, "/api/usage?period=month", &[("X-API-Key", &secret)]).1["days"].as_array().unwrap().len(),
        30
    );
    let (status, body) = get(&server.base, "/api/usage?period=year", &[("X-API-Key", &secret)]);
    assert_eq!((status, body["code"].as_str(), body["field"].as_str()), (400, Some("INVALID_REQUEST"), Some("period")));
    // The scope: usage:read. A project key has it; a read-only gateway key too.
    let (_, pk) = key(dir.path(), &db, &pid, "project", "prod");
    wait_for_status(&server.base, &pk, 200, Duration::from_secs(1));
    assert_eq!(get(&server.base, "/api/usage", &[("X-API-Key", &pk)]).0, 200);
    drop(server);

    // Without a trusted proxy, X-Forwarded-For is the client's own claim and is ignored.
    let dir2 = Scratch::new("usage-untrusted");
    let db2 = sqlite_url(dir2.path());
    let server = Server::start_with(dir2.path(), &db2, "serve", "info", &[FAST_FLUSH, ("REGPILOT_GEOIP_DB", &geo)]);
    let pid = project(dir2.path(), &db2, &["--plan", "pro"]);
    let (_, secret) = key(dir2.path(), &db2, &pid, "gateway", "prod");
    wait_for_status(&server.base, &secret, 200, Duration::from_secs(1));
    for _ in 0..3 {
        get(&server.base, "/api/health", &[("X-API-Key", &secret), ("X-Forwarded-For", "203.0.113.7")]);
    }
    let report = eventually(Duration::from_secs(5), || {
        let body = get(&server.base, "/api/usage", &[("X-API-Key", &secret)]).1;
        (body["requests"].as_i64().unwrap() >= 4).then_some(body)
    });
    let c = countries(&report);
    assert!(c.iter().all(|(country, _)| country == "unknown"), "{c:?}");
}

#[test]
fn repeated_use_of_a_deactivated_key_raises_an_alert_in_the_background() {
    let dir = Scratch::new("alerts-bg");
    let db = sqlite_url(dir.path());
    let server =
        Server::start_with(dir.path(), &db, "serve", "info", &[FAST_FLUSH, ("REGPILOT_ALERT_CHECK_SECS", "1")]);
    let pid = project(dir.path(), &db, &[]);
    let (kid, secret) = key(dir.path(), &db, &pid, "gateway", "prod");
    wait_for_status(&server.base, &secret, 200, Duration::from_secs(1));
    assert!(cli(dir.path(), &db, &["key", "deactivate", &kid]).status.success());
    wait_for_status(&server.base, &secret, 401, Duration::from_secs(1));
    for _ in 0..3 {
        assert_eq!(health_status(&server.base, &secret), 401);
    }
    let alert = eventually(Duration::from_secs(10), || {
        let list = cli_json(dir.path(), &db, &["alerts", "list", "--project", &pid]);
        list["alerts"].as_array().unwrap().iter().find(|a| a["kind"] == "inactive_key_use").cloned()
    });
    assert_eq!(alert["key_id"], kid);
    let text = serde_json::to_string(&alert).unwrap();
    assert!(!text.contains(&secret[8..]), "an alert never carries the secret");
    assert!(server.logs().contains("inactive_key_use"), "the alert is logged too");
}

/// Two instances sharing Redis: limits hold across both together.
#[test]
fn two_instances_sharing_redis_hold_one_limit() {
    let Some(redis) = std::env::var("REGPILOT_TEST_REDIS_URL").ok().filter(|u| !u.is_empty()) else {
        assert!(std::env::var("REGPILOT_REQUIRE_REDIS").as_deref() != Ok("1"), "REGPILOT_TEST_REDIS_URL is required");
        eprintln!("REGPILOT_TEST_REDIS_URL not set: the two-instance Redis test is skipped");
        return;
    };
    let dir = Scratch::new("redis-two");
    let db = sqlite_url(dir.path());
    let env = [("REGPILOT_REDIS_URL", redis.as_str())];
    let a = Server::start_with(dir.path(), &db, "a", "info", &env);
    let b = Server::start_with(dir.path(), &db, "b", "info", &env);
    for s in [&a, &b] {
        assert_eq!(get(&s.base, "/api/ready", &[]).1["rate_limiter"], "redis");
    }

    // Burst 20/s; both instances hammered together at 3× that for about 2 s.
    let pid = project(dir.path(), &db, &["--plan", "enterprise", "--burst", "20", "--daily-limit", "1000000"]);
    let (_, secret) = key(dir.path(), &db, &pid, "gateway", "prod");
    for s in [&a, &b] {
        wait_for_status(&s.base, &secret, 200, Duration::from_secs(1));
    }
    std::thread::sleep(Duration::from_millis(1100)); // the waits above used some of the burst
    let start = Instant::now();
    let counts: Vec<(usize, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = [&a.base, &b.base]
            .into_iter()
            .map(|base| {
                let secret = &secret;
                scope.spawn(move || {
                    let (mut ok, mut limited) = (0, 0);
                    let t0 = Instant::now();
                    for i in 0..60u32 {
                        // 30 per second per instance: 60/s together, 3× the burst rate.
                        let due = t0 + Duration::from_millis(u64::from(i) * 1000 / 30);
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                        match health_status(base, secret) {
                            200 => ok += 1,
                            429 => limited += 1,
                            other => panic!("unexpected {other}"),
                        }
                    }
                    (ok, limited)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let t = start.elapsed().as_secs_f64();
    let admitted: usize = counts.iter().map(|c| c.0).sum();
    let limited: usize = counts.iter().map(|c| c.1).sum();
    assert!(admitted as f64 <= 20.0 + 20.0 * t, "admitted {admitted} in {t:.2}s across both (≤ burst + rate·t)");
    assert!(limited > 0 && counts.iter().all(|c| c.0 > 0), "{counts:?}");

    // A daily quota of 15 admits exactly 15 across both.
    let pid = project(dir.path(), &db, &["--plan", "enterprise", "--burst", "1000", "--daily-limit", "15"]);
    let (_, secret) = key(dir.path(), &db, &pid, "gateway", "prod");
    // Both instances poll the feed every 250 ms; waiting for the key by using it would spend quota.
    std::thread::sleep(Duration::from_millis(700));
    let mut admitted = 0;
    for i in 0..40 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        match health_status(base, &secret) {
            200 => admitted += 1,
            429 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(admitted, 15, "the daily quota is one across both instances");
}

/// Redis unreachable: the failure mode decides, never a misleading 429 and never a 500.
#[test]
fn an_unreachable_redis_follows_the_configured_failure_mode() {
    let dir = Scratch::new("redis-down");
    let db = sqlite_url(dir.path());
    let pid = project(dir.path(), &db, &["--plan", "pro"]);
    let (_, secret) = key(dir.path(), &db, &pid, "gateway", "prod");
    for (mode, want) in [("local", 200), ("open", 200), ("closed", 503)] {
        let server = Server::start_with(
            dir.path(),
            &db,
            mode,
            "info",
            &[("REGPILOT_REDIS_URL", "redis://127.0.0.1:1"), ("REGPILOT_REDIS_FAILURE_MODE", mode)],
        );
        let (status, body) = get(&server.base, "/api/ready", &[]);
        assert_eq!((status, body["code"].as_str()), (503, Some("NOT_READY")), "{mode}: {body}");
        assert!(body["error"].as_str().unwrap().contains("Redis"), "{body}");
        let start = Instant::now();
        for _ in 0..5 {
            let r = health(&server.base, &secret);
            assert_eq!(r.status, want, "{mode}: {}", r.body);
            if want == 503 {
                assert_eq!(r.body["code"], "NOT_READY");
            }
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{mode}: bounded added latency");
    }
}

/// README.md, "Usage monitoring and alerts": development keys log every request, staging keys a
/// summary a minute plus warnings, production keys errors only — with the key's id, never the
/// secret.
#[test]
fn request_logs_follow_the_keys_environment() {
    let dir = Scratch::new("env-logs");
    let db = sqlite_url(dir.path());
    let server =
        Server::start_with(dir.path(), &db, "serve", "info", &[FAST_FLUSH, ("REGPILOT_STAGING_SUMMARY_SECS", "1")]);
    let pid = project(dir.path(), &db, &["--plan", "pro"]);
    let (dev_id, dev) = key(dir.path(), &db, &pid, "gateway", "dev");
    let (stg_id, stg) = key(dir.path(), &db, &pid, "gateway", "stg");
    let (prod_id, prod) = key(dir.path(), &db, &pid, "gateway", "prod");
    for s in [&dev, &stg, &prod] {
        wait_for_status(&server.base, s, 200, Duration::from_secs(1));
    }
    let lines_of = |logs: &str, id: &str, what: &str| {
        logs.lines().filter(|l| l.contains(id) && l.contains("regpilot::requests") && l.contains(what)).count()
    };
    let mark = server.logs().len();
    for s in [&dev, &stg, &prod] {
        assert_eq!(get(&server.base, "/api/health", &[("X-API-Key", s)]).0, 200);
        // A gateway key on a compliance route: a 403, a client error.
        assert_eq!(get(&server.base, "/api/compliance/status", &[("X-API-Key", s)]).0, 403);
    }
    let logs = eventually(Duration::from_secs(5), || {
        let logs = server.logs()[mark..].to_owned();
        (logs.contains(&stg_id) && logs.contains("key usage summary")).then_some(logs)
    });
    // Development: every request, at info.
    assert_eq!(lines_of(&logs, &dev_id, "status=200"), 1, "{logs}");
    assert_eq!(lines_of(&logs, &dev_id, "status=403"), 1, "{logs}");
    // Staging: the failure as a warning, the success only in the summary line.
    assert_eq!(lines_of(&logs, &stg_id, "status=200"), 0, "{logs}");
    assert!(logs.lines().any(|l| l.contains(&stg_id) && l.contains("WARN") && l.contains("status=403")), "{logs}");
    assert!(logs.lines().any(|l| l.contains(&stg_id) && l.contains("key usage summary")), "{logs}");
    // Production: neither (no server error happened).
    assert_eq!(lines_of(&logs, &prod_id, ""), 0, "{logs}");
    for s in [&dev, &stg, &prod] {
        assert!(!server.logs().contains(&s[8..40]), "a secret in the logs");
    }

    // Last use is recorded per key.
    let list = eventually(Duration::from_secs(5), || {
        let list = cli_json(dir.path(), &db, &["key", "list", "--project", &pid]);
        list["keys"].as_array().unwrap().iter().all(|k| k["last_used_at"].is_string()).then_some(list)
    });
    assert_eq!(list["keys"].as_array().unwrap().len(), 3);
}
