//! Change password (`/account/password`): the current password, the new one twice. A user
//! whose password must change (the bootstrap admin's generated one) is sent here by the guard
//! and can use no other page until it is done. The rules live in
//! [`regpilot_control::Control::change_password`]; this page only checks the two new ones match.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use regpilot_control::{ControlError, SessionUser, MIN_PASSWORD_LEN};

use super::parts::control_error;
use crate::admin::dashboard::guard::FormData;
use crate::admin::dashboard::html::{csrf_field, field_error, html, layout};
use crate::admin::dashboard::session;
use crate::admin::dashboard::state::DashState;

fn form_page(status: StatusCode, user: &SessionUser, error: Option<(&str, &str)>) -> Response {
    let intro = if user.must_change_password {
        r#"<p class="notice">This account has a generated password. Choose your own before going on.</p>"#
    } else {
        ""
    };
    let body = format!(
        r#"<section class="card narrow">
<h1>Change password</h1>
{intro}
<form method="post" action="/account/password">{csrf}
<label for="current_password">Current password</label>
<input id="current_password" name="current_password" type="password" autocomplete="current-password" required>{e_current}
<label for="new_password">New password (at least {MIN_PASSWORD_LEN} characters)</label>
<input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="{MIN_PASSWORD_LEN}" required>{e_new}
<label for="confirm_password">New password again</label>
<input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required>{e_confirm}
<button type="submit">Change password</button>
</form>
<p class="hint">Your other sessions end when the password changes.</p>
</section>"#,
        csrf = csrf_field(user),
        e_current = field_error(error, "current_password"),
        e_new = field_error(error, "new_password"),
        e_confirm = field_error(error, "confirm_password"),
    );
    html(status, layout("Change password", Some(user), &body))
}

pub(crate) async fn form(Extension(user): Extension<SessionUser>) -> Response {
    form_page(StatusCode::OK, &user, None)
}

pub(crate) async fn submit(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    Extension(form): Extension<FormData>,
    req: Request,
) -> Response {
    let current = form.get("current_password").unwrap_or_default().to_owned();
    let new = form.get("new_password").unwrap_or_default().to_owned();
    if form.get("confirm_password").unwrap_or_default() != new {
        let error = ("confirm_password", "The two new passwords differ.");
        return form_page(StatusCode::BAD_REQUEST, &user, Some(error));
    }
    let this_session = session::from_headers(req.headers());
    match state.control.change_password(&user.user_id, current, new, this_session.as_ref()).await {
        Ok(()) => {
            tracing::info!(user_id = %user.user_id, "password changed from the dashboard");
            Redirect::to("/").into_response()
        }
        Err(ControlError::Invalid { field, message }) => {
            let message = capitalized_sentence(&message);
            form_page(StatusCode::BAD_REQUEST, &user, Some((field, &message)))
        }
        Err(e) => control_error(e, &user),
    }
}

/// "the current password is wrong" → "The current password is wrong."
fn capitalized_sentence(s: &str) -> String {
    let mut c = s.chars();
    let first: String = c.next().map(|f| f.to_uppercase().collect()).unwrap_or_default();
    format!("{first}{}.", c.as_str())
}
