//! A chat request as the gateway hands it to a provider, after the route has validated it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One message. `content` is a string, or (OpenAI's form) an array of `{"type":"text","text":…}`
/// parts; the routes accept nothing else.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub role: Role,
    pub content: Value,
}

impl Message {
    pub fn text(role: Role, text: impl Into<String>) -> Message {
        Message { role, content: Value::String(text.into()) }
    }

    /// The message's text: the string, or its text parts joined.
    pub fn plain_text(&self) -> String {
        match &self.content {
            Value::String(s) => s.clone(),
            Value::Array(parts) => {
                parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("")
            }
            _ => String::new(),
        }
    }
}

/// What a provider is asked. The model is chosen by the catalogue, never by this struct.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    /// OpenAI's newer name for the cap, sent under that name when a caller used it (some
    /// models refuse `max_tokens`; none accepts both).
    pub max_completion_tokens: Option<u32>,
    /// Ask for one JSON object (`response_format: {"type": "json_object"}`).
    pub json_mode: bool,
    /// Further OpenAI parameters, passed through unchanged (the `/v1` route's `top_p`, `stop`,
    /// `seed`, … after it has checked their names). Never `model`, `messages`, `stream`.
    pub passthrough: Map<String, Value>,
}

impl ChatRequest {
    /// The cap on the answer's tokens, whichever name the caller gave it.
    pub fn token_cap(&self) -> Option<u32> {
        self.max_tokens.or(self.max_completion_tokens)
    }
}

impl ChatRequest {
    /// The OpenAI chat-completions body for `model`, as JSON bytes, written straight from the
    /// request (no `Value` tree in between). Streams ask for a final usage chunk. What the
    /// gateway sets (`model`, `messages`, `stream`, the caps and temperature it was given)
    /// wins over a passthrough parameter of the same name; a caller's own `response_format`
    /// wins over JSON mode's.
    pub fn upstream_body(&self, model: &str, stream: bool) -> Vec<u8> {
        let text: usize = self
            .messages
            .iter()
            .map(|m| match &m.content {
                Value::String(s) => s.len() + 32,
                _ => 256,
            })
            .sum();
        let mut out = Vec::with_capacity(text + 16 * self.passthrough.len() + model.len() + 128);
        // Writing plain data into a Vec cannot fail; a `null` body would be refused upstream.
        if serde_json::to_writer(&mut out, &UpstreamBody { req: self, model, stream }).is_err() {
            out.clear();
            out.extend_from_slice(b"null");
        }
        out
    }
}

struct UpstreamBody<'a> {
    req: &'a ChatRequest,
    model: &'a str,
    stream: bool,
}

impl Serialize for UpstreamBody<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let r = self.req;
        let set_by_gateway = |k: &str| match k {
            "model" | "messages" | "stream" => true,
            "temperature" => r.temperature.is_some(),
            "max_tokens" => r.max_tokens.is_some(),
            "max_completion_tokens" => r.max_completion_tokens.is_some(),
            "stream_options" => self.stream,
            _ => false,
        };
        let mut map = s.serialize_map(None)?;
        for (k, v) in &r.passthrough {
            if !set_by_gateway(k) {
                map.serialize_entry(k, v)?;
            }
        }
        map.serialize_entry("model", self.model)?;
        map.serialize_entry("messages", &r.messages)?;
        if let Some(t) = r.temperature {
            map.serialize_entry("temperature", &t)?;
        }
        if let Some(m) = r.max_tokens {
            map.serialize_entry("max_tokens", &m)?;
        }
        if let Some(m) = r.max_completion_tokens {
            map.serialize_entry("max_completion_tokens", &m)?;
        }
        if r.json_mode && !r.passthrough.contains_key("response_format") {
            map.serialize_entry("response_format", &JsonObject { kind: "json_object" })?;
        }
        map.serialize_entry("stream", &self.stream)?;
        if self.stream {
            map.serialize_entry("stream_options", &IncludeUsage { include_usage: true })?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct JsonObject {
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct IncludeUsage {
    include_usage: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn body_of(req: &ChatRequest, model: &str, stream: bool) -> Value {
        serde_json::from_slice(&req.upstream_body(model, stream)).unwrap()
    }

    #[test]
    fn upstream_body_sets_what_the_gateway_decides() {
        let mut passthrough = Map::new();
        passthrough.insert("top_p".into(), 0.5.into());
        // A passthrough can never override the model or the stream flag.
        passthrough.insert("model".into(), "evil".into());
        let req = ChatRequest {
            messages: vec![Message::text(Role::User, "hi")],
            temperature: Some(0.2),
            max_tokens: Some(10),
            json_mode: true,
            passthrough,
            ..ChatRequest::default()
        };
        let body = body_of(&req, "gpt-4o", true);
        assert_eq!(body["model"], "gpt-4o");
        assert_eq!(body["messages"][0]["role"], "user");
        assert_eq!(body["messages"][0]["content"], "hi");
        assert_eq!(body["top_p"], 0.5);
        assert_eq!(body["max_tokens"], 10);
        assert_eq!(body["response_format"]["type"], "json_object");
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert!(body_of(&req, "m", false).get("stream_options").is_none());
        assert!(body.get("max_completion_tokens").is_none());
        // A caller's response_format is kept; the other cap name is sent as given.
        let mut passthrough = Map::new();
        passthrough.insert("response_format".into(), json!({"type": "json_schema", "json_schema": {"name": "x"}}));
        let req =
            ChatRequest { json_mode: true, max_completion_tokens: Some(7), passthrough, ..ChatRequest::default() };
        let body = body_of(&req, "m", false);
        assert_eq!(body["response_format"]["type"], "json_schema");
        assert_eq!((body["max_completion_tokens"].as_u64(), body.get("max_tokens")), (Some(7), None));
        assert_eq!(req.token_cap(), Some(7));
    }

    #[test]
    fn a_passthrough_of_a_name_the_gateway_sets_is_left_out_not_repeated() {
        let mut passthrough = Map::new();
        for k in ["model", "messages", "stream", "stream_options", "temperature", "seed"] {
            passthrough.insert(k.into(), json!("caller"));
        }
        let req =
            ChatRequest { messages: vec![Message::text(Role::User, "hi")], passthrough, ..ChatRequest::default() };
        let bytes = req.upstream_body("m", true);
        let text = std::str::from_utf8(&bytes).unwrap();
        for k in ["model", "messages", "stream", "stream_options"] {
            assert_eq!(text.matches(&format!("\"{k}\":")).count(), 1, "{k}: {text}");
        }
        let body = body_of(&req, "m", true);
        assert_eq!((body["model"].as_str(), body["stream"].as_bool()), (Some("m"), Some(true)));
        assert_eq!(body["stream_options"], json!({"include_usage": true}));
        // Not set by the gateway here: the caller's values pass.
        assert_eq!((body["temperature"].as_str(), body["seed"].as_str()), (Some("caller"), Some("caller")));
        let body = body_of(&req, "m", false);
        assert_eq!((body["stream"].as_bool(), body["stream_options"].as_str()), (Some(false), Some("caller")));
    }

    #[test]
    fn text_parts_are_joined() {
        let m = Message {
            role: Role::User,
            content: serde_json::json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]),
        };
        assert_eq!(m.plain_text(), "ab");
    }
}
