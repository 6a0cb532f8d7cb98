use regpilot_control::{Control, SessionPolicy};
use regpilot_gateway::{GatewayConfig, RecorderConfig};
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
    let (limits, usage) = (&settings.limits, &settings.usage);
    let config = GatewayConfig {
        max_body_bytes: settings.max_body_bytes,
        feed_poll: settings.feed_poll,
        redis_url: limits.redis_url.clone(),
        redis_timeout: limits.redis_timeout,
        redis_failure_mode: limits.redis_failure_mode,
        trusted_proxies: usage.trusted_proxies.clone(),
        geoip_db: usage.geoip_db.clone(),
        usage: RecorderConfig {
            flush_every: usage.flush_every,
            summary_every: usage.staging_summary,
            ..RecorderConfig::default()
        },
        alert_check: usage.alert_check,
        usage_retention_days: usage.retention_days,
        ai: settings.ai.clone(),
        shutdown_grace: settings.shutdown_grace,
        session_policy: SessionPolicy {
            idle_ms: settings.dashboard.idle.as_millis() as i64,
            lifetime_ms: settings.dashboard.lifetime.as_millis() as i64,
        },
        secure_cookies: settings.dashboard.secure_cookies,
    };
    regpilot_gateway::serve(listen, config, store).await.map_err(|e| Failure::runtime(e.to_string()))
}
