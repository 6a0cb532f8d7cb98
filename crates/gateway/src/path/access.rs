//! What each route requires. Every route is registered with an [`Access`]; there is no way to
//! add one without saying, and anything not in the table is answered 404 before it runs.

use regpilot_keys::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No key is read (probes, metrics, the API document).
    Public,
    /// A key is optional; if one is sent it must be valid (`GET /api/health`).
    OptionalKey,
    /// A valid key holding this scope.
    Scope(Scope),
    /// No key: the leak reporter's token (`Authorization: Bearer`, README.md, "Leak response").
    LeakReporter,
    /// The admin API (`/api/admin/*`): a dashboard user's admin token, or a dashboard session
    /// (with its CSRF token on writes), allowed as [`AdminAccess`] says.
    Admin(AdminAccess),
}

/// What an admin route lets a caller do (README.md, "Admin API").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAccess {
    /// Any role (`viewer` included), any token.
    Read,
    /// Only the `admin` role, and not with a read-only token.
    Write,
    /// The caller's own admin tokens: any role, but not with a read-only token.
    OwnTokens,
}
