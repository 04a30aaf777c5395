use fleet_model::lifecycle::TransitionError;

/// Errors from the store. Each variant maps to one HTTP status in the server.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The caller's version is stale (optimistic concurrency).
    #[error("{message}")]
    Stale {
        message: String,
        current_version: i64,
    },
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("{0}")]
    Invalid(String),
    /// Several validation problems, e.g. from an import.
    #[error("{} problem(s) found", .0.len())]
    Import(Vec<fleet_model::import::ImportError>),
    #[error("secret store: {0}")]
    Crypto(String),
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored document is corrupt: {0}")]
    Json(#[from] serde_json::Error),
}

impl DbError {
    /// Maps unique-constraint violations to `Conflict` with a readable message.
    pub(crate) fn from_write(e: sqlx::Error, what: &str) -> DbError {
        if let sqlx::Error::Database(db) = &e {
            let msg = db.message().to_ascii_lowercase();
            if msg.contains("unique") || msg.contains("duplicate") {
                return DbError::Conflict(format!("{what} already exists"));
            }
            if msg.contains("foreign key") {
                return DbError::Conflict(format!(
                    "{what}: a referenced asset does not exist or is still referenced"
                ));
            }
        }
        DbError::Sqlx(e)
    }
}

pub type DbResult<T> = Result<T, DbError>;
