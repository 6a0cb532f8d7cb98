//! The state the mock's handlers and stream producers share with [`crate::MockUpstream`]: the
//! configuration, the request log, the counters and the shutdown signal.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};
use serde_json::Value;
use tokio::sync::watch;

use crate::openai::split_pieces;
use crate::{MockConfig, MockStats, SeenRequest};

/// How many requests the log keeps: the most recent ones. Far above what a test sends, and keeps
/// a long benchmark run against the binary from growing without bound.
pub(crate) const LOG_LIMIT: usize = 10_000;

/// Shared by every handler and stream producer of one [`crate::MockUpstream`].
pub(crate) struct Shared {
    /// `Bearer <key>` when a key is required.
    pub(crate) expected_authorization: Option<String>,
    pub(crate) completion: String,
    /// The completion split for streams (see [`split_pieces`]).
    pub(crate) pieces: Arc<[String]>,
    /// How many pieces a stream splits its text into (`mock-echo` splits each answer anew).
    pub(crate) stream_chunks: usize,
    pub(crate) chunk_delay: Duration,
    pub(crate) counters: Counters,
    /// Numbers the `chatcmpl-mock-<n>` ids, from 1.
    next_id: AtomicU64,
    log: Mutex<VecDeque<SeenRequest>>,
    /// Never sent on: its sender is dropped when the [`crate::MockUpstream`] is.
    stop: watch::Receiver<()>,
}

/// The counters behind [`MockStats`].
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) streams_started: AtomicU64,
    pub(crate) streams_completed: AtomicU64,
    pub(crate) streams_cancelled: AtomicU64,
    pub(crate) chunks_sent: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Shared {
    pub(crate) fn new(config: MockConfig, stop: watch::Receiver<()>) -> Shared {
        Shared {
            expected_authorization: config.api_key.map(|key| format!("Bearer {key}")),
            pieces: split_pieces(&config.completion, config.stream_chunks).into(),
            stream_chunks: config.stream_chunks,
            completion: config.completion,
            chunk_delay: config.chunk_delay,
            counters: Counters::default(),
            next_id: AtomicU64::new(1),
            log: Mutex::new(VecDeque::new()),
            stop,
        }
    }

    /// The next `chatcmpl-mock-<n>` id.
    pub(crate) fn next_id(&self) -> String {
        format!("chatcmpl-mock-{}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Whether the request's `Authorization` is exactly `Bearer <key>` (always, if no key is set).
    pub(crate) fn authorized(&self, headers: &HeaderMap) -> bool {
        match &self.expected_authorization {
            None => true,
            Some(expected) => {
                headers.get(header::AUTHORIZATION).is_some_and(|got| got.as_bytes() == expected.as_bytes())
            }
        }
    }

    /// Counts a chat-completions request and logs its headers and body.
    pub(crate) fn record(&self, headers: &HeaderMap, body: Value) {
        bump(&self.counters.requests);
        let headers = headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let seen = SeenRequest { headers, body, received_at: Instant::now() };
        let mut log = self.log();
        if log.len() == LOG_LIMIT {
            log.pop_front();
        }
        log.push_back(seen);
    }

    /// The log, in arrival order.
    pub(crate) fn requests(&self) -> Vec<SeenRequest> {
        self.log().iter().cloned().collect()
    }

    fn log(&self) -> MutexGuard<'_, VecDeque<SeenRequest>> {
        // A panic while holding the lock cannot leave the log half-written: keep using it.
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn stats(&self) -> MockStats {
        let c = &self.counters;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        MockStats {
            requests: get(&c.requests),
            streams_started: get(&c.streams_started),
            streams_completed: get(&c.streams_completed),
            streams_cancelled: get(&c.streams_cancelled),
            chunks_sent: get(&c.chunks_sent),
        }
    }

    /// Resolves once the [`crate::MockUpstream`] is dropped.
    pub(crate) async fn stopped(&self) {
        let mut stop = self.stop.clone();
        // Nothing is ever sent: `changed` only returns, with an error, once the sender is gone.
        while stop.changed().await.is_ok() {}
    }
}
