//! The mock's routes: `POST /v1/chat/completions` (auth, the special models, the non-stream
//! answer; streams are in [`crate::stream`]), `GET /v1/models`, and a JSON 404 for the rest.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::openai::{split_pieces, ChunkHead, Completion, CompletionChoice, Message, Usage, DONE_FRAME};
use crate::state::Shared;
use crate::stream::{self, Pace, HANG};

/// The pause before each content chunk of a `mock-slow` stream.
const SLOW_DELAY: Duration = Duration::from_millis(100);

/// The pause before each chunk of a `mock-endless` stream: steady, never silent.
const ENDLESS_DELAY: Duration = Duration::from_millis(5);

/// The pause before each byte of a `mock-trickle` answer: far under any idle timeout.
const TRICKLE_DELAY: Duration = Duration::from_millis(20);

/// The size of each piece of a `mock-noise` body (and of an endless non-stream body).
const NOISE_PIECE: usize = 16 * 1024;

/// The largest `mock-big-N` answer, so a typo cannot make the mock allocate without bound.
const BIG_MAX: usize = 256 * 1024 * 1024;

/// The router over `shared`.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(shared)
}

/// What the request's `model` asks of the mock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    /// Any other model: a normal answer.
    Normal,
    /// `mock-status-NNN`: that status with OpenAI's error body.
    Status(StatusCode),
    /// `mock-hang`: no answer at all.
    Hang,
    /// `mock-stall`: a stream stops after its first content chunk (non-stream: as `mock-hang`).
    Stall,
    /// `mock-slow`: 100 ms before each content chunk.
    Slow,
    /// `mock-garbage`: a body that is not what it claims to be.
    Garbage,
    /// `mock-reset`: the connection is cut in the middle of the answer.
    Reset,
    /// `mock-noise`: 200, then bytes without a line break, without end.
    Noise,
    /// `mock-endless`: an answer that never ends (valid chunks, 5 ms apart; a JSON body that
    /// never closes).
    Endless,
    /// `mock-trickle`: the answer one byte every 20 ms (a stream's chunks repeat without end).
    Trickle,
    /// `mock-big-N`: a valid answer whose content is N bytes of `a`.
    Big(usize),
    /// `mock-echo`: a normal answer whose content is the last user message's text, verbatim.
    Echo,
}

impl Behaviour {
    fn of(model: &str) -> Behaviour {
        match model {
            "mock-hang" => Behaviour::Hang,
            "mock-stall" => Behaviour::Stall,
            "mock-slow" => Behaviour::Slow,
            "mock-garbage" => Behaviour::Garbage,
            "mock-reset" => Behaviour::Reset,
            "mock-noise" => Behaviour::Noise,
            "mock-endless" => Behaviour::Endless,
            "mock-trickle" => Behaviour::Trickle,
            "mock-echo" => Behaviour::Echo,
            _ if model.starts_with("mock-big-") => model
                .strip_prefix("mock-big-")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n <= BIG_MAX)
                .map_or(Behaviour::Normal, Behaviour::Big),
            _ => model
                .strip_prefix("mock-status-")
                .and_then(|code| code.parse::<u16>().ok())
                .and_then(|code| StatusCode::from_u16(code).ok())
                .map_or(Behaviour::Normal, Behaviour::Status),
        }
    }
}

/// `POST /v1/chat/completions`.
async fn chat_completions(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body);
    // Logged before anything else, also when refused; a body that is not JSON is logged as a
    // JSON string of its (lossily decoded) text.
    let logged = match &parsed {
        Ok(value) => value.clone(),
        Err(_) => Value::String(String::from_utf8_lossy(&body).into_owned()),
    };
    shared.record(&headers, logged);
    if !shared.authorized(&headers) {
        let message = "Incorrect API key provided: sk-****";
        return openai_error(StatusCode::UNAUTHORIZED, message, "invalid_request_error", Some("invalid_api_key"));
    }
    let Ok(request) = parsed else {
        let message = "We could not parse the JSON body of your request.";
        return openai_error(StatusCode::BAD_REQUEST, message, "invalid_request_error", None);
    };
    let model = request.get("model").and_then(Value::as_str).unwrap_or_default();
    let streaming = request.get("stream").and_then(Value::as_bool) == Some(true);
    let behaviour = Behaviour::of(model);
    match behaviour {
        Behaviour::Status(status) => return status_error(status),
        Behaviour::Hang => return hang(&shared).await,
        Behaviour::Stall if !streaming => return hang(&shared).await,
        Behaviour::Garbage if !streaming => {
            return (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "not json").into_response();
        }
        _ => {}
    }
    let head = ChunkHead { id: shared.next_id(), created: unix_now(), model: model.to_owned() };
    // What the answer says, whole and split for a stream.
    let (completion, pieces) = match behaviour {
        Behaviour::Echo => {
            let text = last_user_text(&request);
            let pieces: Arc<[String]> = split_pieces(&text, shared.stream_chunks).into();
            (Cow::Owned(text), pieces)
        }
        _ => (Cow::Borrowed(shared.completion.as_str()), Arc::clone(&shared.pieces)),
    };
    let usage = Usage::of(&request, &completion);
    if let Some(response) = fault(&shared, behaviour, streaming, &head, usage) {
        return response;
    }
    if streaming {
        let pace = match behaviour {
            Behaviour::Garbage => Pace::Garbage,
            Behaviour::Stall => Pace::Stall,
            Behaviour::Slow => Pace::Every(SLOW_DELAY),
            _ => Pace::Every(shared.chunk_delay),
        };
        let include_usage = request.pointer("/stream_options/include_usage").and_then(Value::as_bool) == Some(true);
        return stream::respond(Arc::clone(&shared), head, pieces, pace, include_usage.then_some(usage));
    }
    let answer = Completion {
        id: &head.id,
        object: "chat.completion",
        created: head.created,
        model: &head.model,
        choices: [CompletionChoice {
            index: 0,
            message: Message { role: "assistant", content: &completion },
            finish_reason: "stop",
        }],
        usage,
    };
    Json(answer).into_response()
}

