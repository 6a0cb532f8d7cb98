//! Crafted usage histories for the usage and alert suites: keys with a chosen creation time,
//! and usage rows written through the store at chosen hours and days.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use regpilot_control::{Actor, Control, NewProject, Plan};
use regpilot_keys::{digest, display_prefix, generate, Environment, KeyType};
use regpilot_store::{
    AuditEntry, CountryDelta, HourlyDelta, KeyRow, ModelDelta, UsageBatch, UsageCounts, DAY_MS, HOUR_MS,
};

/// 2026-03-10T00:00:00Z, a Tuesday.
pub const DAY0: i64 = 1_773_100_800_000;
/// 2026-03-10T14:30:00Z: "now" in these suites.
pub const NOW: i64 = DAY0 + 14 * HOUR_MS + 30 * 60_000;
/// The hour holding NOW, and the one before.
pub const THIS_HOUR: i64 = DAY0 + 14 * HOUR_MS;
pub const PREV_HOUR: i64 = THIS_HOUR - HOUR_MS;

pub fn days(n: i64) -> i64 {
    n * DAY_MS
}

pub fn hours(n: i64) -> i64 {
    n * HOUR_MS
}

pub fn alice() -> Actor {
    Actor("user:alice@example.com".into())
}

pub async fn project(c: &Control, name: &str) -> String {
    let new = NewProject { name: name.into(), plan: Plan::Pro, daily_limit: None, burst: None };
    c.create_project(&alice(), new).await.unwrap().id
}

/// A key with a real secret (returned, to check it never shows) created at `created_at`.
pub async fn key_created_at(c: &Control, project_id: &str, name: &str, created_at: i64) -> (KeyRow, String) {
    let secret = generate(KeyType::Gateway, Environment::Production).unwrap();
    let row = KeyRow {
        id: format!("key_{}", regpilot_keys::random_base62(16).unwrap()),
        project_id: project_id.into(),
        name: name.into(),
        key_type: "gateway".into(),
        environment: "production".into(),
        scopes: "chat models governor usage:read".into(),
        status: "active".into(),
        digest: digest(secret.expose()).to_hex(),
        display_prefix: display_prefix(&secret),
        created_at,
        created_by: "test".into(),
        expires_at: None,
        last_used_at: None,
        deleted_at: None,
    };
    let audit = AuditEntry {
        at: created_at,
        actor: "test".into(),
        action: "key.create".into(),
        target_type: "key".into(),
        target_id: row.id.clone(),
        project_id: Some(project_id.into()),
        detail: None,
    };
    c.store().insert_key(&row, &audit).await.unwrap();
    (row, secret.expose().to_owned())
}

/// A key created ten days before NOW: too young for the age rules.
pub async fn key(c: &Control, project_id: &str, name: &str) -> KeyRow {
    key_created_at(c, project_id, name, NOW - days(10)).await.0
}

/// Usage of one hour: `requests` answered (each taking `latency_ms`), `errors` of them
/// errors, `limited` of them refused by the limiter.
pub fn hour(k: &KeyRow, hour: i64, requests: i64, errors: i64, limited: i64, latency_ms: i64) -> HourlyDelta {
    HourlyDelta {
        key_id: k.id.clone(),
        project_id: k.project_id.clone(),
        hour,
        counts: UsageCounts {
            requests,
            errors,
            limited,
            refused: 0,
            latency_us_sum: requests * latency_ms * 1000,
            latency_us_max: if requests > 0 { latency_ms * 1000 } else { 0 },
        },
    }
}

/// Attempts refused because the key was inactive, deleted or expired.
pub fn refused(k: &KeyRow, hour: i64, refused: i64) -> HourlyDelta {
    let mut h = self::hour(k, hour, 0, 0, 0, 0);
    h.counts.refused = refused;
    h
}

pub fn country(k: &KeyRow, day: i64, country: &str, requests: i64) -> CountryDelta {
    CountryDelta { key_id: k.id.clone(), project_id: k.project_id.clone(), day, country: country.into(), requests }
}

/// AI usage of one hour: `calls` calls of `model` by `provider`, with these tokens and cost
/// (millionths of a cent) in all.
pub fn model(
    k: &KeyRow,
    hour: i64,
    model: &str,
    provider: &str,
    calls: i64,
    tokens: (i64, i64),
    cost_ucents: i64,
) -> ModelDelta {
    ModelDelta {
        key_id: k.id.clone(),
        project_id: k.project_id.clone(),
        hour,
        model: model.into(),
        provider: provider.into(),
        calls,
        prompt_tokens: tokens.0,
        completion_tokens: tokens.1,
        cost_ucents,
    }
}

pub async fn write(c: &Control, hourly: Vec<HourlyDelta>, countries: Vec<CountryDelta>) {
    c.store().write_usage(&UsageBatch { hourly, countries, ..UsageBatch::default() }).await.unwrap();
}

pub async fn write_models(c: &Control, models: Vec<ModelDelta>) {
    c.store().write_usage(&UsageBatch { models, ..UsageBatch::default() }).await.unwrap();
}

pub async fn used_at(c: &Control, k: &KeyRow, at: i64) {
    c.store().write_usage(&UsageBatch { last_used: vec![(k.id.clone(), at)], ..UsageBatch::default() }).await.unwrap();
}
