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
