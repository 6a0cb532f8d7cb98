//! The Governor's control plane (docs/governor.md, "In the gateway"): settings by plan, policies
//! validated and versioned, and audits written in batches (several multi-row statements in one
//! transaction) with the violations they open, listed newest first a page at a time. Run
//! against every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod each_backend;

use regpilot_control::*;
use regpilot_governor::{Level, Mode};
use regpilot_store::now_ms;

async fn project(c: &Control, plan: Plan) -> String {
    c.create_project(&Actor::system(), NewProject { name: "Gov".into(), plan, daily_limit: None, burst: None })
        .await
        .unwrap()
        .id
}

fn record(project_id: &str, i: usize, level: Level, open: bool) -> ValidationRecord {
    ValidationRecord {
        audit_id: new_audit_id().unwrap(),
        project_id: project_id.into(),
        key_id: "key_x".into(),
        at_ms: now_ms() - 1_000_000 + i as i64,
        target: "response",
        action_type: "suspension".into(),
        sender_id: "bot".into(),
        recipient_country: "DE".into(),
        score: if level == Level::High { 90 } else { 10 },
        level,
        action: "sanitized",
        mode: Mode::Sanitize,
        findings: vec![FindingRecord {
            rule: "pii.email".into(),
            category: "personal_data".into(),
            severity: "medium".into(),
            start: i,
            end: i + 5,
            shadow: false,
        }],
        original_sha256: "a".repeat(64),
        delivered_sha256: "b".repeat(64),
        content: None,
        open_violation: open,
    }
}

each_backend!(a_batch_of_audits_is_written_whole_and_paged_back, |c: Control| async move {
    let pid = project(&c, Plan::Pro).await;
    // 250 rows: three multi-row statements; every tenth is high and opens a violation.
    let batch: Vec<ValidationRecord> =
        (0..250).map(|i| record(&pid, i, if i % 10 == 0 { Level::High } else { Level::Low }, i % 10 == 0)).collect();
    c.record_governor_validations(&batch).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = c
            .list_governor_audits(
                &pid,
                &AuditQuery { limit: Some(100), cursor: cursor.clone(), ..AuditQuery::default() },
            )
            .await
            .unwrap();
        seen.extend(page.audits.iter().map(|a| (a.id.clone(), a.findings[0].start, a.violation_id.clone())));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 250);
    // Newest first: the offsets (= i) come back in descending order, each row as written.
    assert!(seen.windows(2).all(|w| w[0].1 > w[1].1));
    let high = c
        .list_governor_audits(
            &pid,
            &AuditQuery { level: Some("high".into()), limit: Some(500), ..AuditQuery::default() },
        )
        .await
        .unwrap();
    assert_eq!(high.audits.len(), 25);
    assert!(high.audits.iter().all(|a| a.violation_id.is_some()));
    let violations = c.list_violations(&pid, None, None).await.unwrap();
    assert_eq!(violations.iter().filter(|v| v.category.as_deref() == Some("governor")).count(), 25);
    for a in &high.audits {
        let v = violations.iter().find(|v| Some(&v.id) == a.violation_id.as_ref()).unwrap();
        assert!(v.description.as_deref().unwrap().contains(&a.id), "the violation names its audit");
    }
});

each_backend!(settings_follow_the_plan_and_policies_are_checked_and_versioned, |c: Control| async move {
    let free = project(&c, Plan::Free).await;
    let ent = project(&c, Plan::Enterprise).await;
    let on = GovernorSettingsPatch { enabled: Some(true), ..GovernorSettingsPatch::default() };
    assert!(matches!(
        c.set_governor(&Actor::system(), &free, on).await,
        Err(ControlError::Invalid { field: "enabled", .. })
    ));
    let off = GovernorSettingsPatch { enabled: Some(false), ..GovernorSettingsPatch::default() };
    assert!(matches!(
        c.set_governor(&Actor::system(), &ent, off).await,
        Err(ControlError::Invalid { field: "enabled", .. })
    ));
    let mode = GovernorSettingsPatch { mode: Some("block".into()), ..GovernorSettingsPatch::default() };
    let s = c.set_governor(&Actor::system(), &ent, mode).await.unwrap();
    assert_eq!((s.enabled, s.mode.as_str(), s.violations.as_str()), (true, "block", "high"));
    let bad = NewPolicy {
        name: "broken".into(),
        keywords: vec![],
        pattern: Some("(unclosed".into()),
        applies_to: None,
        action: "warn".into(),
        severity: None,
        replacement: None,
        appendix: None,
        enabled: None,
        shadow: None,
    };
    assert!(matches!(
        c.create_policy(&Actor::system(), &ent, bad.clone()).await,
        Err(ControlError::Invalid { field: "pattern", .. })
    ));
    let ok = NewPolicy { pattern: Some(r"\bACME-\d{4}\b".into()), ..bad };
    let p = c.create_policy(&Actor::system(), &ent, ok).await.unwrap();
    assert_eq!((p.version, p.applies_to.as_str(), p.severity.as_str()), (1, "response", "medium"));
    let patch = PolicyPatch { shadow: Some(true), ..PolicyPatch::default() };
    let p = c.update_policy(&Actor::system(), &ent, &p.id, patch).await.unwrap();
    assert_eq!((p.version, p.shadow), (2, true));
    // Another project's policy is not found.
    assert!(matches!(
        c.update_policy(&Actor::system(), &free, &p.id, PolicyPatch::default()).await,
        Err(ControlError::NotFound { .. })
    ));
});
