//! Found secrets and leak reports (README.md, "Secret scanning" and "Leak response"): statuses by
//! digest, a live key deactivated or only alerted on, replays and unknown or invalid strings
//! changing nothing, and the reported string absent from alerts and the audit log. Run against
//! every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod each_backend;

use regpilot_control::*;
use regpilot_keys::{digest, display_prefix, generate, generate_admin_token, Environment, KeyType};
use regpilot_store::{now_ms, AuditEntry, KeyRow};

async fn setup(c: &Control) -> (String, CreatedKey) {
    let project = c
        .create_project(
            &Actor::system(),
            NewProject { name: "Acme".into(), plan: Plan::Pro, daily_limit: None, burst: None },
        )
        .await
        .unwrap();
    let key = create(c, &project.id, "ci").await;
    (project.id, key)
}

async fn create(c: &Control, project_id: &str, name: &str) -> CreatedKey {
    c.create_key(
        &Actor::system(),
        NewKey {
            project_id: project_id.into(),
            name: name.into(),
            key_type: KeyType::Gateway,
            environment: Environment::Production,
            read_only: false,
            scopes: None,
            expires_in_days: None,
        },
    )
    .await
    .unwrap()
}

/// A key that expired yesterday, written straight to the store.
async fn expired_key(c: &Control, project_id: &str) -> String {
    let secret = generate(KeyType::Project, Environment::Staging).unwrap();
    let now = now_ms();
    let row = KeyRow {
        id: "key_expiredexpired01".into(),
        project_id: project_id.into(),
        name: "old".into(),
        key_type: "project".into(),
        environment: "staging".into(),
        scopes: "compliance:read".into(),
        status: "active".into(),
        digest: digest(secret.expose()).to_hex(),
        display_prefix: display_prefix(&secret),
        created_at: now - 10 * 86_400_000,
        created_by: "system".into(),
        expires_at: Some(now - 86_400_000),
        last_used_at: None,
        deleted_at: None,
    };
    let audit = AuditEntry {
        at: now,
        actor: "system".into(),
        action: "key.create".into(),
        target_type: "key".into(),
        target_id: row.id.clone(),
        project_id: Some(project_id.into()),
        detail: None,
    };
    c.store().insert_key(&row, &audit).await.unwrap();
    secret.expose().to_owned()
}

fn item(token: &str, url: &str) -> LeakReportItem {
    serde_json::from_value(serde_json::json!({
        "token": token, "type": "regpilot_api_key", "url": url, "source": "content"
    }))
    .unwrap()
}

fn labels(v: &[LeakVerdict]) -> Vec<LeakLabel> {
    v.iter().map(|v| v.label).collect()
}

/// Every alert and audit entry of the project, as text.
async fn trail(c: &Control, project_id: &str) -> String {
    let alerts = c.list_alerts(project_id, true).await.unwrap();
    let audit = c.store().audit_for_project(project_id, 1000).await.unwrap();
    format!("{alerts:?}\n{audit:?}")
}

each_backend!(statuses_by_digest, |c: Control| async move {
    let (pid, live) = setup(&c).await;
    let off = create(&c, &pid, "off").await;
    c.deactivate_key(&Actor::system(), &off.key.id).await.unwrap();
    let gone = create(&c, &pid, "gone").await;
    c.delete_key(&Actor::system(), &gone.key.id).await.unwrap();
    let expired = expired_key(&c, &pid).await;
    let stranger = generate(KeyType::Gateway, Environment::Development).unwrap();
    let token = generate_admin_token().unwrap();
    let asked: Vec<String> =
        [live.secret.expose(), off.secret.expose(), gone.secret.expose(), &expired, stranger.expose(), token.expose()]
            .iter()
            .map(|s| digest(s).to_hex())
            .collect();
    let got = c.secret_statuses(&asked).await.unwrap();
    let statuses: Vec<FoundStatus> = got.iter().map(|s| s.status).collect();
    use FoundStatus::*;
    assert_eq!(statuses, [Live, Inactive, Deleted, Expired, Unknown, Unknown]);
    assert_eq!(got[0].digest, asked[0]);
    assert_eq!(got[0].key_id.as_deref(), Some(live.key.id.as_str()));
    assert_eq!(got[0].prefix.as_deref(), Some(live.key.prefix.as_str()));
    assert_eq!((got[4].prefix.clone(), got[4].key_id.clone()), (None, None));

    let bad = c.secret_statuses(&["ABC".into()]).await.unwrap_err();
    assert!(matches!(bad, ControlError::Invalid { field: "digests", .. }), "{bad:?}");
    let too_many = vec![asked[0].clone(); MAX_STATUS_DIGESTS + 1];
    assert!(matches!(c.secret_statuses(&too_many).await, Err(ControlError::Invalid { field: "digests", .. })));
});

