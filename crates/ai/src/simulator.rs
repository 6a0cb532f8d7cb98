//! The simulator that answers development keys (test mode: README.md, "Keys"; docs/ai-gateway.md):
//! no network, no cost. Its text is derived from the request alone (the same request always gets
//! the same answer), its token counts are estimated as for a real model, and `max_tokens` and JSON
//! mode are honoured.
//!
//! Demo lines (docs/ai-gateway.md, "The simulator"; docs/governor.md, "Trying it"): when the
//! last user message has lines starting with `governor-demo:`, the answer is the text after the
//! prefix of each such line, verbatim (trimmed, joined by newlines; a literal `\n` in it is a
//! newline), instead of the generated words. Tests and demos get exactly the text that triggers
//! a Governor rule, the same every time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::answer::{chunk_json, Chunk, Completion};
use crate::request::{ChatRequest, Role};
use crate::tokens::{estimate_prompt, estimate_text, TokenUsage};

const WORDS: [&str; 48] = [
    "the", "gateway", "model", "request", "answer", "key", "project", "usage", "limit", "stream", "token", "policy",
    "record", "review", "check", "system", "data", "result", "service", "team", "plan", "report", "signal", "audit",
    "clear", "simple", "steady", "quick", "careful", "useful", "local", "secure", "first", "next", "every", "each",
    "shows", "keeps", "sends", "reads", "builds", "tests", "notes", "meets", "holds", "moves", "finds", "makes",
];

/// FNV-1a, 64 bits: stable across builds and platforms (unlike `std`'s hasher).
fn fnv1a(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= u64::from(*b);
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

fn seed(model: &str, req: &ChatRequest) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325;
    fnv1a(&mut h, model.as_bytes());
    for m in &req.messages {
        fnv1a(&mut h, &[m.role as u8, 0xff]);
        fnv1a(&mut h, m.plain_text().as_bytes());
        fnv1a(&mut h, &[0xfe]);
    }
    fnv1a(&mut h, &[u8::from(req.json_mode)]);
    h
}

/// xorshift64*: a small deterministic sequence from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn now_s() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The prefix of a demo line.
pub const DEMO_PREFIX: &str = "governor-demo:";

/// The demo text of a user message: its `governor-demo:` lines, if any.
fn demo_text(message: &str) -> Option<String> {
    let lines: Vec<String> = message
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix(DEMO_PREFIX))
        .map(|rest| rest.trim().replace("\\n", "\n"))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The simulated text and why it ended (`stop`, or `length` when cut at `max_tokens`).
fn text_for(model: &str, req: &ChatRequest) -> (String, String, u64) {
    let seed = seed(model, req);
    let mut rng = Rng(seed | 1);
    let last_user = req.messages.iter().rev().find(|m| m.role == Role::User).map(|m| m.plain_text());
    let demo = last_user.as_deref().and_then(demo_text);
    let topic: String = last_user.unwrap_or_default().split_whitespace().take(8).collect::<Vec<_>>().join(" ");
    let mut body = String::new();
    for _ in 0..2 + rng.next(3) {
        let len = 6 + rng.next(7);
        for i in 0..len {
            let w = WORDS[rng.next(WORDS.len() as u64) as usize];
            if i == 0 {
                let mut c = w.chars();
                body.extend(c.next().map(|f| f.to_ascii_uppercase()));
                body.push_str(c.as_str());
            } else {
                body.push(' ');
                body.push_str(w);
            }
        }
        body.push_str(". ");
    }
    let body = body.trim_end();
    let text = if let Some(demo) = demo {
        if req.json_mode {
            serde_json::json!({"simulated": true, "reply": demo}).to_string()
        } else {
            demo
        }
    } else if req.json_mode {
        serde_json::json!({"simulated": true, "topic": topic, "reply": body}).to_string()
    } else if topic.is_empty() {
        format!("Simulated reply. {body}")
    } else {
        format!("Simulated reply to \"{topic}\". {body}")
    };
    match req.token_cap() {
        Some(max) if estimate_text(&text) > max => {
            let cut: String = text.chars().take(max as usize * 4).collect();
            (cut, "length".into(), seed)
        }
        _ => (text, "stop".into(), seed),
    }
}

pub fn complete(model: &str, req: &ChatRequest) -> Completion {
    let (text, finish_reason, seed) = text_for(model, req);
    let usage = TokenUsage { prompt: estimate_prompt(&req.messages), completion: estimate_text(&text) };
    Completion {
        id: format!("chatcmpl-sim-{seed:016x}"),
        created: now_s(),
        model: model.to_owned(),
        text,
        finish_reason,
        usage,
        raw: None,
    }
}

/// A simulated stream: the same text as [`complete`], a word a chunk, then the finish chunk and
/// the usage chunk.
pub struct SimStream {
    id: String,
    created: i64,
    model: String,
    pieces: std::vec::IntoIter<String>,
    finish_reason: String,
    usage: TokenUsage,
    phase: Phase,
    pub(crate) delay: Duration,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Pieces,
    Usage,
    Done,
}

impl SimStream {
    pub fn new(model: &str, req: &ChatRequest, delay: Duration) -> SimStream {
        let c = complete(model, req);
        let mut pieces = Vec::new();
        let mut current = String::new();
        for ch in c.text.chars() {
            current.push(ch);
            if ch == ' ' {
                pieces.push(std::mem::take(&mut current));
            }
        }
        if !current.is_empty() {
            pieces.push(current);
        }
        SimStream {
            id: c.id,
            created: c.created,
            model: c.model,
            pieces: pieces.into_iter(),
            finish_reason: c.finish_reason,
            usage: c.usage,
            phase: Phase::Start,
            delay,
        }
    }

