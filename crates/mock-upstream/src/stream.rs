//! Streamed answers (`"stream": true`): a spawned producer task writes SSE frames into a small
//! channel, and the response body reads them, so each event goes out as soon as it is produced.
//!
//! The producer notices a client that went away — hyper drops the body, which closes the
//! channel — both when a send fails and while it pauses between chunks (it waits on
//! `Sender::closed` alongside the pause), and counts it in `streams_cancelled`.
//!
//! The fault modes' bodies ([`scripted`]) go through the same channel: a list of pieces, maybe
//! endless, each after a pause; a piece that is an error cuts the connection there.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use crate::openai::{ChunkHead, Usage, DONE_FRAME};
use crate::state::{bump, Shared};

/// How long `mock-hang` and `mock-stall` wait: longer than any test runs.
pub(crate) const HANG: Duration = Duration::from_secs(3600);

/// How the content chunks of a stream are paced.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Pace {
    /// This pause before each content chunk (none if zero).
    Every(Duration),
    /// The first content chunk at once, then nothing more (`mock-stall`).
    Stall,
    /// `data: {broken` then `data: [DONE]` (`mock-garbage`).
    Garbage,
}

/// Why a producer stopped early.
enum Stop {
    /// The body was dropped: the client (or the gateway) went away.
    Cancelled,
    /// The [`crate::MockUpstream`] was dropped.
    Shutdown,
    /// The body cut its connection on purpose (`mock-reset`).
    Cut,
}

/// The pause before a [`cut`], so that what came before it reaches the client.
const CUT_DELAY: Duration = Duration::from_millis(100);

/// What the body is made of: bytes, or an error, on which hyper aborts the connection (the
/// client sees it close mid-body, without the end of the chunked encoding).
type Frame = Result<Bytes, std::io::Error>;

/// Counts the stream as started, spawns its producer and answers with the SSE body: `pieces`
/// as the content chunks. `usage` is `Some` when the request asked for
/// `stream_options.include_usage`.
pub(crate) fn respond(
    shared: Arc<Shared>,
    head: ChunkHead,
    pieces: Arc<[String]>,
    pace: Pace,
    usage: Option<Usage>,
) -> Response {
    let (tx, rx) = mpsc::channel::<Frame>(16);
    bump(&shared.counters.streams_started);
    tokio::spawn(async move {
        let producer = Producer { shared: &shared, tx };
        if let Err(Stop::Cancelled) = producer.run(&head, &pieces, pace, usage).await {
            bump(&shared.counters.streams_cancelled);
        }
    });
    let headers = [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")];
    (StatusCode::OK, headers, Body::from_stream(ReceiverStream(rx))).into_response()
}

/// A body of `content_type` written piece by piece from `pieces` (which may never end), each
/// after `pause`, until the pieces run out (counted as completed), an error piece cuts the
/// connection, or the client leaves (counted as cancelled). Counted as a stream started.
pub(crate) fn scripted<I>(shared: Arc<Shared>, content_type: &'static str, pieces: I, pause: Duration) -> Response
where
    I: Iterator<Item = Frame> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Frame>(16);
    bump(&shared.counters.streams_started);
    tokio::spawn(async move {
        let producer = Producer { shared: &shared, tx };
        match producer.play(pieces, pause).await {
            Ok(()) => bump(&shared.counters.streams_completed),
            Err(Stop::Cancelled) => bump(&shared.counters.streams_cancelled),
            Err(Stop::Shutdown | Stop::Cut) => {}
        }
    });
    let headers = [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")];
    (StatusCode::OK, headers, Body::from_stream(ReceiverStream(rx))).into_response()
}

/// An error piece of a [`scripted`] body: the connection is cut there.
pub(crate) fn cut() -> Frame {
    Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "mock-reset: connection cut"))
}

/// Writes one stream's frames.
struct Producer<'a> {
    shared: &'a Shared,
    tx: mpsc::Sender<Frame>,
}

impl Producer<'_> {
    /// The role chunk, the content chunks, the finish chunk, the usage chunk if asked for, and
    /// `[DONE]` (counted as completed as it is handed to the body).
    async fn run(&self, head: &ChunkHead, pieces: &[String], pace: Pace, usage: Option<Usage>) -> Result<(), Stop> {
        let counters = &self.shared.counters;
        if let Pace::Garbage = pace {
            self.send(Bytes::from_static(b"data: {broken\n\n"), || {}).await?;
            return self.send(Bytes::from_static(DONE_FRAME), || bump(&counters.streams_completed)).await;
        }
        self.send(head.role_frame(), || {}).await?;
        for piece in pieces {
            if let Pace::Every(delay) = pace {
                self.pause(delay).await?;
            }
            self.send(head.content_frame(piece), || bump(&counters.chunks_sent)).await?;
            if let Pace::Stall = pace {
                self.pause(HANG).await?;
            }
        }
        self.send(head.finish_frame(), || {}).await?;
        if let Some(usage) = usage {
            self.send(head.usage_frame(usage), || {}).await?;
        }
        self.send(Bytes::from_static(DONE_FRAME), || bump(&counters.streams_completed)).await
    }

    /// The pieces of a [`scripted`] body; stops after an error piece.
    async fn play(&self, pieces: impl Iterator<Item = Frame>, pause: Duration) -> Result<(), Stop> {
        for piece in pieces {
            let cut = piece.is_err();
            // hyper drops what it has not written yet when a body fails: let it go out first.
            self.pause(if cut { CUT_DELAY } else { pause }).await?;
            self.hand(piece, || {}).await?;
            if cut {
                return Err(Stop::Cut);
            }
        }
        Ok(())
    }

    /// Hands `frame` to the body, calling `counted` just before — so a count is never behind
    /// what a client can already have read.
    async fn send(&self, frame: Bytes, counted: impl FnOnce()) -> Result<(), Stop> {
        self.hand(Ok(frame), counted).await
    }

    async fn hand(&self, frame: Frame, counted: impl FnOnce()) -> Result<(), Stop> {
        let permit = tokio::select! {
            permit = self.tx.reserve() => permit.map_err(|_| Stop::Cancelled)?,
            () = self.shared.stopped() => return Err(Stop::Shutdown),
        };
        counted();
        permit.send(frame);
        Ok(())
    }

    /// Sleeps `delay`, unless the body is dropped or the mock stopped meanwhile.
    async fn pause(&self, delay: Duration) -> Result<(), Stop> {
        if delay.is_zero() {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => Ok(()),
            () = self.tx.closed() => Err(Stop::Cancelled),
            () = self.shared.stopped() => Err(Stop::Shutdown),
        }
    }
}

/// The channel's receiver as the `Stream` that [`Body::from_stream`] takes.
struct ReceiverStream(mpsc::Receiver<Frame>);

impl futures_core::Stream for ReceiverStream {
    type Item = Frame;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}
