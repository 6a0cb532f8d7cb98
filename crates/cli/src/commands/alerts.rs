use regpilot_control::Actor;
use regpilot_store::now_ms;
use serde_json::{json, Value};

use super::remote::encode;
use super::target::{items, or, text, value, Target};
use crate::args::AlertsCommand;
use crate::output::{emit, table, Failure};
use crate::CmdResult;

fn alerts_table(alerts: &[Value], with_ack: bool) -> String {
    // The message, the widest column, goes last.
    let mut header = vec!["ID", "CREATED", "SEVERITY", "KIND", "KEY"];
    if with_ack {
        header.push("ACKNOWLEDGED");
    }
    header.push("MESSAGE");
    let rows: Vec<Vec<String>> = alerts
        .iter()
        .map(|a| {
            let key = match (&a["key_name"], &a["key_id"]) {
                (Value::String(n), _) => n.clone(),
                (_, Value::String(id)) => id.clone(),
                _ => "-".into(),
            };
            let mut row = vec![text(a, "id"), text(a, "created_at"), text(a, "severity"), text(a, "kind"), key];
            if with_ack {
                row.push(or(a, "acknowledged_at", "-"));
            }
            row.push(text(a, "message"));
            row
        })
        .collect();
    table(&header, &rows)
}

pub async fn run(target: &Target, cmd: AlertsCommand, json: bool) -> CmdResult {
    match cmd {
        AlertsCommand::List { project, all } => {
            let out = match target {
                Target::Local(control) => json!({ "alerts": control.list_alerts(&project, all).await? }),
                Target::Remote(api) => {
                    let path = format!("/api/admin/projects/{}/alerts?all={all}", encode(&project));
                    api.list(&path, "alerts").await?
                }
            };
            emit(json, &out, || {
                let alerts = items(&out, "alerts");
                if alerts.is_empty() {
                    let which = if all { "" } else { "open " };
                    return format!("No {which}alerts in project {project}.\n");
                }
                alerts_table(alerts, all)
            })
        }
        AlertsCommand::Ack { alert_id } => {
            let a = match target {
                Target::Local(control) => value(control.acknowledge_alert(&Actor::cli(), &alert_id).await?)?,
                Target::Remote(api) => {
                    api.post(&format!("/api/admin/alerts/{}/ack", encode(&alert_id)), json!({})).await?
                }
            };
            emit(json, &a, || {
                format!(
                    "Alert {} ({}) acknowledged by {} at {}\n",
                    text(&a, "id"),
                    text(&a, "kind"),
                    or(&a, "acknowledged_by", "-"),
                    or(&a, "acknowledged_at", "-")
                )
            })
        }
        AlertsCommand::Check => {
            let Target::Local(control) = target else {
                return Err(Failure::usage(
                    "alerts check runs the rules on the store; a running server runs them every minute, so it has no --server form",
                ));
            };
            let raised = value(control.detect_alerts(now_ms()).await?)?;
            let out = json!({ "raised": raised });
            emit(json, &out, || {
                let raised = items(&out, "raised");
                if raised.is_empty() {
                    return "No new alerts.\n".into();
                }
                format!("{} new alert(s):\n{}", raised.len(), alerts_table(raised, false))
            })
        }
    }
}
