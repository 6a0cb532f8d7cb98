//! Black-box: `regpilot alerts` over a history crafted through the store, on SQLite and (when
//! configured) PostgreSQL. The rules run through `regpilot alerts check`, as a cron job
//! without a server would run them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use regpilot_store::testing::{backends, fresh_url};
use regpilot_store::{
    now_ms, AuditEntry, Backend, HourlyDelta, KeyRow, Store, UsageBatch, UsageCounts, DAY_MS, HOUR_MS,
};
use serde_json::Value;

/// A key 120 days old, never used, written straight to the store (the CLI only makes new keys).
fn legacy_key(project_id: &str, now: i64) -> KeyRow {
    KeyRow {
        id: "key_legacyLegacyLeg0".into(),
        project_id: project_id.into(),
        name: "legacy".into(),
        key_type: "project".into(),
        environment: "staging".into(),
        scopes: "compliance:read".into(),
        status: "active".into(),
        digest: "ab".repeat(32),
        display_prefix: "pk_stg_Leg4c…y0Ld".into(),
        created_at: now - 120 * DAY_MS,
        created_by: "test".into(),
        expires_at: None,
        last_used_at: None,
        deleted_at: None,
    }
}

/// Three ordinary hours yesterday (10 requests each), then 200 requests this hour.
fn spike(key_id: &str, project_id: &str, now: i64) -> Vec<HourlyDelta> {
    let this_hour = now - now % HOUR_MS;
    let row = |hour: i64, requests: i64| HourlyDelta {
        key_id: key_id.into(),
        project_id: project_id.into(),
        hour,
        counts: UsageCounts {
            requests,
            latency_us_sum: requests * 30_000,
            latency_us_max: 45_000,
            ..UsageCounts::default()
        },
    };
    vec![
        row(this_hour - DAY_MS, 10),
        row(this_hour - DAY_MS - 2 * HOUR_MS, 10),
        row(this_hour - DAY_MS - 4 * HOUR_MS, 10),
        row(this_hour, 200),
    ]
}

fn craft_history(db: &str, pid: &str, web_id: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::open(db).await.unwrap();
        let now = now_ms();
        let legacy = legacy_key(pid, now);
        let audit = AuditEntry {
            at: legacy.created_at,
            actor: "test".into(),
            action: "key.create".into(),
            target_type: "key".into(),
            target_id: legacy.id.clone(),
            project_id: Some(pid.into()),
            detail: None,
        };
        store.insert_key(&legacy, &audit).await.unwrap();
        store.write_usage(&UsageBatch { hourly: spike(web_id, pid, now), ..UsageBatch::default() }).await.unwrap();
        store.close().await;
    });
}

fn by_kind<'a>(alerts: &'a [Value], kind: &str, key_name: &str) -> &'a Value {
    alerts
        .iter()
        .find(|a| a["kind"] == kind && a["key_name"] == key_name)
        .unwrap_or_else(|| panic!("no {kind} alert for {key_name}: {alerts:#?}"))
}

