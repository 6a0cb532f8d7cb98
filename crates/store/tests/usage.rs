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
        counts: UsageCounts {
            requests,
            errors,
            limited,
            refused: 0,
            latency_us_sum: requests * 1000,
            latency_us_max: latency_max,
        },
    }
}

fn country(key: &str, day: i64, country: &str, requests: i64) -> CountryDelta {
    CountryDelta { key_id: key.into(), project_id: "p".into(), day, country: country.into(), requests }
}

/// `calls` AI calls of `model` by `provider`, each of 100 prompt and 20 completion tokens,
/// costing `cost_ucents` in all.
fn model(key: &str, hour: i64, model: &str, provider: &str, calls: i64, cost_ucents: i64) -> ModelDelta {
    ModelDelta {
        key_id: key.into(),
        project_id: "p".into(),
        hour,
        model: model.into(),
        provider: provider.into(),
        calls,
        prompt_tokens: calls * 100,
        completion_tokens: calls * 20,
        cost_ucents,
    }
}

/// (key, model, provider, calls, prompt tokens, completion tokens, cost) of each total.
fn model_figures(totals: &[ModelTotal]) -> Vec<(&str, &str, &str, i64, i64, i64, i64)> {
    totals
        .iter()
        .map(|t| {
            (
                t.key_id.as_str(),
                t.model.as_str(),
                t.provider.as_str(),
                t.calls,
                t.prompt_tokens,
                t.completion_tokens,
                t.cost_ucents,
            )
        })
        .collect()
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
        models: vec![],
        last_used: vec![("k1".into(), h + 10)],
    };
    s.write_usage(&first).await.unwrap();
    let mut refused = hourly("k1", h, 20, 3, 4, 700);
    refused.counts.refused = 2;
    let second = UsageBatch {
        hourly: vec![refused, hourly("k1", h + HOUR_MS, 1, 1, 0, 50)],
        countries: vec![country("k1", DAY0, "DE", 1)],
        models: vec![],
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
    let c = &rows[0].counts;
    assert_eq!((c.requests, c.errors, c.limited, c.refused), (35, 5, 5, 2));

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
    assert_eq!((rows[0].counts.latency_us_max, rows[0].counts.latency_us_sum), (1200, 3000));
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
        models: vec![],
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
        models: vec![
            model("k1", DAY0 + HOUR_MS, "gpt-4o", "openai", 1, 10),
            model("k1", DAY0 + DAY_MS - HOUR_MS, "gpt-4o-mini", "openai", 1, 1),
            model("k1", DAY0 + DAY_MS, "gpt-4o", "openai", 2, 20),
        ],
        last_used: vec![],
    };
    s.write_usage(&batch).await.unwrap();
    assert_eq!(
        s.prune_usage(DAY0 + DAY_MS).await.unwrap(),
        4,
        "one hour, one country day and two model hours (the cutoff's hour stays)"
    );
    let left = s.usage_by_key(UsageScope::Key("k1"), 0, DAY0 + 2 * DAY_MS).await.unwrap();
    assert_eq!(left[0].1.requests, 2);
    let models = s.usage_by_model(UsageScope::Key("k1"), 0, i64::MAX).await.unwrap();
    assert_eq!(model_figures(&models), vec![("k1", "gpt-4o", "openai", 2, 200, 40, 20)]);
    assert_eq!(s.prune_usage(DAY0 + DAY_MS).await.unwrap(), 0);
});

each_backend!(model_usage_adds_up_across_batches, |s: Store| async move {
    key(&s, "k1", "p", DAY0).await;
    let h = DAY0 + 5 * HOUR_MS;
    let first = UsageBatch {
        hourly: vec![hourly("k1", h, 4, 0, 0, 10)],
        models: vec![
            // Two deltas for one (key, hour, model, provider) in one batch are merged.
            model("k1", h, "gpt-4o", "openai", 1, 250_000),
            model("k1", h, "gpt-4o", "openai", 2, 500_000),
            model("k1", h, "claude-sonnet", "anthropic", 1, 300_000),
        ],
        ..UsageBatch::default()
    };
    s.write_usage(&first).await.unwrap();
    let second = UsageBatch {
        models: vec![
            model("k1", h, "gpt-4o", "openai", 1, 250_001),
            // Another provider of the same model is its own row.
            model("k1", h, "gpt-4o", "azure", 1, 260_000),
            // Another hour of the same model adds to the period's total.
            model("k1", h + HOUR_MS, "claude-sonnet", "anthropic", 2, 600_000),
        ],
        ..UsageBatch::default()
    };
    s.write_usage(&second).await.unwrap();
    // A batch of model rows alone is written too.
    s.write_usage(&UsageBatch { models: vec![model("k1", h, "tiny", "local", 5, 0)], ..UsageBatch::default() })
        .await
        .unwrap();

    let totals = s.usage_by_model(UsageScope::Key("k1"), DAY0, DAY0 + DAY_MS).await.unwrap();
    assert_eq!(
        model_figures(&totals),
        vec![
            ("k1", "gpt-4o", "openai", 4, 400, 80, 1_000_001),
            ("k1", "claude-sonnet", "anthropic", 3, 300, 60, 900_000),
            ("k1", "gpt-4o", "azure", 1, 100, 20, 260_000),
            ("k1", "tiny", "local", 5, 500, 100, 0),
        ],
        "highest cost first"
    );
    // The hourly counters are untouched by model rows.
    let by_key = s.usage_by_key(UsageScope::Key("k1"), DAY0, DAY0 + DAY_MS).await.unwrap();
    assert_eq!(by_key[0].1.requests, 4);
});

