//! What each dashboard page requires. Every page is registered with a [`PageAccess`]; there is
//! no way to add one without saying.

/// What a page requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageAccess {
    /// No session needed: the login page and the static assets.
    Anonymous,
    /// A live session; POSTs also need the session's CSRF token.
    Session,
    /// As `Session`, and a role that may change keys and alerts ([`guard::can_manage`]):
    /// every POST that changes a key or an alert, and the confirmation pages before them.
    Manage,
}
