//! What the request path and the API handlers can reach (the dashboard has a state of its own,
//! `admin/dashboard/state.rs`). One `Arc` around it all: every layer and handler clones the
//! state per request, and one reference count is cheaper than one per field.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use regpilot_ai::Ai;
use regpilot_control::Control;
use regpilot_limits::Limiter;
use regpilot_store::StoreError;

use crate::metrics::Metrics;
use crate::path::auth::LeakResponse;
use crate::path::client_ip::TrustedProxies;
use crate::path::drain::Drain;
use crate::path::feed::{FeedPosition, FeedSync};
use crate::path::geo::GeoIp;
use crate::path::governor::{AuditSink, GovernorTable};
use crate::path::index::KeyIndex;
use crate::path::plans::PlanTable;
use crate::path::recorder::UsageRecorder;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

#[derive(Clone)]
pub struct Shared {
    pub control: Control,
    pub index: Arc<KeyIndex>,
    /// Each project's limits, kept current by the project change feed.
    pub plans: Arc<PlanTable>,
    /// Each project's Governor settings and compiled policies, kept current by the same feed.
    pub governors: Arc<GovernorTable>,
    /// Where validations go to be written (off the request path).
    pub audits: AuditSink,
    /// Whether audits keep the delivered text (`governor_store_content`).
    pub governor_store_content: bool,
    /// The country database, for the Governor's recipient country when the request names none.
    pub(crate) geo: Option<Arc<GeoIp>>,
    /// How far the index and the plan table have applied the change feeds; the follower and
    /// this instance's writers advance it.
    pub feed: Arc<FeedSync>,
    pub limiter: Arc<Limiter>,
    pub usage: UsageRecorder,
    pub trusted_proxies: Arc<TrustedProxies>,
    pub metrics: Arc<Metrics>,
    /// Models, providers and the simulator; `None` answers the AI routes 503.
    pub ai: Option<Arc<Ai>>,
    /// Graceful shutdown: requests in flight, and the drain deadline streams watch.
    pub drain: Arc<Drain>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// `POST /api/leaks`: the reporter token (off without one) and what a report does.
    pub leaks: LeakResponse,
    /// False until the key index is loaded, and again while shutting down.
    ready: Arc<AtomicBool>,
}

impl AppState {
    /// A state with the in-process limiter, no usage recording and no trusted proxy; `serve`
    /// replaces them from its configuration.
    pub fn new(control: Control, index: Arc<KeyIndex>, max_body_bytes: usize) -> AppState {
        let metrics = Arc::new(Metrics::default());
        let plans = Arc::new(PlanTable::new());
        let governors = Arc::new(GovernorTable::new());
        let feed = Arc::new(FeedSync::new(
            control.store().clone(),
            index.clone(),
            plans.clone(),
            governors.clone(),
            metrics.clone(),
        ));
        AppState(Arc::new(Shared {
            control,
            index,
            plans,
            governors,
            audits: AuditSink::disabled(),
            governor_store_content: false,
            geo: None,
            feed,
            limiter: Arc::new(Limiter::local()),
            usage: UsageRecorder::disabled(metrics.clone()),
            trusted_proxies: Arc::new(TrustedProxies::default()),
            metrics,
            ai: None,
            drain: Arc::new(Drain::default()),
            max_body_bytes,
            leaks: LeakResponse::default(),
            ready: Arc::new(AtomicBool::new(false)),
        }))
    }

    /// Changes the state before it is shared (a copy if it already is).
    fn with(self, change: impl FnOnce(&mut Shared)) -> AppState {
        let mut shared = Arc::try_unwrap(self.0).unwrap_or_else(|arc| (*arc).clone());
        change(&mut shared);
        AppState(Arc::new(shared))
    }

    pub fn with_limiter(self, limiter: Arc<Limiter>) -> AppState {
        self.with(|s| s.limiter = limiter)
    }

    /// The Governor's audit writer, whether audits keep content, and the country database.
    pub(crate) fn with_governor(self, audits: AuditSink, store_content: bool, geo: Option<Arc<GeoIp>>) -> AppState {
        self.with(|s| {
            s.audits = audits;
            s.governor_store_content = store_content;
            s.geo = geo;
        })
    }

    pub fn with_usage(self, usage: UsageRecorder) -> AppState {
        self.with(|s| s.usage = usage)
    }

    pub fn with_trusted_proxies(self, proxies: TrustedProxies) -> AppState {
        self.with(|s| s.trusted_proxies = Arc::new(proxies))
    }

    pub fn with_ai(self, ai: Arc<Ai>) -> AppState {
        self.with(|s| s.ai = Some(ai))
    }

    pub fn with_leak_response(self, leaks: LeakResponse) -> AppState {
        self.with(|s| s.leaks = leaks)
    }

    /// Fills the key index and the plan table from the store, and sets where the change feeds
    /// are followed from (`path/feed.rs`).
    pub async fn load_index(&self) -> Result<FeedPosition, StoreError> {
        self.feed.load().await
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
