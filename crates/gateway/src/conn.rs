//! Serving client connections: the accept loop and one task per connection, on hyper's HTTP/1
//! server (`axum::serve` runs hyper with no timeout at all). What a client can make the server
//! hold is bounded here (README, "Configuration", "Connections"):
//!
//! - **header-read timeout**: from a connection's accept, or from the first byte of a later
//!   request, to the end of that request's headers; a client that is slower is disconnected;
//! - **keep-alive timeout**: a connection with no request in progress and none begun is closed
//!   this long after its last answer;
//! - **connection cap**: beyond it, a new connection is closed at once and counted;
//! - **accept errors** (`EMFILE` when the process is out of file descriptors) back off instead of
//!   spinning, and are counted;
//! - **lingering close**: when the server ends a connection (a 413 answered before the body was
//!   read, a `Connection: close`), it sends its FIN, then reads and discards what the client is
//!   still sending, for a bounded time and size, before closing. Closing with unread data makes
//!   the kernel send a reset, and a client still sending would lose the answer (nginx's
//!   `lingering_close` does the same).
//!
//! Both timeouts are timed here rather than by hyper: hyper's header-read timer starts the moment
//! a kept-alive connection goes idle, so it would cut every keep-alive at the header timeout. One
//! sleep per connection is re-armed lazily when it fires; a request in progress is never timed
//! out here (the upstream timeouts and the drain bound it).

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::routing::future::RouteFuture;
use axum::Router;
use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::metrics::{ConnTimeout, Metrics};
use crate::state::AppState;

/// The connection limits, from the settings (`crates/cli/src/settings.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    pub header_read_timeout: Duration,
    pub keepalive_timeout: Duration,
    /// Connections served at once; 0 derives it from the open-file limit
    /// ([`default_max_connections`]).
    pub max_connections: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_read_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(60),
            max_connections: 0,
        }
    }
}

/// After the server ends a connection, what it still reads and discards, at most.
const LINGER_TIME: Duration = Duration::from_secs(5);
const LINGER_BYTES: usize = 4 * 1024 * 1024;
/// At shutdown, after the drain, how long connections get to close before the server exits.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// Accept errors back off from the first step, doubling, up to the last.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));
/// File descriptors kept out of the connection cap's reach: the store's pool, Redis, the GeoIP
/// file, the listener, the runtime's own, with room to spare.
const FD_RESERVE: u64 = 256;

/// Raises the open-file soft limit to the hard limit, as servers commonly do (systemd gives
/// services 1,024 soft and 524,288 hard): the default connection cap is derived from it.
#[cfg(unix)]
pub(crate) fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let (Some(soft), hard) = (limit.current, limit.maximum) else { return };
    // No hard limit: a million is plenty, and some kernels refuse more (nr_open).
    let target = hard.unwrap_or(1 << 20).min(1 << 20);
    if target > soft {
        match setrlimit(Resource::Nofile, Rlimit { current: Some(target), maximum: hard }) {
            Ok(()) => tracing::info!(from = soft, to = target, "open-file limit raised"),
            Err(e) => tracing::debug!(error = %e, "open-file limit not raised"),
        }
    }
}

#[cfg(not(unix))]
pub(crate) fn raise_fd_limit() {}

#[cfg(unix)]
fn fd_soft_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn fd_soft_limit() -> Option<u64> {
    None
}

/// The connection cap when none is configured: the open-file soft limit, less [`FD_RESERVE`],
/// halved, because a client connection making an AI call holds an upstream socket too. (20,000
/// descriptors give 9,872 connections; 1,024 give 384.) At least 64.
pub fn default_max_connections() -> usize {
    let soft = fd_soft_limit().unwrap_or(1 << 16);
    usize::try_from((soft.saturating_sub(FD_RESERVE) / 2).max(64)).unwrap_or(usize::MAX)
}

