//! Users (`/users`): every dashboard user with role and status. An `admin` changes a user's
//! role, deactivates and reactivates users, and resets a forgotten password (a generated
//! one-time password, shown once); deactivating and resetting go through a confirmation page.
//! The rules are the service layer's (`regpilot user …` and the admin API use the same).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use regpilot_control::{PasswordReset, SessionUser, UserView, ROLES};

use super::parts::control_error;
use crate::admin::dashboard::guard::{can_manage, FormData};
use crate::admin::dashboard::html::{csrf_field, esc, html, layout, message, when};
use crate::admin::dashboard::state::DashState;

fn role_form(user: &SessionUser, u: &UserView) -> String {
    let options: String = ROLES
        .iter()
        .map(|r| {
            let sel = if *r == u.role { " selected" } else { "" };
            format!(r#"<option value="{r}"{sel}>{r}</option>"#)
        })
        .collect();
    format!(
        r#"<form class="inline" method="post" action="/users/{id}/role">{csrf}<label class="sr" for="role-{id}">Role</label><select id="role-{id}" name="role">{options}</select> <button type="submit">Set role</button></form>"#,
        id = esc(&u.id),
        csrf = csrf_field(user),
    )
}

fn rows(user: &SessionUser, users: &[UserView]) -> String {
    let manage = can_manage(user);
    let mut out = String::new();
    for u in users {
        let base = format!("/users/{}", esc(&u.id));
        let (role, actions) = if manage {
            let toggle = if u.status == "active" {
                format!(r#"<a href="{base}/deactivate">Deactivate</a>"#)
            } else {
                format!(r#"<a href="{base}/reactivate">Reactivate</a>"#)
            };
            (role_form(user, u), format!(r#"{toggle} <a href="{base}/password-reset">Reset password</a>"#))
        } else {
            (esc(&u.role), String::new())
        };
        out.push_str(&format!(
            r#"<tr id="user-{id}"><td>{email}</td><td>{role}</td><td><span class="status {status}">{status}</span></td><td class="when">{created}</td><td class="actions">{actions}</td></tr>"#,
            id = esc(&u.id),
            email = esc(&u.email),
            status = esc(&u.status),
            created = when(Some(&u.created_at)),
        ));
    }
    out
}

fn page(status: StatusCode, user: &SessionUser, users: &[UserView], reset: Option<&PasswordReset>) -> Response {
    let notice = if can_manage(user) {
        String::new()
    } else {
        format!(r#"<p class="notice">Your role ({}) may view users but not change them.</p>"#, esc(&user.role))
    };
    let dialog = reset.map(|r| {
        format!(
            r#"<section class="secret" role="dialog" aria-labelledby="secret-title">
<h2 id="secret-title">Password of {email} reset</h2>
<p class="warning"><strong>Give this one-time password to the user now: it is not shown again.</strong> They must choose their own at the next login; their sessions have ended.</p>
<p><code id="new-secret">{pw}</code> <button type="button" class="copy" data-copy="new-secret">Copy</button></p>
<p><a href="/users">Done</a></p>
</section>"#,
            email = esc(&r.user.email),
            pw = esc(r.password.expose()),
        )
    });
    let body = format!(
        r#"<p class="crumbs"><a href="/">Projects</a> › Users</p>
<h1>Users</h1>
{notice}{dialog}
<div class="table-wrap"><table id="users"><thead><tr><th>Email</th><th>Role</th><th>Status</th><th>Created</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>
<p class="hint">New users: <code>regpilot user create</code> or <code>POST /api/admin/users</code>.</p>"#,
        dialog = dialog.unwrap_or_default(),
        rows = rows(user, users),
    );
    html(status, layout("Users", Some(user), &body))
}

pub(crate) async fn list(State(state): State<DashState>, Extension(user): Extension<SessionUser>) -> Response {
    match state.control.list_users().await {
        Ok(users) => page(StatusCode::OK, &user, &users, None),
        Err(e) => control_error(e, &user),
    }
}

pub(crate) async fn set_role(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    Extension(form): Extension<FormData>,
    Path(user_id): Path<String>,
) -> Response {
    let role = form.get("role").unwrap_or_default();
    match state.control.set_user_role(&user.actor(), &user_id, role).await {
        Ok(_) => Redirect::to("/users").into_response(),
        Err(e) => control_error(e, &user),
    }
}

/// What each action is called and says before it is done.
fn action_text(action: &str) -> Option<(&'static str, &'static str)> {
    match action {
        "deactivate" => Some(("Deactivate", "The user cannot log in, and their sessions and admin tokens stop working at once.")),
        "reactivate" => Some(("Reactivate", "The user can log in, and use their admin tokens, again.")),
        "password-reset" => Some((
            "Reset the password of",
            "A one-time password is generated and shown to you once; the current password stops working and the user's sessions end.",
        )),
        _ => None,
    }
}

pub(crate) async fn confirm(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    Path((user_id, action)): Path<(String, String)>,
) -> Response {
    let Some((verb, consequence)) = action_text(&action) else {
        return message(StatusCode::NOT_FOUND, "Not found", "No such page.", Some(&user));
    };
    let u = match state.control.find_user(&user_id).await {
        Ok(u) => u,
        Err(e) => return control_error(e, &user),
    };
    let body = format!(
        r#"<section class="card narrow"><h1>{verb} {email}?</h1>
<p class="warning">{consequence}</p>
<form method="post" action="/users/{id}/{action}">{csrf}
<button type="submit" class="danger">{verb} {email}</button> <a href="/users">Cancel</a>
</form></section>"#,
        email = esc(&u.email),
        id = esc(&u.id),
        action = esc(&action),
        csrf = csrf_field(&user),
    );
    html(StatusCode::OK, layout("Users", Some(&user), &body))
}

pub(crate) async fn apply(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    Path((user_id, action)): Path<(String, String)>,
) -> Response {
    if action_text(&action).is_none() {
        return message(StatusCode::NOT_FOUND, "Not found", "No such page.", Some(&user));
    }
    let c = &state.control;
    let u = match c.find_user(&user_id).await {
        Ok(u) => u,
        Err(e) => return control_error(e, &user),
    };
    let actor = user.actor();
    let done = match action.as_str() {
        "deactivate" => c.deactivate_user(&actor, &u.id).await,
        "reactivate" => c.reactivate_user(&actor, &u.id).await,
        _ => {
            return match c.reset_user_password(&actor, &u.id).await {
                Ok(reset) => match c.list_users().await {
                    Ok(users) => page(StatusCode::OK, &user, &users, Some(&reset)),
                    Err(e) => control_error(e, &user),
                },
                Err(e) => control_error(e, &user),
            }
        }
    };
    match done {
        Ok(()) => Redirect::to("/users").into_response(),
        Err(e) => control_error(e, &user),
    }
}
