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
}
