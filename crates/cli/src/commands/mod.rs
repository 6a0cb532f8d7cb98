//! One function per command, all on the control-plane service layer — or, with `--server`,
//! on a running gateway's admin API (`target.rs`).

mod alerts;
mod key;
mod project;
mod remote;
mod serve;
mod target;
mod token;
mod user;

use regpilot_control::{Control, PasswordHashing};
use regpilot_store::{redact_url, Store};

use crate::args::{Cli, Command};
use crate::output::Failure;
use crate::settings::Settings;
use crate::{init_logging, CmdResult};
use remote::Remote;
use target::Target;

pub async fn run(cli: Cli) -> CmdResult {
    let listen = match &cli.command {
        Command::Serve { listen } => Some(listen.clone()),
        _ => None,
    };
    init_logging(if listen.is_some() { "info,sqlx=warn" } else { "warn" });
    let json = cli.json;
    if let Some(server) = cli.server.as_deref().filter(|s| !s.trim().is_empty()) {
        // The remote path never opens the store.
        if listen.is_some() {
            return Err(Failure::usage("serve runs a gateway; it takes no --server (unset REGPILOT_SERVER)"));
        }
        let target = Target::Remote(Remote::new(server)?);
        return run_lifecycle(&target, cli.command, json).await;
    }
    let settings = Settings::load(cli.config.as_deref(), cli.database_url.clone(), listen.clone().flatten())
        .map_err(|e| Failure::usage(format!("{e:#}")))?;
    // `serve` checks its address before touching the store.
    if listen.is_some() {
        settings.listen_addr().map_err(|e| Failure::usage(format!("{e:#}")))?;
    }
    let store = Store::open_with_timeout(&settings.database_url, settings.database_timeout).await.map_err(|e| {
        let message = format!("cannot open the store {}: {e}", redact_url(&settings.database_url));
        if e.is_unavailable() {
            Failure { code: "NOT_READY", ..Failure::runtime(message) }
        } else {
            Failure::runtime(message)
        }
    })?;
    let hashing = PasswordHashing::new(settings.gateway.login_hash_concurrency);
    let control = Control::new(store.clone()).with_password_hashing(hashing);
    let result = match cli.command {
        Command::Serve { .. } => serve::serve(&settings, store.clone(), &control, json).await,
        command => run_lifecycle(&Target::Local(control), command, json).await,
    };
    store.close().await;
    result
}

async fn run_lifecycle(target: &Target, command: Command, json: bool) -> CmdResult {
    match command {
        Command::Serve { .. } => Err(Failure::usage("serve is not a lifecycle command")),
        Command::Project(cmd) => project::run(target, cmd, json).await,
        Command::Key(cmd) => key::run(target, cmd, json).await,
        Command::User(cmd) => user::run(target, cmd, json).await,
        Command::Alerts(cmd) => alerts::run(target, cmd, json).await,
        Command::Token(cmd) => token::run(target, cmd, json).await,
    }
}