each_backend!(a_live_key_is_deactivated_once_and_a_replay_changes_nothing, |c: Control| async move {
    let (pid, live) = setup(&c).await;
    let secret = live.secret.expose().to_owned();
    // The url carries the secret too: it must be cut out of what is stored.
    let url = format!("https://example.com/acme/app/blob/main/.env?line={secret}");
    let report = vec![item(&secret, &url)];
    let first = c.report_leaks(&report, LeakAction::Deactivate).await.unwrap();
    assert_eq!(labels(&first), [LeakLabel::LiveKeyDeactivated]);
    assert_eq!(first[0].status, Some(FoundStatus::Inactive));
    assert!(first[0].alert_raised);
    assert_eq!(first[0].token_prefix.as_deref(), Some(live.key.prefix.as_str()));
    assert_eq!(first[0].kind, Some(SecretKind::ApiKey));
    assert_eq!(first[0].token_type, "regpilot_api_key");
    let mut echoed = item(live.secret.expose(), "u");
    echoed.token_type = format!("found {secret}");
    let v = c.report_leaks(&[echoed], LeakAction::Deactivate).await.unwrap();
    assert_eq!(v[0].token_type, format!("found {}", live.key.prefix), "the secret is cut out of the echoed type");
    assert_eq!(c.get_key(&live.key.id).await.unwrap().status, KeyStatus::Inactive);

    let alerts = c.list_alerts(&pid, true).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a.kind, AlertKind::KeyLeaked);
    assert_eq!(a.key_id.as_deref(), Some(live.key.id.as_str()));
    assert!(a.message.contains("https://example.com/acme/app/blob/main/.env"), "{}", a.message);
    assert!(a.message.contains("deactivated"), "{}", a.message);
    assert_eq!(a.detail["source"], "content");
    let audit = c.key_audit(&live.key.id).await.unwrap();
    let last = audit.last().unwrap();
    assert_eq!((last.actor.as_str(), last.action.as_str()), ("leak-report", "key.deactivate"));
    let before = trail(&c, &pid).await;
    assert!(!before.contains(&secret), "the secret reached an alert or the audit log: {before}");

    let replay = c.report_leaks(&report, LeakAction::Deactivate).await.unwrap();
    assert_eq!(labels(&replay), [LeakLabel::Inactive]);
    assert_eq!(replay[0].status, Some(FoundStatus::Inactive));
    assert!(!replay[0].alert_raised);
    assert_eq!(trail(&c, &pid).await, before, "a replay changes nothing");
});

each_backend!(alert_only_leaves_the_key_working_and_alerts_once_per_place, |c: Control| async move {
    let (pid, live) = setup(&c).await;
    let secret = live.secret.expose();
    let report = vec![item(secret, "https://example.com/a"), item(secret, "https://example.com/a")];
    let got = c.report_leaks(&report, LeakAction::Alert).await.unwrap();
    assert_eq!(labels(&got), [LeakLabel::LiveKeyAlerted, LeakLabel::LiveKeyAlerted]);
    assert_eq!((got[0].alert_raised, got[1].alert_raised), (true, false));
    assert_eq!(got[0].status, Some(FoundStatus::Live));
    assert_eq!(c.get_key(&live.key.id).await.unwrap().status, KeyStatus::Active);
    let elsewhere = c.report_leaks(&[item(secret, "https://example.com/b")], LeakAction::Alert).await.unwrap();
    assert!(elsewhere[0].alert_raised, "a new place is news");
    let alerts = c.list_alerts(&pid, true).await.unwrap();
    assert_eq!(alerts.len(), 2);
    assert!(alerts.iter().all(|a| a.message.contains("still active")));
    let reported: Vec<AuditEntry> =
        c.key_audit(&live.key.id).await.unwrap().into_iter().filter(|e| e.action == "key.leak_reported").collect();
    assert_eq!(reported.len(), 2, "one entry per new alert: {reported:?}");
    assert!(reported.iter().all(|e| e.actor == "leak-report"));
});

