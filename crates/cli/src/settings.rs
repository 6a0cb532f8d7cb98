//! Settings: defaults that work on one machine, overridden by an optional TOML file, then by
//! `REGPILOT_*` environment variables, then by command-line flags. Unknown keys in the file
//! are an error.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use regpilot_ai::AiConfig;
use regpilot_gateway::{FailureMode, TrustedProxies};
use serde::Deserialize;

/// The settings file. Every field is optional; see `regpilot.example.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    /// env REGPILOT_LISTEN
    listen: Option<String>,
    /// env REGPILOT_DATABASE_URL
    database_url: Option<String>,
    /// env REGPILOT_DATA_DIR
    data_dir: Option<PathBuf>,
    /// env REGPILOT_MAX_BODY_BYTES
    max_body_bytes: Option<usize>,
    /// env REGPILOT_FEED_POLL_MS
    feed_poll_ms: Option<u64>,
    /// env REGPILOT_REDIS_URL
    redis_url: Option<String>,
    /// env REGPILOT_REDIS_TIMEOUT_MS
    redis_timeout_ms: Option<u64>,
    /// env REGPILOT_REDIS_FAILURE_MODE
    redis_failure_mode: Option<String>,
    /// env REGPILOT_TRUSTED_PROXIES (comma-separated there)
    trusted_proxies: Option<Vec<String>>,
    /// env REGPILOT_GEOIP_DB
    geoip_db: Option<PathBuf>,
    /// env REGPILOT_USAGE_FLUSH_MS
    usage_flush_ms: Option<u64>,
    /// env REGPILOT_STAGING_SUMMARY_SECS
    staging_summary_secs: Option<u64>,
    /// env REGPILOT_USAGE_RETENTION_DAYS
    usage_retention_days: Option<i64>,
    /// env REGPILOT_ALERT_CHECK_SECS
    alert_check_secs: Option<u64>,
    /// env REGPILOT_SHUTDOWN_GRACE_SECS
    shutdown_grace_secs: Option<u64>,
    /// env REGPILOT_SESSION_IDLE_MINUTES
    session_idle_minutes: Option<i64>,
    /// env REGPILOT_SESSION_LIFETIME_HOURS
    session_lifetime_hours: Option<i64>,
    /// env REGPILOT_SECURE_COOKIES
    secure_cookies: Option<bool>,
    /// Providers, models, quality tiers, upstream timeouts (the file only).
    ai: Option<AiConfig>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// As given; only `serve` reads it (see [`Settings::listen_addr`]).
    pub listen: String,
    pub database_url: String,
    pub max_body_bytes: usize,
    pub feed_poll: Duration,
    pub limits: LimiterSettings,
    pub usage: UsageSettings,
    pub ai: AiConfig,
    /// On SIGTERM, how long open streams may run on before they are ended.
    pub shutdown_grace: Duration,
    pub dashboard: DashboardSettings,
}

/// The web dashboard's sessions.
#[derive(Debug, Clone)]
pub struct DashboardSettings {
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after login, however active.
    pub lifetime: Duration,
    /// `Secure` on the session cookie: set it when browsers reach the server over HTTPS.
    pub secure_cookies: bool,
}

/// Where limits are kept: in-process, or in Redis shared by every instance.
#[derive(Debug, Clone)]
pub struct LimiterSettings {
    pub redis_url: Option<String>,
    pub redis_timeout: Duration,
    pub redis_failure_mode: FailureMode,
}

/// Usage recording and monitoring.
#[derive(Debug, Clone)]
pub struct UsageSettings {
    pub trusted_proxies: TrustedProxies,
    /// `None`: no database configured and none in the data folder; countries are `unknown`.
    pub geoip_db: Option<PathBuf>,
    pub flush_every: Duration,
    /// How often each staging key's one-line summary is logged (SPEC §2: every minute).
    pub staging_summary: Duration,
    /// Usage older than this is deleted.
    pub retention_days: i64,
    pub alert_check: Duration,
}

