//! The alert rules (docs/usage-monitoring.md, "Alert rules"), each shown firing on a crafted
//! history and staying silent on a normal one; deduplication; listing and acknowledging. Run
//! against every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod each_backend;
mod history;

use history::*;
use regpilot_control::*;
use regpilot_store::{HourlyDelta, KeyRow};
use serde_json::json;

/// (kind, key name) of each alert, sorted.
fn kinds(alerts: &[AlertView]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        alerts.iter().map(|a| (a.kind.to_string(), a.key_name.clone().unwrap_or_default())).collect();
    out.sort();
    out
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = list.iter().map(|(k, n)| (k.to_string(), n.to_string())).collect();
    out.sort();
    out
}

fn only<'a>(alerts: &'a [AlertView], kind: AlertKind, key: &KeyRow) -> &'a AlertView {
    let found: Vec<&AlertView> =
        alerts.iter().filter(|a| a.kind == kind && a.key_id.as_deref() == Some(key.id.as_str())).collect();
    assert_eq!(found.len(), 1, "one {kind} alert for {}: {alerts:#?}", key.name);
    found[0]
}

/// Steady traffic: `per_hour` requests in each of the hours 8:00 to 17:00 of the `days` days
/// before today, and of today until the current hour.
fn steady(k: &KeyRow, days_back: i64, per_hour: i64) -> Vec<HourlyDelta> {
    let mut out = Vec::new();
    for d in 0..=days_back {
        for h in 8..18 {
            let at = DAY0 - days(d) + hours(h);
            if at <= THIS_HOUR {
                out.push(hour(k, at, per_hour, per_hour / 20, 0, 40));
            }
        }
    }
    out
}

each_backend!(a_normal_history_raises_nothing, |c: Control| async move {
    let pid = project(&c, "Acme").await;
    let web = key(&c, &pid, "web").await;
    let ci = key(&c, &pid, "ci").await;
    let mut hourly = steady(&web, 8, 40);
    hourly.extend(steady(&ci, 8, 4));
    let mut countries = Vec::new();
    for d in 0..=8 {
        countries.push(country(&web, DAY0 - days(d), "DE", 400));
        countries.push(country(&web, DAY0 - days(d), "unknown", 2));
        countries.push(country(&ci, DAY0 - days(d), "US", 40));
    }
    write(&c, hourly, countries).await;
    used_at(&c, &web, NOW - 60_000).await;
    used_at(&c, &ci, NOW - 60_000).await;
    let raised = c.detect_alerts(NOW).await.unwrap();
    assert!(raised.is_empty(), "{raised:#?}");
    assert!(c.list_alerts(&pid, true).await.unwrap().is_empty());
});

each_backend!(new_country_fires_for_a_country_new_against_30_days, |c: Control| async move {
    let pid = project(&c, "Acme").await;
    let (web, secret) = key_created_at(&c, &pid, "web", NOW - days(10)).await;
    let fresh = key(&c, &pid, "fresh").await; // no history: today's country is its baseline
    let same = key(&c, &pid, "same").await; // today's country seen 5 days ago
    let unknown_only = key(&c, &pid, "unknown-only").await; // history without a known country
    let returning = key(&c, &pid, "returning").await; // last seen from FR 31 days ago
    write(
        &c,
        vec![],
        vec![
            country(&web, DAY0 - days(5), "DE", 30),
            country(&web, DAY0, "DE", 10),
            country(&web, DAY0, "KP", 4),
            country(&web, DAY0, "unknown", 4),
            country(&fresh, DAY0, "US", 3),
            country(&same, DAY0 - days(5), "DE", 3),
            country(&same, DAY0, "DE", 3),
            country(&unknown_only, DAY0 - days(1), "unknown", 9),
            country(&unknown_only, DAY0, "CH", 1),
            country(&returning, DAY0 - days(31), "FR", 1),
            country(&returning, DAY0 - days(2), "DE", 1),
            country(&returning, DAY0, "FR", 1),
        ],
    )
    .await;
    let raised = c.detect_alerts(NOW).await.unwrap();
    assert_eq!(kinds(&raised), pairs(&[("new_country", "web"), ("new_country", "returning")]));
    let a = only(&raised, AlertKind::NewCountry, &web);
    assert_eq!(a.severity, AlertSeverity::Warning);
    assert_eq!(a.detail, json!({"country": "KP", "date": "2026-03-10", "requests": 4, "lookback_days": 30}));
    assert!(a.message.contains("\"web\"") && a.message.contains(&web.display_prefix), "{}", a.message);
    assert!(a.message.contains("KP"), "{}", a.message);
    assert!(!a.message.contains(&secret) && !a.detail.to_string().contains(&secret));
    assert!(a.id.starts_with("alrt_"), "{}", a.id);
    assert_eq!(a.created_at, "2026-03-10T14:30:00Z");
    assert_eq!((a.project_id.as_str(), a.acknowledged_at.as_deref()), (pid.as_str(), None));
});

