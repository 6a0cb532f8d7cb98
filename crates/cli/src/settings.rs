//! Settings: defaults that work on one machine, overridden by an optional TOML file, then by
//! `REGPILOT_*` environment variables, then by command-line flags. Unknown keys in the file
//! are an error. Each setting is declared once, in [`Settings::read`]; the example file and the
//! README table are written from those declarations (`settings/docs.rs`).

#[cfg(test)]
mod docs;
mod source;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use regpilot_ai::AiConfig;
use regpilot_control::{LeakAction, SessionPolicy};
use regpilot_gateway::{ConnLimits, FailureMode, GatewayConfig, LeakReporterToken, LeakResponse, RecorderConfig};
use serde::Deserialize;

#[cfg(test)]
use source::Doc;
use source::{Setting, Source};

#[derive(Debug, Clone)]
pub struct Settings {
    /// As given; only `serve` reads it (see [`Settings::listen_addr`]).
    pub listen: String,
    pub database_url: String,
    /// The longest wait for a store connection.
    pub database_timeout: Duration,
    /// What `serve` runs with.
    pub gateway: GatewayConfig,
}

/// The values given on the command line, which win over everything else.
#[derive(Debug, Default)]
struct Flags {
    database_url: Option<String>,
    listen: Option<String>,
}

/// The `[ai]` table, read on its own so that its errors keep their place in the file.
#[derive(Deserialize)]
struct AiSection {
    ai: Option<AiConfig>,
}

/// The country database `serve` picks up from the data folder when none is configured
/// (`scripts/serve` installs one there).
pub const DATA_DIR_GEOIP_FILE: &str = "country.mmdb";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./regpilot-data";

impl Settings {
    /// `database_url` and `listen` are the command-line values, when given.
    pub fn load(config: Option<&Path>, database_url: Option<String>, listen: Option<String>) -> Result<Settings> {
        let text = match config {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the settings file {}", path.display()))?,
            None => String::new(),
        };
        let file_name = config.map(|p| p.display().to_string()).unwrap_or_default();
        let env = |name: &str| std::env::var(name).ok();
        Settings::parse(&text, &file_name, &env, Flags { database_url, listen })
    }

    fn parse(text: &str, file_name: &str, env: &dyn Fn(&str) -> Option<String>, flags: Flags) -> Result<Settings> {
        let invalid = || format!("invalid settings file {file_name}");
        let table: toml::Table = toml::from_str(text).with_context(invalid)?;
        let ai = toml::from_str::<AiSection>(text).with_context(invalid)?.ai.unwrap_or_default();
        if ai.connect_timeout_ms == 0 || ai.response_timeout_secs == 0 || ai.stream_idle_timeout_secs == 0 {
            bail!("ai: connect_timeout_ms, response_timeout_secs and stream_idle_timeout_secs must be at least 1");
        }
        if ai.stream_max_duration_secs == 0 || ai.upstream_body_limit_bytes < 1024 {
            bail!("ai: stream_max_duration_secs must be at least 1 and upstream_body_limit_bytes at least 1024");
        }
        let mut src = Source::new(table, file_name, env);
        let settings = Settings::read(&mut src, flags, ai)?;
        if let Some(key) = src.unknown_keys("ai").first() {
            let known: Vec<_> = src.docs.iter().map(|d| d.key).chain(["ai"]).collect();
            bail!("{}: unknown setting `{key}` (the settings are {})", invalid(), known.join(", "));
        }
        Ok(settings)
    }