    pub fn usage(&self) -> TokenUsage {
        self.usage
    }

    /// True once every content chunk has been handed out.
    pub(crate) fn text_done(&self) -> bool {
        matches!(self.phase, Phase::Usage | Phase::Done)
    }

    /// True before the first content chunk (no pause is due before the role chunk).
    pub(crate) fn at_start(&self) -> bool {
        self.phase == Phase::Start
    }

    pub(crate) fn next_chunk(&mut self) -> Option<Chunk> {
        let chunk =
            |delta, finish: Option<&str>, usage| chunk_json(&self.id, self.created, &self.model, delta, finish, usage);
        match self.phase {
            Phase::Start => {
                self.phase = Phase::Pieces;
                let data = chunk(serde_json::json!({"role": "assistant", "content": ""}), None, None);
                Some(Chunk { data, text: String::new(), finish_reason: None, usage_only: false })
            }
            Phase::Pieces => match self.pieces.next() {
                Some(piece) => {
                    let data = chunk(serde_json::json!({"content": piece}), None, None);
                    Some(Chunk { data, text: piece, finish_reason: None, usage_only: false })
                }
                None => {
                    self.phase = Phase::Usage;
                    let data = chunk(serde_json::json!({}), Some(&self.finish_reason), None);
                    Some(Chunk {
                        data,
                        text: String::new(),
                        finish_reason: Some(self.finish_reason.clone()),
                        usage_only: false,
                    })
                }
            },
            Phase::Usage => {
                self.phase = Phase::Done;
                let data = chunk(serde_json::Value::Null, None, Some(self.usage));
                Some(Chunk { data, text: String::new(), finish_reason: None, usage_only: true })
            }
            Phase::Done => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Message;

    fn req(text: &str) -> ChatRequest {
        ChatRequest { messages: vec![Message::text(Role::User, text)], ..ChatRequest::default() }
    }

    #[test]
    fn deterministic_and_derived_from_the_request() {
        let a = complete("m", &req("Hello there"));
        assert_eq!(a.text, complete("m", &req("Hello there")).text);
        assert_ne!(a.text, complete("m", &req("Hello again")).text);
        assert!(a.text.starts_with("Simulated reply to \"Hello there\"."), "{}", a.text);
        assert_eq!(a.usage.completion, estimate_text(&a.text));
        assert_eq!(a.usage.prompt, estimate_prompt(&req("Hello there").messages));
        assert_eq!(a.finish_reason, "stop");
    }

    #[test]
    fn demo_lines_are_answered_verbatim() {
        let text = "Please answer.\ngovernor-demo: Your card 4111 1111 1111 1111 was charged.\n  governor-demo:  Mail a@example.com  ";
        let c = complete("m", &req(text));
        assert_eq!(c.text, "Your card 4111 1111 1111 1111 was charged.\nMail a@example.com");
        assert_eq!(c.text, complete("m", &req(text)).text);
        assert_eq!(c.finish_reason, "stop");
        let pem = complete("m", &req("governor-demo: -----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----"));
        assert_eq!(pem.text, "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----");
        let mut r = req("governor-demo: \"quoted\" text");
        r.json_mode = true;
        let v: serde_json::Value = serde_json::from_str(&complete("m", &r).text).unwrap();
        assert_eq!(v["reply"], "\"quoted\" text");
        // Only the last user message counts, and a line must start with the prefix.
        assert!(complete("m", &req("say governor-demo: x")).text.starts_with("Simulated reply"));
        let mut two = req("governor-demo: first");
        two.messages.push(Message::text(Role::Assistant, "ok"));
        two.messages.push(Message::text(Role::User, "hello"));
        assert!(complete("m", &two).text.starts_with("Simulated reply"));
        // Streamed, the same text.
        let mut s = SimStream::new("m", &req(text), Duration::ZERO);
        let mut streamed = String::new();
        while let Some(ch) = s.next_chunk() {
            streamed.push_str(&ch.text);
        }
        assert_eq!(streamed, c.text);
    }

    #[test]
    fn max_tokens_and_json_mode() {
        let mut r = req("Hello");
        r.max_tokens = Some(3);
        let c = complete("m", &r);
        assert_eq!(c.finish_reason, "length");
        assert!(c.usage.completion <= 3);
        let mut r = req("Hello");
        r.json_mode = true;
        let v: serde_json::Value = serde_json::from_str(&complete("m", &r).text).unwrap();
        assert_eq!(v["simulated"], true);
    }

    #[test]
    fn the_stream_spells_the_same_text_then_finish_then_usage() {
        let r = req("Stream me");
        let whole = complete("m", &r);
        let mut s = SimStream::new("m", &r, Duration::ZERO);
        let mut text = String::new();
        let mut kinds = Vec::new();
        while let Some(c) = s.next_chunk() {
            text.push_str(&c.text);
            kinds.push((c.finish_reason.clone(), c.usage_only));
            let v: serde_json::Value = serde_json::from_slice(&c.data).unwrap();
            assert_eq!(v["object"], "chat.completion.chunk");
        }
        assert_eq!(text, whole.text);
        let n = kinds.len();
        assert_eq!(kinds[n - 2], (Some("stop".into()), false));
        assert_eq!(kinds[n - 1], (None, true));
        assert_eq!(s.usage(), whole.usage);
    }
}
