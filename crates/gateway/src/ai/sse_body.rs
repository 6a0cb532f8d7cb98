//! Streamed answers. Each chunk is written to the client as it arrives from the upstream (or
//! the simulator); nothing is buffered. The stream ends with a usage event (RegPilot's format)
//! or `[DONE]` (OpenAI's), with an error event when the upstream fails or the server's drain
//! deadline comes, or silently when the client leaves: then the body is dropped, which drops
//! the upstream response and so closes the upstream connection (the call is cancelled). In
//! every case the call's usage is recorded once.

use std::convert::Infallible;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use regpilot_ai::{ChatStream, Chunk};
use serde::Serialize;

use super::call::AnswerMeta;
use crate::error::OpenAiError;
use tokio::sync::watch;

use super::call::Call;
use crate::path::drain::InFlight;
use crate::state::AppState;

/// Which wire format the stream speaks.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StreamFormat {
    /// `POST /api/ai/chat`: `{"type":"chunk","content":…}` events, then a `usage` event.
    RegPilot,
    /// `POST /v1/chat/completions`: OpenAI's `chat.completion.chunk` events, then `[DONE]`.
    /// The usage chunk is forwarded only to callers who asked (`stream_options.include_usage`).
    OpenAi { include_usage: bool },
}

pub(crate) fn response(state: &AppState, call: Call, stream: ChatStream, dialect: StreamFormat) -> Response {
    state.metrics.stream_opened();
    let mut headers = axum::http::HeaderMap::new();
    call.headers(&mut headers);
    let pump = Pump {
        state: state.clone(),
        deadline: state.drain.deadline(),
        _in_flight: state.drain.enter(),
        call,
        stream,
        dialect,
        ended: false,
        recorded: false,
        finish_reason: None,
    };
    let body =
        futures_util::stream::unfold(pump, |mut p| async move { p.next().await.map(|b| (Ok::<_, Infallible>(b), p)) });
    let mut response = (StatusCode::OK, Body::from_stream(body)).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx-style proxies in front not to buffer the stream.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    h.extend(headers);
    response
}

struct Pump {
    state: AppState,
    call: Call,
    stream: ChatStream,
    dialect: StreamFormat,
    deadline: watch::Receiver<bool>,
    _in_flight: InFlight,
    ended: bool,
    recorded: bool,
    finish_reason: Option<String>,
}

enum Step {
    Chunk(Chunk),
    End,
    Failed { message: String, code: &'static str, outcome: &'static str },
}

impl Pump {
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if self.ended {
                return None;
            }
            let step = tokio::select! {
                biased;
                _ = self.deadline.wait_for(|reached| *reached) => Step::Failed {
                    message: "The server is shutting down; the answer was cut at its drain deadline. Retry the request.".into(),
                    code: "SHUTTING_DOWN",
                    outcome: "shutdown",
                },
                next = self.stream.next() => match next {
                    Ok(Some(chunk)) => Step::Chunk(chunk),
                    Ok(None) => Step::End,
                    Err(e) => Step::Failed { message: e.to_string(), code: e.code(), outcome: e.kind() },
                },
            };
            match step {
                Step::Chunk(chunk) => {
                    if chunk.finish_reason.is_some() {
                        self.finish_reason.clone_from(&chunk.finish_reason);
                    }
                    if let Some(bytes) = self.encode_chunk(&chunk) {
                        return Some(bytes);
                    }
                }
                Step::End => {
                    self.ended = true;
                    let bytes = self.encode_end();
                    self.record("ok");
                    return Some(bytes);
                }
                Step::Failed { message, code, outcome } => {
                    self.ended = true;
                    tracing::warn!(key_id = %self.call_key(), code, "stream ended with an error");
                    self.record(outcome);
                    return Some(self.encode_error(&message, code));
                }
            }
        }
    }

    fn call_key(&self) -> &str {
        self.call.key_id()
    }

    fn record(&mut self, outcome: &'static str) {
        if !self.recorded {
            self.recorded = true;
            self.call.finish(&self.state, self.stream.usage(), outcome);
        }
    }

    fn encode_chunk(&self, chunk: &Chunk) -> Option<Bytes> {
        match self.dialect {
            StreamFormat::RegPilot if chunk.text.is_empty() => None,
            StreamFormat::RegPilot => Some(event(&Event::Chunk { content: &chunk.text })),
            StreamFormat::OpenAi { include_usage: false } if chunk.usage_only => None,
            StreamFormat::OpenAi { .. } => {
                let mut out = Vec::with_capacity(chunk.data.len() + 8);
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(&chunk.data);
                out.extend_from_slice(b"\n\n");
                Some(Bytes::from(out))
            }
        }
    }

    fn encode_end(&self) -> Bytes {
        match self.dialect {
            StreamFormat::RegPilot => {
                let finish = self.finish_reason.as_deref().unwrap_or("stop");
                let usage = Event::Usage(self.call.answer_meta(finish, self.stream.usage()));
                let mut out = event(&usage).to_vec();
                out.extend_from_slice(b"data: [DONE]\n\n");
                Bytes::from(out)
            }
            StreamFormat::OpenAi { .. } => Bytes::from_static(b"data: [DONE]\n\n"),
        }
    }

    fn encode_error(&self, message: &str, code: &str) -> Bytes {
        match self.dialect {
            StreamFormat::RegPilot => event(&Event::Error { error: message, code }),
            StreamFormat::OpenAi { .. } => {
                #[derive(Serialize)]
                struct Failed<'a> {
                    error: OpenAiError<'a>,
                }
                event(&Failed { error: OpenAiError { message, kind: "server_error", param: None, code } })
            }
        }
    }
}

/// RegPilot's stream events: `{"type": "chunk" | "usage" | "error", …}`, the type first.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Event<'a> {
    Chunk { content: &'a str },
    Usage(AnswerMeta<'a>),
    Error { error: &'a str, code: &'a str },
}

/// One `data:` event.
fn event(data: &impl Serialize) -> Bytes {
    let mut out = b"data: ".to_vec();
    // Serializing these plain structs cannot fail; an empty object would still be valid JSON.
    if serde_json::to_writer(&mut out, data).is_err() {
        out.truncate(6);
        out.extend_from_slice(b"{}");
    }
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

impl Drop for Pump {
    fn drop(&mut self) {
        // The client left before the end: the upstream response is dropped with this pump,
        // which closes its connection; what was answered so far is still recorded.
        if !self.recorded {
            tracing::debug!(key_id = %self.call_key(), "client left a stream; upstream call cancelled");
            self.record("cancelled");
        }
        self.state.metrics.stream_closed();
    }
}
