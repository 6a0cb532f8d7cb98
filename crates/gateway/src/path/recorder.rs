//! Usage recording, off the request path (DESIGN.md): the auth layer hands a small event per
//! request to a bounded channel and never waits; one background task empties the channel every
//! 20 ms, aggregates the events per key and hour, looks up countries, writes one batch to the store every `flush_every`, and
//! logs each staging key's one-line summary every `summary_every`. A full channel drops the
//! event and counts the drop (`regpilot_usage_dropped_total`); a failed write is kept and
//! retried with the next batch.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use compact_str::CompactString;
use regpilot_ai::TokenUsage;
use regpilot_keys::Environment;
use regpilot_store::{day_start, hour_start, CountryDelta, HourlyDelta, ModelDelta, Store, UsageBatch, UsageCounts};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::metrics::Metrics;
use crate::path::geo::{country_of, GeoIp};

/// How often the task empties the channel. It does not wait on each event: waking a task per
/// request would cost the request path a cross-thread wake-up every time.
const DRAIN_EVERY: Duration = Duration::from_millis(20);
/// Rows kept for a retry after failed writes; beyond this, usage is dropped (and counted).
const MAX_RETRY_ROWS: usize = 200_000;

/// What happened to one request, as the recorder needs it. Never a secret: the key's id only.
#[derive(Debug, Clone)]
pub struct UsageEvent {
    pub key_id: CompactString,
    pub project_id: Arc<str>,
    pub environment: Environment,
    pub at_ms: i64,
    pub outcome: Outcome,
    pub ip: Option<IpAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An authenticated request and its answer.
    Answered { status: u16, latency_us: u64, limited: bool },
    /// The key was presented while inactive, deleted or expired (answered 401).
    Refused,
}

/// One AI call's tokens and cost, recorded when it ends (for a stream: at its end, or when the
/// client leaves).
#[derive(Debug, Clone)]
pub struct AiUsage {
    pub key_id: CompactString,
    pub project_id: Arc<str>,
    pub at_ms: i64,
    pub model: Arc<str>,
    /// The provider's name, or `simulator`.
    pub provider: Arc<str>,
    pub usage: TokenUsage,
    /// Millionths of a cent.
    pub cost_ucents: i64,
}

/// What goes through the channel.
#[derive(Debug)]
enum Record {
    Request(UsageEvent),
    Ai(AiUsage),
}

/// The request path's handle: `record` never blocks.
#[derive(Clone)]
pub struct UsageRecorder {
    tx: Option<mpsc::Sender<Record>>,
    metrics: Arc<Metrics>,
}

impl UsageRecorder {
    /// A recorder that keeps nothing (a router built without a store task, as in tests).
    pub fn disabled(metrics: Arc<Metrics>) -> UsageRecorder {
        UsageRecorder { tx: None, metrics }
    }

    pub fn record(&self, event: UsageEvent) {
        self.send(Record::Request(event));
    }

    pub fn record_ai(&self, usage: AiUsage) {
        self.send(Record::Ai(usage));
    }

