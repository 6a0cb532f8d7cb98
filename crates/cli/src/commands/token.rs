//! `regpilot token`: personal admin tokens of dashboard users (README.md, "Admin API").

use regpilot_control::Actor;
use serde_json::{json, Value};

use super::remote::encode;
use super::target::{items, or, text, value, Target};
use crate::args::TokenCommand;
use crate::output::{emit, table};
use crate::CmdResult;

pub async fn run(target: &Target, cmd: TokenCommand, json: bool) -> CmdResult {
    match cmd {
        TokenCommand::Create { user, name, expires_in, read_only } => {
            let t = match target {
                Target::Local(control) => {
                    value(control.create_admin_token(&Actor::cli(), &user, &name, expires_in, read_only).await?)?
                }
                Target::Remote(api) => {
                    let body = json!({"user": user.trim(), "name": name, "expires_in_days": expires_in,
                        "read_only": read_only});
                    api.post("/api/admin/tokens", body).await?
                }
            };
            emit(json, &t, || {
                let expires = match &t["expires_at"] {
                    Value::Null => String::new(),
                    _ => format!(", expires {}", text(&t, "expires_at")),
                };
                let access = if t["read_only"].as_bool() == Some(true) { "read-only" } else { "the user's role" };
                format!(
                    "Created admin token {} \"{}\" for {} ({access}{expires})\n\
                     Token (shown once; store it now, it cannot be shown again):\n{}\n",
                    text(&t, "id"),
                    text(&t, "name"),
                    text(&t, "email"),
                    text(&t, "secret")
                )
            })
        }
        TokenCommand::List { user } => {
            let out = match target {
                Target::Local(control) => json!({ "tokens": control.list_admin_tokens(user.as_deref()).await? }),
                Target::Remote(api) => api.list("/api/admin/tokens", "tokens").await?,
            };
            emit(json, &out, || {
                let rows: Vec<Vec<String>> = items(&out, "tokens")
                    .iter()
                    .map(|t| {
                        vec![
                            text(t, "id"),
                            text(t, "name"),
                            text(t, "prefix"),
                            text(t, "user_id"),
                            if t["read_only"].as_bool() == Some(true) { "read-only".into() } else { "role".into() },
                            text(t, "status"),
                            text(t, "created_at"),
                            or(t, "last_used_at", "never"),
                            or(t, "expires_at", "never"),
                        ]
                    })
                    .collect();
                table(&["ID", "NAME", "PREFIX", "USER", "ACCESS", "STATUS", "CREATED", "LAST USED", "EXPIRES"], &rows)
            })
        }
        TokenCommand::Revoke { token_id } => {
            let t = match target {
                Target::Local(control) => value(control.revoke_admin_token(&Actor::cli(), &token_id, None).await?)?,
                Target::Remote(api) => api.delete(&format!("/api/admin/tokens/{}", encode(&token_id))).await?,
            };
            emit(json, &t, || format!("Admin token {} is revoked: it stops working at once\n", text(&t, "id")))
        }
    }
}
