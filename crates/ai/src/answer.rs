//! What a provider answers: a whole completion, or a stream of chunks. Both carry the OpenAI
//! wire form too, so the OpenAI-compatible route can pass an upstream's answer on unchanged.

use bytes::Bytes;
use serde_json::{json, Value};

use crate::tokens::TokenUsage;

/// A whole (non-streamed) answer.
#[derive(Debug, Clone)]
pub struct Completion {
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    /// The model that answered, as the upstream names it.
    pub model: String,
    pub text: String,
    pub finish_reason: String,
    pub usage: TokenUsage,
    /// The upstream's JSON body, byte for byte as received (`None` from the simulator).
    pub raw: Option<Bytes>,
}

impl Completion {
    /// OpenAI's `chat.completion` object as JSON bytes: the upstream's own, unchanged, or one
    /// made for the simulator.
    pub fn into_openai(self) -> Bytes {
        if let Some(raw) = self.raw {
            return raw;
        }
        let made = json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": self.text},
                "finish_reason": self.finish_reason,
            }],
            "usage": {
                "prompt_tokens": self.usage.prompt,
                "completion_tokens": self.usage.completion,
                "total_tokens": self.usage.total(),
            },
        });
        Bytes::from(made.to_string())
    }
}

/// One event of a stream.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The `chat.completion.chunk` JSON, as it goes on the wire after `data: `.
    pub data: Bytes,
    /// The text this chunk adds (may be empty).
    pub text: String,
    /// Set on the chunk that ends the answer.
    pub finish_reason: Option<String>,
    /// A chunk that only reports usage (`choices: []`), sent because the gateway asks for it;
    /// the OpenAI route forwards it only to callers who asked too.
    pub usage_only: bool,
}

/// A `chat.completion.chunk`, as the simulator makes them.
pub(crate) fn chunk_json(
    id: &str,
    created: i64,
    model: &str,
    delta: Value,
    finish: Option<&str>,
    usage: Option<TokenUsage>,
) -> Bytes {
    let choices =
        if usage.is_some() { json!([]) } else { json!([{"index": 0, "delta": delta, "finish_reason": finish}]) };
    let mut v =
        json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model, "choices": choices});
    if let Some(u) = usage {
        v["usage"] = json!({"prompt_tokens": u.prompt, "completion_tokens": u.completion, "total_tokens": u.total()});
    }
    Bytes::from(v.to_string())
}
