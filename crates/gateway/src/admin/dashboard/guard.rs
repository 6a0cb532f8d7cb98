//! The layer around every dashboard page (the order is documented in `mod.rs`): origin check,
//! form body, session, CSRF token, then the security headers on whatever the answer is.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use regpilot_control::SessionUser;

use super::access::PageAccess;
use super::csrf::{same_origin, tokens_match, TOKEN_FIELD};
use super::html::message;
use super::session;
use crate::admin::dashboard::state::DashState;

/// Where a user whose password must change is sent.
pub(crate) const PASSWORD_PAGE: &str = "/account/password";

/// The only pages open to a user whose password must change.
const PASSWORD_CHANGE_PAGES: [&str; 2] = [PASSWORD_PAGE, "/logout"];

/// Whether the user's role may change keys and alerts. Roles are `admin` and `viewer`
/// (`regpilot user create --role`); anything but `admin` is read-only (deny by default).
pub(crate) fn can_manage(user: &SessionUser) -> bool {
    user.role == "admin"
}

/// Largest form accepted, in bytes.
pub(crate) const MAX_FORM_BYTES: usize = 64 * 1024;

/// What the per-page layer knows about its page.
#[derive(Clone)]
pub(crate) struct PageCtx {
    pub state: DashState,
    pub access: PageAccess,
    pub template: &'static str,
}

/// A POST's form fields, in order, for the handler.
#[derive(Debug, Clone, Default)]
pub(crate) struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The first value of `name`, if sent.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

pub(crate) const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) async fn page_layer(State(ctx): State<PageCtx>, req: Request, next: Next) -> Response {
    let asset = ctx.template.starts_with("/assets/");
    let method = crate::metrics::method_label(req.method());
    let started = std::time::Instant::now();
    let mut response = guard(&ctx, req, next).await;
    security_headers(response.headers_mut(), asset);
    let (route, status) = (ctx.template, response.status().as_u16());
    ctx.state.metrics.request(route, method, status);
    tracing::debug!(method, route, status, micros = started.elapsed().as_micros() as u64, "request");
    response
}

fn security_headers(h: &mut HeaderMap, asset: bool) {
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let cache = if asset { "public, max-age=3600" } else { "no-store" };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
}

async fn guard(ctx: &PageCtx, req: Request, next: Next) -> Response {
    let state = &ctx.state;
    let post = req.method() == Method::POST;
    if post {
        if let Err(why) = same_origin(req.headers()) {
            tracing::info!(route = ctx.template, why, "dashboard POST refused: origin check");
            return forbidden(why);
        }
    }
    let (mut parts, body) = req.into_parts();
    if post {
        let bytes = match to_bytes(body, MAX_FORM_BYTES).await {
            Ok(b) => b,
            Err(_) => {
                return message(StatusCode::PAYLOAD_TOO_LARGE, "Form too large", "That form was too large.", None)
            }
        };
        match serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes) {
            Ok(fields) => parts.extensions.insert(FormData(fields)),
            Err(_) => return message(StatusCode::BAD_REQUEST, "Bad form", "That form could not be read.", None),
        };
    }
    if ctx.access != PageAccess::Anonymous {
        let now = state.dashboard.clock.now_ms();
        let user = match session::from_headers(&parts.headers) {
            Some(id) => match state.control.session(&id, state.dashboard.policy, now).await {
                Ok(user) => user,
                Err(e) => {
                    tracing::error!(error = %e, "session lookup failed");
                    return message(StatusCode::INTERNAL_SERVER_ERROR, "Error", "Something went wrong.", None);
                }
            },
            None => None,
        };
        let Some(user) = user else {
            if !post {
                return Redirect::to("/login").into_response();
            }
            let mut r = message(
                StatusCode::UNAUTHORIZED,
                "Session ended",
                "Your session has ended. Log in again; nothing was changed.",
                None,
            );
            r.headers_mut().insert(header::SET_COOKIE, session::clear_cookie(state.dashboard.secure_cookies));
            return r;
        };
        if post {
            let sent = parts.extensions.get::<FormData>().and_then(|f| f.get(TOKEN_FIELD)).unwrap_or_default();
            if !tokens_match(sent, &user.csrf_token) {
                tracing::info!(route = ctx.template, user_id = %user.user_id, "dashboard POST refused: CSRF token");
                return forbidden("the form's security token is missing or out of date");
            }
        }
        if user.must_change_password && !PASSWORD_CHANGE_PAGES.contains(&ctx.template) {
            if !post {
                return Redirect::to(PASSWORD_PAGE).into_response();
            }
            return message(
                StatusCode::FORBIDDEN,
                "New password needed",
                "Set a new password first (Change password); nothing was changed.",
                Some(&user),
            );
        }
        if ctx.access == PageAccess::Manage && !can_manage(&user) {
            tracing::info!(route = ctx.template, user_id = %user.user_id, role = %user.role, "dashboard POST refused: role");
            return message(
                StatusCode::FORBIDDEN,
                "Read-only access",
                &format!(
                    "Your role ({}) may view the dashboard but not change keys, alerts or users; nothing was changed.",
                    user.role
                ),
                Some(&user),
            );
        }
        parts.extensions.insert(user);
    }
    next.run(Request::from_parts(parts, Body::empty())).await
}

fn forbidden(why: &str) -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Request refused",
        &format!("This request was refused because {why}. Reload the page and try again; nothing was changed."),
        None,
    )
}
