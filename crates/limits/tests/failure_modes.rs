//! The Redis failure modes of `Limiter`: an unreachable Redis (nothing listens on port 1), a
//! Redis that never answers, and a real Redis cut off and restored through a proxy. Timings are
//! only bounded generously; the circuit breaker is observed through the counters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use regpilot_limits::{
    FailureMode, LimitKind, LimitSpec, Limiter, LimiterError, LimiterStats, RedisLimiter, Unavailable, Verdict,
};

const UNREACHABLE: &str = "redis://127.0.0.1:1";
const TIMEOUT: Duration = Duration::from_millis(100);
const SPEC: LimitSpec = LimitSpec { burst: 3, daily: Some(100) };

async fn unreachable(mode: FailureMode) -> Limiter {
    Limiter::redis_with_prefix(UNREACHABLE, &unique("t"), TIMEOUT, mode).await.unwrap()
}

#[tokio::test]
async fn local_mode_falls_back_and_still_limits() {
    let limiter = unreachable(FailureMode::Local).await;
    assert_eq!((limiter.backend(), limiter.failure_mode()), ("redis", Some(FailureMode::Local)));
    let verdicts: Vec<_> = checks(&limiter, "k", 4).await;
    assert!(verdicts[..3].iter().all(|v| v.as_ref().unwrap().admitted));
    let refused = verdicts[3].unwrap();
    assert_eq!((refused.admitted, refused.limit), (false, Some(LimitKind::Burst)));
    assert_eq!(refused.remaining, Some(97), "the fallback keeps the day's count too");
    let stats = limiter.stats();
    assert_eq!((stats.fallback_decisions, stats.open_admits, stats.closed_refusals), (4, 0, 0));
    assert!(stats.redis_errors >= 1);
    assert!(limiter.health().await.is_err());
}

#[tokio::test]
async fn local_mode_fallback_is_seeded() {
    let limiter = unreachable(FailureMode::Local).await;
    limiter.seed_daily("k", 100, NOON_2026);
    let v = limiter.check("k", SPEC, NOON_2026).await.unwrap();
    assert_eq!(v.limit, Some(LimitKind::Daily));
}

#[tokio::test]
async fn open_mode_admits_everything() {
    let limiter = unreachable(FailureMode::Open).await;
    for v in checks(&limiter, "k", 10).await {
        let v = v.unwrap();
        assert!(v.admitted);
        assert_eq!((v.limit, v.remaining, v.daily_limit, v.retry_after_s), (None, None, Some(100), 0));
        assert_eq!(v.reset_unix_s, (MIDNIGHT_2026 + DAY) / SECOND);
    }
    let stats = limiter.stats();
    assert_eq!((stats.open_admits, stats.fallback_decisions, stats.closed_refusals), (10, 0, 0));
}

#[tokio::test]
async fn closed_mode_refuses_as_unavailable() {
    let limiter = unreachable(FailureMode::Closed).await;
    for v in checks(&limiter, "k", 5).await {
        let err = v.unwrap_err();
        assert!(err.to_string().contains("unreachable"), "{err}");
    }
    assert_eq!(limiter.stats().closed_refusals, 5);
}

#[tokio::test]
async fn breaker_skips_redis_after_a_failure() {
    let limiter = unreachable(FailureMode::Local).await;
    let started = Instant::now();
    checks(&limiter, "k", 500).await;
    let stats = limiter.stats();
    assert_eq!(stats.fallback_decisions, 500);
    // One failure at start opens the breaker for a second; only a very slow machine lets a
    // probe through in between.
    assert!(stats.redis_errors <= 2 + started.elapsed().as_secs(), "{stats:?}");
}

