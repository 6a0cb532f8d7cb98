//! Usage reports (SPEC §8) over crafted histories, run against every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod history;

use history::*;
use regpilot_control::*;
use regpilot_store::testing::{backends, fresh_store};
use serde_json::{json, Value};

macro_rules! each_backend {
    ($name:ident, $body:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in backends() {
                eprintln!("backend: {}", backend.as_str());
                let control = Control::new(fresh_store(backend).await);
                let f = $body;
                f(control).await;
            }
        }
    };
}

fn field_names(v: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    names.sort_unstable();
    names
}

each_backend!(report_totals_keys_days_and_period_bounds, |c: Control| async move {
    let pid = project(&c, "Acme").await;
    let web = key(&c, &pid, "web").await;
    let batch = key(&c, &pid, "batch").await;
    let idle = key(&c, &pid, "idle").await;
    let other_pid = project(&c, "Other").await;
    let foreign = key(&c, &other_pid, "foreign").await;
    write(
        &c,
        vec![
            hour(&web, THIS_HOUR, 10, 2, 1, 20),
            hour(&web, DAY0, 5, 0, 0, 50),                        // today's first hour
            hour(&web, DAY0 - hours(1), 7, 0, 0, 10),             // yesterday's last hour
            hour(&web, DAY0 - days(6), 3, 1, 0, 10),              // the week's first hour
            hour(&web, DAY0 - days(6) - hours(1), 100, 0, 0, 10), // just before the week
            hour(&web, DAY0 - days(29), 1, 0, 0, 10),             // the month's first day
            hour(&web, DAY0 - days(30), 1000, 0, 0, 10),          // before the month
            hour(&web, THIS_HOUR + hours(1), 500, 0, 0, 10),      // after now
            hour(&batch, PREV_HOUR, 3, 3, 0, 100),
            hour(&foreign, THIS_HOUR, 50, 0, 0, 10),
        ],
        vec![
            country(&web, DAY0, "DE", 12),
            country(&web, DAY0, "unknown", 3),
            country(&web, DAY0 - days(1), "FR", 7),
            country(&batch, DAY0, "US", 3),
            country(&foreign, DAY0, "JP", 50),
        ],
    )
    .await;
    used_at(&c, &web, THIS_HOUR + 60_000).await;

    let day = c.usage_report(&pid, UsagePeriod::Day, NOW).await.unwrap();
    let v = serde_json::to_value(&day).unwrap();
    assert_eq!(
        field_names(&v),
        vec![
            "avg_latency_ms",
            "days",
            "error_rate",
            "errors",
            "from",
            "keys",
            "period",
            "project_id",
            "rate_limited",
            "requests",
            "to"
        ]
    );
    assert_eq!(v["period"], "day");
    assert_eq!(v["from"], "2026-03-10T00:00:00Z");
    assert_eq!(v["to"], "2026-03-10T14:30:00Z");
    // web 10 + 5, batch 3; the hour after now and the other project are not counted.
    assert_eq!((day.requests, day.errors, day.rate_limited), (18, 5, 1));
    assert_eq!(day.error_rate, 0.2778, "5/18 rounded to 4 places");
    // (10·20 + 5·50 + 3·100) ms / 18
    assert_eq!(day.avg_latency_ms, Some(41.667));
    let names: Vec<&str> = day.keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, vec!["web", "batch"], "most requests first; keys without usage left out");
    assert!(!names.contains(&idle.name.as_str()));
    assert_eq!(
        v["keys"][0],
        json!({
            "key_id": web.id, "name": "web", "prefix": web.display_prefix, "type": "gateway",
            "environment": "production", "status": "active", "requests": 15, "errors": 2,
            "error_rate": 0.1333, "rate_limited": 1, "avg_latency_ms": 30.0,
            "last_used_at": "2026-03-10T14:01:00Z",
            "countries": [{"country": "DE", "requests": 12}, {"country": "unknown", "requests": 3}],
        })
    );
    assert_eq!(v["keys"][1]["error_rate"], 1.0);
    assert_eq!(v["keys"][1]["last_used_at"], Value::Null);
    assert_eq!(v["days"], json!([{"date": "2026-03-10", "requests": 18, "errors": 5, "error_rate": 0.2778}]));

    let week = c.usage_report(&pid, UsagePeriod::Week, NOW).await.unwrap();
    assert_eq!(week.from, "2026-03-04T00:00:00Z");
    assert_eq!(week.requests, 18 + 7 + 3);
    let days: Vec<(&str, i64)> = week.days.iter().map(|d| (d.date.as_str(), d.requests)).collect();
    assert_eq!(
        days,
        vec![
            ("2026-03-04", 3),
            ("2026-03-05", 0),
            ("2026-03-06", 0),
            ("2026-03-07", 0),
            ("2026-03-08", 0),
            ("2026-03-09", 7),
            ("2026-03-10", 18)
        ]
    );
    assert_eq!(week.days[0].error_rate, 0.3333);
    assert_eq!(week.keys[0].countries.len(), 3, "FR from yesterday joins DE and unknown");

    let month = c.usage_report(&pid, UsagePeriod::Month, NOW).await.unwrap();
    assert_eq!(month.from, "2026-02-09T00:00:00Z");
    assert_eq!(month.days.len(), 30);
    assert_eq!(month.days.first().unwrap().date, "2026-02-09");
    assert_eq!(month.days.first().unwrap().requests, 1);
    assert_eq!(month.requests, 18 + 7 + 3 + 100 + 1);
});

