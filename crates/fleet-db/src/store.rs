use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};

use crate::error::{DbError, DbResult};
use crate::secrets::SecretBox;

/// Which SQL backend a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// Who performs a change, and from where; written to the audit log and history.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub name: String,
    pub source: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn system(name: &str) -> Actor {
        Actor {
            name: name.to_string(),
            source: None,
            request_id: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `postgres://…` or `sqlite://path?mode=rwc`.
    pub url: String,
    pub max_connections: u32,
    /// Deadline to get a connection from the pool.
    pub acquire_timeout: Duration,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        StoreOptions {
            url: url.into(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// The relational store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    /// Pool for transactions that write. SQLite: one connection (one writer at a time).
    pub(crate) write: AnyPool,
    /// Pool for reads. PostgreSQL: the same pool as `write`.
    pub(crate) read: AnyPool,
    pub(crate) dialect: Dialect,
    pub(crate) secrets: Option<SecretBox>,
    /// Key of the audit chain's HMAC, derived from the secret key (see `audit.rs`).
    pub(crate) audit_key: Option<[u8; 32]>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dialect", &self.dialect)
            .finish()
    }
}

impl Store {
    /// Connects and runs the migrations of the URL's dialect.
    pub async fn connect(opts: &StoreOptions) -> DbResult<Store> {
        sqlx::any::install_default_drivers();
        let dialect =
            if opts.url.starts_with("postgres://") || opts.url.starts_with("postgresql://") {
                Dialect::Postgres
            } else if opts.url.starts_with("sqlite:") {
                Dialect::Sqlite
            } else {
                return Err(DbError::Invalid(format!(
                    "database URL must start with postgres:// or sqlite: (got '{}')",
                    mask_url(&opts.url)
                )));
            };
        let connect_opts = AnyConnectOptions::from_str(&opts.url)?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
        let store = match dialect {
            Dialect::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(opts.max_connections)
                    .acquire_timeout(opts.acquire_timeout)
                    .connect_with(connect_opts)
                    .await?;
                Store {
                    write: pool.clone(),
                    read: pool,
                    dialect,
                    secrets: None,
                    audit_key: None,
                }
            }
            Dialect::Sqlite => {
                let write = AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(opts.acquire_timeout)
                    .after_connect(|c, _| Box::pin(sqlite_pragmas(c)))
                    .connect_with(connect_opts.clone())
                    .await?;
                let read = AnyPoolOptions::new()
                    .max_connections(opts.max_connections.max(2))
                    .acquire_timeout(opts.acquire_timeout)
                    .after_connect(|c, _| Box::pin(sqlite_pragmas(c)))
                    .connect_with(connect_opts)
                    .await?;
                Store {
                    write,
                    read,
                    dialect,
                    secrets: None,
                    audit_key: None,
                }
            }
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> DbResult<()> {
        match self.dialect {
            Dialect::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.write)
                    .await?
            }
            Dialect::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.write)
                    .await?
            }
        }
        Ok(())
    }

    /// Attaches the key used to encrypt secrets (BMC passwords) at rest.
    /// Seals secrets with this key, and keys the audit chain with a key derived from it.
    pub fn with_secrets(mut self, secrets: SecretBox) -> Store {
        self.audit_key = Some(secrets.derive_key("gpufleet audit chain v1"));
        self.secrets = Some(secrets);
        self
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> DbResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    /// Row-lock clause for `SELECT … FOR UPDATE` where the dialect has one.
    pub(crate) fn for_update(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => " FOR UPDATE",
            Dialect::Sqlite => "",
        }
    }
}

async fn sqlite_pragmas(c: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    for p in [
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA foreign_keys = ON",
        "PRAGMA busy_timeout = 10000",
    ] {
        sqlx::query(p).execute(&mut *c).await?;
    }
    Ok(())
}

/// Hides the password in a database URL.
pub fn mask_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((creds, host)) = rest.rsplit_once('@') {
            let user = creds.split(':').next().unwrap_or("");
            return format!("{scheme}://{user}:***@{host}");
        }
    }
    url.to_string()
}

impl Store {
    /// The write pool, for tests that must reach behind the repository API
    /// (e.g. to tamper with the audit log and check that verification notices).
    #[doc(hidden)]
    pub fn raw_pool_for_tests(&self) -> AnyPool {
        self.write.clone()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_passwords() {
        assert_eq!(
            super::mask_url("postgres://u:secret@h:5/db"),
            "postgres://u:***@h:5/db"
        );
        assert_eq!(super::mask_url("sqlite:///x.db"), "sqlite:///x.db");
    }
}