each_backend!(volume_spike_fires_above_five_times_the_usual_hour, |c: Control| async move {
    let pid = project(&c, "Acme").await;
    let spiky = key(&c, &pid, "spiky").await;
    let at_limit = key(&c, &pid, "at-limit").await; // exactly 5×: not more
    let thin = key(&c, &pid, "thin").await; // two hours of history are not enough
    let small = key(&c, &pid, "small").await; // 9 requests is too few to matter
    let old_news = key(&c, &pid, "old-news").await; // busy hours 8 days ago are outside the week
    let mut rows = Vec::new();
    // Usual hours: 5, 10 and 15 requests (10 on average; an empty hour does not lower it),
    // only two of them for `thin`, three of 1 request for `small`.
    let usual: [(&KeyRow, &[i64]); 4] =
        [(&spiky, &[5, 10, 15]), (&at_limit, &[5, 10, 15]), (&thin, &[5, 10]), (&small, &[1, 1, 1])];
    for (k, counts) in usual {
        for (i, n) in counts.iter().enumerate() {
            rows.push(hour(k, THIS_HOUR - days(1) - hours(i as i64 * 5), *n, 0, 0, 10));
        }
        rows.push(hour(k, THIS_HOUR - days(2), 0, 0, 0, 0));
    }
    rows.push(hour(&spiky, PREV_HOUR, 51, 0, 0, 10));
    rows.push(hour(&at_limit, THIS_HOUR, 50, 0, 0, 10));
    rows.push(hour(&thin, THIS_HOUR, 500, 0, 0, 10));
    rows.push(hour(&small, THIS_HOUR, 9, 0, 0, 10));
    for i in 0..3 {
        rows.push(hour(&old_news, THIS_HOUR - days(8) - hours(i), 1, 0, 0, 10));
    }
    rows.push(hour(&old_news, THIS_HOUR, 400, 0, 0, 10));
    write(&c, rows, vec![]).await;

    let raised = c.detect_alerts(NOW).await.unwrap();
    assert_eq!(kinds(&raised), pairs(&[("volume_spike", "spiky")]));
    let a = only(&raised, AlertKind::VolumeSpike, &spiky);
    assert_eq!(
        a.detail,
        json!({"hour": "2026-03-10T13:00:00Z", "requests": 51, "usual_hourly": 10.0, "baseline_hours": 3,
               "ratio": 5.1, "factor": 5.0})
    );
    assert!(a.message.contains("51 requests") && a.message.contains("2026-03-10 13:00 UTC"), "{}", a.message);

    // An hour two hours back is no longer looked at.
    let later = c.detect_alerts(NOW + hours(2)).await.unwrap();
    assert!(later.is_empty(), "{later:#?}");
});

each_backend!(high_error_rate_fires_over_20_percent_of_50, |c: Control| async move {
    let pid = project(&c, "Acme").await;
    let failing = key(&c, &pid, "failing").await;
    let few = key(&c, &pid, "few").await;
    let at_limit = key(&c, &pid, "at-limit").await;
    let limited = key(&c, &pid, "limited").await;
    write(
        &c,
        vec![
            hour(&failing, PREV_HOUR, 50, 11, 0, 10),
            hour(&few, THIS_HOUR, 49, 49, 0, 10),
            hour(&at_limit, THIS_HOUR, 100, 20, 0, 10),
            // 429s are not errors.
            hour(&limited, THIS_HOUR, 100, 0, 90, 10),
        ],
        vec![],
    )
    .await;
    let raised = c.detect_alerts(NOW).await.unwrap();
    assert_eq!(kinds(&raised), pairs(&[("high_error_rate", "failing")]));
    let a = only(&raised, AlertKind::HighErrorRate, &failing);
    assert_eq!(
        a.detail,
        json!({"hour": "2026-03-10T13:00:00Z", "requests": 50, "errors": 11, "error_rate": 0.22, "threshold": 0.2})
    );
    assert!(a.message.contains("22% errors (11 of 50 requests)"), "{}", a.message);
});

