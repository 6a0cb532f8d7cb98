use regpilot_control::{Actor, Control, KeyView, NewKey};
use regpilot_keys::{Environment, KeyType, Scopes};
use serde_json::json;

use crate::args::KeyCommand;
use crate::output::{emit, table, Failure};
use crate::CmdResult;

pub async fn run(control: &Control, cmd: KeyCommand, json: bool) -> CmdResult {
    match cmd {
        KeyCommand::Create { project, key_type, env, name, read_only, scopes, expires_in } => {
            let key_type: KeyType = key_type.parse().map_err(|e| Failure::usage(format!("--type: {e}")))?;
            let environment: Environment = env.parse().map_err(|e| Failure::usage(format!("--env: {e}")))?;
            let scopes = scopes
                .map(|s| Scopes::parse_list(&s))
                .transpose()
                .map_err(|e| Failure::usage(format!("--scopes: {e}")))?;
            let new = NewKey {
                project_id: project,
                name,
                key_type,
                environment,
                read_only,
                scopes,
                expires_in_days: expires_in,
            };
            let created = control.create_key(&Actor::cli(), new).await?;
            emit(json, &created, || {
                let k = &created.key;
                format!(
                    "Created {} key {} \"{}\" ({}) in project {}{}\nScopes: {}\n\
                     Secret (shown once; store it now, it cannot be shown again):\n{}\n",
                    k.key_type,
                    k.id,
                    k.name,
                    k.environment,
                    k.project_id,
                    k.expires_at.as_deref().map(|e| format!(", expires {e}")).unwrap_or_default(),
                    k.scopes.to_list(),
                    created.secret.expose()
                )
            })
        }
        KeyCommand::List { project } => {
            let keys = control.list_keys(&project).await?;
            emit(json, &json!({ "keys": keys }), || {
                let rows: Vec<Vec<String>> = keys.iter().map(row).collect();
                table(
                    &["ID", "NAME", "PREFIX", "TYPE", "ENV", "SCOPES", "STATUS", "CREATED", "LAST USED", "EXPIRES"],
                    &rows,
                )
            })
        }
        KeyCommand::Deactivate { key_id } => {
            let k = control.deactivate_key(&Actor::cli(), &key_id).await?;
            emit(json, &k, || {
                format!("Key {} is {}: it is refused everywhere within a second\n", k.id, k.status.as_str())
            })
        }
        KeyCommand::Reactivate { key_id } => {
            let k = control.reactivate_key(&Actor::cli(), &key_id).await?;
            emit(json, &k, || format!("Key {} is {}\n", k.id, k.status.as_str()))
        }
        KeyCommand::Delete { key_id } => {
            let k = control.delete_key(&Actor::cli(), &key_id).await?;
            emit(json, &k, || format!("Key {} is deleted for good\n", k.id))
        }
    }
}

fn row(k: &KeyView) -> Vec<String> {
    let status = if k.expired { "expired".to_string() } else { k.status.as_str().to_string() };
    vec![
        k.id.clone(),
        k.name.clone(),
        k.prefix.clone(),
        k.key_type.to_string(),
        k.environment.to_string(),
        k.scopes.to_list().replace(' ', ","),
        status,
        k.created_at.clone(),
        k.last_used_at.clone().unwrap_or_else(|| "never".into()),
        k.expires_at.clone().unwrap_or_else(|| "never".into()),
    ]
}