/// Accepts on `listener` and serves `app` on each connection until `shutdown` completes; then
/// stops accepting, lets every connection finish the request it is answering, and returns when
/// all are closed (or after [`CLOSE_WAIT`]).
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    state: &AppState,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
) {
    let max = match limits.max_connections {
        0 => default_max_connections(),
        n => n,
    }
    .min(Semaphore::MAX_PERMITS)
    .min(u32::MAX as usize);
    let metrics = state.metrics.clone();
    metrics.connections.set_max(max);
    tracing::info!(
        max_connections = max,
        header_read_timeout_secs = limits.header_read_timeout.as_secs_f64(),
        keepalive_timeout_secs = limits.keepalive_timeout.as_secs_f64(),
        "serving connections"
    );
    let slots = Arc::new(Semaphore::new(max));
    let (close_tx, close_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut backoff = Duration::ZERO;
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(conn) => {
                backoff = Duration::ZERO;
                conn
            }
            // The client gave up before it was accepted: nothing to do.
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                metrics.connections.accept_error();
                backoff = (backoff * 2).clamp(ACCEPT_BACKOFF.0, ACCEPT_BACKOFF.1);
                tracing::error!(error = %e, backoff_ms = backoff.as_millis() as u64, "accept error; backing off");
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(backoff) => continue,
                }
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Closed at once: holding it open unanswered would spend the descriptor it came for.
            metrics.connections.refused();
            drop(tcp);
            continue;
        };
        // Small writes (an SSE chunk, a short answer) go out at once, not after the previous ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let open = Open::new(metrics.clone(), slot);
        tokio::spawn(serve_connection(tcp, peer, app.clone(), limits, open, close_rx.clone()));
    }
    drop(listener);
    let _ = close_tx.send(true);
    let open = metrics.connections.open_now();
    if open > 0 {
        tracing::info!(open, "closing connections");
    }
    // Every slot back: every connection closed.
    if tokio::time::timeout(CLOSE_WAIT, slots.acquire_many(max as u32)).await.is_err() {
        tracing::warn!(open = metrics.connections.open_now(), "connections still open at exit");
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// A connection's slot under the cap, and its place in the open-connections gauge.
struct Open {
    metrics: Arc<Metrics>,
    _slot: OwnedSemaphorePermit,
}

impl Open {
    fn new(metrics: Arc<Metrics>, slot: OwnedSemaphorePermit) -> Open {
        metrics.connections.opened();
        Open { metrics, _slot: slot }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.metrics.connections.closed();
    }
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnLimits,
    open: Open,
    mut close: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched { tcp, activity: activity.clone() });
    let service = ConnService { app, peer: ConnectInfo(peer), activity: activity.clone() };
    // No hyper timer: the timeouts are timed below (the module's doc says why).
    let mut conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    let mut timer =
        pin!(tokio::time::sleep_until(activity.born + limits.header_read_timeout.min(limits.keepalive_timeout)));
    let mut closing = false;
    let served = loop {
        tokio::select! {
            served = poll_fn(|cx| conn.poll_without_shutdown(cx)) => break served,
            () = &mut timer => match activity.next(Instant::now(), &limits) {
                Next::At(at) => timer.as_mut().reset(at),
                Next::Expired(why) => {
                    open.metrics.connections.timed_out(why);
                    tracing::debug!(%peer, ?why, "connection timed out");
                    // Dropped: hyper closes the socket.
                    return;
                }
            },
            changed = close.changed(), if !closing => {
                closing = true;
                if changed.is_ok() {
                    // Ends an idle connection now, a busy one after its answer.
                    Pin::new(&mut conn).graceful_shutdown();
                }
            }
        }
    };
    if let Err(e) = served {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
    let tcp = conn.into_parts().io.into_inner().tcp;
    linger(tcp).await;
    drop(open);
}

/// Sends the FIN (the client can read the whole answer), then reads and discards what the client
/// is still sending until it closes, for at most [`LINGER_TIME`] and [`LINGER_BYTES`].
async fn linger(mut tcp: TcpStream) {
    if tcp.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        // Most clients have closed already, or close on the FIN: one small read sees it.
        let mut first = [0u8; 512];
        let mut left = match tcp.read(&mut first).await {
            Ok(0) | Err(_) => return,
            Ok(n) => LINGER_BYTES.saturating_sub(n),
        };
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}

/// What one connection is doing, for its timeouts. Only the connection's own task touches it
/// (the socket, the service and the response body are all polled there); atomics make it `Sync`.
struct Activity {
    born: Instant,
    /// Requests whose answer is not finished.
    busy: AtomicU32,
    /// Milliseconds after `born` when the last answer finished.
    idle_since: AtomicU64,
    /// Milliseconds after `born` when the next request's first byte arrived; [`NOT_BEGUN`] when
    /// none has. The first request counts from the accept.
    head_since: AtomicU64,
}

const NOT_BEGUN: u64 = u64::MAX;

enum Next {
    At(Instant),
    Expired(ConnTimeout),
}

impl Activity {
    fn new() -> Activity {
        Activity {
            born: Instant::now(),
            busy: AtomicU32::new(0),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
        }
    }

    fn ms(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.born).as_millis()).unwrap_or(u64::MAX)
    }

    fn read_some(&self) {
        if self.busy.load(Ordering::Relaxed) == 0 && self.head_since.load(Ordering::Relaxed) == NOT_BEGUN {
            self.head_since.store(self.ms(Instant::now()), Ordering::Relaxed);
        }
    }

    fn request_started(&self) {
        self.busy.fetch_add(1, Ordering::Relaxed);
        self.head_since.store(NOT_BEGUN, Ordering::Relaxed);
    }

    fn answer_finished(&self) {
        self.idle_since.store(self.ms(Instant::now()), Ordering::Relaxed);
        self.busy.fetch_sub(1, Ordering::Relaxed);
    }

    /// When to look again, or which timeout has passed.
    fn next(&self, now: Instant, limits: &ConnLimits) -> Next {
        let (header, keepalive) = (limits.header_read_timeout, limits.keepalive_timeout);
        if self.busy.load(Ordering::Relaxed) > 0 {
            // Neither timeout can pass sooner than this after the answer ends.
            return Next::At(now + header.min(keepalive));
        }
        let at = |since: u64, limit: Duration| self.born + Duration::from_millis(since) + limit;
        match self.head_since.load(Ordering::Relaxed) {
            NOT_BEGUN => {
                let due = at(self.idle_since.load(Ordering::Relaxed), keepalive);
                if now >= due {
                    Next::Expired(ConnTimeout::KeepAlive)
                } else {
                    // A request beginning from now on is due no sooner than `now + header`.
                    Next::At(due.min(now + header))
                }
            }
            since => {
                let due = at(since, header);
                if now >= due {
                    Next::Expired(ConnTimeout::Header)
                } else {
                    // The request may be answered before then, and its keep-alive run out sooner.
                    Next::At(due.min(now + keepalive))
                }
            }
        }
    }
}

