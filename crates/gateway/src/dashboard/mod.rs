//! The web dashboard, served by the same process as the API: server-rendered HTML pages that
//! call the same service layer ([`regpilot_control::Control`]) as the CLI and the admin API.
//!
//! Every page is declared in [`page_table`] with a [`PageAccess`], like the API routes with
//! their `Access`: a page that needs a session cannot be added without saying so. The layer
//! around every page ([`guard::page_layer`]) does, in order:
//!
//! 1. on a POST, the Origin (or Referer) check against `Host` ([`csrf`]) → 403;
//! 2. the body of a POST read as a form (64 KiB at most) → 413 / 400;
//! 3. for [`PageAccess::Session`]: the session cookie resolved to a user ([`session`]); none
//!    → `303 /login` for a GET, 401 for a POST; then, on a POST, the form's CSRF token checked
//!    against the session's → 403;
//! 4. a user whose password must change (the bootstrap admin) is sent to `/account/password`
//!    from every other page (a POST gets 403);
//! 5. for [`PageAccess::Manage`]: a role that may change things (`admin`), else 403 (a GET
//!    too: the confirmation pages are part of a change);
//! 6. the handler; then the security headers on every answer (CSP, `X-Frame-Options`, …).
//!
//! Login attempts are throttled in memory per (account, client IP) ([`throttle`]). Time comes
//! from [`Clock`], which tests can set.

pub mod assets;
pub mod chart;
pub mod csrf;
pub mod guard;
pub mod html;
pub mod pages;
pub mod session;
pub mod throttle;

use std::sync::atomic::{AtomicI64, Ordering};

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};
use regpilot_control::SessionPolicy;

use crate::state::AppState;
use pages::{account, alerts, key, keys, login, projects};
pub use throttle::LoginThrottle;

/// What a page requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAccess {
    /// No session needed: the login page and the static assets.
    Anonymous,
    /// A live session; POSTs also need the session's CSRF token.
    Session,
    /// As `Session`, and a role that may change keys and alerts ([`guard::can_manage`]):
    /// every POST that changes a key or an alert, and the confirmation pages before them.
    Manage,
}

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

/// One dashboard page: method, path template, what it requires, and its handler.
pub struct PageDef {
    pub method: Method,
    pub path: &'static str,
    pub access: PageAccess,
    pub(crate) handler: MethodRouter<AppState>,
}

fn page<H, T>(method: Method, path: &'static str, access: PageAccess, handler: H) -> PageDef
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
    PageDef { method, path, access, handler: on(filter, handler) }
}

/// Every dashboard page. A page cannot be added without a [`PageAccess`].
pub fn page_table() -> Vec<PageDef> {
    use Method as M;
    use PageAccess::{Anonymous, Manage, Session};
    vec![
        page(M::GET, "/assets/app.css", Anonymous, assets::css),
        page(M::GET, "/assets/copy.js", Anonymous, assets::copy_js),
        page(M::GET, "/login", Anonymous, login::form),
        page(M::POST, "/login", Anonymous, login::submit),
        page(M::POST, "/logout", Session, login::logout),
        page(M::GET, "/account/password", Session, account::form),
        page(M::POST, "/account/password", Session, account::submit),
        page(M::GET, "/", Session, projects::list),
        page(M::GET, "/projects/{id}", Session, projects::overview),
        page(M::GET, "/projects/{id}/keys", Session, keys::list),
        page(M::POST, "/projects/{id}/keys", Manage, keys::create),
        page(M::GET, "/projects/{id}/keys/{key_id}", Session, key::page),
        page(M::GET, "/projects/{id}/keys/{key_id}/{action}", Manage, keys::confirm),
        page(M::POST, "/projects/{id}/keys/{key_id}/{action}", Manage, keys::apply),
        page(M::GET, "/projects/{id}/alerts", Session, alerts::list),
        page(M::POST, "/projects/{id}/alerts/{alert_id}/ack", Manage, alerts::ack),
    ]
}
