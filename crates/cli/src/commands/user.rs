use std::io::{BufRead, IsTerminal};

use regpilot_control::{Actor, Control};

use crate::args::UserCommand;
use crate::output::{emit, Failure};
use crate::CmdResult;

pub async fn run(control: &Control, cmd: UserCommand, json: bool) -> CmdResult {
    match cmd {
        UserCommand::Create { email, role } => {
            if !matches!(role.as_str(), "admin" | "viewer") {
                return Err(Failure::usage(format!("--role: unknown role '{role}' (expected one of: admin, viewer)")));
            }
            let password = read_password()?;
            let u = control.create_user(&Actor::cli(), &email, password, &role, false).await?;
            emit(json, &u, || format!("Created {} user {} ({})\n", u.role, u.email, u.id))
        }
        UserCommand::List => {
            let users = control.list_users().await?;
            let out = serde_json::json!({ "users": users });
            emit(json, &out, || {
                let mut s = String::new();
                for u in &users {
                    s.push_str(&format!("{}  {}  {}  {}  created {}\n", u.id, u.email, u.role, u.status, u.created_at));
                }
                if users.is_empty() {
                    s.push_str("No users.\n");
                }
                s
            })
        }
        UserCommand::Deactivate { user } => {
            let u = control.find_user(&user).await?;
            control.deactivate_user(&Actor::cli(), &u.id).await?;
            let u = control.find_user(&u.id).await?;
            emit(json, &u, || format!("Deactivated user {} ({}); their sessions have ended\n", u.email, u.id))
        }
        UserCommand::Reactivate { user } => {
            let u = control.find_user(&user).await?;
            control.reactivate_user(&Actor::cli(), &u.id).await?;
            let u = control.find_user(&u.id).await?;
            emit(json, &u, || format!("Reactivated user {} ({})\n", u.email, u.id))
        }
    }
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
