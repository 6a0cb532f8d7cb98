//! Streamed answers. Each chunk is written to the client as it arrives from the upstream (or
//! the simulator); nothing is buffered. The stream ends with a usage event (RegPilot's format)
//! or `[DONE]` (OpenAI's), with an error event when the upstream fails or the server's drain
//! deadline comes, or silently when the client leaves: then the body is dropped, which drops
//! the upstream response and so closes the upstream connection (the call is cancelled). In
//! every case the call's usage is recorded once.
//!
//! With `governorMetadata`, each chunk's text goes through the Governor's stream guard first
//! (docs/governor.md, "Streaming"): what is emitted is already redacted, the guard holds back
//! the last stretch until no rule can still match across it, and the stream ends with the
//! Governor's result — a `governor` event (RegPilot's format) or a last chunk with a `governor`
//! field (OpenAI's). In mode `block` a stream that turns high-risk is cut with a
//! `GOVERNOR_BLOCKED` error event.

use std::convert::Infallible;
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use regpilot_ai::{ChatStream, Chunk};
use regpilot_governor::{Delivered, Outcome, StreamGuard, StreamStep, Verdict};
use serde::Serialize;
use serde_json::Value;

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
    let guard = call.governed.as_ref().map(|g| GuardState {
        guard: Some(g.stream_guard()),
        original: String::new(),
        sent: String::new(),
        verdict: None,
        started: Instant::now(),
        template: None,
    });
    let pump = Pump {
        guard,
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
    /// Set when the Governor checks this stream.
    guard: Option<GuardState>,
}

