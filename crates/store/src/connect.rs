//! Opening the store: URL → backend, pool, per-connection settings, migrations.

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyQueryResult};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor};

use crate::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The store. Cheap to clone (a pool handle).
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    url: String,
}

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/sqlite/0001_init.sql")),
    (2, "usage", include_str!("../migrations/sqlite/0002_usage.sql")),
    (3, "project_events", include_str!("../migrations/sqlite/0003_project_events.sql")),
    (4, "usage_models", include_str!("../migrations/sqlite/0004_usage_models.sql")),
    (5, "sessions", include_str!("../migrations/sqlite/0005_sessions.sql")),
    (6, "governor", include_str!("../migrations/sqlite/0006_governor.sql")),
    (7, "admin", include_str!("../migrations/sqlite/0007_admin.sql")),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/postgres/0001_init.sql")),
    (2, "usage", include_str!("../migrations/postgres/0002_usage.sql")),
    (3, "project_events", include_str!("../migrations/postgres/0003_project_events.sql")),
    (4, "usage_models", include_str!("../migrations/postgres/0004_usage_models.sql")),
    (5, "sessions", include_str!("../migrations/postgres/0005_sessions.sql")),
    (6, "governor", include_str!("../migrations/postgres/0006_governor.sql")),
    (7, "admin", include_str!("../migrations/postgres/0007_admin.sql")),
];

/// SQLite settings for every connection: WAL so readers never block the writer, `FULL` sync so
/// a key or admin change that returned is on disk, and a busy timeout so concurrent processes
/// (the CLI beside a running server) wait for each other instead of failing.
const SQLITE_PRAGMAS: &str =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
     PRAGMA cache_size = -1024;";

/// How long a caller waits for a connection by default (`REGPILOT_DATABASE_TIMEOUT_MS`): while
/// the database is unreachable, every store call fails after this long.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    /// Opens (creating a SQLite file if missing) and migrates.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with_timeout(url, DEFAULT_ACQUIRE_TIMEOUT).await
    }

    /// As [`Store::open`]; each call waits at most `acquire_timeout` for a connection (and
    /// opening waits as long for the database to answer).
    pub async fn open_with_timeout(url: &str, acquire_timeout: Duration) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, connect_url) = normalize_url(url)?;
        let mut options = AnyPoolOptions::new().acquire_timeout(acquire_timeout);
        match backend {
            Backend::Sqlite => {
                options = options.max_connections(4).after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(SQLITE_PRAGMAS).await?;
                        Ok(())
                    })
                });
            }
            Backend::Postgres => options = options.max_connections(8),
        }
        let pool = options.connect(&connect_url).await?;
        let store = Store { pool, backend, url: url.to_owned() };
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL the store was opened with (PostgreSQL's `LISTEN` opens its own connection).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Answers when the database does: the readiness probe.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_: AnyQueryResult| ())?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let list = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        let migrations = list
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(*version, Cow::Borrowed(*name), MigrationType::Simple, Cow::Borrowed(*sql), false)
            })
            .collect::<Vec<_>>();
        let migrator =
            Migrator { migrations: Cow::Owned(migrations), ignore_missing: false, locking: true, no_tx: false };
        migrator.run(&self.pool).await?;
        Ok(())
    }
}

/// `sqlite:///abs/path.db`, `sqlite://rel.db`, `sqlite:rel.db` or `postgres(ql)://…`. SQLite
/// files (and their folder) are created when missing.
fn normalize_url(url: &str) -> Result<(Backend, String), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_owned()));
    }
    let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return Err(StoreError::BadUrl(redact_url(url)));
    };
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(StoreError::BadUrl("an in-memory SQLite database cannot be shared; give a file path".into()));
    }
    if let Some(parent) = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|source| StoreError::DataDir { path: parent.display().to_string(), source })?;
    }
    Ok((Backend::Sqlite, format!("sqlite://{path}?mode=rwc")))
}

/// A URL fit for a message: any password in it replaced.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalized() {
        let dir = std::env::temp_dir().join(format!("regpilot-url-{}", std::process::id()));
        let abs = format!("sqlite://{}/x/regpilot.db", dir.display());
        let (b, u) = normalize_url(&abs).unwrap();
        assert_eq!(b, Backend::Sqlite);
        assert_eq!(u, format!("sqlite://{}/x/regpilot.db?mode=rwc", dir.display()));
        assert!(dir.join("x").is_dir());
        assert_eq!(normalize_url("postgres://u:p@h/db").unwrap().0, Backend::Postgres);
        assert!(normalize_url("mysql://h/db").is_err());
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        let _ = std::fs::remove_dir_all(dir);
    }
}
