//! One function per command, all on the control-plane service layer — or, with `--server`,
//! on a running gateway's admin API (`target.rs`).

mod alerts;
mod governor;
mod key;
mod project;
mod remote;
mod scan;
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
    let Cli { database_url, json, config, server, command } = cli;
    let server = server.filter(|s| !s.trim().is_empty());
    // `scan` opens the store only for `--check` without `--server`.
    if let Command::Scan(args) = command {
        let settings =
            Settings::load(config.as_deref(), database_url, None).map_err(|e| Failure::usage(format!("{e:#}")))?;
        return scan::run(args, server.as_deref(), &settings, json).await;
    }
    if let Some(server) = server {
        // The remote path never opens the store.
        if listen.is_some() {
            return Err(Failure::usage("serve runs a gateway; it takes no --server (unset REGPILOT_SERVER)"));
        }
        let target = Target::Remote(Remote::new(&server)?);
        return run_lifecycle(&target, command, json).await;
    }
    let settings = Settings::load(config.as_deref(), database_url, listen.clone().flatten())
        .map_err(|e| Failure::usage(format!("{e:#}")))?;
    // `serve` checks its address before touching the store.
    if listen.is_some() {
        settings.listen_addr().map_err(|e| Failure::usage(format!("{e:#}")))?;
    }
    let store = open_store(&settings).await?;
    let hashing = PasswordHashing::new(settings.gateway.login_hash_concurrency);
    let control = Control::new(store.clone()).with_password_hashing(hashing);
    let result = match command {
        Command::Serve { .. } => serve::serve(&settings, store.clone(), &control, json).await,
        Command::Governor(cmd) => governor::audits(&control, cmd, json).await,
        Command::Policy(cmd) => governor::policies(&control, cmd, json).await,
        command => run_lifecycle(&Target::Local(control), command, json).await,
    };
    store.close().await;
    result
}

pub(crate) async fn open_store(settings: &Settings) -> Result<Store, Failure> {
    Store::open_with_timeout(&settings.database_url, settings.database_timeout).await.map_err(|e| {
        let message = format!("cannot open the store {}: {e}", redact_url(&settings.database_url));
        if e.is_unavailable() {
            Failure { code: "NOT_READY", ..Failure::runtime(message) }
        } else {
            Failure::runtime(message)
        }
    })
}

/// The Governor's commands read and write the store; a project key does the same remotely
/// through the compliance API (docs/governor.md).
const GOVERNOR_LOCAL_ONLY: &str = "the Governor's commands (project set-governor, governor, policy) run against the \
     store, not --server; remotely, use the compliance API with a project key (docs/governor.md)";

async fn run_lifecycle(target: &Target, command: Command, json: bool) -> CmdResult {
    match command {
        Command::Serve { .. } => Err(Failure::usage("serve is not a lifecycle command")),
        Command::Project(cmd) => project::run(target, cmd, json).await,
        Command::Key(cmd) => key::run(target, cmd, json).await,
        Command::User(cmd) => user::run(target, cmd, json).await,
        Command::Alerts(cmd) => alerts::run(target, cmd, json).await,
        Command::Token(cmd) => token::run(target, cmd, json).await,
        Command::Governor(_) | Command::Policy(_) => Err(Failure::usage(GOVERNOR_LOCAL_ONLY)),
        Command::Scan(_) => Err(Failure::usage("scan is not a lifecycle command")),
    }
}
