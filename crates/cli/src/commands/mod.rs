//! One function per command, all on the control-plane service layer.

mod alerts;
mod governor;
mod key;
mod project;
mod scan;
mod serve;
mod user;

use regpilot_control::{Control, PasswordHashing};
use regpilot_store::{redact_url, Store};

use crate::args::{Cli, Command};
use crate::output::Failure;
use crate::settings::Settings;
use crate::{init_logging, CmdResult};

pub async fn run(cli: Cli) -> CmdResult {
    let listen = match &cli.command {
        Command::Serve { listen } => Some(listen.clone()),
        _ => None,
    };
    init_logging(if listen.is_some() { "info,sqlx=warn" } else { "warn" });
    let settings = Settings::load(cli.config.as_deref(), cli.database_url.clone(), listen.clone().flatten())
        .map_err(|e| Failure::usage(format!("{e:#}")))?;
    // `serve` checks its address before touching the store.
    if listen.is_some() {
        settings.listen_addr().map_err(|e| Failure::usage(format!("{e:#}")))?;
    }
    let json = cli.json;
    // `scan` opens the store only for `--check` without `--server`.
    let command = match cli.command {
        Command::Scan(args) => return scan::run(args, &settings, json).await,
        other => other,
    };
    let store = open_store(&settings).await?;
    let hashing = PasswordHashing::new(settings.gateway.login_hash_concurrency);
    let control = Control::new(store.clone()).with_password_hashing(hashing);
    let result = match command {
        Command::Serve { .. } => serve::serve(&settings, store.clone(), &control, json).await,
        Command::Project(cmd) => project::run(&control, cmd, json).await,
        Command::Key(cmd) => key::run(&control, cmd, json).await,
        Command::User(cmd) => user::run(&control, cmd, json).await,
        Command::Alerts(cmd) => alerts::run(&control, cmd, json).await,
        Command::Governor(cmd) => governor::audits(&control, cmd, json).await,
        Command::Policy(cmd) => governor::policies(&control, cmd, json).await,
        // Dispatched above; the same call either way.
        Command::Scan(args) => scan::run(args, &settings, json).await,
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