/// The text of the last message whose role is `user`: its string content, or its text parts
/// joined without separator; empty if there is none (`mock-echo`).
fn last_user_text(request: &Value) -> String {
    let messages = request.get("messages").and_then(Value::as_array);
    let last = messages.into_iter().flatten().rev().find(|m| m.get("role").and_then(Value::as_str) == Some("user"));
    match last.and_then(|m| m.get("content")) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|part| part.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// The answers of the fault modes (`mock-reset`, `mock-noise`, `mock-endless`,
/// `mock-trickle`, `mock-big-N`); `None` for the others.
fn fault(
    shared: &Arc<Shared>,
    behaviour: Behaviour,
    streaming: bool,
    head: &ChunkHead,
    usage: Usage,
) -> Option<Response> {
    let shared = Arc::clone(shared);
    let (sse, json) = ("text/event-stream", "application/json");
    let ok = |bytes: Bytes| Ok::<_, std::io::Error>(bytes);
    let response = match (behaviour, streaming) {
        (Behaviour::Reset, true) => {
            let first = shared.pieces.first().cloned().unwrap_or_default();
            let pieces = [ok(head.role_frame()), ok(head.content_frame(&first)), stream::cut()];
            stream::scripted(shared, sse, pieces.into_iter(), Duration::ZERO)
        }
        (Behaviour::Reset, false) => {
            // Half of a declared body, then the cut.
            let whole = completion_body(head, &shared.completion, usage);
            let half = whole.slice(..whole.len() / 2);
            let mut response = stream::scripted(shared, json, [ok(half), stream::cut()].into_iter(), Duration::ZERO);
            response.headers_mut().insert(header::CONTENT_LENGTH, header::HeaderValue::from(whole.len()));
            response
        }
        (Behaviour::Noise, _) => {
            let noise: Vec<u8> = (0..NOISE_PIECE)
                .map(|i| match (i * 7 % 251) as u8 {
                    b'\n' | b'\r' => b'x',
                    b => b,
                })
                .collect();
            let pieces = std::iter::repeat(Bytes::from(noise)).map(ok);
            stream::scripted(shared, if streaming { sse } else { json }, pieces, Duration::ZERO)
        }
        (Behaviour::Endless, true) => {
            let pieces =
                std::iter::once(head.role_frame()).chain(std::iter::repeat(head.content_frame("more "))).map(ok);
            stream::scripted(shared, sse, pieces, ENDLESS_DELAY)
        }
        (Behaviour::Endless, false) => {
            let open = format!(
                r#"{{"id":"{}","object":"chat.completion","choices":[{{"index":0,"message":{{"role":"assistant","content":""#,
                head.id
            );
            let pieces =
                std::iter::once(Bytes::from(open)).chain(std::iter::repeat(Bytes::from(vec![b'a'; NOISE_PIECE])));
            stream::scripted(shared, json, pieces.map(ok), Duration::ZERO)
        }
        (Behaviour::Trickle, true) => {
            let frames: Vec<Bytes> = shared.pieces.iter().map(|p| head.content_frame(p)).collect();
            let bytes = std::iter::once(head.role_frame())
                .chain(frames.into_iter().cycle())
                .flat_map(|frame| (0..frame.len()).map(move |i| frame.slice(i..=i)));
            stream::scripted(shared, sse, bytes.map(ok), TRICKLE_DELAY)
        }
        (Behaviour::Trickle, false) => {
            let whole = completion_body(head, &shared.completion, usage);
            let bytes = (0..whole.len()).map(move |i| whole.slice(i..=i));
            stream::scripted(shared, json, bytes.map(ok), TRICKLE_DELAY)
        }
        (Behaviour::Big(n), true) => {
            let content = "a".repeat(n);
            let pieces =
                [head.role_frame(), head.content_frame(&content), head.finish_frame(), Bytes::from_static(DONE_FRAME)];
            stream::scripted(shared, sse, pieces.into_iter().map(ok), Duration::ZERO)
        }
        (Behaviour::Big(n), false) => {
            let body = completion_body(head, &"a".repeat(n), usage);
            (StatusCode::OK, [(header::CONTENT_TYPE, json)], body).into_response()
        }
        _ => return None,
    };
    Some(response)
}

/// A whole `chat.completion` body answering `text`.
fn completion_body(head: &ChunkHead, text: &str, usage: Usage) -> Bytes {
    let completion = Completion {
        id: &head.id,
        object: "chat.completion",
        created: head.created,
        model: &head.model,
        choices: [CompletionChoice {
            index: 0,
            message: Message { role: "assistant", content: text },
            finish_reason: "stop",
        }],
        usage,
    };
    // Serializing plain strings and numbers into a Vec cannot fail.
    Bytes::from(serde_json::to_vec(&completion).unwrap_or_default())
}

/// `mock-hang`: waits an hour (or until the mock is dropped, then 503).
async fn hang(shared: &Shared) -> Response {
    tokio::select! {
        () = tokio::time::sleep(HANG) => {}
        () = shared.stopped() => {}
    }
    openai_error(StatusCode::SERVICE_UNAVAILABLE, "mock upstream stopped", "server_error", None)
}

/// `mock-status-NNN`: `mock error NNN`, typed `server_error` for 5xx, else
/// `invalid_request_error`; a 429 also says `retry-after: 7`.
fn status_error(status: StatusCode) -> Response {
    let kind = if status.is_server_error() { "server_error" } else { "invalid_request_error" };
    let mut response = openai_error(status, &format!("mock error {}", status.as_u16()), kind, None);
    if status == StatusCode::TOO_MANY_REQUESTS {
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("7"));
    }
    response
}