/// The country database `serve` picks up from the data folder when none is configured
/// (`scripts/serve` installs one there).
pub const DATA_DIR_GEOIP_FILE: &str = "country.mmdb";
pub const DEFAULT_REDIS_TIMEOUT_MS: u64 = 25;
pub const DEFAULT_USAGE_FLUSH_MS: u64 = 1000;
pub const DEFAULT_ALERT_CHECK_SECS: u64 = 60;
pub const DEFAULT_STAGING_SUMMARY_SECS: u64 = 60;
pub const DEFAULT_USAGE_RETENTION_DAYS: i64 = 400;
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 20;
pub const DEFAULT_SESSION_IDLE_MINUTES: i64 = 30;
pub const DEFAULT_SESSION_LIFETIME_HOURS: i64 = 12;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./regpilot-data";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
pub const DEFAULT_FEED_POLL_MS: u64 = 250;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_parsed<T: std::str::FromStr>(name: &str) -> Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    match env(name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|e| anyhow::anyhow!("{name}={v:?} is not valid: {e}")),
    }
}

impl Settings {
    /// `database_url` and `listen` are the command-line values, when given.
    pub fn load(config: Option<&Path>, database_url: Option<String>, listen: Option<String>) -> Result<Settings> {
        let file = match config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the settings file {}", path.display()))?;
                toml::from_str::<FileSettings>(&text)
                    .with_context(|| format!("invalid settings file {}", path.display()))?
            }
            None => FileSettings::default(),
        };
        let listen = listen.or_else(|| env("REGPILOT_LISTEN")).or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.into());
        let data_dir =
            env("REGPILOT_DATA_DIR").map(PathBuf::from).or(file.data_dir).unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        let database_url = match database_url.or(file.database_url) {
            Some(url) => url,
            None => {
                let relative = data_dir.strip_prefix(".").unwrap_or(&data_dir);
                let dir =
                    if data_dir.is_absolute() { data_dir.clone() } else { std::env::current_dir()?.join(relative) };
                format!("sqlite://{}", dir.join("regpilot.db").display())
            }
        };
        let max_body_bytes =
            env_parsed("REGPILOT_MAX_BODY_BYTES")?.or(file.max_body_bytes).unwrap_or(DEFAULT_MAX_BODY_BYTES);
        if max_body_bytes == 0 {
            bail!("max_body_bytes must be at least 1");
        }
        let poll_ms = env_parsed("REGPILOT_FEED_POLL_MS")?.or(file.feed_poll_ms).unwrap_or(DEFAULT_FEED_POLL_MS);
        if !(10..=1000).contains(&poll_ms) {
            bail!("feed_poll_ms must be between 10 and 1000 (changes must reach every instance within 1 s)");
        }
        let limits = LimiterSettings {
            redis_url: env("REGPILOT_REDIS_URL").or(file.redis_url).filter(|u| !u.trim().is_empty()),
            redis_timeout: Duration::from_millis(
                env_parsed("REGPILOT_REDIS_TIMEOUT_MS")?.or(file.redis_timeout_ms).unwrap_or(DEFAULT_REDIS_TIMEOUT_MS),
            ),
            redis_failure_mode: match env("REGPILOT_REDIS_FAILURE_MODE").or(file.redis_failure_mode) {
                Some(m) => m.trim().parse().map_err(|e| anyhow::anyhow!("redis_failure_mode: {e}"))?,
                None => FailureMode::Local,
            },
        };
        if !(1..=5000).contains(&limits.redis_timeout.as_millis()) {
            bail!("redis_timeout_ms must be between 1 and 5000");
        }
        let proxies = env("REGPILOT_TRUSTED_PROXIES").or(file.trusted_proxies.map(|l| l.join(",")));
        let trusted_proxies = match proxies {
            Some(list) => list.parse().map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?,
            None => TrustedProxies::default(),
        };
        let in_data_dir = data_dir.join(DATA_DIR_GEOIP_FILE);
        let geoip_db = env("REGPILOT_GEOIP_DB")
            .map(PathBuf::from)
            .or(file.geoip_db)
            .or_else(|| in_data_dir.is_file().then_some(in_data_dir));
        let flush_ms = env_parsed("REGPILOT_USAGE_FLUSH_MS")?.or(file.usage_flush_ms).unwrap_or(DEFAULT_USAGE_FLUSH_MS);
        if !(10..=60_000).contains(&flush_ms) {
            bail!("usage_flush_ms must be between 10 and 60000");
        }
        let summary_secs = env_parsed("REGPILOT_STAGING_SUMMARY_SECS")?
            .or(file.staging_summary_secs)
            .unwrap_or(DEFAULT_STAGING_SUMMARY_SECS);
        if !(1..=3600).contains(&summary_secs) {
            bail!("staging_summary_secs must be between 1 and 3600");
        }
        let retention_days = env_parsed("REGPILOT_USAGE_RETENTION_DAYS")?
            .or(file.usage_retention_days)
            .unwrap_or(DEFAULT_USAGE_RETENTION_DAYS);
        if !(31..=3660).contains(&retention_days) {
            bail!("usage_retention_days must be between 31 and 3660 (reports and alert rules look 30 days back)");
        }
        let alert_secs =
            env_parsed("REGPILOT_ALERT_CHECK_SECS")?.or(file.alert_check_secs).unwrap_or(DEFAULT_ALERT_CHECK_SECS);
        if !(1..=3600).contains(&alert_secs) {
            bail!("alert_check_secs must be between 1 and 3600");
        }
        let usage = UsageSettings {
            trusted_proxies,
            geoip_db,
            flush_every: Duration::from_millis(flush_ms),
            staging_summary: Duration::from_secs(summary_secs),
            retention_days,
            alert_check: Duration::from_secs(alert_secs),
        };
        let grace_secs = env_parsed("REGPILOT_SHUTDOWN_GRACE_SECS")?
            .or(file.shutdown_grace_secs)
            .unwrap_or(DEFAULT_SHUTDOWN_GRACE_SECS);
        if grace_secs > 3600 {
            bail!("shutdown_grace_secs must be between 0 and 3600");
        }
        let idle_minutes = env_parsed("REGPILOT_SESSION_IDLE_MINUTES")?
            .or(file.session_idle_minutes)
            .unwrap_or(DEFAULT_SESSION_IDLE_MINUTES);
        if !(1..=1440).contains(&idle_minutes) {
            bail!("session_idle_minutes must be between 1 and 1440");
        }
        let lifetime_hours = env_parsed("REGPILOT_SESSION_LIFETIME_HOURS")?
            .or(file.session_lifetime_hours)
            .unwrap_or(DEFAULT_SESSION_LIFETIME_HOURS);
        if !(1..=720).contains(&lifetime_hours) {
            bail!("session_lifetime_hours must be between 1 and 720");
        }
        let dashboard = DashboardSettings {
            idle: Duration::from_secs(idle_minutes as u64 * 60),
            lifetime: Duration::from_secs(lifetime_hours as u64 * 3600),
            secure_cookies: env_parsed("REGPILOT_SECURE_COOKIES")?.or(file.secure_cookies).unwrap_or(false),
        };
        let ai = file.ai.unwrap_or_default();
        if ai.connect_timeout_ms == 0 || ai.response_timeout_secs == 0 || ai.stream_idle_timeout_secs == 0 {
            bail!("ai: connect_timeout_ms, response_timeout_secs and stream_idle_timeout_secs must be at least 1");
        }
        Ok(Settings {
            listen,
            database_url,
            max_body_bytes,
            feed_poll: Duration::from_millis(poll_ms),
            limits,
            usage,
            ai,
            shutdown_grace: Duration::from_secs(grace_secs),
            dashboard,
        })
    }
}