fn scenario(dir: &std::path::Path, db: &str) {
    let pid = str_of(&cli_json(dir, db, &["project", "create", "--name", "Acme", "--plan", "pro"]), "id");
    let web =
        cli_json(dir, db, &["key", "create", "--project", &pid, "--type", "gateway", "--env", "prod", "--name", "web"]);
    let (web_id, secret, prefix) = (str_of(&web, "id"), str_of(&web, "secret"), str_of(&web, "prefix"));

    let none = cli(dir, db, &["alerts", "list", "--project", &pid]);
    assert!(none.status.success());
    assert_eq!(String::from_utf8_lossy(&none.stdout), format!("No open alerts in project {pid}.\n"));

    craft_history(db, &pid, &web_id);
    let raised = cli_json(dir, db, &["alerts", "check"]);
    let raised = raised["raised"].as_array().unwrap().clone();
    let mut kinds: Vec<String> =
        raised.iter().map(|a| format!("{}:{}", a["kind"].as_str().unwrap(), a["key_name"].as_str().unwrap())).collect();
    kinds.sort();
    assert_eq!(kinds, vec!["rotation_due:legacy", "unused_key:legacy", "volume_spike:web"]);
    assert_eq!(cli_json(dir, db, &["alerts", "check"])["raised"], Value::Array(vec![]), "nothing raised twice");

    let listed = cli_json(dir, db, &["alerts", "list", "--project", &pid]);
    let alerts = listed["alerts"].as_array().unwrap().clone();
    assert_eq!(alerts.len(), 3, "{listed}");
    let spike = by_kind(&alerts, "volume_spike", "web");
    assert_eq!(
        (&spike["severity"], &spike["project_id"], &spike["key_id"]),
        (&"warning".into(), &pid.clone().into(), &web_id.clone().into())
    );
    let message = spike["message"].as_str().unwrap();
    assert!(message.contains("\"web\"") && message.contains(&prefix) && message.contains("200 requests"), "{message}");
    assert_eq!((&spike["detail"]["requests"], &spike["detail"]["baseline_hours"]), (&200.into(), &3.into()));
    assert!(spike["id"].as_str().unwrap().starts_with("alrt_"));
    assert_eq!(spike["acknowledged_at"], Value::Null);
    let unused = by_kind(&alerts, "unused_key", "legacy");
    assert_eq!((&unused["severity"], &unused["detail"]["idle_days"]), (&"info".into(), &120.into()));
    by_kind(&alerts, "rotation_due", "legacy");

    let text = cli(dir, db, &["alerts", "list", "--project", &pid]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three alerts:\n{text}");
    for column in ["ID", "CREATED", "SEVERITY", "KIND", "KEY", "MESSAGE"] {
        assert!(lines[0].contains(column), "{text}");
    }
    assert!(!lines[0].contains("ACKNOWLEDGED"), "{text}");
    let spike_id = spike["id"].as_str().unwrap().to_owned();
    let spike_line = lines.iter().find(|l| l.starts_with(&spike_id)).unwrap_or_else(|| panic!("{text}"));
    assert!(spike_line.contains("volume_spike") && spike_line.contains("web") && spike_line.contains(&prefix));

    let acked = cli_json(dir, db, &["alerts", "ack", &spike_id]);
    assert_eq!(acked["id"], spike_id);
    assert!(acked["acknowledged_by"].as_str().unwrap().starts_with("cli:"), "{acked}");
    let first_ack = acked["acknowledged_at"].as_str().unwrap().to_owned();
    let again = cli(dir, db, &["alerts", "ack", &spike_id]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("acknowledged by cli:"));
    assert_eq!(cli_json(dir, db, &["alerts", "ack", &spike_id])["acknowledged_at"], first_ack, "the first stays");

    let open = cli_json(dir, db, &["alerts", "list", "--project", &pid]);
    assert_eq!(open["alerts"].as_array().unwrap().len(), 2);
    assert!(!open.to_string().contains(&spike_id));
    let all = cli_json(dir, db, &["alerts", "list", "--project", &pid, "--all"]);
    assert_eq!(all["alerts"].as_array().unwrap().len(), 3);
    let all_text =
        String::from_utf8_lossy(&cli(dir, db, &["alerts", "list", "--project", &pid, "--all"]).stdout).into_owned();
    assert!(all_text.lines().next().unwrap().contains("ACKNOWLEDGED"), "{all_text}");
    assert!(all_text.contains(&first_ack), "{all_text}");

    let unknown = cli(dir, db, &["alerts", "list", "--project", "proj_nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("project 'proj_nope' not found"));
    let unknown_json = cli(dir, db, &["alerts", "list", "--project", "proj_nope", "--json"]);
    assert_eq!(unknown_json.status.code(), Some(1));
    let body: Value = serde_json::from_slice(&unknown_json.stdout).unwrap();
    assert_eq!(body["code"], "NOT_FOUND");
    let bad_ack = cli(dir, db, &["alerts", "ack", "alrt_nope"]);
    assert_eq!(bad_ack.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_ack.stderr).contains("alert 'alrt_nope' not found"));
    assert_eq!(cli(dir, db, &["alerts", "list"]).status.code(), Some(2), "--project is required");

    // No output carries the secret.
    for out in [text, all_text, all.to_string(), listed.to_string(), acked.to_string()] {
        assert!(!out.contains(&secret));
    }
}

#[test]
fn alerts_list_and_ack_on_every_backend() {
    for backend in backends() {
        eprintln!("backend: {}", backend.as_str());
        let scratch = Scratch::new("alerts");
        let db = match backend {
            Backend::Sqlite => sqlite_url(scratch.path()),
            Backend::Postgres => tokio::runtime::Runtime::new().unwrap().block_on(fresh_url(Backend::Postgres)),
        };
        scenario(scratch.path(), &db);
    }
}