each_backend!(model_usage_scope_window_and_order, |s: Store| async move {
    project(&s, "other").await;
    let h = DAY0 + 10 * HOUR_MS;
    let mut foreign = model("k9", h, "gpt-4o", "openai", 50, 9_000_000);
    foreign.project_id = "other".into();
    let batch = UsageBatch {
        models: vec![
            model("k1", h, "gpt-4o", "openai", 2, 1_000),
            model("k2", h, "gpt-4o", "openai", 1, 1_000),
            // Same cost, fewer calls than k1's: after it. Same cost and calls as k2's: by model.
            model("k1", h + HOUR_MS, "b-model", "openai", 1, 1_000),
            model("k2", h - HOUR_MS, "a-model", "openai", 1, 1_000),
            model("k1", h, "cheap", "openai", 9, 10),
            model("k1", h - 2 * HOUR_MS, "before", "openai", 1, 99_999), // before the window
            model("k2", h + 2 * HOUR_MS, "after", "openai", 1, 99_999),  // at the window's end
            foreign,
        ],
        ..UsageBatch::default()
    };
    s.write_usage(&batch).await.unwrap();
    let from = h - HOUR_MS;
    let until = h + 2 * HOUR_MS;

    let project = s.usage_by_model(UsageScope::Project("p"), from, until).await.unwrap();
    assert_eq!(
        model_figures(&project),
        vec![
            ("k1", "gpt-4o", "openai", 2, 200, 40, 1_000),
            ("k2", "a-model", "openai", 1, 100, 20, 1_000),
            ("k1", "b-model", "openai", 1, 100, 20, 1_000),
            ("k2", "gpt-4o", "openai", 1, 100, 20, 1_000),
            ("k1", "cheap", "openai", 9, 900, 180, 10),
        ]
    );
    let k2 = s.usage_by_model(UsageScope::Key("k2"), from, until).await.unwrap();
    let got: Vec<_> = k2.iter().map(|t| t.model.as_str()).collect();
    assert_eq!(got, vec!["a-model", "gpt-4o"]);
    // The whole history of the key, and the other project's usage on its own.
    let all = s.usage_by_model(UsageScope::Key("k2"), 0, i64::MAX).await.unwrap();
    let got: Vec<_> = all.iter().map(|t| t.model.as_str()).collect();
    assert_eq!(got, vec!["after", "a-model", "gpt-4o"]);
    let other = s.usage_by_model(UsageScope::Project("other"), 0, i64::MAX).await.unwrap();
    assert_eq!(model_figures(&other), vec![("k9", "gpt-4o", "openai", 50, 5_000, 1_000, 9_000_000)]);
    assert!(s.usage_by_model(UsageScope::Project("nope"), 0, i64::MAX).await.unwrap().is_empty());
    assert!(s.usage_by_model(UsageScope::Key("k1"), until, i64::MAX).await.unwrap().is_empty());
});

each_backend!(model_rows_beyond_one_statement, |s: Store| async move {
    let hour = DAY0 + 3 * HOUR_MS;
    // 600 rows: three statements of at most 250 rows; written twice to add to every row.
    let batch = UsageBatch {
        models: (0..600)
            .map(|i| model(&format!("key_{:03}", i % 200), hour, &format!("m{}", i / 200), "x", 1, 7))
            .collect(),
        ..UsageBatch::default()
    };
    s.write_usage(&batch).await.unwrap();
    s.write_usage(&batch).await.unwrap();
    let totals = s.usage_by_model(UsageScope::Project("p"), hour, hour + HOUR_MS).await.unwrap();
    assert_eq!(totals.len(), 600);
    assert!(totals.iter().all(|t| t.calls == 2 && t.prompt_tokens == 200 && t.cost_ucents == 14));
});