/// The socket, noting when a request's first byte arrives.
struct Watched {
    tcp: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read_some();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// The router as hyper calls it, with the peer address for `ConnectInfo` and the request marked
/// busy until its answer's body is finished.
struct ConnService {
    app: Router,
    peer: ConnectInfo<SocketAddr>,
    activity: Arc<Activity>,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<Answer>;
    type Error = Infallible;
    type Future = Answering;

    fn call(&self, mut req: Request<Incoming>) -> Answering {
        self.activity.request_started();
        req.extensions_mut().insert(self.peer);
        let busy = Busy(self.activity.clone());
        // The router is always ready (axum's `Service` impl), and a clone is one `Arc`.
        Answering { inner: tower::Service::call(&mut self.app.clone(), req), busy: Some(busy) }
    }
}

/// Marks the request finished when dropped: with the answer's body, or with the request if it
/// was cut short.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.answer_finished();
    }
}

struct Answering {
    inner: RouteFuture<Infallible>,
    busy: Option<Busy>,
}

impl Future for Answering {
    type Output = Result<Response<Answer>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = ready!(Pin::new(&mut self.inner).poll(cx));
        let busy = self.busy.take();
        Poll::Ready(response.map(|r| r.map(|body| Answer { body, _busy: busy })))
    }
}

/// An answer's body, holding the request busy until hyper has taken all of it.
struct Answer {
    body: axum::body::Body,
    _busy: Option<Busy>,
}

impl Body for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(header: u64, keepalive: u64) -> ConnLimits {
        ConnLimits {
            header_read_timeout: Duration::from_secs(header),
            keepalive_timeout: Duration::from_secs(keepalive),
            max_connections: 1,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_header_timeout_counts_from_the_accept_then_from_a_request_s_first_byte() {
        let a = Activity::new();
        let l = limits(10, 60);
        assert!(matches!(a.next(a.born + Duration::from_secs(10), &l), Next::Expired(ConnTimeout::Header)));
        a.request_started();
        assert!(matches!(a.next(a.born + Duration::from_secs(100), &l), Next::At(_)), "busy is never timed out");
        tokio::time::advance(Duration::from_secs(100)).await;
        a.answer_finished();
        // Idle: the keep-alive counts, not the header timeout.
        let idle = a.born + Duration::from_secs(100);
        assert!(matches!(a.next(idle + Duration::from_secs(30), &l), Next::At(_)));
        assert!(matches!(a.next(idle + Duration::from_secs(60), &l), Next::Expired(ConnTimeout::KeepAlive)));
        tokio::time::advance(Duration::from_secs(5)).await;
        a.read_some();
        let first_byte = idle + Duration::from_secs(5);
        let due = first_byte + Duration::from_secs(10);
        assert!(matches!(a.next(first_byte + Duration::from_secs(9), &l), Next::At(t) if t == due));
        assert!(matches!(a.next(first_byte + Duration::from_secs(10), &l), Next::Expired(ConnTimeout::Header)));
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_check_wakes_in_time_for_a_request_that_begins_after_it() {
        let a = Activity::new();
        a.request_started();
        a.answer_finished();
        let l = limits(10, 60);
        match a.next(a.born + Duration::from_secs(1), &l) {
            Next::At(t) => assert_eq!(t, a.born + Duration::from_secs(11)),
            Next::Expired(_) => panic!("expired"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_check_while_headers_are_awaited_wakes_in_time_for_a_short_keepalive() {
        let a = Activity::new();
        let l = limits(10, 1);
        match a.next(a.born, &l) {
            Next::At(t) => assert_eq!(t, a.born + Duration::from_secs(1)),
            Next::Expired(_) => panic!("expired"),
        }
    }

    #[test]
    fn the_default_cap_leaves_room_for_upstream_sockets() {
        let n = default_max_connections();
        assert!(n >= 64);
        if let Some(soft) = fd_soft_limit() {
            assert!((n as u64) <= soft.max(128));
        }
    }
}
