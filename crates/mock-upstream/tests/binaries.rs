//! The two binaries as processes: the mock's `listening on` line and serving, and the probe's
//! JSON line against an in-process mock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use regpilot_mock_upstream::{MockConfig, MockUpstream};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_binary_prints_its_address_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_regpilot-mock-upstream"))
        .args(["--api-key-env", "MOCK_TEST_KEY", "--chunks", "2", "--completion", "a b c"])
        .env("MOCK_TEST_KEY", "sk-bin")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim_end().strip_prefix("listening on http://").unwrap().parse().unwrap();
    let body = json!({"model": "m", "stream": true}).to_string();
    let path = "/v1/chat/completions";
    let refused = support::send(addr, "POST", path, &[], &body).await;
    assert_eq!(refused.status, 401);
    let reply = support::send(addr, "POST", path, &[("authorization", "Bearer sk-bin")], &body).await;
    assert_eq!(reply.events().len(), 1 + 2 + 1 + 1);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn mock_binary_refuses_a_missing_key_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_regpilot-mock-upstream"))
        .args(["--api-key-env", "MOCK_TEST_KEY_THAT_IS_NOT_SET"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("MOCK_TEST_KEY_THAT_IS_NOT_SET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_measures_streams_and_counts_errors() {
    let upstream = MockUpstream::start(MockConfig::default()).await.unwrap();
    let url = format!("{}/chat/completions", upstream.base_url());
    let probe = |model: &str| {
        let body = json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "hi"}]}).to_string();
        let args = ["--url", &url, "--header", "X-Test: yes", "--body", &body, "--requests", "12"];
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string())
            .chain(["--concurrency", "3", "--warmup", "2"].map(String::from))
            .collect();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_regpilot-sse-probe")).args(args).output().unwrap()
        })
    };
    let output = probe("m").await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((report["requests"].as_u64(), report["errors"].as_u64()), (Some(12), Some(0)));
    let us = |group: &str, p: &str| report[group][p].as_u64().unwrap();
    assert!(0 < us("ttfc_us", "p50") && us("ttfc_us", "p50") <= us("ttfc_us", "p90"));
    assert!(us("ttfc_us", "p90") <= us("ttfc_us", "p99") && us("ttfc_us", "p99") <= us("ttfc_us", "max"));
    // Each request's total is at least its TTFC, so each quantile is too.
    assert!(us("ttfc_us", "p50") <= us("total_us", "p50") && us("ttfc_us", "p99") <= us("total_us", "p99"));
    assert_eq!(upstream.stats().streams_completed, 14);
    assert_eq!(upstream.requests()[0].header("x-test"), Some("yes"));

    let output = probe("mock-status-503").await.unwrap();
    assert!(!output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["errors"], 12);
    assert_eq!(report["ttfc_us"]["p50"], Value::Null);
    assert!(String::from_utf8_lossy(&output.stderr).contains("status 503"));
}
