//! The checks both AI dialects make on a chat body, field by field: each bad field gets a 400
//! naming it (in the field's spelling of the route's dialect, passed in where they differ).

use regpilot_ai::{Message, Role};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;

/// A message as callers send it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessageIn {
    pub role: Role,
    pub content: Value,
}

/// Checks the messages: at least one; content a string or an array of text parts.
pub(crate) fn messages(list: Vec<MessageIn>) -> Result<Vec<Message>, ApiError> {
    if list.is_empty() {
        return Err(ApiError::bad_request("messages", "messages must hold at least one message"));
    }
    list.into_iter()
        .enumerate()
        .map(|(i, m)| {
            let ok = match &m.content {
                Value::String(_) => true,
                Value::Array(parts) => parts.iter().all(|p| {
                    p.get("type").and_then(Value::as_str) == Some("text")
                        && p.get("text").is_some_and(Value::is_string)
                        && p.as_object().is_some_and(|o| o.len() == 2)
                }),
                _ => false,
            };
            if !ok {
                return Err(ApiError::bad_request(
                    format!("messages[{i}].content"),
                    format!("messages[{i}].content must be a string (or an array of {{\"type\":\"text\",\"text\":…}} parts)"),
                ));
            }
            Ok(Message { role: m.role, content: m.content })
        })
        .collect()
}

pub(crate) fn temperature(t: Option<f64>, field: &str) -> Result<Option<f64>, ApiError> {
    match t {
        Some(t) if !(0.0..=2.0).contains(&t) => {
            Err(ApiError::bad_request(field, format!("{field} must be between 0 and 2")))
        }
        t => Ok(t),
    }
}

pub(crate) fn max_tokens(n: Option<u32>, field: &str) -> Result<Option<u32>, ApiError> {
    match n {
        Some(0) => Err(ApiError::bad_request(field, format!("{field} must be at least 1"))),
        n => Ok(n),
    }
}

pub(crate) fn model_name(model: Option<String>) -> Result<Option<String>, ApiError> {
    match model {
        Some(m) if m.trim().is_empty() => Err(ApiError::bad_request("model", "model must not be empty")),
        m => Ok(m),
    }
}

/// The Governor's metadata of a request, and where in the body it was (`governorMetadata`,
/// or `metadata.governor` on `/v1`): errors name its fields under that path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GovernorMetadata<'a> {
    pub value: &'a Value,
    pub path: &'static str,
}

/// The metadata at `path`, when given, must be an object (its fields are checked by the
/// Governor).
pub(crate) fn governor<'a>(
    metadata: Option<&'a Value>,
    path: &'static str,
) -> Result<Option<GovernorMetadata<'a>>, ApiError> {
    match metadata {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Object(_)) => Ok(Some(GovernorMetadata { value, path })),
        Some(_) => Err(ApiError::bad_request(path, format!("{path} must be an object"))),
    }
}

/// A number within `lo..=hi`, when given.
pub(crate) fn in_range(v: Option<f64>, field: &str, lo: f64, hi: f64) -> Result<(), ApiError> {
    match v {
        Some(x) if !(lo..=hi).contains(&x) => {
            Err(ApiError::bad_request(field, format!("{field} must be between {lo} and {hi}")))
        }
        _ => Ok(()),
    }
}

/// OpenAI's `response_format`: whether it asks for JSON.
pub(crate) fn json_mode(format: Option<&Value>) -> Result<bool, ApiError> {
    match format.map(|f| f.get("type").and_then(Value::as_str)) {
        None | Some(Some("text")) => Ok(false),
        Some(Some("json_object" | "json_schema")) => Ok(true),
        Some(_) => Err(ApiError::bad_request(
            "response_format",
            "response_format.type must be one of: text, json_object, json_schema",
        )),
    }
}