each_backend!(inactive_key_use_fires_on_repeated_refusals, |c: Control| async move {
    let pid = project(&c, "Acme").await;
    let off = key(&c, &pid, "off").await;
    let gone = key(&c, &pid, "gone").await;
    let once = key(&c, &pid, "once").await;
    c.deactivate_key(&alice(), &off.id).await.unwrap();
    c.delete_key(&alice(), &gone.id).await.unwrap();
    c.deactivate_key(&alice(), &once.id).await.unwrap();
    // A deleted key's old traffic pattern raises nothing else.
    let mut gone_hours = vec![refused(&gone, THIS_HOUR, 7), hour(&gone, PREV_HOUR, 400, 300, 0, 10)];
    for i in 1..=3 {
        gone_hours.push(hour(&gone, PREV_HOUR - days(1) - hours(i), 2, 0, 0, 10));
    }
    gone_hours.extend([refused(&off, PREV_HOUR, 3), refused(&once, THIS_HOUR, 2)]);
    write(&c, gone_hours, vec![country(&gone, DAY0 - days(3), "DE", 1), country(&gone, DAY0, "RU", 1)]).await;

    let raised = c.detect_alerts(NOW).await.unwrap();
    assert_eq!(kinds(&raised), pairs(&[("inactive_key_use", "gone"), ("inactive_key_use", "off")]));
    let a = only(&raised, AlertKind::InactiveKeyUse, &gone);
    assert_eq!(a.detail, json!({"hour": "2026-03-10T14:00:00Z", "refused": 7, "key_status": "deleted"}));
    assert!(a.message.contains("refused 7 times") && a.message.contains("deleted"), "{}", a.message);
    let b = only(&raised, AlertKind::InactiveKeyUse, &off);
    assert!(b.message.contains("deactivated"), "{}", b.message);

    // One alert per key and day: more refusals later today raise nothing new.
    write(&c, vec![refused(&off, THIS_HOUR + hours(1), 10)], vec![]).await;
    assert!(c.detect_alerts(NOW + hours(1)).await.unwrap().is_empty());
    // The next day they do.
    write(&c, vec![refused(&off, DAY0 + days(1) + hours(3), 4)], vec![]).await;
    let next_day = c.detect_alerts(DAY0 + days(1) + hours(3)).await.unwrap();
    assert_eq!(kinds(&next_day), pairs(&[("inactive_key_use", "off")]));
});

each_backend!(unused_and_rotation_due_keys_are_flagged, |c: Control| async move {
    let pid = project(&c, "Acme").await;
    let (never, _) = key_created_at(&c, &pid, "never-used", NOW - days(100)).await;
    let (busy_old, _) = key_created_at(&c, &pid, "busy-old", NOW - days(91)).await;
    let (idle, _) = key_created_at(&c, &pid, "idle", NOW - days(200)).await;
    let (young, _) = key_created_at(&c, &pid, "young", NOW - days(89)).await;
    let (off, _) = key_created_at(&c, &pid, "off", NOW - days(300)).await;
    let (gone, _) = key_created_at(&c, &pid, "gone", NOW - days(300)).await;
    used_at(&c, &busy_old, NOW - days(1)).await;
    used_at(&c, &idle, NOW - days(95)).await;
    c.deactivate_key(&alice(), &off.id).await.unwrap();
    c.delete_key(&alice(), &gone.id).await.unwrap();

    let raised = c.detect_alerts(NOW).await.unwrap();
    assert_eq!(
        kinds(&raised),
        pairs(&[
            ("unused_key", "never-used"),
            ("unused_key", "idle"),
            ("rotation_due", "never-used"),
            ("rotation_due", "busy-old"),
            ("rotation_due", "idle"),
        ])
    );
    assert!(raised.iter().all(|a| a.severity == AlertSeverity::Info));
    let a = only(&raised, AlertKind::UnusedKey, &never);
    assert_eq!(a.detail["last_used_at"], json!(null));
    assert_eq!((a.detail["idle_days"].clone(), a.detail["threshold_days"].clone()), (json!(100), json!(90)));
    assert!(a.message.contains("never been used"), "{}", a.message);
    let b = only(&raised, AlertKind::UnusedKey, &idle);
    assert_eq!(b.detail["idle_days"], json!(95));
    assert!(b.message.contains("not been used for 95 days"), "{}", b.message);
    let r = only(&raised, AlertKind::RotationDue, &busy_old);
    assert_eq!(r.detail["age_days"], json!(91));
    assert!(r.message.contains("created 91 days ago"), "{}", r.message);

    // Used again, then idle again for 90 days: a new unused-key alert; rotation stays raised once.
    used_at(&c, &idle, NOW).await;
    assert!(c.detect_alerts(NOW + days(1)).await.unwrap().is_empty());
    let later = c.detect_alerts(NOW + days(91)).await.unwrap();
    assert!(kinds(&later).contains(&("unused_key".to_string(), "idle".to_string())), "{later:#?}");
    let rotations: Vec<&str> =
        later.iter().filter(|a| a.kind == AlertKind::RotationDue).filter_map(|a| a.key_name.as_deref()).collect();
    assert_eq!(rotations, vec![young.name.as_str()], "only the key that has just turned 90 days old");
});