each_backend!(unknown_invalid_and_stale_strings_change_nothing, |c: Control| async move {
    let (pid, live) = setup(&c).await;
    let off = create(&c, &pid, "off").await;
    c.deactivate_key(&Actor::system(), &off.key.id).await.unwrap();
    let expired = expired_key(&c, &pid).await;
    let stranger = generate(KeyType::Gateway, Environment::Production).unwrap();
    let token = generate_admin_token().unwrap();
    let mut broken = live.secret.expose().to_owned();
    broken.pop();
    broken.push(if live.secret.expose().ends_with('A') { 'B' } else { 'A' });
    let before = trail(&c, &pid).await;
    let report = vec![
        item(stranger.expose(), "u1"),
        item(token.expose(), "u2"),
        item(&broken, "u3"),
        item("not a key at all", "u4"),
        item(off.secret.expose(), "u5"),
        item(&expired, "u6"),
    ];
    let got = c.report_leaks(&report, LeakAction::Deactivate).await.unwrap();
    use LeakLabel::*;
    assert_eq!(labels(&got), [Unknown, Unknown, Invalid, Invalid, Inactive, Inactive]);
    assert_eq!(got[1].kind, Some(SecretKind::AdminToken));
    assert_eq!((got[2].token_prefix.clone(), got[2].kind), (None, None), "nothing of an invalid string is echoed");
    assert_eq!(got[5].status, Some(FoundStatus::Expired));
    assert!(got.iter().all(|v| !v.alert_raised));
    assert_eq!(trail(&c, &pid).await, before);
    assert_eq!(c.get_key(&live.key.id).await.unwrap().status, KeyStatus::Active);
});

each_backend!(oversized_reports_and_fields_are_refused_whole, |c: Control| async move {
    let (pid, live) = setup(&c).await;
    let many = vec![item("x", ""); MAX_LEAK_REPORT_ITEMS + 1];
    assert!(matches!(
        c.report_leaks(&many, LeakAction::Deactivate).await,
        Err(ControlError::Invalid { field: "body", .. })
    ));
    let long_url = "u".repeat(2049);
    let report = vec![item(live.secret.expose(), "fine"), item("x", &long_url)];
    assert!(matches!(
        c.report_leaks(&report, LeakAction::Deactivate).await,
        Err(ControlError::Invalid { field: "url", .. })
    ));
    assert_eq!(c.get_key(&live.key.id).await.unwrap().status, KeyStatus::Active, "nothing done before the check");
    assert!(c.list_alerts(&pid, true).await.unwrap().is_empty());
    assert!(!format!("{:?}", report[0]).contains(live.secret.expose()), "Debug redacts the token");
});

each_backend!(a_reported_live_admin_token_is_revoked_or_only_audited, |c: Control| async move {
    c.create_user(&Actor::system(), "ops@example.com", "a long enough password".into(), "admin", false).await.unwrap();
    let revoked = c.create_admin_token(&Actor::system(), "ops@example.com", "leaked", None, false).await.unwrap();
    let kept = c.create_admin_token(&Actor::system(), "ops@example.com", "kept", None, false).await.unwrap();
    let got = c
        .report_leaks(&[item(revoked.secret.expose(), "https://example.com/paste")], LeakAction::Deactivate)
        .await
        .unwrap();
    assert_eq!(labels(&got), [LeakLabel::LiveKeyDeactivated]);
    assert_eq!(got[0].kind, Some(SecretKind::AdminToken));
    assert!(matches!(c.authenticate_admin_token(revoked.secret.expose(), now_ms()).await.unwrap(), AdminAuth::Revoked));
    // A replay changes nothing more.
    let again = c.report_leaks(&[item(revoked.secret.expose(), "u")], LeakAction::Deactivate).await.unwrap();
    assert_eq!(labels(&again), [LeakLabel::Inactive]);
    // With `alert`, the token keeps working and the report is in the audit log.
    let alerted =
        c.report_leaks(&[item(kept.secret.expose(), "https://example.com/x")], LeakAction::Alert).await.unwrap();
    assert_eq!(labels(&alerted), [LeakLabel::LiveKeyAlerted]);
    assert!(matches!(c.authenticate_admin_token(kept.secret.expose(), now_ms()).await.unwrap(), AdminAuth::Ok(_)));
    let statuses = c
        .secret_statuses(&[digest(revoked.secret.expose()).to_hex(), digest(kept.secret.expose()).to_hex()])
        .await
        .unwrap();
    assert_eq!(statuses.iter().map(|s| s.status).collect::<Vec<_>>(), [FoundStatus::Deleted, FoundStatus::Live]);
});
