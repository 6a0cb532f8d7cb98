//! Usage counters and alerts in the store, run against every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use regpilot_store::testing::{backends, fresh_store};
use regpilot_store::*;

/// 2026-03-10T00:00:00Z.
const DAY0: i64 = 1_773_100_800_000;

fn audit(action: &str, target: &str, project: &str, at: i64) -> AuditEntry {
    AuditEntry {
        at,
        actor: "test".into(),
        action: action.into(),
        target_type: "alert".into(),
        target_id: target.into(),
        project_id: Some(project.into()),
        detail: None,
    }
}

async fn project(s: &Store, id: &str) {
    let p = ProjectRow {
        id: id.into(),
        name: "P".into(),
        plan: "pro".into(),
        daily_limit: None,
        burst: None,
        created_at: DAY0,
    };
    s.insert_project(&p, &audit("project.create", id, id, DAY0)).await.unwrap();
}

async fn key(s: &Store, id: &str, project: &str, created_at: i64) -> KeyRow {
    let k = KeyRow {
        id: id.into(),
        project_id: project.into(),
        name: format!("name of {id}"),
        key_type: "gateway".into(),
        environment: "production".into(),
        scopes: "chat models".into(),
        status: "active".into(),
        digest: format!("digest-{id}"),
        display_prefix: "sk_prod_abcd…wxyz".into(),
        created_at,
        created_by: "test".into(),
        expires_at: None,
        last_used_at: None,
        deleted_at: None,
    };
    s.insert_key(&k, &audit("key.create", id, project, created_at)).await.unwrap();
    k
}

fn hourly(key: &str, hour: i64, requests: i64, errors: i64, limited: i64, latency_max: i64) -> HourlyDelta {
    HourlyDelta {
        key_id: key.into(),
        project_id: "p".into(),
        hour,
        requests,
        errors,
        limited,
        refused: 0,
        latency_us_sum: requests * 1000,
        latency_us_max: latency_max,
    }
}

fn country(key: &str, day: i64, country: &str, requests: i64) -> CountryDelta {
    CountryDelta { key_id: key.into(), project_id: "p".into(), day, country: country.into(), requests }
}

macro_rules! each_backend {
    ($name:ident, $body:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in backends() {
                eprintln!("backend: {}", backend.as_str());
                let store = fresh_store(backend).await;
                project(&store, "p").await;
                let f = $body;
                f(store).await;
            }
        }
    };
}

each_backend!(write_usage_adds_up_across_batches, |s: Store| async move {
    key(&s, "k1", "p", DAY0).await;
    let h = DAY0 + 5 * HOUR_MS;
    let first = UsageBatch {
        // Two deltas for one (key, hour) in one batch are merged, not refused.
        hourly: vec![hourly("k1", h, 10, 2, 1, 900), hourly("k1", h, 5, 0, 0, 300)],
        countries: vec![country("k1", DAY0, "DE", 9), country("k1", DAY0, "unknown", 6)],
        last_used: vec![("k1".into(), h + 10)],
    };
    s.write_usage(&first).await.unwrap();
    let mut refused = hourly("k1", h, 20, 3, 4, 700);
    refused.refused = 2;
    let second = UsageBatch {
        hourly: vec![refused, hourly("k1", h + HOUR_MS, 1, 1, 0, 50)],
        countries: vec![country("k1", DAY0, "DE", 1)],
        last_used: vec![],
    };
    s.write_usage(&second).await.unwrap();
    s.write_usage(&UsageBatch::default()).await.unwrap();

    let by_key = s.usage_by_key(UsageScope::Project("p"), DAY0, DAY0 + DAY_MS).await.unwrap();
    assert_eq!(
        by_key,
        vec![(
            "k1".to_string(),
            UsageCounts {
                requests: 36,
                errors: 6,
                limited: 5,
                refused: 2,
                latency_us_sum: 36_000,
                latency_us_max: 900
            }
        )]
    );
    let hours = s.usage_buckets(UsageScope::Key("k1"), Bucket::Hour, DAY0, DAY0 + DAY_MS).await.unwrap();
    let figures: Vec<_> = hours.iter().map(|(start, c)| (*start, c.requests, c.latency_us_max)).collect();
    assert_eq!(figures, vec![(h, 35, 900), (h + HOUR_MS, 1, 50)]);
    let rows = s.usage_hours(&[h]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].requests, rows[0].errors, rows[0].limited, rows[0].refused), (35, 5, 5, 2));

    let countries = s.usage_countries(UsageScope::Key("k1"), DAY0, DAY0 + DAY_MS).await.unwrap();
    let got: Vec<_> = countries.iter().map(|c| (c.country.as_str(), c.requests)).collect();
    assert_eq!(got, vec![("DE", 10), ("unknown", 6)]);
});

