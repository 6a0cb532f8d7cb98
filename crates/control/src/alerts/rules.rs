//! The alert rules (docs/usage-monitoring.md, "Alert rules") and their thresholds. Every rule reads
//! the store as of a given time, so a test (or a late run) sees exactly what a run at that time
//! would. Hour rules look at the current and the previous UTC hour, so an hour is judged complete
//! once after it ends. Deleted keys only ever raise `inactive_key_use`.

use std::collections::HashMap;

use regpilot_store::{day_start, hour_start, KeyRow, Store, DAY_MS, HOUR_MS};
use serde_json::json;

use super::{AlertKind, Finding};
use crate::time_fmt::{opt, rfc3339};
use crate::usage::{date, ratio};
use crate::ControlError;

/// The thresholds of the rules. `Default` is the product's setting, documented in
/// `docs/usage-monitoring.md`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRules {
    /// `new_country`: a country (not `unknown`) seen for a key today that it was not seen from
    /// in this many days before today, when it was seen from some known country in them.
    pub new_country_lookback_days: i64,
    /// `volume_spike`: an hour with more than `spike_factor` × the key's usual hourly volume,
    /// usual being the mean of the key's hours with requests in the `spike_baseline_days`
    /// before that hour, ...
    pub spike_factor: f64,
    pub spike_baseline_days: i64,
    /// ... with at least this many such hours ...
    pub spike_min_baseline_hours: i64,
    /// ... and at least this many requests in the hour.
    pub spike_min_requests: i64,
    /// `high_error_rate`: an hour with at least this many requests ...
    pub error_rate_min_requests: i64,
    /// ... and a share of errors above this.
    pub error_rate_threshold: f64,
    /// `inactive_key_use`: an hour with at least this many attempts refused because the key
    /// was inactive, deleted or expired (at most one alert per key and UTC day).
    pub inactive_use_min_refused: i64,
    /// `unused_key`: an active key not used (or, never used, created) for more than this.
    pub unused_after_days: i64,
    /// `rotation_due`: an active key created more than this many days ago.
    pub rotation_after_days: i64,
}

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules {
            new_country_lookback_days: 30,
            spike_factor: 5.0,
            spike_baseline_days: 7,
            spike_min_baseline_hours: 3,
            spike_min_requests: 10,
            error_rate_min_requests: 50,
            error_rate_threshold: 0.20,
            inactive_use_min_refused: 3,
            unused_after_days: 90,
            rotation_after_days: 90,
        }
    }
}

/// Keys read once per run, whatever the number of rules that name them.
struct Keys<'a> {
    store: &'a Store,
    seen: HashMap<String, Option<KeyRow>>,
}

impl Keys<'_> {
    async fn get(&mut self, id: &str) -> Result<Option<KeyRow>, ControlError> {
        if let Some(k) = self.seen.get(id) {
            return Ok(k.clone());
        }
        let k = self.store.get_key(id).await?;
        self.seen.insert(id.to_owned(), k.clone());
        Ok(k)
    }

    /// The key, unless it is unknown or (for every rule but `inactive_key_use`) deleted.
    async fn live(&mut self, id: &str) -> Result<Option<KeyRow>, ControlError> {
        Ok(self.get(id).await?.filter(|k| k.status != "deleted"))
    }
}

fn finding(kind: AlertKind, key: &KeyRow, dedupe: String, message: String, detail: serde_json::Value) -> Finding {
    Finding {
        kind,
        project_id: key.project_id.clone(),
        key_id: key.id.clone(),
        key_name: key.name.clone(),
        dedupe,
        message,
        detail,
    }
}

/// `Key "web" (sk_prod_7Fq2…x9Zk)`: the name and display prefix, never the secret.
fn label(key: &KeyRow) -> String {
    format!("Key \"{}\" ({})", key.name, key.display_prefix)
}

