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
    /// The OpenAI chat-completions body for `model`. Streams ask for a final usage chunk.
    pub fn upstream_body(&self, model: &str, stream: bool) -> Value {
        let mut body = Map::new();
        for (k, v) in &self.passthrough {
            body.insert(k.clone(), v.clone());
        }
        body.insert("model".into(), Value::String(model.into()));
        body.insert("messages".into(), serde_json::to_value(&self.messages).unwrap_or(Value::Null));
        if let Some(t) = self.temperature {
            body.insert("temperature".into(), t.into());
        }
        if let Some(m) = self.max_tokens {
            body.insert("max_tokens".into(), m.into());
        }
        if let Some(m) = self.max_completion_tokens {
            body.insert("max_completion_tokens".into(), m.into());
        }
        // A caller's own response_format (the /v1 route passes json_schema through) wins.
        if self.json_mode && !body.contains_key("response_format") {
            body.insert("response_format".into(), serde_json::json!({"type": "json_object"}));
        }
        body.insert("stream".into(), stream.into());
        if stream {
            body.insert("stream_options".into(), serde_json::json!({"include_usage": true}));
        }
        Value::Object(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let body = req.upstream_body("gpt-4o", true);
        assert_eq!(body["model"], "gpt-4o");
        assert_eq!(body["messages"][0]["role"], "user");
        assert_eq!(body["messages"][0]["content"], "hi");
        assert_eq!(body["top_p"], 0.5);
        assert_eq!(body["max_tokens"], 10);
        assert_eq!(body["response_format"]["type"], "json_object");
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert!(req.upstream_body("m", false).get("stream_options").is_none());
        assert!(body.get("max_completion_tokens").is_none());
        // A caller's response_format is kept; the other cap name is sent as given.
        let mut passthrough = Map::new();
        passthrough.insert("response_format".into(), json!({"type": "json_schema", "json_schema": {"name": "x"}}));
        let req =
            ChatRequest { json_mode: true, max_completion_tokens: Some(7), passthrough, ..ChatRequest::default() };
        let body = req.upstream_body("m", false);
        assert_eq!(body["response_format"]["type"], "json_schema");
        assert_eq!((body["max_completion_tokens"].as_u64(), body.get("max_tokens")), (Some(7), None));
        assert_eq!(req.token_cap(), Some(7));
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
