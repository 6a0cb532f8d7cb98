//! Prometheus counters, rendered as text by `GET /metrics`. Labels are route templates,
//! methods, status codes and auth reasons: never a key, a digest or a URL.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use foldhash::fast::RandomState;

/// The outcomes of a key check, as labelled in logs and metrics: `ok`, or why the key was
/// refused (`path::auth::AuthOutcome::reason_index` indexes this list).
pub(crate) const AUTH_REASONS: [&str; 9] =
    ["ok", "missing", "malformed", "bad_checksum", "unknown", "inactive", "deleted", "expired", "duplicate_header"];

/// A request method as a metrics label: the common ones by name, the rest as `OTHER`.
pub(crate) fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

use axum::http::Method;

#[derive(Default)]
pub struct Metrics {
    /// foldhash, not SipHash: the labels are the server's own strings, and this is on every request.
    requests: RwLock<HashMap<(&'static str, &'static str, u16), AtomicU64, RandomState>>,
    auth: [AtomicU64; AUTH_REASONS.len()],
    forbidden: AtomicU64,
    feed_errors: AtomicU64,
    feed_seq: AtomicU64,
    keys_indexed: AtomicU64,
    rate_limited_burst: AtomicU64,
    rate_limited_daily: AtomicU64,
    usage_dropped: AtomicU64,
    usage_rows_written: AtomicU64,
    usage_flush_errors: AtomicU64,
    usage_flush_micros: AtomicU64,
    /// AI calls by provider (a configured name, or `simulator`) and outcome.
    ai_calls: RwLock<HashMap<(String, &'static str), AtomicU64>>,
    ai_prompt_tokens: AtomicU64,
    ai_completion_tokens: AtomicU64,
    ai_streams_open: AtomicU64,
    /// Client connections (`conn.rs`).
    pub(crate) connections: ConnectionMetrics,
    /// Validations, findings and audit writes of the Governor.
    pub(crate) governor: GovernorMetrics,
}

impl Metrics {
    /// Counts one answered request. `route` is the matched template (or `unmatched`).
    pub fn request(&self, route: &'static str, method: &'static str, status: u16) {
        let key = (route, method, status);
        {
            let map = self.requests.read().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = map.get(&key) {
                c.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        let mut map = self.requests.write().unwrap_or_else(|p| p.into_inner());
        map.entry(key).or_default().fetch_add(1, Ordering::Relaxed);
    }

    pub fn auth_outcome(&self, reason_index: usize) {
        if let Some(c) = self.auth.get(reason_index) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn forbidden(&self) {
        self.forbidden.fetch_add(1, Ordering::Relaxed);
    }

    pub fn feed_error(&self) {
        self.feed_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A request refused by the limiter, by the limit it hit.
    pub fn rate_limited(&self, limit: regpilot_limits::LimitKind) {
        let c = match limit {
            regpilot_limits::LimitKind::Burst => &self.rate_limited_burst,
            regpilot_limits::LimitKind::Daily => &self.rate_limited_daily,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn usage_dropped(&self, n: u64) {
        self.usage_dropped.fetch_add(n, Ordering::Relaxed);
    }

    pub fn usage_flushed(&self, rows: u64, took: std::time::Duration) {
        self.usage_rows_written.fetch_add(rows, Ordering::Relaxed);
        self.usage_flush_micros.store(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub fn usage_flush_error(&self) {
        self.usage_flush_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// One AI call ended: `outcome` is `ok`, `cancelled` (the client left a stream) or the
    /// upstream error's kind.
    pub fn ai_call(&self, provider: &str, outcome: &'static str, prompt: u32, completion: u32) {
        self.ai_prompt_tokens.fetch_add(u64::from(prompt), Ordering::Relaxed);
        self.ai_completion_tokens.fetch_add(u64::from(completion), Ordering::Relaxed);
        {
            let map = self.ai_calls.read().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = map.iter().find(|(k, _)| k.0 == provider && k.1 == outcome).map(|(_, c)| c) {
                c.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        let mut map = self.ai_calls.write().unwrap_or_else(|p| p.into_inner());
        map.entry((provider.to_owned(), outcome)).or_default().fetch_add(1, Ordering::Relaxed);
    }

    pub fn stream_opened(&self) {
        self.ai_streams_open.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stream_closed(&self) {
        self.ai_streams_open.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn feed_position(&self, seq: i64, keys_indexed: usize) {
        self.feed_seq.store(seq.max(0) as u64, Ordering::Relaxed);
        self.keys_indexed.store(keys_indexed as u64, Ordering::Relaxed);
    }

    /// The counters, then the limiter's own.
    pub fn render_with(&self, limiter: &regpilot_limits::LimiterStats) -> String {
        let mut out = self.render();
        let _ = writeln!(
            out,
            "# HELP regpilot_rate_limited_total Requests refused by the per-key limiter, by the limit hit.\n\
             # TYPE regpilot_rate_limited_total counter\n\
             regpilot_rate_limited_total{{limit=\"burst\"}} {}\n\
             regpilot_rate_limited_total{{limit=\"daily\"}} {}",
            self.rate_limited_burst.load(Ordering::Relaxed),
            self.rate_limited_daily.load(Ordering::Relaxed)
        );
        for (name, help, kind, value) in [
            (
                "regpilot_usage_dropped_total",
                "Usage events dropped (recorder channel full, or a batch that could not be written).",
                "counter",
                self.usage_dropped.load(Ordering::Relaxed),
            ),
            (
                "regpilot_usage_rows_written_total",
                "Hourly usage rows written to the store.",
                "counter",
                self.usage_rows_written.load(Ordering::Relaxed),
            ),
            (
                "regpilot_usage_flush_errors_total",
                "Failed usage writes (retried with the next batch).",
                "counter",
                self.usage_flush_errors.load(Ordering::Relaxed),
            ),
            (
                "regpilot_usage_last_flush_microseconds",
                "Duration of the last usage write.",
                "gauge",
                self.usage_flush_micros.load(Ordering::Relaxed),
            ),
            (
                "regpilot_limiter_redis_calls_total",
                "Redis script calls of the limiter (leases taken and given back).",
                "counter",
                limiter.redis_calls,
            ),
            (
                "regpilot_limiter_redis_errors_total",
                "Redis calls of the limiter that failed or timed out.",
                "counter",
                limiter.redis_errors,
            ),
            (
                "regpilot_limiter_fallback_decisions_total",
                "Decisions made in-process while Redis was unreachable (failure mode local).",
                "counter",
                limiter.fallback_decisions,
            ),
            (
                "regpilot_limiter_open_admits_total",
                "Requests admitted unchecked while Redis was unreachable (failure mode open).",
                "counter",
                limiter.open_admits,
            ),
            (
                "regpilot_limiter_closed_refusals_total",
                "Requests answered 503 while Redis was unreachable (failure mode closed).",
                "counter",
                limiter.closed_refusals,
            ),
            (
                "regpilot_ai_prompt_tokens_total",
                "Prompt tokens of AI calls (as upstreams report them, or estimated).",
                "counter",
                self.ai_prompt_tokens.load(Ordering::Relaxed),
            ),
            (
                "regpilot_ai_completion_tokens_total",
                "Completion tokens of AI calls (as upstreams report them, or estimated).",
                "counter",
                self.ai_completion_tokens.load(Ordering::Relaxed),
            ),
            (
                "regpilot_ai_streams_open",
                "Chat streams being answered now.",
                "gauge",
                self.ai_streams_open.load(Ordering::Relaxed),
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        }
        out.push_str("# HELP regpilot_ai_calls_total AI calls, by provider (or simulator) and outcome.\n");
        out.push_str("# TYPE regpilot_ai_calls_total counter\n");
        let mut rows: Vec<_> = {
            let map = self.ai_calls.read().unwrap_or_else(|p| p.into_inner());
            map.iter().map(|(k, v)| (k.clone(), v.load(Ordering::Relaxed))).collect()
        };
        rows.sort();
        for ((provider, outcome), n) in rows {
            let _ = writeln!(out, "regpilot_ai_calls_total{{provider=\"{provider}\",outcome=\"{outcome}\"}} {n}");
        }
        self.connections.render(&mut out);
        self.governor.render(&mut out);
        out
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str(
            "# HELP regpilot_http_requests_total HTTP requests answered, by route template, method and status.\n",
        );
        out.push_str("# TYPE regpilot_http_requests_total counter\n");
        let mut rows: Vec<_> = {
            let map = self.requests.read().unwrap_or_else(|p| p.into_inner());
            map.iter().map(|(k, v)| (*k, v.load(Ordering::Relaxed))).collect()
        };
        rows.sort();
        for ((route, method, status), n) in rows {
            let _ = writeln!(
                out,
                "regpilot_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP regpilot_auth_outcomes_total Key checks by outcome (ok, or the reason a key was refused).\n",
        );
        out.push_str("# TYPE regpilot_auth_outcomes_total counter\n");
        for (reason, n) in AUTH_REASONS.iter().zip(&self.auth) {
            let _ = writeln!(out, "regpilot_auth_outcomes_total{{outcome=\"{reason}\"}} {}", n.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "regpilot_auth_outcomes_total{{outcome=\"insufficient_permissions\"}} {}",
            self.forbidden.load(Ordering::Relaxed)
        );
        for (name, help, kind, value) in [
            (
                "regpilot_keys_indexed",
                "Keys (tombstones included) in this instance's key index.",
                "gauge",
                &self.keys_indexed,
            ),
            ("regpilot_change_feed_seq", "Last change-feed event applied to the key index.", "gauge", &self.feed_seq),
            ("regpilot_change_feed_errors_total", "Failed reads of the change feed.", "counter", &self.feed_errors),
        ] {
            let _ =
                writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}", value.load(Ordering::Relaxed));
        }
        out
    }
}

/// The connection counters of `conn.rs`: what a client holds open, and what was closed or refused.
#[derive(Default)]
pub(crate) struct ConnectionMetrics {
    open: AtomicU64,
    max: AtomicU64,
    refused: AtomicU64,
    accept_errors: AtomicU64,
    header_timeouts: AtomicU64,
    keepalive_timeouts: AtomicU64,
}

/// Why the server closed a connection on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnTimeout {
    /// A request's headers did not arrive in time.
    Header,
    /// No request began on a kept-alive connection in time.
    KeepAlive,
}

impl ConnectionMetrics {
    pub(crate) fn set_max(&self, max: usize) {
        self.max.store(max as u64, Ordering::Relaxed);
    }

    pub(crate) fn opened(&self) {
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn closed(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn open_now(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    pub(crate) fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn accept_error(&self) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn timed_out(&self, why: ConnTimeout) {
        let c = match why {
            ConnTimeout::Header => &self.header_timeouts,
            ConnTimeout::KeepAlive => &self.keepalive_timeouts,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String) {
        for (name, help, kind, value) in [
            ("regpilot_connections_open", "Client connections open now.", "gauge", &self.open),
            ("regpilot_connections_max", "Client connections served at most at once.", "gauge", &self.max),
            (
                "regpilot_connections_refused_total",
                "Connections closed at once because the connection cap was reached.",
                "counter",
                &self.refused,
            ),
            (
                "regpilot_accept_errors_total",
                "Failed accepts (such as running out of file descriptors), each followed by a back-off.",
                "counter",
                &self.accept_errors,
            ),
        ] {
            let _ =
                writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}", value.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP regpilot_connection_timeouts_total Connections closed by the server for a timeout.\n\
             # TYPE regpilot_connection_timeouts_total counter\n\
             regpilot_connection_timeouts_total{{timeout=\"header_read\"}} {}\n\
             regpilot_connection_timeouts_total{{timeout=\"keepalive\"}} {}",
            self.header_timeouts.load(Ordering::Relaxed),
            self.keepalive_timeouts.load(Ordering::Relaxed)
        );
    }
}

/// The Governor's levels and actions, in the order of the counters.
const GOVERNOR_LEVELS: [&str; 3] = ["low", "medium", "high"];
const GOVERNOR_ACTIONS: [&str; 4] = ["approved", "sanitized", "flagged", "blocked"];
/// Upper bounds (microseconds) of the validation-time histogram's buckets.
const GOVERNOR_TIME_BUCKETS_US: [u64; 8] = [10, 25, 50, 100, 250, 500, 1_000, 5_000];

/// What the Governor did (docs/governor.md, "Metrics"). Findings are counted by rule id; custom
/// policies are counted together as `policy`, so the label set stays bounded.
#[derive(Default)]
pub(crate) struct GovernorMetrics {
    validations: [[AtomicU64; 4]; 3],
    findings: RwLock<HashMap<String, AtomicU64, RandomState>>,
    time_buckets: [AtomicU64; GOVERNOR_TIME_BUCKETS_US.len()],
    time_count: AtomicU64,
    time_sum_us: AtomicU64,
    audits_written: AtomicU64,
    audits_lost: AtomicU64,
}

impl GovernorMetrics {
    /// One validation: its level, action, the rule ids it found and how long it took.
    pub(crate) fn validation<'a>(
        &self,
        level: &str,
        action: &str,
        rules: impl Iterator<Item = &'a str>,
        took: std::time::Duration,
    ) {
        let l = GOVERNOR_LEVELS.iter().position(|x| *x == level);
        let a = GOVERNOR_ACTIONS.iter().position(|x| *x == action);
        if let (Some(l), Some(a)) = (l, a) {
            self.validations[l][a].fetch_add(1, Ordering::Relaxed);
        }
        for rule in rules {
            let label = if rule.starts_with("policy.") { "policy" } else { rule };
            {
                let map = self.findings.read().unwrap_or_else(|p| p.into_inner());
                if let Some(c) = map.get(label) {
                    c.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
            let mut map = self.findings.write().unwrap_or_else(|p| p.into_inner());
            map.entry(label.to_owned()).or_default().fetch_add(1, Ordering::Relaxed);
        }
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        for (bound, bucket) in GOVERNOR_TIME_BUCKETS_US.iter().zip(&self.time_buckets) {
            if us <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.time_count.fetch_add(1, Ordering::Relaxed);
        self.time_sum_us.fetch_add(us, Ordering::Relaxed);
    }

    pub(crate) fn audits_written(&self, n: u64) {
        self.audits_written.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn audits_lost(&self, n: u64) {
        self.audits_lost.fetch_add(n, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String) {
        out.push_str("# HELP regpilot_governor_validations_total Governor validations, by risk level and action.\n");
        out.push_str("# TYPE regpilot_governor_validations_total counter\n");
        for (l, level) in GOVERNOR_LEVELS.iter().enumerate() {
            for (a, action) in GOVERNOR_ACTIONS.iter().enumerate() {
                let n = self.validations[l][a].load(Ordering::Relaxed);
                let _ =
                    writeln!(out, "regpilot_governor_validations_total{{level=\"{level}\",action=\"{action}\"}} {n}");
            }
        }
        out.push_str(
            "# HELP regpilot_governor_findings_total Governor findings, by rule (custom policies as `policy`).\n",
        );
        out.push_str("# TYPE regpilot_governor_findings_total counter\n");
        let mut rows: Vec<(String, u64)> = {
            let map = self.findings.read().unwrap_or_else(|p| p.into_inner());
            map.iter().map(|(k, v)| (k.clone(), v.load(Ordering::Relaxed))).collect()
        };
        rows.sort();
        for (rule, n) in rows {
            let _ = writeln!(out, "regpilot_governor_findings_total{{rule=\"{rule}\"}} {n}");
        }
        out.push_str("# HELP regpilot_governor_validation_seconds Time the Governor took per validation.\n");
        out.push_str("# TYPE regpilot_governor_validation_seconds histogram\n");
        for (bound, bucket) in GOVERNOR_TIME_BUCKETS_US.iter().zip(&self.time_buckets) {
            let le = *bound as f64 / 1e6;
            let _ = writeln!(
                out,
                "regpilot_governor_validation_seconds_bucket{{le=\"{le}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.time_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "regpilot_governor_validation_seconds_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.time_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "regpilot_governor_validation_seconds_sum {sum}");
        let _ = writeln!(out, "regpilot_governor_validation_seconds_count {count}");
        for (name, help, value) in [
            (
                "regpilot_governor_audits_written_total",
                "Governor audit entries written to the store.",
                &self.audits_written,
            ),
            (
                "regpilot_governor_audits_lost_total",
                "Governor audit entries that could not be written after retries.",
                &self.audits_lost,
            ),
        ] {
            let _ =
                writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", value.load(Ordering::Relaxed));
        }
    }
}