impl Settings {
    /// `IP:PORT`, `[IPv6]:PORT` or `localhost:PORT`.
    pub fn listen_addr(&self) -> Result<SocketAddr> {
        let text = self.listen.trim();
        let parsed = match text.strip_prefix("localhost:") {
            Some(port) => port.parse::<u16>().ok().map(|p| SocketAddr::from(([127, 0, 0, 1], p))),
            None => text.parse().ok(),
        };
        parsed.with_context(|| format!("listen address {text:?} is not IP:PORT (for example 127.0.0.1:8080)"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn listen_addresses() {
        let with = |l: &str| Settings { listen: l.into(), ..Settings::load(None, Some(String::new()), None).unwrap() };
        assert_eq!(with("127.0.0.1:8080").listen_addr().unwrap().to_string(), "127.0.0.1:8080");
        assert_eq!(with("localhost:9000").listen_addr().unwrap().to_string(), "127.0.0.1:9000");
        assert_eq!(with("[::1]:80").listen_addr().unwrap().to_string(), "[::1]:80");
        for bad in ["8080", "localhost", "example.com:80", "1.2.3.4:99999"] {
            assert!(with(bad).listen_addr().is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_keys_in_the_file_are_an_error() {
        let err = toml::from_str::<FileSettings>("listen = \"127.0.0.1:1\"\nlisten_port = 3").unwrap_err();
        assert!(err.to_string().contains("listen_port"), "{err}");
    }

    #[test]
    fn the_example_file_lists_valid_settings() {
        let text = include_str!("../../../regpilot.example.toml");
        toml::from_str::<FileSettings>(text).unwrap();
    }
}
