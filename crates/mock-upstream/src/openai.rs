//! OpenAI's wire shapes as the mock writes them, the mock's deterministic token counts, and the
//! splitting of the completion text into stream pieces.
//!
//! The shapes are `serde` structs rather than `json!` values so that fields come out in OpenAI's
//! order (`id`, `object`, `created`, `model`, `choices`, `usage`) and so that writing one costs
//! no allocation beyond the output buffer — the mock must stay cheap in benchmarks.

use axum::body::Bytes;
use serde::Serialize;
use serde_json::Value;

/// The `usage` object. The counts are the mock's own, not a real tokenizer's:
///
/// * `prompt_tokens` = 3 + Σ over `messages` of (⌈chars(content) / 4⌉ + 4), where `content` is
///   a string, or an array of parts whose `{"type":"text","text":…}` parts count (others count
///   0); a missing or other content counts 0 chars. Chars are Unicode scalar values.
/// * `completion_tokens` = ⌈chars(completion) / 4⌉.
/// * `total_tokens` = the sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Usage {
    pub(crate) prompt_tokens: u64,
    pub(crate) completion_tokens: u64,
    pub(crate) total_tokens: u64,
}

impl Usage {
    /// The usage of answering `request` with `completion` (see the type's doc for the formula).
    pub(crate) fn of(request: &Value, completion: &str) -> Usage {
        let messages = request.get("messages").and_then(Value::as_array);
        let per_message: u64 =
            messages.into_iter().flatten().map(|m| quarter(content_chars(m.get("content"))) + 4).sum();
        let prompt_tokens = per_message + 3;
        let completion_tokens = quarter(completion.chars().count());
        Usage { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens }
    }
}

/// ⌈n / 4⌉.
fn quarter(n: usize) -> u64 {
    n.div_ceil(4) as u64
}

/// The chars of a message's `content`: a string, or the text parts of an array.
fn content_chars(content: Option<&Value>) -> usize {
    match content {
        Some(Value::String(text)) => text.chars().count(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|part| part.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .map(|text| text.chars().count())
            .sum(),
        _ => 0,
    }
}

/// A non-stream answer: `{"id","object":"chat.completion","created","model","choices":[…],"usage"}`.
#[derive(Serialize)]
pub(crate) struct Completion<'a> {
    pub(crate) id: &'a str,
    pub(crate) object: &'static str,
    pub(crate) created: u64,
    pub(crate) model: &'a str,
    pub(crate) choices: [CompletionChoice<'a>; 1],
    pub(crate) usage: Usage,
}

/// The one choice of a [`Completion`].
#[derive(Serialize)]
pub(crate) struct CompletionChoice<'a> {
    pub(crate) index: u32,
    pub(crate) message: Message<'a>,
    pub(crate) finish_reason: &'static str,
}

/// The assistant's message of a [`Completion`].
#[derive(Serialize)]
pub(crate) struct Message<'a> {
    pub(crate) role: &'static str,
    pub(crate) content: &'a str,
}

/// One `chat.completion.chunk` of a stream.
#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: &'a [ChunkChoice<'a>],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Usage>,
}

/// The choice of a [`Chunk`] (none in the usage chunk).
#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    finish_reason: Option<&'static str>,
}

/// A chunk's `delta`: `{"role":"assistant","content":""}`, `{"content":…}` or `{}`.
#[derive(Serialize)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
}

/// What every chunk of one stream shares, and the SSE frames (`data: <json>\n\n`) built from it.
pub(crate) struct ChunkHead {
    pub(crate) id: String,
    pub(crate) created: u64,
    pub(crate) model: String,
}

impl ChunkHead {
    /// The first chunk: `"delta":{"role":"assistant","content":""}`.
    pub(crate) fn role_frame(&self) -> Bytes {
        self.frame(Some(Delta { role: Some("assistant"), content: Some("") }), None, None)
    }

    /// A content chunk: `"delta":{"content":<piece>}`.
    pub(crate) fn content_frame(&self, piece: &str) -> Bytes {
        self.frame(Some(Delta { role: None, content: Some(piece) }), None, None)
    }

    /// The last choice chunk: `"delta":{}` and `"finish_reason":"stop"`.
    pub(crate) fn finish_frame(&self) -> Bytes {
        self.frame(Some(Delta { role: None, content: None }), Some("stop"), None)
    }