    fn send(&self, record: Record) {
        if let Some(tx) = &self.tx {
            if tx.try_send(record).is_err() {
                self.metrics.usage_dropped(1);
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Events the channel holds before new ones are dropped.
    pub capacity: usize,
    pub flush_every: Duration,
    pub summary_every: Duration,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig { capacity: 65_536, flush_every: Duration::from_secs(1), summary_every: Duration::from_secs(60) }
    }
}

/// Counts one request's outcome.
fn count(c: &mut UsageCounts, outcome: Outcome) {
    match outcome {
        Outcome::Answered { status, latency_us, limited } => c.record_answer(status, latency_us, limited),
        Outcome::Refused => c.record_refusal(),
    }
}

/// A key's requests from one client address on one UTC day.
type AddressSlot = (CompactString, i64, Option<IpAddr>);

/// Events aggregated since the last write.
#[derive(Default)]
struct Pending {
    hourly: HashMap<(CompactString, i64), (Arc<str>, UsageCounts)>,
    /// Per key, day and client address (with the key's project and a count); addresses become
    /// countries at flush time, one lookup per distinct address.
    addresses: HashMap<AddressSlot, (Arc<str>, i64)>,
    last_used: HashMap<CompactString, i64>,
    /// Per key, hour, model and provider: calls, tokens, cost.
    models: HashMap<ModelSlot, (Arc<str>, ModelCounts)>,
}

type ModelSlot = (CompactString, i64, Arc<str>, Arc<str>);

#[derive(Default)]
struct ModelCounts {
    calls: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
    cost_ucents: i64,
}

impl Pending {
    fn add(&mut self, e: &UsageEvent) {
        let hour = hour_start(e.at_ms);
        let slot = self
            .hourly
            .entry((e.key_id.clone(), hour))
            .or_insert_with(|| (e.project_id.clone(), UsageCounts::default()));
        count(&mut slot.1, e.outcome);
        if let Outcome::Answered { .. } = e.outcome {
            let day = day_start(e.at_ms);
            self.addresses.entry((e.key_id.clone(), day, e.ip)).or_insert_with(|| (e.project_id.clone(), 0)).1 += 1;
            let last = self.last_used.entry(e.key_id.clone()).or_insert(e.at_ms);
            *last = (*last).max(e.at_ms);
        }
    }

    fn add_ai(&mut self, a: &AiUsage) {
        let slot = (a.key_id.clone(), hour_start(a.at_ms), a.model.clone(), a.provider.clone());
        let (_, c) = self.models.entry(slot).or_insert_with(|| (a.project_id.clone(), ModelCounts::default()));
        c.calls += 1;
        c.prompt_tokens += i64::from(a.usage.prompt);
        c.completion_tokens += i64::from(a.usage.completion);
        c.cost_ucents = c.cost_ucents.saturating_add(a.cost_ucents);
    }

    fn is_empty(&self) -> bool {
        self.hourly.is_empty() && self.models.is_empty()
    }

    fn into_batch(self, geo: Option<&GeoIp>) -> UsageBatch {
        let hourly = self
            .hourly
            .into_iter()
            .map(|((key_id, hour), (project_id, counts))| HourlyDelta {
                key_id: key_id.into(),
                project_id: project_id.to_string(),
                hour,
                counts,
            })
            .collect();
        let mut lookups: HashMap<Option<IpAddr>, String> = HashMap::new();
        let mut countries: HashMap<(CompactString, i64, String), (Arc<str>, i64)> = HashMap::new();
        for ((key_id, day, ip), (project_id, n)) in self.addresses {
            let country = lookups.entry(ip).or_insert_with(|| country_of(geo, ip)).clone();
            countries.entry((key_id, day, country)).or_insert_with(|| (project_id, 0)).1 += n;
        }
        let countries = countries
            .into_iter()
            .map(|((key_id, day, country), (project_id, requests))| CountryDelta {
                key_id: key_id.into(),
                project_id: project_id.to_string(),
                day,
                country,
                requests,
            })
            .collect();
        let last_used = self.last_used.into_iter().map(|(k, at)| (k.into(), at)).collect();
        let models = self
            .models
            .into_iter()
            .map(|((key_id, hour, model, provider), (project_id, c))| ModelDelta {
                key_id: key_id.into(),
                project_id: project_id.to_string(),
                hour,
                model: model.to_string(),
                provider: provider.to_string(),
                calls: c.calls,
                prompt_tokens: c.prompt_tokens,
                completion_tokens: c.completion_tokens,
                cost_ucents: c.cost_ucents,
            })
            .collect();
        UsageBatch { hourly, countries, last_used, models }
    }
}

fn batch_rows(b: &UsageBatch) -> usize {
    b.hourly.len() + b.countries.len() + b.last_used.len() + b.models.len()
}

/// The staging keys' per-minute summary lines (README.md, "Usage monitoring and alerts": "one
/// summary line per key per minute").
#[derive(Default)]
struct Summaries(HashMap<CompactString, UsageCounts>);

impl Summaries {
    fn add(&mut self, e: &UsageEvent) {
        if e.environment == Environment::Staging {
            count(self.0.entry(e.key_id.clone()).or_default(), e.outcome);
        }
    }

    fn log_and_clear(&mut self, window: Duration) {
        let window_secs = window.as_secs();
        for (key_id, c) in self.0.drain() {
            let avg_latency_us = if c.requests > 0 { c.latency_us_sum / c.requests } else { 0 };
            tracing::info!(
                target: "regpilot::requests",
                key_id = %key_id,
                environment = "staging",
                requests = c.requests,
                errors = c.errors,
                rate_limited = c.limited,
                refused = c.refused,
                avg_latency_us,
                window_secs,
                "key usage summary"
            );
        }
    }
}

/// Takes every queued event; false once every sender is gone.
fn drain_into(rx: &mut mpsc::Receiver<Record>, pending: &mut Pending, summaries: &mut Summaries) -> bool {
    loop {
        match rx.try_recv() {
            Ok(Record::Request(e)) => {
                pending.add(&e);
                summaries.add(&e);
            }
            Ok(Record::Ai(a)) => pending.add_ai(&a),
            Err(mpsc::error::TryRecvError::Empty) => return true,
            Err(mpsc::error::TryRecvError::Disconnected) => return false,
        }
    }
}

/// Starts the recorder task. It stops when `shutdown` turns true, after writing what it holds.
pub(crate) fn spawn_recorder(
    store: Store,
    geo: Option<Arc<GeoIp>>,
    metrics: Arc<Metrics>,
    config: RecorderConfig,
    mut shutdown: watch::Receiver<bool>,
) -> (UsageRecorder, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Record>(config.capacity.max(1));
    let recorder = UsageRecorder { tx: Some(tx), metrics: metrics.clone() };
    let task = tokio::spawn(async move {
        let mut pending = Pending::default();
        let mut summaries = Summaries::default();
        let mut retry: Option<UsageBatch> = None;
        let mut flush = tokio::time::interval(config.flush_every);
        let mut summary = tokio::time::interval(config.summary_every);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        summary.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut drain = tokio::time::interval(DRAIN_EVERY);
        drain.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        summary.tick().await;
        let mut open = true;
        while open {
            tokio::select! {
                _ = drain.tick() => open = drain_into(&mut rx, &mut pending, &mut summaries),
                _ = flush.tick() => {
                    open = drain_into(&mut rx, &mut pending, &mut summaries);
                    write(&store, geo.as_deref(), &metrics, std::mem::take(&mut pending), &mut retry).await;
                }
                _ = summary.tick() => summaries.log_and_clear(config.summary_every),
                _ = shutdown.changed() => open = false,
            }
        }
        // Whatever is still queued is written before the task ends.
        drain_into(&mut rx, &mut pending, &mut summaries);
        summaries.log_and_clear(config.summary_every);
        write(&store, geo.as_deref(), &metrics, pending, &mut retry).await;
        if let Some(b) = retry {
            metrics.usage_dropped(batch_rows(&b) as u64);
            tracing::error!(rows = batch_rows(&b), "usage could not be written before shutdown; it is lost");
        }
    });
    (recorder, task)
}

async fn write(
    store: &Store,
    geo: Option<&GeoIp>,
    metrics: &Metrics,
    pending: Pending,
    retry: &mut Option<UsageBatch>,
) {
    if pending.is_empty() && retry.is_none() {
        return;
    }
    let mut batch = pending.into_batch(geo);
    if let Some(old) = retry.take() {
        // Deltas add up, so an older failed batch can simply go first.
        batch.hourly.splice(0..0, old.hourly);
        batch.countries.splice(0..0, old.countries);
        batch.last_used.splice(0..0, old.last_used);
        batch.models.splice(0..0, old.models);
    }
    let started = std::time::Instant::now();
    match store.write_usage(&batch).await {
        Ok(()) => {
            metrics.usage_flushed(batch.hourly.len() as u64, started.elapsed());
        }
        Err(e) => {
            metrics.usage_flush_error();
            let rows = batch_rows(&batch);
            if rows > MAX_RETRY_ROWS {
                metrics.usage_dropped(rows as u64);
                tracing::error!(error = %e, rows, "writing usage failed again; this batch is dropped");
            } else {
                tracing::warn!(error = %e, rows, "writing usage failed; retrying with the next batch");
                *retry = Some(batch);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use regpilot_store::HOUR_MS;

    use super::*;

    fn event(key: &str, at_ms: i64, outcome: Outcome, ip: Option<&str>) -> UsageEvent {
        UsageEvent {
            key_id: key.into(),
            project_id: Arc::from("proj"),
            environment: Environment::Production,
            at_ms,
            outcome,
            ip: ip.map(|s| s.parse().unwrap()),
        }
    }

    #[test]
    fn a_full_channel_drops_and_counts_instead_of_waiting() {
        let metrics = Arc::new(Metrics::default());
        let (tx, _rx) = mpsc::channel(2);
        let recorder = UsageRecorder { tx: Some(tx), metrics: metrics.clone() };
        for _ in 0..5 {
            recorder.record(event("k", 0, OK, None));
        }
        let text = metrics.render_with(&regpilot_limits::Limiter::local().stats());
        assert!(text.contains("regpilot_usage_dropped_total 3"), "{text}");
    }

    const OK: Outcome = Outcome::Answered { status: 200, latency_us: 100, limited: false };

    #[test]
    fn events_are_aggregated_per_key_and_hour() {
        let mut p = Pending::default();
        let t = 1_764_158_400_000; // a UTC hour start
        p.add(&event("k1", t + 1, OK, Some("10.0.0.1")));
        p.add(&event("k1", t + 2, Outcome::Answered { status: 500, latency_us: 900, limited: false }, None));
        p.add(&event("k1", t + 3, Outcome::Answered { status: 429, latency_us: 5, limited: true }, None));
        p.add(&event("k1", t + HOUR_MS, OK, Some("10.0.0.1")));
        p.add(&event("k2", t + 5, Outcome::Refused, Some("10.0.0.2")));
        let mut b = p.into_batch(None);
        b.hourly.sort_by_key(|h| (h.key_id.clone(), h.hour));
        let first = &b.hourly[0];
        assert_eq!((first.key_id.as_str(), first.hour), ("k1", t));
        let c = &first.counts;
        assert_eq!((c.requests, c.errors, c.limited, c.refused), (3, 1, 1, 0));
        assert_eq!((c.latency_us_sum, c.latency_us_max), (1005, 900));
        assert_eq!((b.hourly[1].hour, b.hourly[1].counts.requests), (t + HOUR_MS, 1));
        assert_eq!(
            (b.hourly[2].key_id.as_str(), b.hourly[2].counts.refused, b.hourly[2].counts.requests),
            ("k2", 1, 0)
        );
        // Countries and last use come from answered requests only; no database: "unknown".
        assert_eq!(b.countries.len(), 1);
        assert_eq!((b.countries[0].country.as_str(), b.countries[0].requests), ("unknown", 4));
        assert_eq!(b.last_used, vec![("k1".to_string(), t + HOUR_MS)]);
    }
}
