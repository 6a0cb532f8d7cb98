//! Fresh stores for tests: a new SQLite file, or a new database on the PostgreSQL server named
//! by `REGPILOT_TEST_POSTGRES_URL` (the test script starts one). Each call is isolated, so
//! tests run in parallel.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AnyConnection, Connection, Executor};

use crate::{Backend, Store};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}_{}_{}_{}", std::process::id(), nanos, COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The backends to run a behaviour test against: SQLite always; PostgreSQL when a server is
/// configured. With `REGPILOT_REQUIRE_POSTGRES=1` (set by the test script) a missing server is
/// an error instead of a skip.
pub fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Sqlite];
    if std::env::var("REGPILOT_TEST_POSTGRES_URL").is_ok() {
        out.push(Backend::Postgres);
    } else if std::env::var("REGPILOT_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("REGPILOT_REQUIRE_POSTGRES=1 but REGPILOT_TEST_POSTGRES_URL is not set");
    } else {
        eprintln!("note: REGPILOT_TEST_POSTGRES_URL not set; PostgreSQL variant skipped");
    }
    out
}

/// A database URL for a fresh, empty store on `backend`.
pub async fn fresh_url(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(unique("regpilot-test"));
            format!("sqlite://{}/regpilot.db", dir.display())
        }
        Backend::Postgres => {
            let admin = std::env::var("REGPILOT_TEST_POSTGRES_URL").unwrap_or_default();
            let name = unique("regpilot_test");
            sqlx::any::install_default_drivers();
            let mut conn = AnyConnection::connect(&admin).await.unwrap_or_else(|e| panic!("connect {admin}: {e}"));
            conn.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap_or_else(|e| panic!("create db: {e}"));
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            format!("{base}/{name}")
        }
    }
}

/// A fresh, migrated store on `backend`.
pub async fn fresh_store(backend: Backend) -> Store {
    let url = fresh_url(backend).await;
    Store::open(&url).await.unwrap_or_else(|e| panic!("open {url}: {e}"))
}