/// OpenAI's error shape: `{"error":{"message","type","param":null,"code"}}`.
fn openai_error(status: StatusCode, message: &str, kind: &str, code: Option<&str>) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    (status, Json(body)).into_response()
}

/// `GET /v1/models`: the one `mock-model`.
async fn models() -> Json<Value> {
    Json(json!({"object": "list", "data": [{"id": "mock-model", "object": "model", "created": 0, "owned_by": "mock"}]}))
}

/// Any other route or method: 404 in OpenAI's error shape.
async fn not_found(method: Method, uri: Uri) -> Response {
    let message = format!("Unknown request URL: {method} {}", uri.path());
    openai_error(StatusCode::NOT_FOUND, &message, "invalid_request_error", Some("unknown_url"))
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_select_behaviours() {
        assert_eq!(Behaviour::of("gpt-4o"), Behaviour::Normal);
        assert_eq!(Behaviour::of("mock-status-429"), Behaviour::Status(StatusCode::TOO_MANY_REQUESTS));
        assert_eq!(Behaviour::of("mock-status-99"), Behaviour::Normal);
        assert_eq!(Behaviour::of("mock-status-abc"), Behaviour::Normal);
        assert_eq!(Behaviour::of("mock-hang"), Behaviour::Hang);
        assert_eq!(Behaviour::of("mock-stall"), Behaviour::Stall);
        assert_eq!(Behaviour::of("mock-slow"), Behaviour::Slow);
        assert_eq!(Behaviour::of("mock-garbage"), Behaviour::Garbage);
        assert_eq!(Behaviour::of("mock-reset"), Behaviour::Reset);
        assert_eq!(Behaviour::of("mock-noise"), Behaviour::Noise);
        assert_eq!(Behaviour::of("mock-endless"), Behaviour::Endless);
        assert_eq!(Behaviour::of("mock-trickle"), Behaviour::Trickle);
        assert_eq!(Behaviour::of("mock-big-1024"), Behaviour::Big(1024));
        assert_eq!(Behaviour::of("mock-big-x"), Behaviour::Normal);
        assert_eq!(Behaviour::of("mock-big-999999999999"), Behaviour::Normal);
        assert_eq!(Behaviour::of("mock-echo"), Behaviour::Echo);
        assert_eq!(Behaviour::of("mock-echo-2"), Behaviour::Normal);
    }

    #[test]
    fn echo_takes_the_last_user_message() {
        let request = serde_json::json!({"messages": [
            {"role": "user", "content": "first"},
            {"role": "user", "content": [{"type": "text", "text": "a "}, {"type": "image_url"}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": "not this"}
        ]});
        assert_eq!(last_user_text(&request), "a b");
        assert_eq!(last_user_text(&serde_json::json!({"messages": [{"role": "system", "content": "s"}]})), "");
        assert_eq!(last_user_text(&serde_json::json!({})), "");
    }
}
