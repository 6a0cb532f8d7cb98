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

    /// Drive a running gateway through its admin API instead of opening the store, e.g.
    /// https://gateway.example.com; the admin token is read from REGPILOT_ADMIN_TOKEN.
    #[arg(long, global = true, env = "REGPILOT_SERVER")]
    pub server: Option<String>,

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
    /// Create, list and revoke the personal admin tokens of dashboard users (for the admin API
    /// and --server).
    #[command(subcommand)]
    Token(TokenCommand),
    /// The Governor's audit of validated answers and prompts.
    #[command(subcommand)]
    Governor(GovernorCommand),
    /// A project's custom Governor policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
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
    /// Show or change a project's Governor settings (docs/governor.md); with no option, shows them.
    SetGovernor {
        project_id: String,
        /// sanitize (redact and deliver), block (withhold high-risk answers) or monitor (score only)
        #[arg(long)]
        mode: Option<String>,
        /// Switch the Governor on (pro: it is on unless switched off; enterprise: always on)
        #[arg(long, conflicts_with = "disabled")]
        enabled: bool,
        /// Switch the Governor off (pro only)
        #[arg(long)]
        disabled: bool,
        /// Also check prompts on their way to the model
        #[arg(long, conflicts_with = "no_check_prompts")]
        check_prompts: bool,
        /// Stop checking prompts
        #[arg(long)]
        no_check_prompts: bool,
        /// Lowest result level that opens a compliance violation: high or medium
        #[arg(long)]
        violations: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum GovernorCommand {
    /// List a project's Governor audit entries, newest first.
    Audits {
        #[arg(long)]
        project: String,
        /// Only this risk level: low, medium or high
        #[arg(long)]
        level: Option<String>,
        /// Only entries from then on: an RFC 3339 time or Unix seconds
        #[arg(long)]
        since: Option<String>,
        /// At most this many (1 to 500, default 50)
        #[arg(long)]
        limit: Option<u32>,
        /// Continue after this page (the `next_cursor` of the previous one)
        #[arg(long)]
        cursor: Option<String>,
    },
}

/// The fields of a policy, for `policy create` and `policy update`.
#[derive(Debug, Args)]
pub struct PolicyFields {
    /// Words or phrases to match (whole words, any case), comma-separated
    #[arg(long, value_delimiter = ',')]
    pub keywords: Option<Vec<String>>,
    /// A regular expression to match instead of, or besides, the keywords
    #[arg(long)]
    pub pattern: Option<String>,
    /// response (default), prompt or both
    #[arg(long)]
    pub applies_to: Option<String>,
    /// low, medium (default), high or critical
    #[arg(long)]
    pub severity: Option<String>,
    /// The text that replaces a match (action replace; optional for redact)
    #[arg(long)]
    pub replacement: Option<String>,
    /// The text appended to a matching answer (action append)
    #[arg(long)]
    pub appendix: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// List a project's policies.
    List {
        #[arg(long)]
        project: String,
    },
    /// Create a policy.
    Create {
        #[arg(long)]
        project: String,
        #[arg(long)]
        name: String,
        /// block, warn, redact, replace, append, require_approval, log or notify
        #[arg(long)]
        action: String,
        #[command(flatten)]
        fields: PolicyFields,
        /// Match and audit, but change nothing (to try a policy on live traffic)
        #[arg(long)]
        shadow: bool,
        /// Create it switched off
        #[arg(long)]
        disabled: bool,
    },
    /// Change a policy: only the options given change.
    Update {
        policy_id: String,
        #[arg(long)]
        project: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        action: Option<String>,
        #[command(flatten)]
        fields: PolicyFields,
        /// true: shadow mode (match and audit only); false: act
        #[arg(long)]
        shadow: Option<bool>,
        /// true: on; false: off
        #[arg(long)]
        enabled: Option<bool>,
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
    /// Replace a key by a successor with the same attributes (its secret printed once); the old
    /// key keeps working until the grace period ends, then expires everywhere.
    Roll {
        key_id: String,
        /// How long the old key keeps working: 0 (it expires now), or a number with s, m, h or d
        /// (at most 30d).
        #[arg(long, default_value = "24h")]
        grace: String,
    },
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
    /// Change a user's role: admin (may change things) or viewer (looks only).
    SetRole {
        /// The user's id or email address.
        user: String,
        #[arg(long)]
        role: String,
    },
    /// Reset a forgotten password: a generated one is printed once, the user must change it at
    /// the next login, and the user's sessions end.
    ResetPassword {
        /// The user's id or email address.
        user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a personal admin token for a dashboard user. The token is printed once; it
    /// carries the user's role.
    Create {
        /// The user's email address (or id). With --server, only the token's own user.
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
        /// Expire the token after this many days.
        #[arg(long)]
        expires_in: Option<i64>,
        /// The token may only read, whatever the user's role.
        #[arg(long)]
        read_only: bool,
    },
    /// List admin tokens (never the tokens themselves). With --server, the caller's own.
    List {
        /// Only this user's tokens (email or id).
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token: it stops working at once.
    Revoke { token_id: String },
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