/// The Governor's state of one stream.
struct GuardState {
    /// Taken when the stream ends (its verdict is then in `verdict`).
    guard: Option<StreamGuard<'static>>,
    /// The whole original text so far (its digest goes into the audit).
    original: String,
    /// The text sent to the client so far: what a stream that ends early delivered.
    sent: String,
    verdict: Option<Verdict>,
    started: Instant,
    /// `id`, `created` and `model` of the last OpenAI chunk: the chunks the gateway adds carry them.
    template: Option<(Value, Value, Value)>,
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
                    if self.guard.is_some() {
                        if let Some(bytes) = self.governed_chunk(&chunk).await {
                            return Some(bytes);
                        }
                    } else if let Some(bytes) = self.encode_chunk(&chunk) {
                        return Some(bytes);
                    }
                }
                Step::End => {
                    self.ended = true;
                    let mut out = Vec::new();
                    if self.guard.is_some() {
                        let tail = self.take_tail(true).await;
                        if self.is_blocked() {
                            return Some(self.blocked_end());
                        }
                        if !tail.is_empty() {
                            out.extend_from_slice(&self.text_event(&tail));
                        }
                        out.extend_from_slice(&self.encode_governor());
                    }
                    out.extend_from_slice(&self.encode_end());
                    self.record("ok");
                    return Some(Bytes::from(out));
                }
                Step::Failed { message, code, outcome } => {
                    self.ended = true;
                    tracing::warn!(key_id = %self.call_key(), code, "stream ended with an error");
                    self.record(outcome);
                    // What was held back is not sent (it was never checked whole); the audit
                    // covers the text received.
                    let mut out = Vec::new();
                    if self.guard.is_some() {
                        self.take_tail(false).await;
                        out.extend_from_slice(&self.encode_governor());
                    }
                    out.extend_from_slice(&self.encode_error(&message, code));
                    return Some(Bytes::from(out));
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

    /// A chunk of a governed stream: its text through the guard; the chunk that ends the answer
    /// also flushes what the guard held back. `None`: nothing to send yet.
    async fn governed_chunk(&mut self, chunk: &Chunk) -> Option<Bytes> {
        let g = self.guard.as_mut()?;
        if let StreamFormat::OpenAi { .. } = self.dialect {
            if let Ok(v) = serde_json::from_slice::<Value>(&chunk.data) {
                let field = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
                g.template = Some((field("id"), field("created"), field("model")));
            }
        }
        g.original.push_str(&chunk.text);
        let step = match g.guard.as_mut() {
            Some(guard) => guard.push(&chunk.text),
            None => StreamStep::Emit(String::new()),
        };
        let mut text = match step {
            StreamStep::Emit(text) => text,
            StreamStep::Blocked(mut verdict) => {
                g.guard = None;
                // The clean text before the cut did reach the client: the audit says so.
                verdict.delivered = delivered_so_far(&g.original, &g.sent);
                g.verdict = Some(verdict);
                self.audit_stream().await;
                return Some(self.blocked_end());
            }
        };
        let ends = chunk.finish_reason.is_some() || chunk.usage_only;
        if ends {
            text.push_str(&self.take_tail(true).await);
            if self.is_blocked() {
                return Some(self.blocked_end());
            }
        }
        if let Some(g) = self.guard.as_mut() {
            g.sent.push_str(&text);
        }
        let out = self.encode_text(chunk, &text);
        (!out.is_empty()).then(|| Bytes::from(out))
    }

    /// Whether the Governor's verdict on this stream withholds it (mode block).
    fn is_blocked(&self) -> bool {
        self.guard.as_ref().and_then(|g| g.verdict.as_ref()).is_some_and(|v| v.outcome == Outcome::Blocked)
    }

    /// Mode block and a high-risk answer: the Governor's result and the error event end it.
    fn blocked_end(&mut self) -> Bytes {
        self.ended = true;
        self.record("blocked");
        let mut out = self.encode_governor().to_vec();
        out.extend_from_slice(
            &self.encode_error("The answer was cut: the Governor found it high-risk (mode block)", "GOVERNOR_BLOCKED"),
        );
        Bytes::from(out)
    }

    /// Ends the guard: what it held back (already checked) and the verdict, audited. When the
    /// tail will not be sent (`send_tail` false: the stream failed, or the verdict withholds
    /// the answer), the audit's delivered text is what was sent before.
    async fn take_tail(&mut self, send_tail: bool) -> String {
        let Some(g) = self.guard.as_mut() else { return String::new() };
        let Some(guard) = g.guard.take() else { return String::new() };
        let (tail, mut verdict) = guard.finish();
        if !send_tail || verdict.delivered == Delivered::Withheld {
            verdict.delivered = delivered_so_far(&g.original, &g.sent);
        }
        g.verdict = Some(verdict);
        self.audit_stream().await;
        tail
    }

    async fn audit_stream(&self) {
        if let (Some(g), Some(governed)) = (&self.guard, &self.call.governed) {
            if let Some(verdict) = &g.verdict {
                governed.finish_stream(&self.state, &g.original, verdict, g.started).await;
            }
        }
    }

    /// One chunk with its text replaced by what the guard let through.
    fn encode_text(&self, chunk: &Chunk, text: &str) -> Vec<u8> {
        match self.dialect {
            StreamFormat::RegPilot if text.is_empty() => Vec::new(),
            StreamFormat::RegPilot => event(&Event::Chunk { content: text }).to_vec(),
            StreamFormat::OpenAi { include_usage } => {
                let mut out = Vec::new();
                if chunk.usage_only {
                    // A usage chunk has no choice to carry text: the text goes in its own chunk.
                    if !text.is_empty() {
                        out.extend_from_slice(&self.text_event(text));
                    }
                    if include_usage {
                        out.extend_from_slice(&data_event(&chunk.data));
                    }
                    return out;
                }
                let Ok(mut v) = serde_json::from_slice::<Value>(&chunk.data) else {
                    return out;
                };
                let Some(delta) = v.pointer_mut("/choices/0/delta").and_then(Value::as_object_mut) else {
                    return out;
                };
                let only_text = delta.keys().all(|k| k == "content") && chunk.finish_reason.is_none();
                if text.is_empty() && only_text {
                    return out;
                }
                if text.is_empty() {
                    delta.remove("content");
                } else {
                    delta.insert("content".into(), Value::String(text.to_owned()));
                }
                if let Ok(bytes) = serde_json::to_vec(&v) {
                    out.extend_from_slice(&data_event(&bytes));
                }
                out
            }
        }
    }

    /// A chunk that carries only text (the tail the guard held back).
    fn text_event(&self, text: &str) -> Vec<u8> {
        match self.dialect {
            StreamFormat::RegPilot => event(&Event::Chunk { content: text }).to_vec(),
            StreamFormat::OpenAi { .. } => {
                let mut chunk = self.openai_chunk();
                chunk["choices"] = serde_json::json!([{"index": 0, "delta": {"content": text}, "finish_reason": null}]);
                event(&chunk).to_vec()
            }
        }
    }

    /// An empty `chat.completion.chunk` with the stream's id, created and model.
    fn openai_chunk(&self) -> Value {
        let (id, created, model) =
            self.guard.as_ref().and_then(|g| g.template.clone()).unwrap_or((Value::Null, Value::Null, Value::Null));
        serde_json::json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model, "choices": []})
    }

    /// The Governor's result: a `governor` event, or a last OpenAI chunk with a `governor` field.
    fn encode_governor(&self) -> Bytes {
        let (Some(g), Some(governed)) = (&self.guard, &self.call.governed) else { return Bytes::new() };
        let Some(verdict) = &g.verdict else { return Bytes::new() };
        let result = governed.result(verdict);
        match self.dialect {
            StreamFormat::RegPilot => event(&Event::Governor(result)),
            StreamFormat::OpenAi { .. } => {
                let mut chunk = self.openai_chunk();
                chunk["governor"] = serde_json::to_value(&result).unwrap_or(Value::Null);
                event(&chunk)
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

/// RegPilot's stream events: `{"type": "chunk" | "governor" | "usage" | "error", …}`, the type first.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Event<'a> {
    Chunk { content: &'a str },
    Governor(super::govern::GovernorResult<'a>),
    Usage(AnswerMeta<'a>),
    Error { error: &'a str, code: &'a str },
}

/// What a stream that ended early delivered: the text sent so far.
fn delivered_so_far(original: &str, sent: &str) -> Delivered {
    if sent == original {
        Delivered::Unchanged
    } else {
        Delivered::Changed(sent.to_owned())
    }
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

/// `data: <json>` and the blank line.
fn data_event(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + 8);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(json);
    out.extend_from_slice(b"\n\n");
    out
}

impl Drop for Pump {
    fn drop(&mut self) {
        // A governed stream the client left: its audit covers the text received so far.
        if let (Some(g), Some(governed)) = (&mut self.guard, &self.call.governed) {
            if let Some(guard) = g.guard.take() {
                let (_, mut verdict) = guard.finish();
                verdict.delivered = delivered_so_far(&g.original, &g.sent);
                governed.audit_now(&self.state, &g.original, &verdict, g.started);
            }
        }
        // The client left before the end: the upstream response is dropped with this pump,
        // which closes its connection; what was answered so far is still recorded.
        if !self.recorded {
            tracing::debug!(key_id = %self.call_key(), "client left a stream; upstream call cancelled");
            self.record("cancelled");
        }
        self.state.metrics.stream_closed();
    }
}