fn hour_label(hour: i64) -> String {
    format!("the hour from {} {}:00 UTC", date(hour), rfc3339(hour).get(11..13).unwrap_or("00"))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Every rule, in a fixed order.
pub(super) async fn find(store: &Store, rules: &AlertRules, now: i64) -> Result<Vec<Finding>, ControlError> {
    let mut keys = Keys { store, seen: HashMap::new() };
    let mut out = Vec::new();
    new_countries(store, rules, now, &mut keys, &mut out).await?;
    let hours = [hour_start(now) - HOUR_MS, hour_start(now)];
    volume_spikes(store, rules, &hours, &mut keys, &mut out).await?;
    hour_rules(store, rules, now, &hours, &mut keys, &mut out).await?;
    idle_and_old_keys(store, rules, now, &mut out).await?;
    Ok(out)
}

async fn new_countries(
    store: &Store,
    rules: &AlertRules,
    now: i64,
    keys: &mut Keys<'_>,
    out: &mut Vec<Finding>,
) -> Result<(), ControlError> {
    let today = day_start(now);
    let days = rules.new_country_lookback_days;
    for n in store.new_countries(today, today - days * DAY_MS).await? {
        let Some(key) = keys.live(&n.key_id).await? else { continue };
        let message = format!(
            "{} was used from {}, a country it was not seen from in the {days} days before ({} requests today).",
            label(&key),
            n.country,
            n.requests
        );
        let detail = json!({"country": n.country, "date": date(today), "requests": n.requests, "lookback_days": days});
        let dedupe = format!("new_country:{}:{}:{today}", key.id, n.country);
        out.push(finding(AlertKind::NewCountry, &key, dedupe, message, detail));
    }
    Ok(())
}

async fn volume_spikes(
    store: &Store,
    rules: &AlertRules,
    hours: &[i64],
    keys: &mut Keys<'_>,
    out: &mut Vec<Finding>,
) -> Result<(), ControlError> {
    let window = rules.spike_baseline_days * DAY_MS;
    for &hour in hours {
        for h in store.hours_with_baseline(hour, window, rules.spike_min_requests).await? {
            if h.baseline_hours < rules.spike_min_baseline_hours.max(1) {
                continue;
            }
            let usual = h.baseline_requests as f64 / h.baseline_hours as f64;
            if h.requests as f64 <= rules.spike_factor * usual {
                continue;
            }
            let Some(key) = keys.live(&h.key_id).await? else { continue };
            let times = h.requests as f64 / usual;
            let message = format!(
                "{} made {} requests in {}, {:.1}× its usual {:.1} per active hour.",
                label(&key),
                h.requests,
                hour_label(hour),
                times,
                usual
            );
            let detail = json!({
                "hour": rfc3339(hour), "requests": h.requests, "usual_hourly": round2(usual),
                "baseline_hours": h.baseline_hours, "ratio": round2(times), "factor": rules.spike_factor,
            });
            let dedupe = format!("volume_spike:{}:{hour}", key.id);
            out.push(finding(AlertKind::VolumeSpike, &key, dedupe, message, detail));
        }
    }
    Ok(())
}

/// `high_error_rate` and `inactive_key_use`, from the rows of the hours.
async fn hour_rules(
    store: &Store,
    rules: &AlertRules,
    now: i64,
    hours: &[i64],
    keys: &mut Keys<'_>,
    out: &mut Vec<Finding>,
) -> Result<(), ControlError> {
    for row in store.usage_hours(hours).await? {
        let rate = ratio(row.counts.errors, row.counts.requests);
        let exact = row.counts.errors as f64 / row.counts.requests.max(1) as f64;
        if row.counts.requests >= rules.error_rate_min_requests && exact > rules.error_rate_threshold {
            if let Some(key) = keys.live(&row.key_id).await? {
                let message = format!(
                    "{} had {}% errors ({} of {} requests) in {}.",
                    label(&key),
                    round2(rate * 100.0),
                    row.counts.errors,
                    row.counts.requests,
                    hour_label(row.hour)
                );
                let detail = json!({
                    "hour": rfc3339(row.hour), "requests": row.counts.requests, "errors": row.counts.errors,
                    "error_rate": rate, "threshold": rules.error_rate_threshold,
                });
                let dedupe = format!("high_error_rate:{}:{}", key.id, row.hour);
                out.push(finding(AlertKind::HighErrorRate, &key, dedupe, message, detail));
            }
        }
        if row.counts.refused >= rules.inactive_use_min_refused.max(1) {
            let Some(key) = keys.get(&row.key_id).await? else { continue };
            let state = match key.status.as_str() {
                "deleted" => "it is deleted",
                "inactive" => "it is deactivated",
                _ if key.expires_at.is_some_and(|e| e <= now) => "it has expired",
                _ => "it was inactive or expired at the time",
            };
            let message = format!(
                "{} was refused {} times in {} because {state}: something still uses it.",
                label(&key),
                row.counts.refused,
                hour_label(row.hour)
            );
            let detail = json!({"hour": rfc3339(row.hour), "refused": row.counts.refused, "key_status": key.status});
            let dedupe = format!("inactive_key_use:{}:{}", key.id, day_start(row.hour));
            out.push(finding(AlertKind::InactiveKeyUse, &key, dedupe, message, detail));
        }
    }
    Ok(())
}

async fn idle_and_old_keys(
    store: &Store,
    rules: &AlertRules,
    now: i64,
    out: &mut Vec<Finding>,
) -> Result<(), ControlError> {
    let unused_days = rules.unused_after_days;
    for key in store.keys_idle_since(now - unused_days * DAY_MS, now).await? {
        let since = key.last_used_at.unwrap_or(key.created_at);
        let idle_days = (now - since) / DAY_MS;
        let message = match key.last_used_at {
            Some(_) => format!(
                "{} has not been used for {idle_days} days; deactivate or delete it if it is no longer needed.",
                label(&key)
            ),
            None => format!(
                "{} has never been used in the {idle_days} days since it was created; deactivate or delete it if \
                 it is not needed.",
                label(&key)
            ),
        };
        let detail = json!({
            "last_used_at": opt(key.last_used_at), "created_at": rfc3339(key.created_at),
            "idle_days": idle_days, "threshold_days": unused_days,
        });
        let dedupe = format!("unused_key:{}:{since}", key.id);
        out.push(finding(AlertKind::UnusedKey, &key, dedupe, message, detail));
    }
    let rotation_days = rules.rotation_after_days;
    for key in store.keys_created_before(now - rotation_days * DAY_MS, now).await? {
        let age_days = (now - key.created_at) / DAY_MS;
        let message = format!(
            "{} was created {age_days} days ago; rotate it: create a new key, move its users over, then delete \
             this one.",
            label(&key)
        );
        let detail =
            json!({"created_at": rfc3339(key.created_at), "age_days": age_days, "threshold_days": rotation_days});
        out.push(finding(AlertKind::RotationDue, &key, format!("rotation_due:{}", key.id), message, detail));
    }
    Ok(())
}
