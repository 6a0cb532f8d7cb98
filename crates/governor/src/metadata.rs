//! `governorMetadata` (docs/governor.md, "Metadata"): parsed from the request's JSON with every
//! field checked, so a bad value is answered with the field's name.

use std::fmt;

use crate::{ActionType, Country};

/// The longest accepted string field, in characters.
pub const MAX_FIELD_CHARS: usize = 256;
/// The most accepted `contextTags`.
pub const MAX_TAGS: usize = 32;

/// The request's `governorMetadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub action_type: ActionType,
    pub sender_id: String,
    pub recipient_country: Option<Country>,
    pub recipient_user_id: Option<String>,
    pub sender_role: Option<String>,
    pub department: Option<String>,
    pub context_tags: Vec<String>,
}

/// Why `governorMetadata` was refused, naming the field (e.g. `governorMetadata.recipientCountry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataError {
    pub field: String,
    pub message: String,
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for MetadataError {}

const FIELDS: [&str; 7] =
    ["actionType", "senderId", "recipientCountry", "recipientUserId", "senderRole", "department", "contextTags"];

impl Metadata {
    /// Metadata with only the required fields.
    pub fn new(action_type: ActionType, sender_id: impl Into<String>) -> Metadata {
        Metadata {
            action_type,
            sender_id: sender_id.into(),
            recipient_country: None,
            recipient_user_id: None,
            sender_role: None,
            department: None,
            context_tags: Vec::new(),
        }
    }

    /// Parses `governorMetadata`; errors name the field under `governorMetadata.`.
    pub fn from_json(v: &serde_json::Value) -> Result<Metadata, MetadataError> {
        Metadata::from_json_at(v, "governorMetadata")
    }

    /// Parses the metadata found at `path` (e.g. `metadata.governor` on `/v1`), naming fields
    /// under that path. Unknown fields are refused, as are `null`s for required fields; `null`
    /// for an optional field means absent.
    pub fn from_json_at(v: &serde_json::Value, path: &str) -> Result<Metadata, MetadataError> {
        let err = |field: &str, message: String| MetadataError {
            field: if field.is_empty() { path.to_owned() } else { format!("{path}.{field}") },
            message,
        };
        let obj = v.as_object().ok_or_else(|| err("", "must be an object".into()))?;
        if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            let shown: String = k.chars().take(64).collect();
            return Err(err(&shown, format!("unknown field; expected one of: {}", FIELDS.join(", "))));
        }
        let string = |field: &str, required: bool| -> Result<Option<String>, MetadataError> {
            match obj.get(field) {
                None | Some(serde_json::Value::Null) if required => Err(err(field, "is required".into())),
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => checked(s).map(Some).map_err(|m| err(field, m)),
                Some(_) => Err(err(field, "must be a string".into())),
            }
        };
        let action = string("actionType", true)?.unwrap_or_default();
        let action_type = action.parse::<ActionType>().map_err(|e| err("actionType", e.to_string()))?;
        let sender_id = string("senderId", true)?.unwrap_or_default();
        let recipient_country = match string("recipientCountry", false)? {
            None => None,
            Some(c) => Some(Country::parse(&c).ok_or_else(|| {
                err("recipientCountry", "must be an ISO 3166-1 alpha-2 country code, e.g. \"DE\"".into())
            })?),
        };
        let context_tags = match obj.get("contextTags") {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(tags)) => {
                if tags.len() > MAX_TAGS {
                    return Err(err("contextTags", format!("at most {MAX_TAGS} tags")));
                }
                let mut out = Vec::with_capacity(tags.len());
                for (i, t) in tags.iter().enumerate() {
                    let field = format!("contextTags[{i}]");
                    match t {
                        serde_json::Value::String(s) => out.push(checked(s).map_err(|m| err(&field, m))?),
                        _ => return Err(err(&field, "must be a string".into())),
                    }
                }
                out
            }
            Some(_) => return Err(err("contextTags", "must be an array of strings".into())),
        };
        Ok(Metadata {
            action_type,
            sender_id,
            recipient_country,
            recipient_user_id: string("recipientUserId", false)?,
            sender_role: string("senderRole", false)?,
            department: string("department", false)?,
            context_tags,
        })
    }
}

fn checked(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars().count() > MAX_FIELD_CHARS {
        return Err(format!("at most {MAX_FIELD_CHARS} characters"));
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn all_fields() {
        let m = Metadata::from_json(&json!({
            "actionType": "refund_denial", "senderId": "agent-7", "recipientCountry": "de",
            "recipientUserId": "u-1", "senderRole": "support", "department": "billing",
            "contextTags": ["refund", "complaint"]
        }))
        .unwrap();
        assert_eq!(m.action_type, ActionType::RefundDenial);
        assert_eq!(m.recipient_country.unwrap().as_str(), "DE");
        assert_eq!(m.context_tags, ["refund", "complaint"]);
        let m = Metadata::from_json(&json!({"actionType": "other", "senderId": "s", "department": null})).unwrap();
        assert_eq!(m, Metadata::new(ActionType::Other, "s"));
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (json!([]), "governorMetadata"),
            (json!({"senderId": "s"}), "governorMetadata.actionType"),
            (json!({"actionType": "gossip", "senderId": "s"}), "governorMetadata.actionType"),
            (json!({"actionType": 3, "senderId": "s"}), "governorMetadata.actionType"),
            (json!({"actionType": "other"}), "governorMetadata.senderId"),
            (json!({"actionType": "other", "senderId": ""}), "governorMetadata.senderId"),
            (json!({"actionType": "other", "senderId": "x".repeat(257)}), "governorMetadata.senderId"),
            (
                json!({"actionType": "other", "senderId": "s", "recipientCountry": "UK"}),
                "governorMetadata.recipientCountry",
            ),
            (
                json!({"actionType": "other", "senderId": "s", "recipientCountry": 49}),
                "governorMetadata.recipientCountry",
            ),
            (json!({"actionType": "other", "senderId": "s", "contextTags": "a"}), "governorMetadata.contextTags"),
            (json!({"actionType": "other", "senderId": "s", "contextTags": [1]}), "governorMetadata.contextTags[0]"),
            (
                json!({"actionType": "other", "senderId": "s", "contextTags": vec!["t"; 33]}),
                "governorMetadata.contextTags",
            ),
            (json!({"actionType": "other", "senderId": "s", "mood": "x"}), "governorMetadata.mood"),
        ];
        for (v, field) in cases {
            let e = Metadata::from_json(&v).unwrap_err();
            assert_eq!(e.field, field, "{v}");
            assert!(e.to_string().starts_with(field));
        }
        let e = Metadata::from_json_at(&json!({"actionType": "x", "senderId": "s"}), "metadata.governor").unwrap_err();
        assert_eq!(e.field, "metadata.governor.actionType");
    }
}
