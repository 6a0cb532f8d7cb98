use regpilot_control::Control;
use regpilot_store::{redact_url, Store};

use crate::output::Failure;
use crate::settings::Settings;
use crate::CmdResult;

pub async fn serve(settings: &Settings, store: Store, control: &Control, json: bool) -> CmdResult {
    let listen = settings.listen_addr().map_err(|e| Failure::usage(format!("{e:#}")))?;
    tracing::info!(store = %redact_url(&settings.database_url), "store opened");
    if let Some(first) = control.bootstrap().await? {
        // Printed once, on stdout, never through the logger.
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "bootstrap": { "project_id": first.project.id, "admin_email": first.admin.email, "admin_password": first.password }
                })
            );
        } else {
            println!(
                "First start: created project \"{}\" ({}) and the dashboard admin {}.\n\
                 One-time admin password (shown once, change it at first login): {}",
                first.project.name, first.project.id, first.admin.email, first.password
            );
        }
    }
    regpilot_gateway::serve(listen, settings.gateway.clone(), store).await.map_err(|e| Failure::runtime(e.to_string()))
}