#[tokio::test]
async fn a_silent_redis_costs_at_most_the_timeout() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            keep.lock().unwrap().push(socket);
        }
    });

    let started = Instant::now();
    let limiter = Limiter::redis_with_prefix(&url, &unique("t"), TIMEOUT, FailureMode::Closed).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "start took {:?}", started.elapsed());
    let started = Instant::now();
    for v in checks(&limiter, "k", 100).await {
        assert!(v.is_err());
    }
    assert!(started.elapsed() < Duration::from_secs(2), "100 checks took {:?}", started.elapsed());

    let started = Instant::now();
    let err = limiter.health().await.unwrap_err();
    assert!(matches!(err, LimiterError::Timeout(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2), "health took {:?}", started.elapsed());
    drop(held);
}

#[test]
fn going_down_is_logged_once_without_the_password() {
    let logs = Arc::new(Mutex::new(Vec::new()));
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || Capture(sink.clone()))
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let url = "redis://user:s3cret@127.0.0.1:1";
        let limiter = Limiter::redis_with_prefix(url, &unique("t"), TIMEOUT, FailureMode::Local).await.unwrap();
        checks(&limiter, "k", 50).await;
        // The next probe fails too: still no second warning.
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        checks(&limiter, "k", 50).await;
        assert!(limiter.stats().redis_errors >= 2, "{:?}", limiter.stats());
        let err = limiter.health().await.unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    });
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches("WARN").count(), 1, "{text}");
    assert!(text.contains("Redis is unreachable"), "{text}");
    assert!(text.contains("redis://***@127.0.0.1:1"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

#[tokio::test]
async fn errors_never_show_the_password() {
    for url in ["ftp://user:s3cret@cache:6379", "redis://user:s3cret@cache:notaport"] {
        let err = Limiter::redis(url, TIMEOUT, FailureMode::Local).await.err().expect(url);
        let text = err.to_string();
        assert!(text.starts_with("invalid Redis URL"), "{text}");
        assert!(!text.contains("s3cret") && !format!("{err:?}").contains("s3cret"), "{text}");
    }
    let err = RedisLimiter::connect("redis://user:s3cret@127.0.0.1:1", "t:", TIMEOUT).await.err().unwrap();
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[test]
fn failure_modes_parse_and_name_the_choices() {
    for mode in [FailureMode::Local, FailureMode::Open, FailureMode::Closed] {
        assert_eq!(mode.as_str().parse::<FailureMode>().unwrap(), mode);
    }
    assert_eq!(FailureMode::default(), FailureMode::Local);
    let err = "fail-open".parse::<FailureMode>().unwrap_err().to_string();
    assert!(err.contains("local") && err.contains("open") && err.contains("closed"), "{err}");
}

#[tokio::test]
async fn local_limiter_has_no_redis() {
    let limiter = Limiter::local();
    assert_eq!((limiter.backend(), limiter.failure_mode()), ("local", None));
    assert!(limiter.health().await.is_ok());
    assert!(checks(&limiter, "k", 4).await[3].unwrap().limit.is_some());
    assert_eq!(limiter.stats(), LimiterStats::default());
}

#[test]
fn the_check_future_is_send() {
    fn assert_send<T: Send>(_: T) {}
    let limiter = Limiter::local();
    assert_send(limiter.check("k", SPEC, NOON_2026));
}

#[tokio::test]
async fn redis_answers_when_healthy() {
    let Some(url) = redis_url() else { return };
    let limiter =
        Limiter::redis_with_prefix(&url, &unique("t"), Duration::from_secs(2), FailureMode::Closed).await.unwrap();
    limiter.health().await.unwrap();
    let verdicts = checks(&limiter, "k", 4).await;
    assert_eq!(verdicts[3].unwrap().limit, Some(LimitKind::Burst));
    assert_eq!(verdicts[2].unwrap().remaining, Some(97));
    assert_eq!(without_calls(limiter.stats()), LimiterStats::default());
    assert!(limiter.stats().redis_calls >= 1, "decided in Redis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cut_off_and_restored() {
    let Some(url) = redis_url() else { return };
    let target = url.trim_start_matches("redis://").trim_end_matches('/').to_owned();
    let proxy = Proxy::start(target).await;
    let limiter = Limiter::redis_with_prefix(
        &format!("redis://{}", proxy.addr),
        &unique("t"),
        Duration::from_secs(1),
        FailureMode::Local,
    )
    .await
    .unwrap();
    let s = LimitSpec { burst: 1_000, daily: None };
    let mut now = NOON_2026;
    let mut check = || {
        now += SECOND;
        limiter.check("k", s, now)
    };
    assert!(check().await.unwrap().admitted);
    assert_eq!(without_calls(limiter.stats()), LimiterStats::default());

    proxy.cut();
    tokio::time::sleep(Duration::from_millis(50)).await; // let the proxy close the connections
    for _ in 0..20 {
        assert!(check().await.unwrap().admitted, "the local fallback decides");
    }
    let stats = limiter.stats();
    assert_eq!(stats.fallback_decisions, 20);
    assert!((1..=3).contains(&stats.redis_errors), "the breaker skips Redis: {stats:?}");

    proxy.restore();
    // The breaker lets one request probe Redis each second; the connection comes back within
    // a couple of probes.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let before = limiter.stats().fallback_decisions;
        assert!(check().await.unwrap().admitted);
        if limiter.stats().fallback_decisions == before {
            break;
        }
        assert!(Instant::now() < deadline, "Redis not used again: {:?}", limiter.stats());
    }
    let before = limiter.stats();
    for _ in 0..10 {
        check().await.unwrap();
    }
    assert_eq!(without_calls(limiter.stats()), without_calls(before), "back on Redis: no more errors or fallbacks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_gone_silent_is_replaced_by_a_fresh_connection() {
    let Some(url) = redis_url() else { return };
    let target = url.trim_start_matches("redis://").trim_end_matches('/').to_owned();
    let proxy = Proxy::start(target).await;
    let limiter = Limiter::redis_with_prefix(
        &format!("redis://{}", proxy.addr),
        &unique("t"),
        Duration::from_millis(200),
        FailureMode::Local,
    )
    .await
    .unwrap();
    let s = LimitSpec { burst: 1_000, daily: None };
    let mut now = NOON_2026;
    let mut check = || {
        now += SECOND;
        limiter.check("k", s, now)
    };
    assert!(check().await.unwrap().admitted);
    assert_eq!(without_calls(limiter.stats()), LimiterStats::default());

    // The open connection goes silent for good; only new connections would be answered.
    proxy.freeze();
    let started = Instant::now();
    assert!(check().await.unwrap().admitted, "the local fallback decides");
    assert!(started.elapsed() < Duration::from_secs(2), "bounded by the timeout: {:?}", started.elapsed());
    assert_eq!(limiter.stats().redis_errors, 1);
    proxy.restore();

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let before = limiter.stats().fallback_decisions;
        assert!(check().await.unwrap().admitted);
        if limiter.stats().fallback_decisions == before {
            break;
        }
        assert!(Instant::now() < deadline, "still on the silent connection: {:?}", limiter.stats());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_held_keep_deciding_while_redis_is_cut_off() {
    let Some(url) = redis_url() else { return };
    let target = url.trim_start_matches("redis://").trim_end_matches('/').to_owned();
    let proxy = Proxy::start(target).await;
    let limiter = Limiter::redis_with_prefix(
        &format!("redis://{}", proxy.addr),
        &unique("t"),
        Duration::from_secs(1),
        FailureMode::Local,
    )
    .await
    .unwrap();
    // Two busy keys, 10,000 requests a second each (virtual time): each holds a lease.
    let s = LimitSpec { burst: 1_000_000_000, daily: None };
    let mut now = NOON_2026;
    for _ in 0..500 {
        now += 100;
        for key in ["a", "b"] {
            assert!(limiter.check(key, s, now).await.unwrap().admitted);
        }
    }
    let calls = limiter.stats().redis_calls;
    assert!(calls < 100, "{calls} calls for 1,000 requests");

    proxy.cut();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Key a's lease runs out: one failed call, then the breaker and the fallback.
    let mut a_fell_back = false;
    for _ in 0..10_000 {
        now += 100;
        assert!(limiter.check("a", s, now).await.unwrap().admitted);
        if limiter.stats().fallback_decisions > 0 {
            a_fell_back = true;
            break;
        }
    }
    assert!(a_fell_back, "a's lease never ran out: {:?}", limiter.stats());
    // The failed call: a's, or a renewal ahead of a's or b's lease in the background.
    assert!((1..=3).contains(&limiter.stats().redis_errors), "{:?}", limiter.stats());
    // Key b still decides from its lease (not a fallback decision), and that does not pass for
    // Redis answering: a's next request is answered by the fallback at once, with no new call.
    let t = now - 100;
    let before = limiter.stats();
    assert!(limiter.check("b", s, t).await.unwrap().admitted);
    assert_eq!(limiter.stats().fallback_decisions, before.fallback_decisions, "b decided from its lease");
    assert!(limiter.check("a", s, now + 100).await.unwrap().admitted);
    let after = limiter.stats();
    assert_eq!(
        (after.redis_errors, after.redis_calls),
        (before.redis_errors, before.redis_calls),
        "the breaker stays open: {after:?}"
    );
    assert_eq!(after.fallback_decisions, before.fallback_decisions + 1);
}

/// The counters other than the Redis calls, which any use of Redis (a lease) adds to.
fn without_calls(stats: LimiterStats) -> LimiterStats {
    LimiterStats { redis_calls: 0, ..stats }
}

/// `n` checks of `key` at noon 2026, one after the other.
async fn checks(limiter: &Limiter, key: &str, n: usize) -> Vec<Result<Verdict, Unavailable>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(limiter.check(key, SPEC, NOON_2026).await);
    }
    out
}

/// A log sink for the tracing subscriber.
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A TCP proxy in front of Redis that can be cut off (open connections dropped, new ones
/// closed at once), frozen (every connection held open, nothing forwarded: a half-open TCP
/// connection that never errors), and restored for new connections.
struct Proxy {
    addr: SocketAddr,
    state: Arc<Mutex<ProxyState>>,
    freeze: Arc<tokio::sync::Notify>,
}

#[derive(Clone, Copy, PartialEq)]
enum ProxyState {
    Up,
    Cut,
    Frozen,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            state: Arc::new(Mutex::new(ProxyState::Up)),
            freeze: Arc::default(),
        };
        let (state, freeze) = (proxy.state.clone(), proxy.freeze.clone());
        let conns = Arc::new(Mutex::new(Vec::<tokio::task::AbortHandle>::new()));
        let cut = conns.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let now = *state.lock().unwrap();
                let (target, freeze) = (target.clone(), freeze.clone());
                let task = tokio::spawn(async move {
                    match now {
                        ProxyState::Cut => return, // closed at once
                        ProxyState::Frozen => std::future::pending::<()>().await,
                        ProxyState::Up => {}
                    }
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        // Keep both sockets open, forward nothing more.
                        _ = freeze.notified() => std::future::pending::<()>().await,
                    }
                });
                conns.lock().unwrap().push(task.abort_handle());
            }
        });
        // Cutting aborts every connection task, which closes its sockets.
        let state = proxy.state.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                if *state.lock().unwrap() == ProxyState::Cut {
                    cut.lock().unwrap().drain(..).for_each(|c| c.abort());
                }
            }
        });
        proxy
    }

    fn cut(&self) {
        *self.state.lock().unwrap() = ProxyState::Cut;
    }

    fn freeze(&self) {
        *self.state.lock().unwrap() = ProxyState::Frozen;
        self.freeze.notify_waiters();
    }

    /// New connections are forwarded again; frozen ones stay frozen.
    fn restore(&self) {
        *self.state.lock().unwrap() = ProxyState::Up;
    }
}
