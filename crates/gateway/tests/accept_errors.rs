//! The accept loop when the process is out of file descriptors (`conn.rs`): the accept errors
//! are counted and backed off (not spun on), and the server answers again once descriptors are
//! free. Its own test binary: it lowers the process's open-file limit.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use regpilot_gateway::{serve_connections, ConnLimits};
use regpilot_store::Backend;
use rustix::process::{getrlimit, setrlimit, Resource};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout, Instant};

fn accept_errors(app: &TestApp) -> u64 {
    let text = app.state.metrics.render_with(&app.state.limiter.stats());
    let line = text.lines().find(|l| l.starts_with("regpilot_accept_errors_total ")).unwrap();
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

async fn health(addr: std::net::SocketAddr) -> Option<String> {
    let mut conn = TcpStream::connect(addr).await.ok()?;
    conn.write_all(b"GET /api/health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await.ok()?;
    let mut answer = Vec::new();
    timeout(Duration::from_secs(5), conn.read_to_end(&mut answer)).await.ok()?.ok()?;
    Some(String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_descriptors_the_accept_loop_backs_off_then_serves_again() {
    let app = TestApp::new(Backend::Sqlite).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ConnLimits { max_connections: 10_000, ..ConnLimits::default() };
    let (router, state) = (app.router.clone(), app.state.clone());
    tokio::spawn(async move { serve_connections(listener, router, &state, limits, std::future::pending()).await });
    assert!(health(addr).await.unwrap().starts_with("HTTP/1.1 200"));

    let before = getrlimit(Resource::Nofile);
    let open_now = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    let mut lowered = before;
    lowered.current = Some(open_now + 9);
    setrlimit(Resource::Nofile, lowered).unwrap();

    // Clients take descriptors until the server's accept is the one that fails.
    let mut held = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while accept_errors(&app) == 0 {
        assert!(Instant::now() < deadline, "no accept error with the descriptors used up");
        match TcpStream::connect(addr).await {
            Ok(conn) => held.push(conn),
            // The client side ran out first: free one, the server closes its side too.
            Err(_) => drop(held.pop()),
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let first = accept_errors(&app);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later = accept_errors(&app);
    // With a back-off from 10 ms doubling to 1 s, 1.5 s hold a handful of retries; a spinning
    // loop would count thousands.
    assert!(later - first < 30, "{} accept errors in 1.5 s", later - first);

    drop(held);
    setrlimit(Resource::Nofile, before).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(answer) = health(addr).await {
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            break;
        }
        assert!(Instant::now() < deadline, "/api/health did not answer again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