each_backend!(rules_have_settable_thresholds, |c: Control| async move {
    let pid = project(&c, "Acme").await;
    let k = key(&c, &pid, "web").await;
    write(&c, vec![hour(&k, THIS_HOUR, 10, 3, 0, 10)], vec![]).await;
    assert!(c.detect_alerts(NOW).await.unwrap().is_empty());
    let strict = AlertRules { error_rate_min_requests: 10, rotation_after_days: 5, ..AlertRules::default() };
    let raised = c.detect_alerts_with(&strict, NOW).await.unwrap();
    assert_eq!(kinds(&raised), pairs(&[("high_error_rate", "web"), ("rotation_due", "web")]));
});

each_backend!(detection_is_deduplicated, |c: Control| async move {
    let pid = project(&c, "Acme").await;
    let (k, _) = key_created_at(&c, &pid, "web", NOW - days(120)).await;
    write(
        &c,
        vec![hour(&k, THIS_HOUR, 60, 30, 0, 10), refused(&k, PREV_HOUR, 5)],
        vec![country(&k, DAY0 - days(3), "DE", 1), country(&k, DAY0, "FR", 1)],
    )
    .await;
    let first = c.detect_alerts(NOW).await.unwrap();
    assert_eq!(first.len(), 5, "{first:#?}");
    assert!(c.detect_alerts(NOW).await.unwrap().is_empty(), "a second run raises nothing");
    assert!(c.detect_alerts(NOW + 30_000).await.unwrap().is_empty());
    assert_eq!(c.list_alerts(&pid, false).await.unwrap().len(), 5);
});

each_backend!(alerts_are_listed_and_acknowledged, |c: Control| async move {
    let pid = project(&c, "Acme").await;
    let other = project(&c, "Other").await;
    let (old, _) = key_created_at(&c, &pid, "old", NOW - days(100)).await;
    let (foreign, _) = key_created_at(&c, &other, "foreign", NOW - days(100)).await;
    write(&c, vec![refused(&old, DAY0 + days(1), 4)], vec![]).await;
    let first = c.detect_alerts(NOW).await.unwrap();
    assert_eq!(first.len(), 4, "unused + rotation for each key: {first:#?}");
    let second = c.detect_alerts(DAY0 + days(1) + hours(1)).await.unwrap();
    assert_eq!(kinds(&second), pairs(&[("inactive_key_use", "old")]));

    let listed = c.list_alerts(&pid, false).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].kind, AlertKind::InactiveKeyUse, "newest first");
    assert!(listed.iter().all(|a| a.project_id == pid && a.key_id.as_deref() == Some(old.id.as_str())));
    assert!(!listed.iter().any(|a| a.key_id.as_deref() == Some(foreign.id.as_str())));
    let v = serde_json::to_value(&listed[0]).unwrap();
    let mut fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        vec![
            "acknowledged_at",
            "acknowledged_by",
            "created_at",
            "detail",
            "id",
            "key_id",
            "key_name",
            "kind",
            "message",
            "project_id",
            "severity"
        ]
    );
    assert_eq!((v["kind"].clone(), v["severity"].clone()), (json!("inactive_key_use"), json!("warning")));

    let target = listed[1].id.clone();
    let acked = c.acknowledge_alert(&alice(), &target).await.unwrap();
    assert_eq!(acked.acknowledged_by.as_deref(), Some("user:alice@example.com"));
    let at = acked.acknowledged_at.clone().unwrap();
    let again = c.acknowledge_alert(&Actor("user:bob@example.com".into()), &target).await.unwrap();
    assert_eq!(
        (again.acknowledged_at.as_deref(), again.acknowledged_by.as_deref()),
        (Some(at.as_str()), Some("user:alice@example.com")),
        "the first acknowledgement stays"
    );
    let audit = c.store().audit_for_target(&target).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!((audit[0].action.as_str(), audit[0].actor.as_str()), ("alert.acknowledge", "user:alice@example.com"));
    assert_eq!(audit[0].project_id.as_deref(), Some(pid.as_str()));

    let open: Vec<String> = c.list_alerts(&pid, false).await.unwrap().into_iter().map(|a| a.id).collect();
    assert_eq!(open.len(), 2);
    assert!(!open.contains(&target));
    let all = c.list_alerts(&pid, true).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().any(|a| a.id == target && a.acknowledged_at.is_some()));

    match c.acknowledge_alert(&alice(), "alrt_nope").await {
        Err(ControlError::NotFound { what, id }) => assert_eq!((what, id.as_str()), ("alert", "alrt_nope")),
        other => panic!("expected NotFound, got {other:?}"),
    }
    match c.list_alerts("proj_nope", false).await {
        Err(ControlError::NotFound { what, .. }) => assert_eq!(what, "project"),
        other => panic!("expected NotFound, got {other:?}"),
    }
});
