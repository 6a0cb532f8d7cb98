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
