//! Usage reports (docs/usage-monitoring.md, "Reports") over crafted histories, run against every
//! backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod each_backend;
mod history;

use history::*;
use regpilot_control::*;
use serde_json::{json, Value};

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
            "ai",
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
            "ai": {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "cost_cents": 0.0,
                   "models": []},
        })
    );
    assert_eq!(day.ai, AiUsage::default(), "no AI calls");
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
    with_refused.counts.refused = 5;
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

each_backend!(report_ai_usage_of_two_keys_and_two_models, |c: Control| async move {
    let pid = project(&c, "Acme").await;
    let web = key(&c, &pid, "web").await;
    let batch = key(&c, &pid, "batch").await;
    let other_pid = project(&c, "Other").await;
    let foreign = key(&c, &other_pid, "foreign").await;
    write(
        &c,
        vec![
            hour(&web, THIS_HOUR, 6, 0, 0, 100),
            hour(&web, DAY0 - hours(1), 2, 0, 0, 100),
            hour(&batch, PREV_HOUR, 4, 0, 0, 100),
            hour(&foreign, THIS_HOUR, 9, 0, 0, 100),
        ],
        vec![],
    )
    .await;
    write_models(
        &c,
        vec![
            // web: 3 + 2 calls of gpt-4o in two hours, 1 of claude.
            model(&web, THIS_HOUR, "gpt-4o", "openai", 3, (300, 90), 1_250_000),
            model(&web, DAY0, "gpt-4o", "openai", 2, (200, 60), 750_001),
            model(&web, THIS_HOUR, "claude-sonnet", "anthropic", 1, (1000, 500), 1_050_000),
            // batch: 4 calls of claude, 1 of gpt-4o.
            model(&batch, PREV_HOUR, "claude-sonnet", "anthropic", 4, (4000, 2000), 4_200_000),
            model(&batch, PREV_HOUR, "gpt-4o", "openai", 1, (100, 30), 250_000),
            // Yesterday: in the week, not in the day.
            model(&web, DAY0 - hours(1), "gpt-4o", "openai", 2, (200, 60), 500_000),
            // After now, and another project's key: never counted.
            model(&web, THIS_HOUR + hours(1), "gpt-4o", "openai", 50, (1, 1), 99_000_000),
            model(&foreign, THIS_HOUR, "gpt-4o", "openai", 9, (9, 9), 77_000_000),
        ],
    )
    .await;

    let day = c.usage_report(&pid, UsagePeriod::Day, NOW).await.unwrap();
    let ai = &day.ai;
    assert_eq!((ai.calls, ai.prompt_tokens, ai.completion_tokens, ai.total_tokens), (11, 5600, 2680, 8280));
    // 1_250_000 + 750_001 + 1_050_000 + 4_200_000 + 250_000 millionths of a cent.
    assert_eq!(ai.cost_cents, 7.500001);
    let v = serde_json::to_value(&day).unwrap();
    assert_eq!(
        v["ai"]["models"],
        json!([
            {"model": "claude-sonnet", "provider": "anthropic", "calls": 5, "prompt_tokens": 5000,
             "completion_tokens": 2500, "total_tokens": 7500, "cost_cents": 5.25},
            {"model": "gpt-4o", "provider": "openai", "calls": 6, "prompt_tokens": 600,
             "completion_tokens": 180, "total_tokens": 780, "cost_cents": 2.250001},
        ]),
        "merged across keys, highest cost first"
    );
    assert_eq!(
        field_names(&v["ai"]),
        vec!["calls", "completion_tokens", "cost_cents", "models", "prompt_tokens", "total_tokens"]
    );

    let names: Vec<&str> = day.keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, vec!["web", "batch"]);
    let web_ai = &day.keys[0].ai;
    assert_eq!((web_ai.calls, web_ai.total_tokens, web_ai.cost_cents), (6, 2150, 3.050001));
    let got: Vec<_> = web_ai.models.iter().map(|m| (m.model.as_str(), m.calls, m.cost_cents)).collect();
    assert_eq!(got, vec![("gpt-4o", 5, 2.000001), ("claude-sonnet", 1, 1.05)]);
    let batch_ai = &day.keys[1].ai;
    assert_eq!((batch_ai.calls, batch_ai.prompt_tokens, batch_ai.completion_tokens), (5, 4100, 2030));
    let got: Vec<_> = batch_ai.models.iter().map(|m| (m.model.as_str(), m.calls, m.cost_cents)).collect();
    assert_eq!(got, vec![("claude-sonnet", 4, 4.2), ("gpt-4o", 1, 0.25)]);
    // The keys' sections add up to the project's.
    assert_eq!(web_ai.calls + batch_ai.calls, ai.calls);
    assert_eq!(web_ai.total_tokens + batch_ai.total_tokens, ai.total_tokens);

    // The week takes in yesterday's hour of web's gpt-4o.
    let week = c.usage_report(&pid, UsagePeriod::Week, NOW).await.unwrap();
    assert_eq!((week.ai.calls, week.ai.cost_cents), (13, 8.000001));
    let got: Vec<_> = week.ai.models.iter().map(|m| (m.model.as_str(), m.calls, m.cost_cents)).collect();
    assert_eq!(got, vec![("claude-sonnet", 5, 5.25), ("gpt-4o", 8, 2.750001)]);
    assert_eq!((week.keys[0].name.as_str(), week.keys[0].ai.calls), ("web", 8));
});

