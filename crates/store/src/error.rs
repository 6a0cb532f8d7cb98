use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A unique constraint refused the write (for example a second user with one email).
    #[error("already exists: {0}")]
    Conflict(&'static str),
    /// The database URL is not one the store understands.
    #[error("unsupported database URL (expected sqlite://… or postgres://…): {0}")]
    BadUrl(String),
    #[error("database error: {0}")]
    Db(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("could not create the data folder {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Conflict("a record with that value");
            }
        }
        StoreError::Db(e)
    }
}

impl StoreError {
    /// The database could not be reached (refused, dropped, no connection within the acquire
    /// timeout, shutting down): the store is unavailable, not the request wrong. Callers answer
    /// 503 and retry; every other error is a bug or a bad request.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Db(e) = self else { return false };
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => {
                true
            }
            // SQLSTATE class 08 (connection exception), 57P01–57P03 (admin or crash shutdown,
            // cannot connect now).
            sqlx::Error::Database(db) => {
                db.code().is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03"))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_is_unavailable_and_a_conflict_is_not() {
        assert!(StoreError::Db(sqlx::Error::PoolTimedOut).is_unavailable());
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(StoreError::Db(sqlx::Error::Io(refused)).is_unavailable());
        assert!(!StoreError::Db(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!StoreError::Conflict("x").is_unavailable());
    }
}
