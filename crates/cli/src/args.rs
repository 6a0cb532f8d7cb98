//! The command line (README.md, "Command line").

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "regpilot",
    version,
    about = "RegPilot Gateway: API keys, rate limits, usage and compliance records in front of AI providers"
)]
pub struct Cli {
    /// Store to use: sqlite:///absolute/path.db or postgres://… [default: the SQLite file
    /// regpilot.db in the data folder]
    #[arg(long, global = true, env = "REGPILOT_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Print one JSON object on stdout (for scripts); messages go to stderr.
    #[arg(long, global = true)]
    pub json: bool,

    /// Settings file (TOML); see regpilot.example.toml.
    #[arg(long, global = true, env = "REGPILOT_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080; env REGPILOT_LISTEN]
        #[arg(long)]
        listen: Option<String>,
    },
    /// Create and list projects, and set their plans.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Create, list, deactivate, reactivate and delete API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Manage dashboard users.
    #[command(subcommand)]
    User(UserCommand),
    /// List and acknowledge alerts on unusual key activity.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Find RegPilot keys and admin tokens in files, directories and standard input.
    ///
    /// Exit status: 1 when one is found (with --check: a live one), 2 when an input cannot be
    /// read or a check fails, 0 when clean. Secrets are shown by display prefix only.
    Scan(ScanArgs),
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and directories (directories honour .gitignore and skip binaries); `-` or none:
    /// standard input.
    pub paths: Vec<PathBuf>,
    /// Ask whether each secret found is live, inactive, deleted, expired or unknown (by
    /// digest): the store of --database-url, or the gateway of --server.
    #[arg(long)]
    pub check: bool,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
    pub format: ScanFormat,
    /// A running gateway: --check asks it (with the admin token in REGPILOT_ADMIN_TOKEN) instead of
    /// the store; --report sends to it.
    #[arg(long, env = "REGPILOT_SERVER")]
    pub server: Option<String>,
    /// Report every secret found to the gateway's POST /api/leaks (live keys get deactivated
    /// or alerted on, as the gateway's leak_action says).
    #[arg(long)]
    pub report: bool,
    /// The gateway's leak reporter token, for --report.
    #[arg(long, env = "REGPILOT_LEAK_REPORTER_TOKEN", hide_env_values = true)]
    pub reporter_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// One line per finding: path:line:column: prefix, what it is, [status].
    Text,
    /// One JSON object (the same as --json).
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project.
    Create {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        plan: PlanArgs,
    },
    /// List projects.
    List,
    /// Change a project's plan (and, for enterprise, its custom limits).
    SetPlan {
        project_id: String,
        /// free, pro or enterprise
        #[arg(long)]
        plan: String,
        /// Requests per UTC day (enterprise only; default unlimited)
        #[arg(long)]
        daily_limit: Option<i64>,
        /// Burst, requests per second (enterprise only; default 1000)
        #[arg(long)]
        burst: Option<i64>,
    },
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// free, pro or enterprise
    #[arg(long, default_value = "free")]
    pub plan: String,
    /// Requests per UTC day (enterprise only; default unlimited)
    #[arg(long)]
    pub daily_limit: Option<i64>,
    /// Burst, requests per second (enterprise only; default 1000)
    #[arg(long)]
    pub burst: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key. The secret is printed once.
    Create {
        #[arg(long)]
        project: String,
        /// gateway (sk_) or project (pk_)
        #[arg(long = "type")]
        key_type: String,
        /// dev, stg or prod
        #[arg(long)]
        env: String,
        #[arg(long)]
        name: String,
        /// Only the type's read scopes (models, usage:read, compliance:read).
        #[arg(long)]
        read_only: bool,
        /// Scopes instead of the type's defaults, comma-separated.
        #[arg(long)]
        scopes: Option<String>,
        /// Expire the key after this many days.
        #[arg(long)]
        expires_in: Option<i64>,
    },
    /// List a project's keys (never the secrets).
    List {
        #[arg(long)]
        project: String,
    },
    /// Refuse the key everywhere until reactivated.
    Deactivate { key_id: String },
    /// Accept an inactive key again. Deleted keys cannot be reactivated.
    Reactivate { key_id: String },
    /// Delete the key for good.
    Delete { key_id: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a dashboard user; the password is read from stdin.
    Create {
        #[arg(long)]
        email: String,
        /// admin or viewer
        #[arg(long, default_value = "admin")]
        role: String,
    },
    /// List the dashboard users.
    List,
    /// Stop a user from logging in, and end every session of the user at once.
    Deactivate {
        /// The user's id or email address.
        user: String,
    },
    /// Let a deactivated user log in again.
    Reactivate {
        /// The user's id or email address.
        user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List a project's open alerts, newest first.
    List {
        #[arg(long)]
        project: String,
        /// Include acknowledged alerts.
        #[arg(long)]
        all: bool,
    },
    /// Acknowledge an alert: it leaves the list of open alerts.
    Ack { alert_id: String },
    /// Run the alert rules now and print the alerts they raise (a running server does this
    /// every minute).
    Check,
}
