//! Prometheus counters, rendered as text by `GET /metrics`. Labels are route templates,
//! methods, status codes and auth reasons: never a key, a digest or a URL.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use crate::auth::AuthOutcome;

#[derive(Default)]
pub struct Metrics {
    requests: RwLock<HashMap<(&'static str, &'static str, u16), AtomicU64>>,
    auth: [AtomicU64; AuthOutcome::REASONS.len()],
    forbidden: AtomicU64,
    feed_errors: AtomicU64,
    feed_seq: AtomicU64,
    keys_indexed: AtomicU64,
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

    pub fn feed_position(&self, seq: i64, keys_indexed: usize) {
        self.feed_seq.store(seq.max(0) as u64, Ordering::Relaxed);
        self.keys_indexed.store(keys_indexed as u64, Ordering::Relaxed);
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
        for (reason, n) in AuthOutcome::REASONS.iter().zip(&self.auth) {
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
