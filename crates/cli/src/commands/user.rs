use std::io::{BufRead, IsTerminal};

use regpilot_control::{Actor, ROLES};
use serde_json::{json, Value};

use super::remote::encode;
use super::target::{items, text, value, Target};
use crate::args::UserCommand;
use crate::output::{emit, Failure};
use crate::CmdResult;

fn check_role(role: &str) -> Result<(), Failure> {
    if ROLES.contains(&role) {
        return Ok(());
    }
    Err(Failure::usage(format!("--role: unknown role '{role}' (expected one of: {})", ROLES.join(", "))))
}

fn user_path(user: &str, action: &str) -> String {
    format!("/api/admin/users/{}{action}", encode(user.trim()))
}

pub async fn run(target: &Target, cmd: UserCommand, json: bool) -> CmdResult {
    match cmd {
        UserCommand::Create { email, role } => {
            check_role(&role)?;
            let password = read_password()?;
            let u = match target {
                Target::Local(control) => {
                    value(control.create_user(&Actor::cli(), &email, password, &role, false).await?)?
                }
                Target::Remote(api) => {
                    api.post("/api/admin/users", json!({"email": email, "password": password, "role": role})).await?
                }
            };
            emit(json, &u, || format!("Created {} user {} ({})\n", text(&u, "role"), text(&u, "email"), text(&u, "id")))
        }
        UserCommand::List => {
            let out = match target {
                Target::Local(control) => json!({ "users": control.list_users().await? }),
                Target::Remote(api) => api.list("/api/admin/users", "users").await?,
            };
            emit(json, &out, || {
                let users = items(&out, "users");
                let mut s = String::new();
                for u in users {
                    s.push_str(&format!(
                        "{}  {}  {}  {}  created {}\n",
                        text(u, "id"),
                        text(u, "email"),
                        text(u, "role"),
                        text(u, "status"),
                        text(u, "created_at")
                    ));
                }
                if users.is_empty() {
                    s.push_str("No users.\n");
                }
                s
            })
        }
        UserCommand::Deactivate { user } => {
            let u = match target {
                Target::Local(control) => {
                    let u = control.find_user(&user).await?;
                    control.deactivate_user(&Actor::cli(), &u.id).await?;
                    value(control.find_user(&u.id).await?)?
                }
                Target::Remote(api) => api.post(&user_path(&user, "/deactivate"), json!({})).await?,
            };
            emit(json, &u, || {
                format!("Deactivated user {} ({}); their sessions have ended\n", text(&u, "email"), text(&u, "id"))
            })
        }
        UserCommand::Reactivate { user } => {
            let u = match target {
                Target::Local(control) => {
                    let u = control.find_user(&user).await?;
                    control.reactivate_user(&Actor::cli(), &u.id).await?;
                    value(control.find_user(&u.id).await?)?
                }
                Target::Remote(api) => api.post(&user_path(&user, "/reactivate"), json!({})).await?,
            };
            emit(json, &u, || format!("Reactivated user {} ({})\n", text(&u, "email"), text(&u, "id")))
        }
        UserCommand::SetRole { user, role } => {
            check_role(&role)?;
            let u = match target {
                Target::Local(control) => value(control.set_user_role(&Actor::cli(), &user, &role).await?)?,
                Target::Remote(api) => api.post(&user_path(&user, "/role"), json!({"role": role})).await?,
            };
            emit(json, &u, || format!("User {} ({}) is now {}\n", text(&u, "email"), text(&u, "id"), text(&u, "role")))
        }
        UserCommand::ResetPassword { user } => {
            let r = match target {
                Target::Local(control) => value(control.reset_user_password(&Actor::cli(), &user).await?)?,
                Target::Remote(api) => api.post(&user_path(&user, "/password-reset"), json!({})).await?,
            };
            emit(json, &r, || reset_text(&r))
        }
    }
}

fn reset_text(r: &Value) -> String {
    format!(
        "Reset the password of {} ({}); their sessions have ended.\n\
         One-time password (shown once; the user must change it at the next login):\n{}\n",
        text(r, "email"),
        text(r, "id"),
        text(r, "password")
    )
}

/// One line from stdin, without its line ending.
fn read_password() -> Result<String, Failure> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password for the new user (input is visible; pipe it in to avoid that): ");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::runtime(format!("cannot read the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err(Failure::usage(
            "no password on stdin: pipe it in, e.g. `printf '%s' \"$PW\" | regpilot user create --email …`",
        ));
    }
    Ok(password)
}