    /// The usage chunk of `stream_options.include_usage`: `"choices":[]` and `"usage":{…}`.
    pub(crate) fn usage_frame(&self, usage: Usage) -> Bytes {
        self.frame(None, None, Some(usage))
    }

    fn frame(&self, delta: Option<Delta<'_>>, finish_reason: Option<&'static str>, usage: Option<Usage>) -> Bytes {
        let choice = delta.map(|delta| ChunkChoice { index: 0, delta, finish_reason });
        let chunk = Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices: choice.as_slice(),
            usage,
        };
        sse_frame(&chunk)
    }
}

/// `data: <json>\n\n` for `value`.
fn sse_frame(value: &impl Serialize) -> Bytes {
    let mut out = b"data: ".to_vec();
    // Writing plain structs of strings and numbers into a Vec cannot fail; an empty object is
    // what would be sent if it ever did.
    if serde_json::to_writer(&mut out, value).is_err() {
        out.truncate(6);
        out.extend_from_slice(b"{}");
    }
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// The stream's last event.
pub(crate) const DONE_FRAME: &[u8] = b"data: [DONE]\n\n";

/// Splits `text` into at most `chunks` pieces on word boundaries, as evenly as possible: with W
/// words and K = min(chunks, W) pieces (K ≥ 1), the first W mod K pieces get ⌊W/K⌋ + 1 words and
/// the rest ⌊W/K⌋. Each piece keeps the whitespace after its words (and the first piece any
/// leading whitespace), so the pieces concatenate to exactly `text`. Text without words gives
/// one piece (or none if empty).
pub(crate) fn split_pieces(text: &str, chunks: usize) -> Vec<String> {
    let mut starts = Vec::new();
    let mut after_space = true;
    for (at, c) in text.char_indices() {
        let space = c.is_whitespace();
        if !space && after_space {
            starts.push(at);
        }
        after_space = space;
    }
    if starts.is_empty() {
        return if text.is_empty() { Vec::new() } else { vec![text.to_owned()] };
    }
    starts[0] = 0;
    let words = starts.len();
    let pieces = chunks.clamp(1, words);
    let (base, extra) = (words / pieces, words % pieces);
    let mut out = Vec::with_capacity(pieces);
    let mut word = 0;
    for piece in 0..pieces {
        let start = starts[word];
        word += base + usize::from(piece < extra);
        let end = starts.get(word).copied().unwrap_or(text.len());
        out.push(text[start..end].to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pieces_spread_evenly_and_concatenate() {
        let text = "The quick brown fox jumps over the lazy dog.";
        let pieces = split_pieces(text, 8);
        assert_eq!(pieces.len(), 8);
        assert_eq!(pieces[0], "The quick ");
        assert_eq!(pieces[7], "dog.");
        assert_eq!(pieces.concat(), text);
        assert_eq!(split_pieces("one two three four five", 3), ["one two ", "three four ", "five"]);
        assert_eq!(split_pieces("  a  b ", 5), ["  a  ", "b "]);
        assert_eq!(split_pieces("a b", 0), ["a b"]);
        assert_eq!(split_pieces("   ", 4), ["   "]);
        assert!(split_pieces("", 4).is_empty());
    }

    #[test]
    fn usage_formula() {
        let request = json!({"messages": [
            {"role": "user", "content": "Hello there"},
            {"role": "user", "content": [{"type": "text", "text": "abcd"}, {"type": "image_url", "image_url": {}}]},
            {"role": "assistant"}
        ]});
        // (3 + 4) + (1 + 4) + (0 + 4) + 3
        let usage = Usage::of(&request, "12345");
        assert_eq!(usage, Usage { prompt_tokens: 19, completion_tokens: 2, total_tokens: 21 });
        assert_eq!(Usage::of(&json!({}), "").prompt_tokens, 3);
    }

    #[test]
    fn frames_are_openai_chunks() {
        let head = ChunkHead { id: "chatcmpl-mock-1".into(), created: 5, model: "m".into() };
        assert_eq!(
            head.role_frame(),
            "data: {\"id\":\"chatcmpl-mock-1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\",\
             \"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
        );
        let usage = head.usage_frame(Usage { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
        assert!(usage.ends_with(
            b"\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n"
        ));
    }
}