each_backend!(latency_max_is_the_maximum_whatever_the_order, |s: Store| async move {
    key(&s, "k1", "p", DAY0).await;
    for max in [300, 1200, 800] {
        s.write_usage(&UsageBatch { hourly: vec![hourly("k1", DAY0, 1, 0, 0, max)], ..UsageBatch::default() })
            .await
            .unwrap();
    }
    let rows = s.usage_hours(&[DAY0]).await.unwrap();
    assert_eq!((rows[0].latency_us_max, rows[0].latency_us_sum), (1200, 3000));
});

each_backend!(last_used_is_raised_never_lowered, |s: Store| async move {
    key(&s, "k1", "p", DAY0).await;
    key(&s, "k2", "p", DAY0).await;
    let used = |pairs: &[(&str, i64)]| UsageBatch {
        last_used: pairs.iter().map(|(k, t)| (k.to_string(), *t)).collect(),
        ..UsageBatch::default()
    };
    s.write_usage(&used(&[("k1", DAY0 + 500), ("k1", DAY0 + 900), ("k2", DAY0 + 100)])).await.unwrap();
    assert_eq!(s.get_key("k1").await.unwrap().unwrap().last_used_at, Some(DAY0 + 900));
    assert_eq!(s.get_key("k2").await.unwrap().unwrap().last_used_at, Some(DAY0 + 100));
    // An older time (a late batch from another instance) leaves it where it is.
    s.write_usage(&used(&[("k1", DAY0 + 200), ("k2", DAY0 + 300)])).await.unwrap();
    assert_eq!(s.get_key("k1").await.unwrap().unwrap().last_used_at, Some(DAY0 + 900));
    assert_eq!(s.get_key("k2").await.unwrap().unwrap().last_used_at, Some(DAY0 + 300));
    // A key id that does not exist changes nothing and fails nothing.
    s.write_usage(&used(&[("nope", DAY0)])).await.unwrap();
});

each_backend!(daily_used_counts_todays_admitted_requests, |s: Store| async move {
    key(&s, "k1", "p", DAY0).await;
    key(&s, "k2", "p", DAY0).await;
    let today = DAY0 + DAY_MS;
    let batch = UsageBatch {
        hourly: vec![
            hourly("k1", today - HOUR_MS, 500, 0, 0, 1), // yesterday's last hour
            hourly("k1", today, 40, 5, 10, 1),
            hourly("k1", today + 3 * HOUR_MS, 7, 0, 2, 1),
            hourly("k2", today + 23 * HOUR_MS, 3, 3, 0, 1),
        ],
        ..UsageBatch::default()
    };
    s.write_usage(&batch).await.unwrap();
    // Errors count against the quota; requests refused by the limiter do not.
    assert_eq!(s.daily_used(today).await.unwrap(), vec![("k1".to_string(), 35), ("k2".to_string(), 3)]);
    assert_eq!(s.daily_used(today + DAY_MS).await.unwrap(), vec![]);
});

each_backend!(daily_buckets_and_project_scope, |s: Store| async move {
    project(&s, "other").await;
    key(&s, "k1", "p", DAY0).await;
    let mut foreign = hourly("k9", DAY0, 99, 0, 0, 1);
    foreign.project_id = "other".into();
    let batch = UsageBatch {
        hourly: vec![
            hourly("k1", DAY0 + 23 * HOUR_MS, 4, 1, 0, 1),
            hourly("k1", DAY0 + 24 * HOUR_MS, 6, 0, 0, 1),
            hourly("k1", DAY0 + 30 * HOUR_MS, 1, 0, 0, 1),
            foreign,
        ],
        ..UsageBatch::default()
    };
    s.write_usage(&batch).await.unwrap();
    let days = s.usage_buckets(UsageScope::Project("p"), Bucket::Day, DAY0, DAY0 + 2 * DAY_MS).await.unwrap();
    let got: Vec<_> = days.iter().map(|(d, c)| (*d, c.requests, c.errors)).collect();
    assert_eq!(got, vec![(DAY0, 4, 1), (DAY0 + DAY_MS, 7, 0)]);
    // The upper bound is exclusive.
    let first = s.usage_by_key(UsageScope::Project("p"), DAY0, DAY0 + DAY_MS).await.unwrap();
    assert_eq!(first[0].1.requests, 4);
    let other = s.usage_by_key(UsageScope::Project("other"), 0, i64::MAX).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].0, "k9");
});

