//! The dashboard's pages. Each handler calls the service layer and renders HTML through
//! [`super::html`]; none holds a rule of its own about projects, keys or users.

pub mod account;
pub mod alerts;
pub mod key;
pub mod keys;
pub mod login;
pub mod projects;

use axum::http::StatusCode;
use axum::response::Response;
use regpilot_control::{ControlError, SessionUser};

use super::html::message;

/// A service-layer error as a page: the caller's mistakes say what went wrong; anything
/// unexpected is logged and shown as an opaque error.
pub(crate) fn control_error(e: ControlError, user: &SessionUser) -> Response {
    match e {
        ControlError::NotFound { .. } => {
            message(StatusCode::NOT_FOUND, "Not found", &capitalize(&e.to_string()), Some(user))
        }
        ControlError::Invalid { .. } => message(StatusCode::BAD_REQUEST, "Not possible", &e.to_string(), Some(user)),
        ControlError::Conflict(m) => message(StatusCode::CONFLICT, "Not possible", &m, Some(user)),
        ControlError::Store(_) | ControlError::Internal(_) => {
            tracing::error!(error = %e, "dashboard page failed");
            message(StatusCode::INTERNAL_SERVER_ERROR, "Error", "Something went wrong; it has been logged.", Some(user))
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// A number with thousands separators: 12345 → "12,345".
pub(crate) fn count(n: i64) -> String {
    let digits: Vec<char> = n.unsigned_abs().to_string().chars().collect();
    let groups: Vec<String> = digits.rchunks(3).rev().map(|g| g.iter().collect()).collect();
    let out = groups.join(",");
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// The project's sub-navigation: AI Gateway → Overview, Manage Keys, Alerts.
pub(crate) fn project_nav(project_id: &str, project_name: &str, current: &str) -> String {
    let id = super::html::esc(project_id);
    let link = |href: String, label: &str| {
        let here = if label == current { r#" aria-current="page""# } else { "" };
        format!(r#"<a href="{href}"{here}>{label}</a>"#)
    };
    format!(
        r#"<p class="crumbs"><a href="/">Projects</a> › {} › AI Gateway</p><nav class="tabs">{}{}{}</nav>"#,
        super::html::esc(project_name),
        link(format!("/projects/{id}"), "Overview"),
        link(format!("/projects/{id}/keys"), "Manage Keys"),
        link(format!("/projects/{id}/alerts"), "Alerts"),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_grouped() {
        assert_eq!(super::count(0), "0");
        assert_eq!(super::count(999), "999");
        assert_eq!(super::count(1234567), "1,234,567");
    }
}
