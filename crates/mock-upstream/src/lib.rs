//! A mock OpenAI-compatible upstream, for the gateway's tests (in-process, through
//! [`MockUpstream::start`]) and its benchmarks (the `regpilot-mock-upstream` binary).
//!
//! It answers `POST /v1/chat/completions` with a fixed completion, as one JSON body or as an
//! SSE stream, logs every request it gets ([`MockUpstream::requests`]) and counts what happened
//! to its streams ([`MockUpstream::stats`]). `GET /v1/models` lists one `mock-model`; anything
//! else is a JSON 404.
//!
//! The request's `model` selects special behaviours, so that a test in another process can
//! trigger them through the gateway:
//!
//! | model | answer |
//! | --- | --- |
//! | `mock-status-NNN` | status NNN with OpenAI's error body (`mock error NNN`, `server_error` for 5xx, else `invalid_request_error`); a 429 adds `retry-after: 7` |
//! | `mock-hang` | none: waits an hour |
//! | `mock-stall` | stream: headers, role chunk and first content chunk, then nothing for an hour; non-stream: as `mock-hang` |
//! | `mock-slow` | stream: 100 ms before each content chunk (instead of `chunk_delay`) |
//! | `mock-garbage` | non-stream: 200, `content-type: application/json`, body `not json`; stream: `data: {broken` then `data: [DONE]` |
//! | `mock-reset` | stream: role chunk and first content chunk, then the connection is cut (no end of the chunked body); non-stream: half of a declared body, then the cut |
//! | `mock-noise` | 200, then bytes without a line break, 16 KiB at a time, until the client leaves |
//! | `mock-endless` | stream: content chunks `more `, 5 ms apart, without end; non-stream: a JSON body that never closes |
//! | `mock-trickle` | the answer one byte every 20 ms (a stream's content chunks repeat without end) |
//! | `mock-big-N` | a valid answer whose content is N bytes of `a` (N up to 256 MiB; a stream sends it as one event) |
//! | `mock-echo` | the normal answer, but its content is the last `user` message's text verbatim (a string, or the text parts joined; empty without one), streamed in up to `stream_chunks` pieces as the fixed completion is; `usage` counts that text |
//! | anything else | the normal answer, echoing the model |
//!
//! The bodies of `mock-reset`, `mock-noise`, `mock-endless`, `mock-trickle` and `mock-big-N`
//! count as streams in [`MockStats`], streamed or not: a client that leaves one is counted in
//! `streams_cancelled`.
//!
//! Token counts in `usage` follow a fixed formula (see `openai::Usage`): prompt = 3 + Σ over
//! messages of (⌈chars(content)/4⌉ + 4), text parts of array contents counted; completion =
//! ⌈chars(completion)/4⌉. Tests should compare against the `usage` reported, not recompute it.
//!
//! Files: `state.rs` (log, counters, shutdown), `handlers.rs` (routes, auth, special models,
//! non-stream answers), `stream.rs` (SSE producer), `openai.rs` (wire shapes, usage, splitting).

mod handlers;
mod openai;
mod state;
mod stream;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::state::Shared;

/// How a [`MockUpstream`] behaves.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// Where to listen; `127.0.0.1:0` (the default) picks a free port.
    pub listen: SocketAddr,
    /// If set, every chat-completions request must carry `Authorization: Bearer <key>`
    /// (else 401 `invalid_api_key`); if not, anything is accepted.
    pub api_key: Option<String>,
    /// The fixed completion text (default: `The quick brown fox jumps over the lazy dog.`).
    pub completion: String,
    /// How many content chunks a stream splits the completion into (default 8): on word
    /// boundaries, as evenly as possible, fewer if the text has fewer words. The pieces
    /// concatenate to exactly the completion.
    pub stream_chunks: usize,
    /// The pause before each content chunk of a stream (default none).
    pub chunk_delay: Duration,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            api_key: None,
            completion: "The quick brown fox jumps over the lazy dog.".to_owned(),
            stream_chunks: 8,
            chunk_delay: Duration::ZERO,
        }
    }
}

/// One `POST /v1/chat/completions` the mock received.
#[derive(Clone, Debug)]
pub struct SeenRequest {
    /// Every header, names in lower case, values decoded lossily as UTF-8, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The parsed JSON body; a body that is not JSON is kept as a JSON string of its text.
    pub body: serde_json::Value,
    pub received_at: Instant,
}

impl SeenRequest {
    /// The first value of header `name` (give it in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, value)| value.as_str())
    }
}

/// What the mock has seen and done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MockStats {
    /// `POST /v1/chat/completions` requests received (refused ones included).
    pub requests: u64,
    /// Streamed answers begun.
    pub streams_started: u64,
    /// Streams whose `data: [DONE]` was handed to the response body.
    pub streams_completed: u64,
    /// Streams whose client went away before `[DONE]`.
    pub streams_cancelled: u64,
    /// Content chunks handed to response bodies (the role, finish and usage chunks not counted).
    pub chunks_sent: u64,
}

/// A running mock upstream. Dropping it stops the server: it stops accepting, and answers or
/// streams still running end at once.
pub struct MockUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Dropped with the mock: its receivers then see the shutdown.
    _stop: watch::Sender<()>,
}

impl MockUpstream {
    /// Binds `config.listen` and serves on the current tokio runtime (in a spawned task).
    pub async fn start(config: MockConfig) -> std::io::Result<MockUpstream> {
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = watch::channel(());
        let shared = Arc::new(Shared::new(config, stop_rx));
        let app = handlers::router(Arc::clone(&shared));
        // Small SSE frames must leave at once, not wait for Nagle.
        let listener = listener.tap_io(|tcp| {
            tcp.set_nodelay(true).ok();
        });
        let stopping = Arc::clone(&shared);
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move { stopping.stopped().await });
            // An accept loop error has nobody to report to; the tests will see refused connections.
            serve.await.ok();
        });
        Ok(MockUpstream { addr, shared, _stop: stop_tx })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT/v1`, the base URL an OpenAI client is given.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every `POST /v1/chat/completions` received, in order (the most recent 10 000).
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.shared.requests()
    }

    /// The counters so far.
    pub fn stats(&self) -> MockStats {
        self.shared.stats()
    }

    /// Waits until at least `n` streams were cancelled (true) or `timeout` passed (false).
    pub async fn wait_for_cancelled(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.stats().streams_cancelled >= n as u64 {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Resolves on SIGINT or SIGTERM: how the benchmark and mock binaries stop.
#[cfg(unix)]
pub async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted,
        _ = terminate.recv() => Ok(()),
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
pub async fn wait_for_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}
