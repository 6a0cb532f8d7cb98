//! Manage Keys: the table of a project's keys, the create form (the secret is shown once, in
//! the answer to the create, and never again), and deactivate / reactivate / delete / roll,
//! each behind a confirmation page so that it works without script. A roll's confirmation
//! page asks for the grace period; its answer shows the successor's secret once.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use regpilot_control::{
    parse_grace, ControlError, CreatedKey, KeyDetail, KeyStatus, KeyView, NewKey, ProjectView, SessionUser,
};
use regpilot_keys::{Environment, KeyType};

use super::parts::{control_error, project_nav, status_text};
use crate::admin::dashboard::guard::can_manage;
use crate::admin::dashboard::guard::FormData;
use crate::admin::dashboard::html::{csrf_field, esc, field_error as shared_field_error, html, layout, message, when};
use crate::admin::dashboard::state::DashState;

/// What the create form was sent with, to fill it in again after an error.
#[derive(Default)]
struct CreateForm {
    name: String,
    key_type: String,
    environment: String,
    read_only: bool,
    expires_in_days: String,
}

/// The form's error, next to its field.
struct FieldError {
    field: &'static str,
    message: String,
}

fn key_rows(project_id: &str, keys: &[KeyDetail], manage: bool) -> String {
    let mut rows = String::new();
    for d in keys {
        let k = &d.key;
        let base = format!("/projects/{}/keys/{}", esc(project_id), esc(&k.id));
        let toggle = match k.status {
            KeyStatus::Active => format!(r#"<a href="{base}/deactivate">Deactivate</a>"#),
            _ => format!(r#"<a href="{base}/reactivate">Reactivate</a>"#),
        };
        let roll =
            if d.roll.rolled_to.is_none() { format!(r#" <a href="{base}/roll">Roll</a>"#) } else { String::new() };
        let actions = if manage {
            format!(r#"{toggle}{roll} <a class="danger" href="{base}/delete">Delete</a>"#)
        } else {
            String::new()
        };
        let rolled = match (&d.roll.rolled_to, d.roll.uses_since_roll) {
            (Some(_), Some(uses)) => format!(r#" <small class="rolled">rolled; {uses} uses since</small>"#),
            _ => String::new(),
        };
        rows.push_str(&format!(
            r#"<tr><td><a href="{base}">{name}</a></td><td><code>{prefix}</code></td><td>{ty}</td><td>{env}</td><td class="when">{created}</td><td class="when">{used}</td><td><span class="status {status}">{status}</span>{ro}{rolled}</td><td class="when">{expires}</td><td class="actions">{actions}</td></tr>"#,
            name = esc(&k.name),
            prefix = esc(&k.prefix),
            ty = esc(k.key_type.as_str()),
            env = esc(k.environment.as_str()),
            created = when(Some(&k.created_at)),
            used = when(k.last_used_at.as_deref()),
            status = status_text(k),
            ro = if k.read_only { " <small>read-only</small>" } else { "" },
            expires = when(k.expires_at.as_deref()),
        ));
    }
    rows
}

fn field_error(error: Option<&FieldError>, field: &str) -> String {
    shared_field_error(error.map(|e| (e.field, e.message.as_str())), field)
}

fn option(value: &str, label: &str, selected: &str) -> String {
    let sel = if value == selected { " selected" } else { "" };
    format!(r#"<option value="{value}"{sel}>{label}</option>"#)
}

fn create_form(user: &SessionUser, project_id: &str, f: &CreateForm, error: Option<&FieldError>) -> String {
    format!(
        r#"<section class="card"><h2>Create a key</h2>
<form method="post" action="/projects/{pid}/keys" class="create">{csrf}
<label for="name">Name</label><input id="name" name="name" maxlength="100" required value="{name}">{e_name}
<label for="type">Type</label><select id="type" name="type">{t1}{t2}</select>{e_type}
<label for="environment">Environment</label><select id="environment" name="environment">{v1}{v2}{v3}</select>{e_env}
<label class="check"><input type="checkbox" name="read_only" value="on"{ro}> Read-only</label>
<label for="expires_in_days">Expires in (days, optional)</label><input id="expires_in_days" name="expires_in_days" inputmode="numeric" value="{exp}">{e_exp}{e_scopes}
<button type="submit">Create key</button>
</form></section>"#,
        pid = esc(project_id),
        csrf = csrf_field(user),
        name = esc(&f.name),
        e_name = field_error(error, "name"),
        t1 = option("gateway", "gateway (AI calls)", &f.key_type),
        t2 = option("project", "project (compliance and usage)", &f.key_type),
        e_type = field_error(error, "type"),
        v1 = option("dev", "development", &f.environment),
        v2 = option("stg", "staging", &f.environment),
        v3 = option("prod", "production", &f.environment),
        e_env = field_error(error, "environment"),
        ro = if f.read_only { " checked" } else { "" },
        exp = esc(&f.expires_in_days),
        e_exp = field_error(error, "expires_in_days"),
        e_scopes = field_error(error, "scopes"),
    )
}

/// A key just made (by a create or a roll), with what to say about it.
struct NewSecret<'a> {
    created: &'a CreatedKey,
    /// How the key came to be: "created", or "rolled" with the old key's grace.
    heading: String,
    note: String,
}

/// The one place a secret is rendered: the answer to the create (or roll) that made it.
fn secret_dialog(new: &NewSecret<'_>) -> String {
    format!(
        r#"<section class="secret" role="dialog" aria-labelledby="secret-title">
<h2 id="secret-title">Key “{name}” {heading}</h2>
<p class="warning"><strong>Copy it now: you will not see this key again.</strong> It is not stored; only its digest is.</p>
<p><code id="new-secret">{secret}</code> <button type="button" class="copy" data-copy="new-secret">Copy</button></p>{note}
<p><a href="/projects/{pid}/keys">I have copied it</a></p>
</section>"#,
        name = esc(&new.created.key.name),
        heading = esc(&new.heading),
        secret = esc(new.created.secret.expose()),
        note = if new.note.is_empty() {
            String::new()
        } else {
            format!(r#"<p class="notice" id="roll-note">{}</p>"#, esc(&new.note))
        },
        pid = esc(&new.created.key.project_id),
    )
}

fn keys_page(
    status: StatusCode,
    user: &SessionUser,
    project: &ProjectView,
    keys: &[KeyDetail],
    form: &CreateForm,
    error: Option<&FieldError>,
    created: Option<&NewSecret<'_>>,
) -> Response {
    let table = if keys.is_empty() {
        "<p>No keys yet.</p>".to_owned()
    } else {
        format!(
            r#"<div class="table-wrap"><table><thead><tr><th>Name</th><th>Prefix</th><th>Type</th><th>Environment</th><th>Created</th><th>Last used</th><th>Status</th><th>Expires</th><th></th></tr></thead><tbody>{}</tbody></table></div>"#,
            key_rows(&project.id, keys, can_manage(user))
        )
    };
    let form = if can_manage(user) {
        create_form(user, &project.id, form, error)
    } else {
        format!(r#"<p class="notice">Your role ({}) may view keys but not create or change them.</p>"#, esc(&user.role))
    };
    let body = format!(
        "{nav}\n<h1>Manage Keys</h1>\n{dialog}{table}\n{form}",
        nav = project_nav(&project.id, &project.name, "Manage Keys"),
        dialog = created.map(secret_dialog).unwrap_or_default(),
    );
    html(status, layout(&format!("{} · Manage Keys", project.name), Some(user), &body))
}

async fn project_and_keys(state: &DashState, id: &str) -> Result<(ProjectView, Vec<KeyDetail>), ControlError> {
    Ok((state.control.get_project(id).await?, state.control.list_key_details(id).await?))
}

pub(crate) async fn list(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    Path(id): Path<String>,
) -> Response {
    match project_and_keys(&state, &id).await {
        Ok((project, keys)) => keys_page(StatusCode::OK, &user, &project, &keys, &CreateForm::default(), None, None),
        Err(e) => control_error(e, &user),
    }
}

/// Reads the form into a [`NewKey`], or names the field that is wrong.
fn parse_new_key(project_id: &str, f: &CreateForm) -> Result<NewKey, FieldError> {
    let bad = |field, message: &str| FieldError { field, message: message.to_owned() };
    let key_type: KeyType = f.key_type.parse().map_err(|_| bad("type", "Choose a type: gateway or project."))?;
    let environment: Environment =
        f.environment.parse().map_err(|_| bad("environment", "Choose an environment: dev, stg or prod."))?;
    let expires_in_days = match f.expires_in_days.trim() {
        "" => None,
        s => Some(s.parse::<i64>().map_err(|_| bad("expires_in_days", "Expiry must be a whole number of days."))?),
    };
    if expires_in_days.is_some_and(|d| d < 1) {
        return Err(bad("expires_in_days", "Expiry must be in the future: at least 1 day."));
    }
    Ok(NewKey {
        project_id: project_id.to_owned(),
        name: f.name.clone(),
        key_type,
        environment,
        read_only: f.read_only,
        scopes: None,
        expires_in_days,
    })
}

pub(crate) async fn create(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    Extension(form): Extension<FormData>,
    Path(id): Path<String>,
) -> Response {
    let f = CreateForm {
        name: form.get("name").unwrap_or_default().to_owned(),
        key_type: form.get("type").unwrap_or_default().to_owned(),
        environment: form.get("environment").unwrap_or_default().to_owned(),
        read_only: form.get("read_only").is_some(),
        expires_in_days: form.get("expires_in_days").unwrap_or_default().to_owned(),
    };
    let (project, keys) = match project_and_keys(&state, &id).await {
        Ok(loaded) => loaded,
        Err(e) => return control_error(e, &user),
    };
    let result = match parse_new_key(&id, &f) {
        Ok(new) => state.control.create_key(&user.actor(), new).await,
        Err(error) => return keys_page(StatusCode::BAD_REQUEST, &user, &project, &keys, &f, Some(&error), None),
    };
    match result {
        Ok(created) => {
            tracing::info!(key_id = %created.key.id, user_id = %user.user_id, "key created from the dashboard");
            // The key works here on its first call, not a feed poll later.
            state.feed.read_your_writes().await;
            let keys = match state.control.list_key_details(&id).await {
                Ok(k) => k,
                Err(e) => return control_error(e, &user),
            };
            let new = NewSecret { created: &created, heading: "created".into(), note: String::new() };
            keys_page(StatusCode::CREATED, &user, &project, &keys, &CreateForm::default(), None, Some(&new))
        }
        Err(ControlError::Invalid { field, message }) => {
            let error = FieldError { field, message };
            keys_page(StatusCode::BAD_REQUEST, &user, &project, &keys, &f, Some(&error), None)
        }
        Err(e) => control_error(e, &user),
    }
}

/// What each action is called and says before it is done.
fn action_text(action: &str) -> Option<(&'static str, &'static str)> {
    match action {
        "deactivate" => Some(("Deactivate", "Requests with this key will be refused (401) until it is reactivated.")),
        "reactivate" => Some(("Reactivate", "Requests with this key will be accepted again.")),
        "delete" => Some(("Delete", "This cannot be undone: the key can never authenticate again.")),
        "roll" => Some((
            "Roll",
            "A successor with the same name, type, environment and scopes is created and its secret shown once; \
             this key keeps working until the grace period ends, then expires everywhere.",
        )),
        _ => None,
    }
}

/// The key, if it is one of the project's; otherwise the page to answer.
async fn project_key(state: &DashState, user: &SessionUser, id: &str, key_id: &str) -> Result<KeyView, Response> {
    match state.control.get_key(key_id).await {
        Ok(k) if k.project_id == id && k.status != KeyStatus::Deleted => Ok(k),
        Ok(_) => Err(control_error(ControlError::not_found("key", key_id), user)),
        Err(e) => Err(control_error(e, user)),
    }
}

pub(crate) async fn confirm(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    Path((id, key_id, action)): Path<(String, String, String)>,
) -> Response {
    let Some((verb, consequence)) = action_text(&action) else {
        return message(StatusCode::NOT_FOUND, "Not found", "No such page.", Some(&user));
    };
    let key = match project_key(&state, &user, &id, &key_id).await {
        Ok(k) => k,
        Err(page) => return page,
    };
    let danger = if action == "delete" { " danger" } else { "" };
    let grace = if action == "roll" { GRACE_CHOICE } else { "" };
    let body = format!(
        r#"<section class="card narrow"><h1>{verb} key “{name}”?</h1>
<p>Key <code>{prefix}</code> ({ty}, {env}).</p>
<p class="warning">{consequence}</p>
<form method="post" action="/projects/{pid}/keys/{kid}/{action}">{csrf}{grace}
<button type="submit" class="{danger}">{verb} key</button> <a href="/projects/{pid}/keys">Cancel</a>
</form></section>"#,
        name = esc(&key.name),
        prefix = esc(&key.prefix),
        ty = esc(key.key_type.as_str()),
        env = esc(key.environment.as_str()),
        pid = esc(&id),
        kid = esc(&key.id),
        csrf = csrf_field(&user),
        danger = danger.trim(),
    );
    html(StatusCode::OK, layout(&format!("{verb} key"), Some(&user), &body))
}

/// The grace periods offered when rolling a key (any other is refused by the service layer).
const GRACE_CHOICE: &str = r#"
<label for="grace">The old key keeps working for</label><select id="grace" name="grace"><option value="0">no time: it expires now</option><option value="1h">1 hour</option><option value="24h" selected>24 hours</option><option value="7d">7 days</option><option value="30d">30 days</option></select>"#;

/// Rolls the key and answers with the successor's secret, once.
async fn roll(state: &DashState, user: &SessionUser, id: &str, key_id: &str, grace: &str) -> Response {
    let grace_ms = match parse_grace(grace) {
        Ok(ms) => ms,
        Err(e) => return control_error(e, user),
    };
    let rolled = match state.control.roll_key(&user.actor(), key_id, grace_ms).await {
        Ok(r) => r,
        Err(e) => return control_error(e, user),
    };
    tracing::info!(key_id, new_key_id = %rolled.new.key.id, user_id = %user.user_id, "key rolled from the dashboard");
    state.feed.read_your_writes().await;
    let (project, keys) = match project_and_keys(state, id).await {
        Ok(loaded) => loaded,
        Err(e) => return control_error(e, user),
    };
    let note = if grace_ms == 0 {
        format!("The old key ({}) has expired.", rolled.rolled_from.prefix)
    } else {
        format!(
            "The old key ({}) keeps working until {}, then expires everywhere; its uses meanwhile are counted on its page.",
            rolled.rolled_from.prefix,
            when(Some(&rolled.grace_ends_at))
        )
    };
    let new = NewSecret { created: &rolled.new, heading: "rolled".into(), note };
    keys_page(StatusCode::CREATED, user, &project, &keys, &CreateForm::default(), None, Some(&new))
}

pub(crate) async fn apply(
    State(state): State<DashState>,
    Extension(user): Extension<SessionUser>,
    Extension(form): Extension<FormData>,
    Path((id, key_id, action)): Path<(String, String, String)>,
) -> Response {
    if action_text(&action).is_none() {
        return message(StatusCode::NOT_FOUND, "Not found", "No such page.", Some(&user));
    }
    if let Err(page) = project_key(&state, &user, &id, &key_id).await {
        return page;
    }
    let actor = user.actor();
    let c = &state.control;
    if action == "roll" {
        return roll(&state, &user, &id, &key_id, form.get("grace").unwrap_or("24h")).await;
    }
    let done = match action.as_str() {
        "deactivate" => c.deactivate_key(&actor, &key_id).await,
        "reactivate" => c.reactivate_key(&actor, &key_id).await,
        _ => c.delete_key(&actor, &key_id).await,
    };
    match done {
        Ok(_) => {
            // Refused (or accepted again) here from the next request on.
            state.feed.read_your_writes().await;
            Redirect::to(&format!("/projects/{id}/keys")).into_response()
        }
        Err(e) => control_error(e, &user),
    }
}