each_backend!(report_of_a_quiet_project_and_deleted_keys, |c: Control| async move {
    let pid = project(&c, "Quiet").await;
    let quiet = c.usage_report(&pid, UsagePeriod::Week, NOW).await.unwrap();
    let v = serde_json::to_value(&quiet).unwrap();
    assert_eq!((v["requests"].clone(), v["error_rate"].clone()), (json!(0), json!(0.0)));
    assert_eq!(v["avg_latency_ms"], Value::Null);
    assert_eq!(v["keys"], json!([]));
    assert_eq!(quiet.days.len(), 7);
    assert!(quiet.days.iter().all(|d| d.requests == 0 && d.error_rate == 0.0));

    // A deleted key keeps its place in the period it was used in.
    let gone = key(&c, &pid, "gone").await;
    write(&c, vec![hour(&gone, DAY0 + hours(2), 4, 0, 0, 5)], vec![]).await;
    c.delete_key(&alice(), &gone.id).await.unwrap();
    let day = c.usage_report(&pid, UsagePeriod::Day, NOW).await.unwrap();
    assert_eq!(day.keys.len(), 1);
    assert_eq!((day.keys[0].status, day.keys[0].requests), (KeyStatus::Deleted, 4));
});

each_backend!(report_errors, |c: Control| async move {
    match c.usage_report("proj_nope", UsagePeriod::Day, NOW).await {
        Err(ControlError::NotFound { what, id }) => assert_eq!((what, id.as_str()), ("project", "proj_nope")),
        other => panic!("expected NotFound, got {other:?}"),
    }
    match "fortnight".parse::<UsagePeriod>() {
        Err(ControlError::Invalid { field, message }) => {
            assert_eq!(field, "period");
            assert_eq!(message, "period must be one of: day, week, month");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!("day".parse::<UsagePeriod>().unwrap(), UsagePeriod::Day);
    assert_eq!(UsagePeriod::Month.to_string(), "month");
});

each_backend!(key_usage_totals_hours_days_countries, |c: Control| async move {
    let pid = project(&c, "Acme").await;
    let web = key(&c, &pid, "web").await;
    let mut with_refused = hour(&web, PREV_HOUR, 8, 4, 2, 10);
    with_refused.refused = 5;
    write(
        &c,
        vec![
            hour(&web, THIS_HOUR, 2, 0, 0, 30),
            with_refused,
            hour(&web, THIS_HOUR - hours(23), 1, 1, 0, 7), // the first of the 24 hours
            hour(&web, THIS_HOUR - hours(24), 40, 0, 0, 1), // outside the 24 hours, inside 30 days
            hour(&web, DAY0 - days(29), 6, 0, 0, 1),
            hour(&web, DAY0 - days(45), 100, 50, 0, 1), // all time only
        ],
        vec![
            country(&web, DAY0, "DE", 10),
            country(&web, DAY0 - days(29), "BR", 6),
            country(&web, DAY0 - days(30), "CN", 100),
        ],
    )
    .await;

    let u = c.key_usage(&web.id, NOW).await.unwrap();
    assert_eq!((u.key_id.as_str(), u.project_id.as_str(), u.name.as_str()), (web.id.as_str(), pid.as_str(), "web"));
    assert_eq!((u.requests, u.errors, u.rate_limited, u.refused), (157, 55, 2, 5));
    assert_eq!(u.error_rate, 0.3503);
    assert_eq!(u.max_latency_ms, Some(30.0));
    assert_eq!(u.last_used_at, None);

    assert_eq!(u.hourly.len(), 24);
    assert_eq!(u.hourly[0].hour, "2026-03-09T15:00:00Z");
    assert_eq!((u.hourly[0].requests, u.hourly[0].errors, u.hourly[0].avg_latency_ms), (1, 1, Some(7.0)));
    assert_eq!(u.hourly[23].hour, "2026-03-10T14:00:00Z");
    assert_eq!(u.hourly[23].requests, 2);
    let prev = &u.hourly[22];
    assert_eq!((prev.requests, prev.errors, prev.rate_limited, prev.refused), (8, 4, 2, 5));
    assert_eq!(u.hourly.iter().map(|h| h.requests).sum::<i64>(), 11, "the rest is zero-filled");
    assert_eq!(u.hourly[5].avg_latency_ms, None);

    assert_eq!(u.daily.len(), 30);
    assert_eq!((u.daily[0].date.as_str(), u.daily[0].requests), ("2026-02-09", 6));
    assert_eq!(u.daily[29].date, "2026-03-10");
    assert_eq!(u.daily[29].requests, 10);
    assert_eq!(u.daily[28].requests, 41, "yesterday: the hour outside the 24 and the first of them");
    let countries: Vec<(&str, i64)> = u.countries.iter().map(|c| (c.country.as_str(), c.requests)).collect();
    assert_eq!(countries, vec![("DE", 10), ("BR", 6)]);

    match c.key_usage("key_nope", NOW).await {
        Err(ControlError::NotFound { what, .. }) => assert_eq!(what, "key"),
        other => panic!("expected NotFound, got {other:?}"),
    }
});