    /// Every setting but the `[ai]` table, declared where its value goes. Adding a setting is
    /// one `src.read(Setting::new(…)…)` here (and the field it fills).
    fn read(src: &mut Source, flags: Flags, ai: AiConfig) -> Result<Settings> {
        let listen = src.read(
            Setting::new(
                "listen",
                "REGPILOT_LISTEN",
                "Address `regpilot serve` listens on: `IP:PORT`, `[IPv6]:PORT` or `localhost:PORT`.",
            )
            .default(DEFAULT_LISTEN.to_owned())
            .flag("serve --listen", flags.listen),
        )?;
        let data_dir: PathBuf = src.read(
            Setting::new("data_dir", "REGPILOT_DATA_DIR", "Folder of the embedded SQLite store.")
                .default(DEFAULT_DATA_DIR.into()),
        )?;
        let database_url = src.read_opt(
            Setting::new(
                "database_url",
                "REGPILOT_DATABASE_URL",
                "Store: `sqlite:///absolute/path.db` (created if missing) or `postgres://user:pass@host/db`.",
            )
            .unset("`sqlite://<data_dir>/regpilot.db`", "\"postgres://regpilot@127.0.0.1/regpilot\"")
            .flag("--database-url", flags.database_url),
        )?;
        let database_url = match database_url {
            Some(url) => url,
            None => {
                let relative = data_dir.strip_prefix(".").unwrap_or(&data_dir);
                let dir =
                    if data_dir.is_absolute() { data_dir.clone() } else { std::env::current_dir()?.join(relative) };
                format!("sqlite://{}", dir.join("regpilot.db").display())
            }
        };
        let database_timeout = Duration::from_millis(
            src.read(
                Setting::new(
                    "database_timeout_ms",
                    "REGPILOT_DATABASE_TIMEOUT_MS",
                    "Longest wait for a store connection (ms). While the database cannot be reached, a write \
                     fails after this long: 503 `NOT_READY` over HTTP, exit status 1 on the command line.",
                )
                .default(regpilot_store::DEFAULT_ACQUIRE_TIMEOUT.as_millis() as u64)
                .range(100, 600_000),
            )?,
        );
        let (minutes_ms, hours_ms) = (|m: i64| m * 60_000, |h: i64| h * 3_600_000);
        let gateway = GatewayConfig {
            max_body_bytes: src.read(
                Setting::new(
                    "max_body_bytes",
                    "REGPILOT_MAX_BODY_BYTES",
                    "Largest request body accepted (bytes); larger ones get 413.",
                )
                .default(1024 * 1024)
                .at_least(1),
            )?,
            feed_poll: Duration::from_millis(
                src.read(
                    Setting::new(
                        "feed_poll_ms",
                        "REGPILOT_FEED_POLL_MS",
                        "How often each instance polls the change feed (ms).",
                    )
                    .note("PostgreSQL also pushes changes at once with LISTEN/NOTIFY.")
                    .default(250)
                    .range(10, 1000)
                    .why("changes must reach every instance within 1 s"),
                )?,
            ),
            shutdown_grace: Duration::from_secs(
                src.read(
                    Setting::new(
                        "shutdown_grace_secs",
                        "REGPILOT_SHUTDOWN_GRACE_SECS",
                        "On SIGTERM, how long open streams may run on before they are ended (seconds).",
                    )
                    .note(
                        "The server drains: /api/ready answers 503, new requests get 503, requests in flight \
                         finish, and open streams are ended with a final error event after this long. Then usage \
                         is written and the process exits 0.",
                    )
                    .default(20)
                    .range(0, 3600),
                )?,
            ),
            connections: ConnLimits {
                header_read_timeout: Duration::from_secs(
                    src.read(
                        Setting::new(
                            "header_read_timeout_secs",
                            "REGPILOT_HEADER_READ_TIMEOUT_SECS",
                            "A client must send a request's headers within this long (seconds), counted from \
                             the connection's accept or the request's first byte; a slower one is disconnected.",
                        )
                        .default(10)
                        .range(1, 3600),
                    )?,
                ),
                keepalive_timeout: Duration::from_secs(
                    src.read(
                        Setting::new(
                            "keepalive_timeout_secs",
                            "REGPILOT_KEEPALIVE_TIMEOUT_SECS",
                            "A kept-alive connection with no new request this long after its last answer is \
                             closed (seconds).",
                        )
                        .default(60)
                        .range(1, 3600),
                    )?,
                ),
                max_connections: src.read(
                    Setting::new(
                        "max_connections",
                        "REGPILOT_MAX_CONNECTIONS",
                        "Client connections served at once (0: derived from the open-file limit); beyond \
                         it a new connection is closed at once and counted in /metrics.",
                    )
                    .note(
                        "0: half the open-file limit left after 256 descriptors for the store, Redis and files \
                         (serve raises the soft limit to the hard one first), at least 64.",
                    )
                    .default(0),
                )?,
            },
            redis_url: src
                .read_opt(
                    Setting::new(
                        "redis_url",
                        "REGPILOT_REDIS_URL",
                        "Redis shared by every instance, so limits hold across all of them: \
                         `redis://[user:pass@]host:port[/db]`.",
                    )
                    .section("Rate limits")
                    .unset("none (limits in-process, one instance)", "\"redis://127.0.0.1:6379\""),
                )?
                .filter(|u: &String| !u.trim().is_empty()),
            redis_timeout: Duration::from_millis(
                src.read(
                    Setting::new(
                        "redis_timeout_ms",
                        "REGPILOT_REDIS_TIMEOUT_MS",
                        "Longest wait for Redis on the request path (ms).",
                    )
                    .default(25)
                    .range(1, 5000),
                )?,
            ),
            redis_failure_mode: src
                .read(
                    Setting::new(
                        "redis_failure_mode",
                        "REGPILOT_REDIS_FAILURE_MODE",
                        "While Redis is unreachable: `local` (decide in-process: limits hold per instance), \
                         `open` (admit without a limit) or `closed` (answer 503 NOT_READY).",
                    )
                    .note("Never a 429 it cannot justify.")
                    .default(FailureMode::Local.as_str().to_owned()),
                )?
                .trim()
                .parse()
                .map_err(|e| anyhow::anyhow!("redis_failure_mode: {e}"))?,
            trusted_proxies: src
                .read(
                    Setting::new(
                        "trusted_proxies",
                        "REGPILOT_TRUSTED_PROXIES",
                        "Proxies whose X-Forwarded-For is believed: addresses or CIDR ranges \
                         (comma-separated in the environment variable).",
                    )
                    .section("Usage monitoring")
                    .note("Empty: the client is always the socket peer.")
                    .default(Vec::new()),
                )?
                .join(",")
                .parse()
                .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?,
            geoip_db: src
                .read_opt(
                    Setting::new(
                        "geoip_db",
                        "REGPILOT_GEOIP_DB",
                        "MaxMind-format country database (`.mmdb`); without one, countries are recorded as \
                         `unknown`.",
                    )
                    .unset("`<data_dir>/country.mmdb` if present", "\"/var/lib/regpilot/country.mmdb\""),
                )?
                .or_else(|| Some(data_dir.join(DATA_DIR_GEOIP_FILE)).filter(|p| p.is_file())),
            usage: RecorderConfig {
                flush_every: Duration::from_millis(
                    src.read(
                        Setting::new(
                            "usage_flush_ms",
                            "REGPILOT_USAGE_FLUSH_MS",
                            "How often recorded usage is written to the store (ms).",
                        )
                        .default(1000)
                        .range(10, 60_000),
                    )?,
                ),
                summary_every: Duration::from_secs(
                    src.read(
                        Setting::new(
                            "staging_summary_secs",
                            "REGPILOT_STAGING_SUMMARY_SECS",
                            "How often each staging key's one-line usage summary is logged (seconds).",
                        )
                        .default(60)
                        .range(1, 3600),
                    )?,
                ),
                ..RecorderConfig::default()
            },
            usage_retention_days: src.read(
                Setting::new(
                    "usage_retention_days",
                    "REGPILOT_USAGE_RETENTION_DAYS",
                    "Usage older than this many days is deleted.",
                )
                .default(400)
                .range(31, 3660)
                .why("reports and alert rules look 30 days back"),
            )?,
            alert_check: Duration::from_secs(
                src.read(
                    Setting::new(
                        "alert_check_secs",
                        "REGPILOT_ALERT_CHECK_SECS",
                        "How often the unusual-activity rules run (seconds).",
                    )
                    .default(60)
                    .range(1, 3600),
                )?,
            ),
            session_policy: SessionPolicy {
                idle_ms: minutes_ms(
                    src.read(
                        Setting::new(
                            "session_idle_minutes",
                            "REGPILOT_SESSION_IDLE_MINUTES",
                            "A dashboard session unused this many minutes ends.",
                        )
                        .section("Dashboard")
                        .default(30)
                        .range(1, 1440),
                    )?,
                ),
                lifetime_ms: hours_ms(
                    src.read(
                        Setting::new(
                            "session_lifetime_hours",
                            "REGPILOT_SESSION_LIFETIME_HOURS",
                            "A dashboard session ends this many hours after login, however active.",
                        )
                        .default(12)
                        .range(1, 720),
                    )?,
                ),
            },
            secure_cookies: src.read(
                Setting::new(
                    "secure_cookies",
                    "REGPILOT_SECURE_COOKIES",
                    "Mark the session cookie `Secure` (sent over HTTPS only).",
                )
                .note("Turn it on when browsers reach the server through HTTPS (a TLS-terminating proxy).")
                .default(false),
            )?,
            login_hash_concurrency: src.read(
                Setting::new(
                    "login_hash_concurrency",
                    "REGPILOT_LOGIN_HASH_CONCURRENCY",
                    "At most this many password checks (Argon2, about 19 MiB each) run at once; 0: one per core.",
                )
                .note("A login that waits 2 s for its turn gets 503 with `Retry-After`.")
                .default(0)
                .range(0, 1024),
            )?,
            governor_store_content: src.read(
                Setting::new(
                    "governor_store_content",
                    "REGPILOT_GOVERNOR_STORE_CONTENT",
                    "Keep the delivered text of each Governor validation in its audit entry.",
                )
                .note(
                    "Off by default: audits keep SHA-256 digests of the texts, never the texts. Never kept in mode \
                     monitor, whose delivered text is the original.",
                )
                .default(false),
            )?,
            leaks: LeakResponse {
                reporter_token: src
                    .read_opt(
                        Setting::new(
                            "leak_reporter_token",
                            "REGPILOT_LEAK_REPORTER_TOKEN",
                            "The secret a leak reporter sends as `Authorization: Bearer …` to `POST /api/leaks`.",
                        )
                        .section("Leak response")
                        .note("Unset: the endpoint answers 404. Prefer the environment variable to the file.")
                        .unset("none (leak reports off)", "\"a-long-random-string\""),
                    )?
                    .and_then(|t: String| LeakReporterToken::new(&t)),
                action: src
                    .read(
                        Setting::new(
                            "leak_action",
                            "REGPILOT_LEAK_ACTION",
                            "What a leak report does to a live key: `deactivate` (refused everywhere within 1 s) \
                             or `alert` (a `key_leaked` alert only).",
                        )
                        .default(LeakAction::Deactivate.as_str().to_owned()),
                    )?
                    .trim()
                    .parse()
                    .map_err(|e| anyhow::anyhow!("leak_action: {e}"))?,
            },
            ai,
        };
        Ok(Settings { listen, database_url, database_timeout, gateway })
    }

