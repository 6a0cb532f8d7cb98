//! The dashboard's own router state: its settings, clock and login throttle ([`Dashboard`]),
//! and the parts of the gateway its pages use. Not part of the request path's `AppState`.

use std::ops::Deref;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use regpilot_control::{Control, SessionPolicy};

use super::throttle::LoginThrottle;
use crate::metrics::Metrics;
use crate::path::client_ip::TrustedProxies;
use crate::path::feed::FeedSync;

/// The dashboard's settings and in-memory state.
pub struct Dashboard {
    pub policy: SessionPolicy,
    /// Adds `Secure` to the session cookie (set it when users reach the server over HTTPS).
    pub secure_cookies: bool,
    pub clock: Clock,
    pub throttle: LoginThrottle,
}

impl Dashboard {
    pub fn new(policy: SessionPolicy, secure_cookies: bool) -> Dashboard {
        Dashboard { policy, secure_cookies, clock: Clock::default(), throttle: LoginThrottle::default() }
    }
}

impl Default for Dashboard {
    fn default() -> Dashboard {
        Dashboard::new(SessionPolicy::default(), false)
    }
}

/// The dashboard's time in Unix milliseconds: the system clock, unless a test has set it.
#[derive(Debug, Default)]
pub struct Clock {
    /// 0: the system clock.
    fixed_ms: AtomicI64,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        match self.fixed_ms.load(Ordering::Acquire) {
            0 => regpilot_store::now_ms(),
            fixed => fixed,
        }
    }

    /// Stops the clock at `ms` (tests).
    pub fn set(&self, ms: i64) {
        self.fixed_ms.store(ms, Ordering::Release);
    }

    /// Moves a stopped clock on (tests).
    pub fn advance(&self, ms: i64) {
        self.set(self.now_ms() + ms);
    }
}

/// What every page handler and the page layer can reach. One `Arc` around it all, cloned per
/// request.
#[derive(Clone)]
pub(crate) struct DashState(Arc<DashShared>);

pub(crate) struct DashShared {
    pub control: Control,
    pub dashboard: Arc<Dashboard>,
    pub metrics: Arc<Metrics>,
    /// For the login throttle's client address.
    pub trusted_proxies: Arc<TrustedProxies>,
    /// A key changed here is applied to this instance's key index before the page answers.
    pub feed: Arc<FeedSync>,
}

impl DashState {
    pub(crate) fn new(shared: DashShared) -> DashState {
        DashState(Arc::new(shared))
    }
}

impl Deref for DashState {
    type Target = DashShared;

    fn deref(&self) -> &DashShared {
        &self.0
    }
}
