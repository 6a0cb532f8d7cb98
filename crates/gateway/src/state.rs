//! What every handler can reach.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use regpilot_control::Control;
use regpilot_limits::Limiter;

use crate::client_ip::TrustedProxies;
use crate::index::KeyIndex;
use crate::metrics::Metrics;
use crate::plans::PlanTable;
use crate::recorder::UsageRecorder;

#[derive(Clone)]
pub struct AppState {
    pub control: Control,
    pub index: Arc<KeyIndex>,
    /// Each project's limits, kept current by the project change feed.
    pub plans: Arc<PlanTable>,
    pub limiter: Arc<Limiter>,
    pub usage: UsageRecorder,
    pub trusted_proxies: Arc<TrustedProxies>,
    pub metrics: Arc<Metrics>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// False until the key index is loaded, and again while shutting down.
    ready: Arc<AtomicBool>,
}

impl AppState {
    /// A state with the in-process limiter, no usage recording and no trusted proxy; `serve`
    /// replaces them from its configuration.
    pub fn new(control: Control, index: Arc<KeyIndex>, max_body_bytes: usize) -> AppState {
        let metrics = Arc::new(Metrics::default());
        AppState {
            control,
            index,
            plans: Arc::new(PlanTable::new()),
            limiter: Arc::new(Limiter::local()),
            usage: UsageRecorder::disabled(metrics.clone()),
            trusted_proxies: Arc::new(TrustedProxies::default()),
            metrics,
            max_body_bytes,
            ready: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn with_limiter(mut self, limiter: Arc<Limiter>) -> AppState {
        self.limiter = limiter;
        self
    }

    pub fn with_usage(mut self, usage: UsageRecorder) -> AppState {
        self.usage = usage;
        self
    }

    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> AppState {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}
