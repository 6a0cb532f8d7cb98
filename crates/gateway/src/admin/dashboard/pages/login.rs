//! Login and logout. A login always opens a new session (and ends the one the browser had),
//! so a session id planted before login is worthless.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use regpilot_control::{ControlError, SessionUser};

use crate::admin::dashboard::guard::{FormData, PASSWORD_PAGE};
use crate::admin::dashboard::html::{esc, html, layout, message};
use crate::admin::dashboard::pages::parts::with_retry_after;
use crate::admin::dashboard::session;
use crate::admin::dashboard::state::DashState;

fn form_page(status: StatusCode, email: &str, error: Option<&str>) -> Response {
    let error = error.map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, esc(e))).unwrap_or_default();
    let body = format!(
        r#"<section class="card narrow">
<h1>Log in</h1>
{error}
<form method="post" action="/login">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required value="{}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form>
</section>"#,
        esc(email)
    );
    html(status, layout("Log in", None, &body))
}

pub(crate) async fn form() -> Response {
    form_page(StatusCode::OK, "", None)
}

pub(crate) async fn submit(
    State(state): State<DashState>,
    Extension(form): Extension<FormData>,
    req: Request,
) -> Response {
    let dash = &state.dashboard;
    let email = form.get("email").unwrap_or_default().to_owned();
    let password = form.get("password").unwrap_or_default().to_owned();
    let now = dash.clock.now_ms();
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let ip = state.trusted_proxies.client_ip(peer, req.headers());
    if let Err(wait_secs) = dash.throttle.attempt(&email, ip, now) {
        tracing::warn!(?ip, "dashboard login throttled");
        let r = message(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            &format!("Too many login attempts. Wait {wait_secs} seconds, then try again."),
            None,
        );
        return with_retry_after(r, wait_secs);
    }
    // Whatever session the browser came with ends here.
    if let Some(old) = session::from_headers(req.headers()) {
        if let Err(e) = state.control.logout(&old).await {
            tracing::error!(error = %e, "ending the previous session failed");
        }
    }
    match state.control.login(&email, password, dash.policy, now).await {
        Ok(Some(new)) => {
            tracing::info!(user_id = %new.user.user_id, "dashboard login");
            let to = if new.user.must_change_password { PASSWORD_PAGE } else { "/" };
            let mut r = Redirect::to(to).into_response();
            if let Some(cookie) = session::set_cookie(&new.id, dash.policy.lifetime_ms / 1000, dash.secure_cookies) {
                r.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            r
        }
        Ok(None) => {
            tracing::info!(?ip, "dashboard login refused");
            form_page(StatusCode::UNAUTHORIZED, &email, Some("Wrong email or password."))
        }
        Err(ControlError::Busy { retry_after_secs }) => {
            tracing::warn!(?ip, "dashboard login refused: too many password checks at once");
            let error = format!("The server is busy checking other logins. Try again in {retry_after_secs} seconds.");
            with_retry_after(form_page(StatusCode::SERVICE_UNAVAILABLE, &email, Some(&error)), retry_after_secs)
        }
        Err(e) => {
            tracing::error!(error = %e, "dashboard login failed");
            message(StatusCode::INTERNAL_SERVER_ERROR, "Error", "Something went wrong; it has been logged.", None)
        }
    }
}

pub(crate) async fn logout(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    req: Request,
) -> Response {
    if let Some(id) = session::from_headers(req.headers()) {
        if let Err(e) = state.control.logout(&id).await {
            tracing::error!(error = %e, "logout failed");
            return message(StatusCode::INTERNAL_SERVER_ERROR, "Error", "Logging out failed; try again.", Some(&user));
        }
    }
    tracing::info!(user_id = %user.user_id, "dashboard logout");
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(header::SET_COOKIE, session::clear_cookie(state.dashboard.secure_cookies));
    r
}
