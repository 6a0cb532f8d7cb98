//! Admin tokens (`/account/tokens`, README.md, "Admin API"): the user's own personal tokens for
//! the admin API and `regpilot --server` — the list (never a token), the create form (the token
//! is shown once, in the answer), and revoke behind a confirmation page. Any role may manage
//! its own tokens; a token carries the user's role.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use regpilot_control::{AdminTokenView, ControlError, CreatedAdminToken, SessionUser};

use super::parts::control_error;
use crate::admin::dashboard::guard::FormData;
use crate::admin::dashboard::html::{csrf_field, esc, field_error, html, layout, when};
use crate::admin::dashboard::state::DashState;

fn rows(tokens: &[AdminTokenView]) -> String {
    let mut out = String::new();
    for t in tokens {
        let revoke = if t.status == "active" {
            format!(r#"<a class="danger" href="/account/tokens/{}/revoke">Revoke</a>"#, esc(&t.id))
        } else {
            String::new()
        };
        out.push_str(&format!(
            r#"<tr id="token-{id}"><td>{name}</td><td><code>{prefix}</code></td><td>{access}</td><td><span class="status {status}">{status}</span></td><td class="when">{created}</td><td class="when">{used}</td><td class="when">{expires}</td><td class="actions">{revoke}</td></tr>"#,
            id = esc(&t.id),
            name = esc(&t.name),
            prefix = esc(&t.prefix),
            access = if t.read_only { "read-only" } else { "your role" },
            status = t.status,
            created = when(Some(&t.created_at)),
            used = when(t.last_used_at.as_deref()),
            expires = when(t.expires_at.as_deref()),
        ));
    }
    out
}

/// The one place a token is rendered: the answer to the create that made it.
fn token_dialog(created: &CreatedAdminToken) -> String {
    format!(
        r#"<section class="secret" role="dialog" aria-labelledby="secret-title">
<h2 id="secret-title">Admin token “{name}” created</h2>
<p class="warning"><strong>Copy it now: you will not see this token again.</strong> It is not stored; only its digest is.</p>
<p><code id="new-secret">{secret}</code> <button type="button" class="copy" data-copy="new-secret">Copy</button></p>
<p class="hint">Use it as <code>Authorization: Bearer …</code> on <code>/api/admin/*</code>, or as <code>REGPILOT_ADMIN_TOKEN</code> with <code>regpilot --server</code>.</p>
<p><a href="/account/tokens">I have copied it</a></p>
</section>"#,
        name = esc(&created.token.name),
        secret = esc(created.secret.expose()),
    )
}

fn page(
    status: StatusCode,
    user: &SessionUser,
    tokens: &[AdminTokenView],
    error: Option<(&str, &str)>,
    created: Option<&CreatedAdminToken>,
) -> Response {
    let table = if tokens.is_empty() {
        "<p>No admin tokens yet.</p>".to_owned()
    } else {
        format!(
            r#"<div class="table-wrap"><table id="tokens"><thead><tr><th>Name</th><th>Prefix</th><th>Access</th><th>Status</th><th>Created</th><th>Last used</th><th>Expires</th><th></th></tr></thead><tbody>{}</tbody></table></div>"#,
            rows(tokens)
        )
    };
    let body = format!(
        r#"<p class="crumbs"><a href="/">Projects</a> › Admin tokens</p>
<h1>Admin tokens</h1>
<p class="hint">Personal tokens for the admin API and <code>regpilot --server</code>. A token acts as you, with your role ({role}); a read-only one only reads.</p>
{dialog}{table}
<section class="card"><h2>Create a token</h2>
<form method="post" action="/account/tokens" class="create">{csrf}
<label for="name">Name</label><input id="name" name="name" maxlength="100" required>{e_name}
<label for="expires_in_days">Expires in (days, optional)</label><input id="expires_in_days" name="expires_in_days" inputmode="numeric">{e_exp}
<label class="check"><input type="checkbox" name="read_only" value="on"> Read-only</label>
<button type="submit">Create token</button>
</form></section>"#,
        role = esc(&user.role),
        dialog = created.map(token_dialog).unwrap_or_default(),
        csrf = csrf_field(user),
        e_name = field_error(error, "name"),
        e_exp = field_error(error, "expires_in_days"),
    );
    html(status, layout("Admin tokens", Some(user), &body))
}

async fn own(state: &DashState, user: &SessionUser) -> Result<Vec<AdminTokenView>, ControlError> {
    state.control.list_admin_tokens(Some(&user.user_id)).await
}

pub(crate) async fn list(State(state): State<DashState>, Extension(user): Extension<SessionUser>) -> Response {
    match own(&state, &user).await {
        Ok(tokens) => page(StatusCode::OK, &user, &tokens, None, None),
        Err(e) => control_error(e, &user),
    }
}

pub(crate) async fn create(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    Extension(form): Extension<FormData>,
) -> Response {
    let name = form.get("name").unwrap_or_default();
    let expires = match form.get("expires_in_days").unwrap_or_default().trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(d) => Some(d),
            Err(_) => {
                let tokens = own(&state, &user).await.unwrap_or_default();
                let error = Some(("expires_in_days", "Expiry must be a whole number of days."));
                return page(StatusCode::BAD_REQUEST, &user, &tokens, error, None);
            }
        },
    };
    let read_only = form.get("read_only").is_some();
    let result = state.control.create_admin_token(&user.actor(), &user.user_id, name, expires, read_only).await;
    let tokens = match own(&state, &user).await {
        Ok(t) => t,
        Err(e) => return control_error(e, &user),
    };
    match result {
        Ok(created) => {
            tracing::info!(token_id = %created.token.id, user_id = %user.user_id, "admin token created from the dashboard");
            page(StatusCode::CREATED, &user, &tokens, None, Some(&created))
        }
        Err(ControlError::Invalid { field, message }) => {
            page(StatusCode::BAD_REQUEST, &user, &tokens, Some((field, &message)), None)
        }
        Err(e) => control_error(e, &user),
    }
}

/// The user's own token, if it is one; otherwise the page to answer.
async fn own_token(state: &DashState, user: &SessionUser, token_id: &str) -> Result<AdminTokenView, Response> {
    match own(state, user).await {
        Ok(tokens) => tokens
            .into_iter()
            .find(|t| t.id == token_id)
            .ok_or_else(|| control_error(ControlError::not_found("admin token", token_id), user)),
        Err(e) => Err(control_error(e, user)),
    }
}

pub(crate) async fn confirm_revoke(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    Path(token_id): Path<String>,
) -> Response {
    let t = match own_token(&state, &user, &token_id).await {
        Ok(t) => t,
        Err(page) => return page,
    };
    let body = format!(
        r#"<section class="card narrow"><h1>Revoke admin token “{name}”?</h1>
<p>Token <code>{prefix}</code>.</p>
<p class="warning">This cannot be undone: every script using this token stops working at once.</p>
<form method="post" action="/account/tokens/{id}/revoke">{csrf}
<button type="submit" class="danger">Revoke token</button> <a href="/account/tokens">Cancel</a>
</form></section>"#,
        name = esc(&t.name),
        prefix = esc(&t.prefix),
        id = esc(&t.id),
        csrf = csrf_field(&user),
    );
    html(StatusCode::OK, layout("Revoke admin token", Some(&user), &body))
}

pub(crate) async fn revoke(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    Path(token_id): Path<String>,
) -> Response {
    match state.control.revoke_admin_token(&user.actor(), &token_id, Some(&user.user_id)).await {
        Ok(_) => Redirect::to("/account/tokens").into_response(),
        Err(e) => control_error(e, &user),
    }
}
