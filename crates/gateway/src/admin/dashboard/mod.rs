//! The web dashboard, served by the same process as the API: server-rendered HTML pages that
//! call the same service layer ([`regpilot_control::Control`]) as the CLI and the admin API.
//!
//! Every page is declared in [`table::page_table`] with a [`access::PageAccess`], like the API routes with
//! their `Access`: a page that needs a session cannot be added without saying so. The layer
//! around every page ([`guard::page_layer`]) does, in order:
//!
//! 1. on a POST, the Origin (or Referer) check against `Host` ([`csrf`]) → 403;
//! 2. the body of a POST read as a form (64 KiB at most) → 413 / 400;
//! 3. for `PageAccess::Session`: the session cookie resolved to a user ([`session`]); none
//!    → `303 /login` for a GET, 401 for a POST; then, on a POST, the form's CSRF token checked
//!    against the session's → 403;
//! 4. a user whose password must change (the bootstrap admin) is sent to `/account/password`
//!    from every other page (a POST gets 403);
//! 5. for `PageAccess::Manage`: a role that may change things (`admin`), else 403 (a GET
//!    too: the confirmation pages are part of a change);
//! 6. the handler; then the security headers on every answer (CSP, `X-Frame-Options`, …).
//!
//! Login attempts are throttled in memory per (account, client IP) ([`throttle`]). Time comes
//! from [`state::Clock`], which tests can set.

pub(crate) mod access;
pub(crate) mod assets;
pub(crate) mod chart;
pub(crate) mod csrf;
pub(crate) mod guard;
pub(crate) mod html;
pub(crate) mod pages;
pub(crate) mod session;
pub(crate) mod state;
pub(crate) mod table;
pub(crate) mod throttle;