each_backend!(write_usage_batch_of_1000_rows, |s: Store| async move {
    let hour = DAY0 + 7 * HOUR_MS;
    let batch = UsageBatch {
        hourly: (0..1000).map(|i| hourly(&format!("key_{i:04}"), hour, 3, 1, 0, 10)).collect(),
        countries: (0..1000).map(|i| country(&format!("key_{i:04}"), DAY0, "FR", 3)).collect(),
        last_used: (0..1000).map(|i| (format!("key_{i:04}"), hour + 5)).collect(),
    };
    let start = std::time::Instant::now();
    s.write_usage(&batch).await.unwrap();
    let first = start.elapsed();
    let start = std::time::Instant::now();
    s.write_usage(&batch).await.unwrap();
    eprintln!(
        "{}: write_usage of 1,000 hourly + 1,000 country rows + 1,000 last-used: {first:?} (inserting), {:?} \
         (adding to existing rows)",
        s.backend().as_str(),
        start.elapsed()
    );
    let totals = s.usage_by_key(UsageScope::Project("p"), hour, hour + HOUR_MS).await.unwrap();
    assert_eq!(totals.len(), 1000);
    assert!(totals.iter().all(|(_, c)| c.requests == 6 && c.errors == 2));
});

each_backend!(alerts_dedupe_list_and_acknowledge, |s: Store| async move {
    key(&s, "k1", "p", DAY0).await;
    let alert = |id: &str, dedupe: &str, at: i64| AlertRow {
        id: id.into(),
        project_id: "p".into(),
        key_id: Some("k1".into()),
        kind: "volume_spike".into(),
        severity: "warning".into(),
        message: "m".into(),
        detail: "{}".into(),
        dedupe: dedupe.into(),
        created_at: at,
        acknowledged_at: None,
        acknowledged_by: None,
        key_name: None,
    };
    assert!(s.insert_alert(&alert("a1", "d1", DAY0)).await.unwrap());
    assert!(!s.insert_alert(&alert("a2", "d1", DAY0 + 1)).await.unwrap(), "same dedupe: not inserted");
    assert!(s.insert_alert(&alert("a3", "d3", DAY0 + 2)).await.unwrap());
    let mut no_key = alert("a4", "d4", DAY0 + 3);
    no_key.key_id = None;
    assert!(s.insert_alert(&no_key).await.unwrap());

    let listed = s.list_alerts("p", false).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, vec!["a4", "a3", "a1"], "newest first");
    assert_eq!(listed[1].key_name.as_deref(), Some("name of k1"));
    assert_eq!(listed[0].key_name, None);
    assert!(s.get_alert("a2").await.unwrap().is_none());

    let acked = s.acknowledge_alert("a3", &audit("alert.acknowledge", "a3", "p", DAY0 + 10)).await.unwrap().unwrap();
    assert_eq!((acked.acknowledged_at, acked.acknowledged_by.as_deref()), (Some(DAY0 + 10), Some("test")));
    let mut second = audit("alert.acknowledge", "a3", "p", DAY0 + 20);
    second.actor = "someone else".into();
    let again = s.acknowledge_alert("a3", &second).await.unwrap().unwrap();
    assert_eq!((again.acknowledged_at, again.acknowledged_by.as_deref()), (Some(DAY0 + 10), Some("test")));
    assert_eq!(s.audit_for_target("a3").await.unwrap().len(), 1, "only the first acknowledgement is audited");
    assert!(s.acknowledge_alert("nope", &audit("alert.acknowledge", "nope", "p", DAY0)).await.unwrap().is_none());

    let open: Vec<_> = s.list_alerts("p", false).await.unwrap().into_iter().map(|a| a.id).collect();
    assert_eq!(open, vec!["a4", "a1"]);
    assert_eq!(s.list_alerts("p", true).await.unwrap().len(), 3);
    // Of alerts raised together, warnings come before info.
    let mut info = alert("a5", "d5", DAY0 + 50);
    info.severity = "info".into();
    info.kind = "rotation_due".into();
    assert!(s.insert_alert(&info).await.unwrap());
    assert!(s.insert_alert(&alert("a6", "d6", DAY0 + 50)).await.unwrap());
    let newest: Vec<_> = s.list_alerts("p", false).await.unwrap().into_iter().map(|a| a.id).take(2).collect();
    assert_eq!(newest, vec!["a6", "a5"]);
    assert!(s.list_alerts("other", true).await.unwrap().is_empty());
});