each_backend!(key_usage_ai_covers_the_last_30_days, |c: Control| async move {
    let pid = project(&c, "Acme").await;
    let web = key(&c, &pid, "web").await;
    let other = key(&c, &pid, "other").await;
    write(&c, vec![hour(&web, THIS_HOUR, 3, 0, 0, 10)], vec![]).await;
    write_models(
        &c,
        vec![
            model(&web, THIS_HOUR, "gpt-4o-mini", "openai", 2, (50, 10), 3),
            model(&web, DAY0 - days(29), "gpt-4o", "openai", 1, (1000, 200), 1_500_000), // the first day
            model(&web, DAY0 - days(29), "gpt-4o", "azure", 1, (1000, 200), 1_500_000),
            model(&web, DAY0 - days(29) - hours(1), "gpt-4o", "openai", 7, (7, 7), 7_000_000), // before it
            model(&web, THIS_HOUR + hours(1), "gpt-4o-mini", "openai", 9, (9, 9), 9),          // after now
            model(&other, THIS_HOUR, "gpt-4o", "openai", 4, (4, 4), 4_000_000),                // another key
        ],
    )
    .await;

    let u = c.key_usage(&web.id, NOW).await.unwrap();
    let v = serde_json::to_value(&u).unwrap();
    assert_eq!(
        v["ai"],
        json!({
            "calls": 4, "prompt_tokens": 2050, "completion_tokens": 410, "total_tokens": 2460,
            "cost_cents": 3.000003,
            "models": [
                {"model": "gpt-4o", "provider": "azure", "calls": 1, "prompt_tokens": 1000,
                 "completion_tokens": 200, "total_tokens": 1200, "cost_cents": 1.5},
                {"model": "gpt-4o", "provider": "openai", "calls": 1, "prompt_tokens": 1000,
                 "completion_tokens": 200, "total_tokens": 1200, "cost_cents": 1.5},
                {"model": "gpt-4o-mini", "provider": "openai", "calls": 2, "prompt_tokens": 50,
                 "completion_tokens": 10, "total_tokens": 60, "cost_cents": 0.000003},
            ],
        })
    );

    // A key without AI calls has an empty section.
    let quiet = key(&c, &pid, "quiet").await;
    let q = c.key_usage(&quiet.id, NOW).await.unwrap();
    assert_eq!(q.ai, AiUsage::default());
    assert_eq!(serde_json::to_value(&q).unwrap()["ai"]["models"], json!([]));
});