    /// Every setting as the example file and the README describe it.
    #[cfg(test)]
    fn docs() -> Result<Vec<Doc>> {
        let mut src = Source::new(toml::Table::new(), "", &|_| None);
        Settings::read(&mut src, Flags::default(), AiConfig::default())?;
        Ok(src.docs)
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

    /// The file alone: no environment, no flags.
    fn from_file(text: &str) -> Result<Settings> {
        Settings::parse(text, "test.toml", &|_| None, Flags::default())
    }

    #[test]
    fn unknown_keys_in_the_file_are_an_error() {
        let err = from_file("listen = \"127.0.0.1:1\"\nlisten_port = 3").unwrap_err();
        assert!(err.to_string().contains("listen_port"), "{err}");
    }

    #[test]
    fn the_example_file_lists_valid_settings() {
        let text = include_str!("../../../regpilot.example.toml");
        from_file(text).unwrap();
    }

    #[test]
    fn a_flag_wins_over_the_environment_which_wins_over_the_file() {
        let env = |name: &str| (name == "REGPILOT_LISTEN").then(|| "127.0.0.1:2".to_owned());
        let file = "listen = \"127.0.0.1:3\"\nfeed_poll_ms = 40";
        let flags = || Flags { listen: Some("127.0.0.1:1".into()), database_url: None };
        assert_eq!(Settings::parse(file, "f", &env, flags()).unwrap().listen, "127.0.0.1:1");
        let s = Settings::parse(file, "f", &env, Flags::default()).unwrap();
        assert_eq!(s.listen, "127.0.0.1:2");
        assert_eq!(s.gateway.feed_poll, Duration::from_millis(40));
        assert_eq!(from_file(file).unwrap().listen, "127.0.0.1:3");
        let defaults = from_file("").unwrap();
        assert_eq!(defaults.listen, DEFAULT_LISTEN);
        assert_eq!(defaults.gateway.feed_poll, Duration::from_millis(250));
        assert_eq!(defaults.gateway.session_policy.lifetime_ms, 12 * 3_600_000);
    }

    #[test]
    fn values_out_of_bounds_or_of_the_wrong_type_are_errors() {
        let err = |text: &str| format!("{:#}", from_file(text).unwrap_err());
        assert_eq!(
            err("feed_poll_ms = 5"),
            "feed_poll_ms must be between 10 and 1000 (changes must reach every instance within 1 s)"
        );
        assert_eq!(err("max_body_bytes = 0"), "max_body_bytes must be at least 1");
        let ai_bounds = "ai: stream_max_duration_secs must be at least 1 and upstream_body_limit_bytes at least 1024";
        assert_eq!(err("[ai]\nstream_max_duration_secs = 0"), ai_bounds);
        assert_eq!(err("[ai]\nupstream_body_limit_bytes = 10"), ai_bounds);
        assert!(err("feed_poll_ms = \"fast\"").starts_with("invalid settings file test.toml: feed_poll_ms: "));
        assert!(err("redis_failure_mode = \"maybe\"").starts_with("redis_failure_mode: "));
        assert!(err("trusted_proxies = [\"nope\"]").starts_with("trusted_proxies: "));
        let env = |name: &str| (name == "REGPILOT_USAGE_FLUSH_MS").then(|| "soon".to_owned());
        let e = Settings::parse("", "f", &env, Flags::default()).unwrap_err();
        assert!(e.to_string().starts_with("REGPILOT_USAGE_FLUSH_MS=\"soon\" is not valid: "), "{e}");
    }

    #[test]
    fn trusted_proxies_are_a_list_in_the_file_and_comma_separated_in_the_environment() {
        let env = |name: &str| (name == "REGPILOT_TRUSTED_PROXIES").then(|| "10.0.0.1, 10.1.0.0/16".to_owned());
        let from_env = Settings::parse("", "f", &env, Flags::default()).unwrap();
        let from_file = from_file("trusted_proxies = [\"10.0.0.1\", \"10.1.0.0/16\"]").unwrap();
        for s in [from_env, from_file] {
            assert!(s.gateway.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
            assert!(!s.gateway.trusted_proxies.contains("10.2.0.1".parse().unwrap()));
        }
    }
}
