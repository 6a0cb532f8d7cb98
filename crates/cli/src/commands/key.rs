use regpilot_control::{parse_grace, Actor, NewKey};
use regpilot_keys::{Environment, KeyType, Scopes};
use serde_json::{json, Value};

use super::remote::encode;
use super::target::{items, joined, or, text, value, Target};
use crate::args::KeyCommand;
use crate::output::{emit, table, Failure};
use crate::CmdResult;

pub async fn run(target: &Target, cmd: KeyCommand, json: bool) -> CmdResult {
    match cmd {
        KeyCommand::Create { project, key_type, env, name, read_only, scopes, expires_in } => {
            let key_type: KeyType = key_type.parse().map_err(|e| Failure::usage(format!("--type: {e}")))?;
            let environment: Environment = env.parse().map_err(|e| Failure::usage(format!("--env: {e}")))?;
            let scopes = scopes
                .map(|s| Scopes::parse_list(&s))
                .transpose()
                .map_err(|e| Failure::usage(format!("--scopes: {e}")))?;
            let created = match target {
                Target::Local(control) => {
                    let new = NewKey {
                        project_id: project,
                        name,
                        key_type,
                        environment,
                        read_only,
                        scopes,
                        expires_in_days: expires_in,
                    };
                    value(control.create_key(&Actor::cli(), new).await?)?
                }
                Target::Remote(api) => {
                    let body = json!({"type": key_type, "environment": environment, "name": name,
                        "read_only": read_only, "scopes": scopes, "expires_in_days": expires_in});
                    api.post(&format!("/api/admin/projects/{}/keys", encode(&project)), body).await?
                }
            };
            emit(json, &created, || created_text("Created", &created, ""))
        }
        KeyCommand::List { project } => {
            let out = match target {
                Target::Local(control) => json!({ "keys": control.list_key_details(&project).await? }),
                Target::Remote(api) => {
                    api.list(&format!("/api/admin/projects/{}/keys", encode(&project)), "keys").await?
                }
            };
            emit(json, &out, || {
                let rows: Vec<Vec<String>> = items(&out, "keys").iter().map(row).collect();
                table(
                    &[
                        "ID",
                        "NAME",
                        "PREFIX",
                        "TYPE",
                        "ENV",
                        "SCOPES",
                        "STATUS",
                        "CREATED",
                        "LAST USED",
                        "EXPIRES",
                        "ROLL",
                    ],
                    &rows,
                )
            })
        }
        KeyCommand::Deactivate { key_id } => {
            let k = match target {
                Target::Local(control) => value(control.deactivate_key(&Actor::cli(), &key_id).await?)?,
                Target::Remote(api) => api.post(&key_path(&key_id, "/deactivate"), json!({})).await?,
            };
            emit(json, &k, || {
                format!("Key {} is {}: it is refused everywhere within a second\n", text(&k, "id"), text(&k, "status"))
            })
        }
        KeyCommand::Reactivate { key_id } => {
            let k = match target {
                Target::Local(control) => value(control.reactivate_key(&Actor::cli(), &key_id).await?)?,
                Target::Remote(api) => api.post(&key_path(&key_id, "/reactivate"), json!({})).await?,
            };
            emit(json, &k, || format!("Key {} is {}\n", text(&k, "id"), text(&k, "status")))
        }
        KeyCommand::Delete { key_id } => {
            let k = match target {
                Target::Local(control) => value(control.delete_key(&Actor::cli(), &key_id).await?)?,
                Target::Remote(api) => api.delete(&key_path(&key_id, "")).await?,
            };
            emit(json, &k, || format!("Key {} is deleted for good\n", text(&k, "id")))
        }
        KeyCommand::Roll { key_id, grace } => {
            let grace_ms = parse_grace(&grace)?;
            let rolled = match target {
                Target::Local(control) => value(control.roll_key(&Actor::cli(), &key_id, grace_ms).await?)?,
                Target::Remote(api) => api.post(&key_path(&key_id, "/roll"), json!({"grace": grace.trim()})).await?,
            };
            emit(json, &rolled, || {
                let old = &rolled["rolled_from"];
                let ends = text(&rolled, "grace_ends_at");
                let after = if grace_ms == 0 {
                    format!("Key {} expired now ({ends}).\n", text(old, "id"))
                } else {
                    format!(
                        "Key {} keeps working until {ends}, then expires everywhere; its uses meanwhile are \
                         counted (regpilot key list, the key's page).\n",
                        text(old, "id")
                    )
                };
                created_text(&format!("Rolled key {} into", text(old, "id")), &rolled, &after)
            })
        }
    }
}

fn key_path(key_id: &str, action: &str) -> String {
    format!("/api/admin/keys/{}{action}", encode(key_id))
}

/// The answer to a create (or roll): the key and its secret, printed once.
fn created_text(verb: &str, k: &Value, after: &str) -> String {
    let expires = match &k["expires_at"] {
        Value::Null => String::new(),
        _ => format!(", expires {}", text(k, "expires_at")),
    };
    format!(
        "{verb} {} key {} \"{}\" ({}) in project {}{expires}\nScopes: {}\n\
         Secret (shown once; store it now, it cannot be shown again):\n{}\n{after}",
        text(k, "type"),
        text(k, "id"),
        text(k, "name"),
        text(k, "environment"),
        text(k, "project_id"),
        joined(k, "scopes", " "),
        text(k, "secret"),
    )
}

fn row(k: &Value) -> Vec<String> {
    let status = if k["expired"].as_bool() == Some(true) { "expired".to_string() } else { text(k, "status") };
    vec![
        text(k, "id"),
        text(k, "name"),
        text(k, "prefix"),
        text(k, "type"),
        text(k, "environment"),
        joined(k, "scopes", ","),
        status,
        text(k, "created_at"),
        or(k, "last_used_at", "never"),
        or(k, "expires_at", "never"),
        roll(k),
    ]
}

/// `rolled to key_…, N uses since` for a rolled key, `rolled from key_…` for a successor.
fn roll(k: &Value) -> String {
    let mut parts = Vec::new();
    if let Value::String(to) = &k["rolled_to"] {
        parts.push(format!("rolled to {to}, {} uses since", text(k, "uses_since_roll")));
    }
    if let Value::String(from) = &k["rolled_from"] {
        parts.push(format!("rolled from {from}"));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join("; ")
    }
}
