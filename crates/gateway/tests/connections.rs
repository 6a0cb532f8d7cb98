//! Serving connections over a real TCP socket (`conn.rs`): the header-read and keep-alive
//! timeouts, the connection cap, and the lingering close after an early 413 (README,
//! "Configuration", "Connections"). The timeouts are a second or two here; bounds are generous,
//! the machine is shared.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use regpilot_gateway::{serve_connections, ConnLimits};
use regpilot_store::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout, Instant};

struct Served {
    app: TestApp,
    addr: SocketAddr,
}

impl Served {
    async fn start(limits: ConnLimits) -> Served {
        let app = TestApp::new(Backend::Sqlite).await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (router, state) = (app.router.clone(), app.state.clone());
        tokio::spawn(async move { serve_connections(listener, router, &state, limits, std::future::pending()).await });
        Served { app, addr }
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.unwrap()
    }

    /// One metric's value, as `/metrics` renders it (read in-process: the cap may be reached).
    fn metric(&self, line_start: &str) -> u64 {
        let text = self.app.state.metrics.render_with(&self.app.state.limiter.stats());
        let line = text.lines().find(|l| l.starts_with(line_start)).unwrap_or_else(|| panic!("no {line_start}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    }
}

fn limits(header_ms: u64, keepalive_ms: u64, max_connections: usize) -> ConnLimits {
    ConnLimits {
        header_read_timeout: Duration::from_millis(header_ms),
        keepalive_timeout: Duration::from_millis(keepalive_ms),
        max_connections,
    }
}

/// Sends a GET and reads one answer (head, then a `Content-Length` body); `None` if the
/// connection closed first.
async fn get(conn: &mut TcpStream, path: &str) -> Option<String> {
    conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes()).await.ok()?;
    read_answer(conn).await
}

async fn read_answer(conn: &mut TcpStream) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_lowercase();
            let length: usize =
                head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().unwrap());
            if got.len() >= end + 4 + length {
                return Some(String::from_utf8_lossy(&got[..end + 4 + length]).into_owned());
            }
        }
        match timeout(Duration::from_secs(10), conn.read(&mut buf)).await.expect("an answer within 10 s") {
            Ok(0) | Err(_) => return None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// How long until the server closes `conn` (a read sees the end or a reset), up to `limit`.
async fn closed_after(conn: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match timeout(limit.saturating_sub(start.elapsed()), conn.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_its_headers_a_byte_at_a_time_is_disconnected_at_the_header_timeout() {
    let served = Served::start(limits(1000, 60_000, 16)).await;
    let conn = served.connect().await;
    let (mut read, mut write) = conn.into_split();
    let start = Instant::now();
    let sender = tokio::spawn(async move {
        for b in b"GET /api/ready HTTP/1.1\r\nHost: test\r\nX-Padding: ".iter().cycle() {
            if write.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut buf = [0u8; 256];
    let end = timeout(Duration::from_secs(8), read.read(&mut buf)).await;
    let took = start.elapsed();
    sender.abort();
    assert!(matches!(end, Ok(Ok(0) | Err(_))), "no close within 8 s: {end:?}");
    assert!(took >= Duration::from_millis(900), "closed after {took:?}, before the 1 s timeout");
    assert!(took < Duration::from_secs(5), "closed after {took:?}");
    assert_eq!(served.metric("regpilot_connection_timeouts_total{timeout=\"header_read\"}"), 1);
    assert_eq!(served.metric("regpilot_connection_timeouts_total{timeout=\"keepalive\"}"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_is_closed_at_the_header_timeout() {
    let served = Served::start(limits(1000, 60_000, 16)).await;
    let mut conn = served.connect().await;
    let took = closed_after(&mut conn, Duration::from_secs(8)).await.expect("closed within 8 s");
    assert!((Duration::from_millis(900)..Duration::from_secs(5)).contains(&took), "closed after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed_at_the_keepalive_timeout() {
    let served = Served::start(limits(10_000, 1000, 16)).await;
    let mut conn = served.connect().await;
    let answer = get(&mut conn, "/api/ready").await.expect("answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let took = closed_after(&mut conn, Duration::from_secs(8)).await.expect("closed within 8 s");
    assert!((Duration::from_millis(900)..Duration::from_secs(5)).contains(&took), "closed after {took:?}");
    assert_eq!(served.metric("regpilot_connection_timeouts_total{timeout=\"keepalive\"}"), 1);
    assert_eq!(served.metric("regpilot_connection_timeouts_total{timeout=\"header_read\"}"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_outlives_the_header_timeout_while_idle() {
    let served = Served::start(limits(500, 5000, 16)).await;
    let mut conn = served.connect().await;
    assert!(get(&mut conn, "/api/ready").await.expect("answered").starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = get(&mut conn, "/api/ready").await.expect("still open three header timeouts later");
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
    assert_eq!(served.metric("regpilot_connection_timeouts_total{timeout=\"header_read\"}"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_cap_a_connection_is_closed_at_once_and_counted_and_a_freed_slot_serves_again() {
    let served = Served::start(limits(10_000, 60_000, 2)).await;
    let mut first = served.connect().await;
    let mut second = served.connect().await;
    for conn in [&mut first, &mut second] {
        assert!(get(conn, "/api/ready").await.expect("answered").starts_with("HTTP/1.1 200"));
    }
    assert_eq!(served.metric("regpilot_connections_open "), 2);
    assert_eq!(served.metric("regpilot_connections_max "), 2);

    let mut third = served.connect().await;
    let took = closed_after(&mut third, Duration::from_secs(5)).await.expect("the third is closed");
    assert!(took < Duration::from_secs(2), "closed after {took:?}");
    assert_eq!(served.metric("regpilot_connections_refused_total "), 1);
    assert!(get(&mut second, "/api/ready").await.is_some(), "the open ones are still served");

    drop(first);
    // The freed slot comes back once the server has seen the close.
    let deadline = Instant::now() + Duration::from_secs(5);
    let answer = loop {
        let mut conn = served.connect().await;
        if let Some(answer) = get(&mut conn, "/api/health").await {
            break answer;
        }
        assert!(Instant::now() < deadline, "no slot came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with(r#"{"status":"ok","authenticated":false}"#), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_still_sending_an_over_large_body_reads_the_413() {
    // The test app's body limit is 1 MiB; this client declares and sends 2 MiB without reading,
    // as a plain `http.client` sender does, then reads.
    let served = Served::start(limits(10_000, 60_000, 16)).await;
    for path in ["/api/ai/chat", "/v1/chat/completions"] {
        let mut conn = served.connect().await;
        let body = vec![b' '; 2 * MIB];
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        let sent = timeout(Duration::from_secs(10), conn.write_all(&body)).await.expect("sent within 10 s");
        assert!(sent.is_ok(), "{path}: sending the body failed: {sent:?}");
        let answer =
            read_answer(&mut conn).await.unwrap_or_else(|| panic!("{path}: no answer, the connection was cut"));
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(answer.to_lowercase().contains("\r\nconnection: close\r\n"), "{path}: {answer}");
        assert!(answer.contains("PAYLOAD_TOO_LARGE"), "{path}: {answer}");
        assert!(closed_after(&mut conn, Duration::from_secs(5)).await.is_some(), "{path}: not closed after the 413");
    }
}
