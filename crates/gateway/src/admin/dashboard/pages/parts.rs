//! Pieces several pages share: errors as pages, the project navigation, number formatting,
//! the alerts table and key status text.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use regpilot_control::{ControlError, SessionUser};

use regpilot_control::{AlertView, KeyStatus, KeyView};

use crate::admin::dashboard::html::{csrf_field, esc, message, when};

/// A service-layer error as a page: the caller's mistakes say what went wrong; anything
/// unexpected is logged and shown as an opaque error.
pub(crate) fn control_error(e: ControlError, user: &SessionUser) -> Response {
    match e {
        ControlError::NotFound { .. } => {
            message(StatusCode::NOT_FOUND, "Not found", &capitalize(&e.to_string()), Some(user))
        }
        ControlError::Invalid { .. } => message(StatusCode::BAD_REQUEST, "Not possible", &e.to_string(), Some(user)),
        ControlError::Conflict(m) => message(StatusCode::CONFLICT, "Not possible", &m, Some(user)),
        ControlError::Busy { retry_after_secs } => {
            let r = message(StatusCode::SERVICE_UNAVAILABLE, "Busy", &capitalize(&e.to_string()), Some(user));
            with_retry_after(r, retry_after_secs)
        }
        ControlError::Store(_) if e.is_unavailable() => {
            tracing::warn!(error = %e, "dashboard page: store unavailable");
            message(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", crate::error::STORE_UNAVAILABLE, Some(user))
        }
        ControlError::Store(_) | ControlError::Internal(_) => {
            tracing::error!(error = %e, "dashboard page failed");
            message(StatusCode::INTERNAL_SERVER_ERROR, "Error", "Something went wrong; it has been logged.", Some(user))
        }
    }
}

/// Adds `Retry-After: <secs>` (a 429 or 503 page).
pub(crate) fn with_retry_after(mut r: Response, secs: u64) -> Response {
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
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

/// The project's sub-navigation: AI Gateway → Overview, Manage Keys, Alerts, Governor.
pub(crate) fn project_nav(project_id: &str, project_name: &str, current: &str) -> String {
    let id = esc(project_id);
    let link = |href: String, label: &str| {
        let here = if label == current { r#" aria-current="page""# } else { "" };
        format!(r#"<a href="{href}"{here}>{label}</a>"#)
    };
    format!(
        r#"<p class="crumbs"><a href="/">Projects</a> › {} › AI Gateway</p><nav class="tabs">{}{}{}{}</nav>"#,
        esc(project_name),
        link(format!("/projects/{id}"), "Overview"),
        link(format!("/projects/{id}/keys"), "Manage Keys"),
        link(format!("/projects/{id}/alerts"), "Alerts"),
        link(format!("/projects/{id}/governor"), "Governor"),
    )
}

pub(crate) fn status_text(k: &KeyView) -> &'static str {
    match k.status {
        KeyStatus::Active if k.expired => "expired",
        s => s.as_str(),
    }
}

/// Where the Acknowledge button of a table sends the browser back to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReturnTo {
    Alerts,
    Key,
}

/// The rows of an alerts table, open alerts first (each group keeps its order, newest first).
/// `ack`: whether to offer the Acknowledge button on open alerts.
pub(crate) fn alerts_table(
    user: &SessionUser,
    project_id: &str,
    alerts: &[AlertView],
    ack: bool,
    back: ReturnTo,
) -> String {
    if alerts.is_empty() {
        return r#"<p class="hint">No alerts.</p>"#.to_owned();
    }
    let pid = esc(project_id);
    let (open, seen): (Vec<&AlertView>, Vec<&AlertView>) = alerts.iter().partition(|a| a.acknowledged_at.is_none());
    let mut rows = String::new();
    for a in open.into_iter().chain(seen) {
        let key = match (&a.key_id, &a.key_name) {
            (Some(id), name) => format!(
                r#"<a href="/projects/{pid}/keys/{}">{}</a>"#,
                esc(id),
                esc(name.as_deref().unwrap_or(id.as_str()))
            ),
            (None, _) => "—".to_owned(),
        };
        let state = match (&a.acknowledged_at, &a.acknowledged_by) {
            (Some(at), by) => format!(
                r#"<span class="status acknowledged">acknowledged</span> <small>{} by {}</small>"#,
                when(Some(at)),
                esc(by.as_deref().unwrap_or("unknown"))
            ),
            (None, _) if ack => format!(
                r#"<span class="status open">open</span> <form class="inline" method="post" action="/projects/{pid}/alerts/{aid}/ack">{csrf}<input type="hidden" name="return" value="{back}"><button type="submit">Acknowledge</button></form>"#,
                aid = esc(&a.id),
                csrf = csrf_field(user),
                back = if back == ReturnTo::Key { "key" } else { "alerts" },
            ),
            (None, _) => r#"<span class="status open">open</span>"#.to_owned(),
        };
        rows.push_str(&format!(
            r#"<tr id="alert-{id}"><td>{kind}</td><td>{key}</td><td class="message">{message}</td><td>{at}</td><td>{state}</td></tr>"#,
            id = esc(&a.id),
            kind = esc(a.kind.as_str()),
            message = esc(&a.message),
            at = when(Some(&a.created_at)),
        ));
    }
    format!(
        r#"<div class="table-wrap"><table class="alerts"><thead><tr><th>Kind</th><th>Key</th><th>Message</th><th>When</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table></div>"#
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
