use regpilot_control::{Actor, AlertView, Control};
use regpilot_store::now_ms;
use serde_json::json;

use crate::args::AlertsCommand;
use crate::output::{emit, table};
use crate::CmdResult;

fn alerts_table(alerts: &[AlertView], with_ack: bool) -> String {
    // The message, the widest column, goes last.
    let mut header = vec!["ID", "CREATED", "SEVERITY", "KIND", "KEY"];
    if with_ack {
        header.push("ACKNOWLEDGED");
    }
    header.push("MESSAGE");
    let rows: Vec<Vec<String>> = alerts
        .iter()
        .map(|a| {
            let mut row = vec![
                a.id.clone(),
                a.created_at.clone(),
                a.severity.as_str().into(),
                a.kind.to_string(),
                a.key_name.clone().or_else(|| a.key_id.clone()).unwrap_or_else(|| "-".into()),
            ];
            if with_ack {
                row.push(a.acknowledged_at.clone().unwrap_or_else(|| "-".into()));
            }
            row.push(a.message.clone());
            row
        })
        .collect();
    table(&header, &rows)
}

pub async fn run(control: &Control, cmd: AlertsCommand, json: bool) -> CmdResult {
    match cmd {
        AlertsCommand::List { project, all } => {
            let alerts = control.list_alerts(&project, all).await?;
            emit(json, &json!({ "alerts": alerts }), || {
                if alerts.is_empty() {
                    let which = if all { "" } else { "open " };
                    return format!("No {which}alerts in project {project}.\n");
                }
                alerts_table(&alerts, all)
            })
        }
        AlertsCommand::Ack { alert_id } => {
            let a = control.acknowledge_alert(&Actor::cli(), &alert_id).await?;
            emit(json, &a, || {
                format!(
                    "Alert {} ({}) acknowledged by {} at {}\n",
                    a.id,
                    a.kind,
                    a.acknowledged_by.as_deref().unwrap_or("-"),
                    a.acknowledged_at.as_deref().unwrap_or("-")
                )
            })
        }
        AlertsCommand::Check => {
            let raised = control.detect_alerts(now_ms()).await?;
            emit(json, &json!({ "raised": raised }), || {
                if raised.is_empty() {
                    return "No new alerts.\n".into();
                }
                format!("{} new alert(s):\n{}", raised.len(), alerts_table(&raised, false))
            })
        }
    }
}
