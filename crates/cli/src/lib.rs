//! The `regpilot` command: `serve` and the control-plane commands. Results a script needs go
//! to stdout (with `--json`, exactly one JSON object); everything else goes to stderr.

mod args;
mod commands;
mod output;
mod settings;

use clap::Parser;

pub use args::Cli;
use output::Failure;

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => 0,
        Err(failure) => failure.report(json),
    }
}

/// Logs go to stderr; `RUST_LOG` overrides the default level (info for `serve`, warnings
/// otherwise).
pub(crate) fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).try_init();
}

pub(crate) type CmdResult = Result<(), Failure>;
