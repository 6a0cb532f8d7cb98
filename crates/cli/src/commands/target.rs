//! Where a lifecycle command goes: the store, through the control-plane service layer, or a
//! running gateway, through its admin API (`--server`). Both give the command the same JSON
//! value (what `--json` prints), and the text is written from that value, so the two paths
//! print the same thing.

use regpilot_control::Control;
use serde::Serialize;
use serde_json::Value;

use super::remote::Remote;
use crate::output::Failure;

pub enum Target {
    Local(Control),
    Remote(Remote),
}

/// A control-plane answer as the JSON value the admin API would send.
pub fn value<T: Serialize>(v: T) -> Result<Value, Failure> {
    serde_json::to_value(v).map_err(|e| Failure::runtime(format!("cannot encode output: {e}")))
}

/// A text field of `v` (empty when absent).
pub fn text(v: &Value, field: &str) -> String {
    match &v[field] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A field that may be null, with what to print then.
pub fn or(v: &Value, field: &str, none: &str) -> String {
    match &v[field] {
        Value::Null => none.to_owned(),
        _ => text(v, field),
    }
}

/// The items of a list answer (`{"<field>": [...]}`).
pub fn items<'a>(v: &'a Value, field: &str) -> &'a [Value] {
    v[field].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// A list of strings, joined.
pub fn joined(v: &Value, field: &str, sep: &str) -> String {
    items(v, field).iter().filter_map(Value::as_str).collect::<Vec<_>>().join(sep)
}