each_backend!(rule_queries, |s: Store| async move {
    let today = DAY0 + 40 * DAY_MS;
    let since = today - 30 * DAY_MS;
    // k1: DE before, FR today (new). k2: no history, US today (baseline). k3: only unknown
    // before, CH today (no known history yet). k4: DE 31 days ago (outside), DE today.
    let batch = UsageBatch {
        countries: vec![
            country("k1", today - 3 * DAY_MS, "DE", 5),
            country("k1", today, "DE", 2),
            country("k1", today, "FR", 4),
            country("k1", today, "unknown", 4),
            country("k2", today, "US", 1),
            country("k3", today - DAY_MS, "unknown", 9),
            country("k3", today, "CH", 1),
            country("k4", today - 31 * DAY_MS, "DE", 1),
            country("k4", today - 2 * DAY_MS, "AT", 1),
            country("k4", today, "DE", 1),
        ],
        ..UsageBatch::default()
    };
    s.write_usage(&batch).await.unwrap();
    let new: Vec<_> =
        s.new_countries(today, since).await.unwrap().into_iter().map(|n| (n.key_id, n.country, n.requests)).collect();
    assert_eq!(new, vec![("k1".into(), "FR".into(), 4), ("k4".into(), "DE".into(), 1)]);

    let hour = today + 10 * HOUR_MS;
    let mut rows = vec![hourly("k1", hour, 60, 0, 0, 1), hourly("k2", hour, 9, 0, 0, 1)];
    for (i, n) in [4, 0, 6].iter().enumerate() {
        rows.push(hourly("k1", hour - (i as i64 + 1) * HOUR_MS, *n, 0, 0, 1));
    }
    rows.push(hourly("k1", hour - 8 * DAY_MS, 100, 0, 0, 1)); // outside the 7-day window
    s.write_usage(&UsageBatch { hourly: rows, ..UsageBatch::default() }).await.unwrap();
    let with_baseline = s.hours_with_baseline(hour, 7 * DAY_MS, 10).await.unwrap();
    assert_eq!(with_baseline.len(), 1, "k2 is below the minimum");
    let b = &with_baseline[0];
    assert_eq!((b.key_id.as_str(), b.requests, b.baseline_hours, b.baseline_requests), ("k1", 60, 2, 10));

    key(&s, "old", "p", today - 100 * DAY_MS).await;
    key(&s, "used", "p", today - 100 * DAY_MS).await;
    key(&s, "young", "p", today - 10 * DAY_MS).await;
    let gone = key(&s, "gone", "p", today - 100 * DAY_MS).await;
    s.change_key_status(&gone.id, &["active"], "inactive", &audit("key.deactivate", "gone", "p", today)).await.unwrap();
    s.write_usage(&UsageBatch { last_used: vec![("used".into(), today - DAY_MS)], ..UsageBatch::default() })
        .await
        .unwrap();
    let idle: Vec<_> = s.keys_idle_since(today - 90 * DAY_MS, today).await.unwrap().into_iter().map(|k| k.id).collect();
    assert_eq!(idle, vec!["old"]);
    let aged: Vec<_> =
        s.keys_created_before(today - 90 * DAY_MS, today).await.unwrap().into_iter().map(|k| k.id).collect();
    assert_eq!(aged, vec!["old", "used"]);
});

each_backend!(old_usage_is_pruned_and_recent_usage_kept, |s: Store| async move {
    key(&s, "k1", "p", DAY0).await;
    let batch = UsageBatch {
        hourly: vec![hourly("k1", DAY0 + HOUR_MS, 1, 0, 0, 1), hourly("k1", DAY0 + DAY_MS, 2, 0, 0, 1)],
        countries: vec![country("k1", DAY0, "DE", 1), country("k1", DAY0 + DAY_MS, "DE", 2)],
        last_used: vec![],
    };
    s.write_usage(&batch).await.unwrap();
    assert_eq!(s.prune_usage(DAY0 + DAY_MS).await.unwrap(), 2, "one hour and one country day");
    let left = s.usage_by_key(UsageScope::Key("k1"), 0, DAY0 + 2 * DAY_MS).await.unwrap();
    assert_eq!(left[0].1.requests, 2);
    assert_eq!(s.prune_usage(DAY0 + DAY_MS).await.unwrap(), 0);
});
