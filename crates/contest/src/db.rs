//! The connection pool, the choice of backend and the migrations.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Transaction};

/// Portable DDL, the same for both backends.
static COMMON_MIGRATIONS: Migrator = sqlx::migrate!("migrations/common");
/// DDL that differs between the backends, such as identity columns and triggers.
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Connections kept open to the database.
const MAX_CONNECTIONS: u32 = 8;

/// The database server a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Errors of opening the database.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The URL names no supported database.
    #[error("unsupported database URL: expected sqlite:PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl,
    /// The folder of the SQLite file could not be created.
    #[error("failed to create the database folder {path}: {source}")]
    Folder {
        /// The folder.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The connection failed.
    #[error("failed to connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("failed to migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The contest database: a pool of connections to SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct Database {
    pub(crate) pool: AnyPool,
    backend: Backend,
    pub(crate) lifetimes: Lifetimes,
}

/// How long sessions and invite links stay valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Lifetime of a session, in milliseconds.
    pub session_ms: i64,
    /// Lifetime of an invite link created without `valid_hours`, in hours.
    pub default_invite_hours: u32,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            session_ms: crate::accounts::SESSION_TTL_MS,
            default_invite_hours: crate::invites::DEFAULT_INVITE_HOURS,
        }
    }
}

impl Database {
    /// Opens (creating when missing) the SQLite file at `path` and migrates it.
    pub async fn open_sqlite(path: &Path) -> Result<Self, DatabaseError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| DatabaseError::Folder {
                path: parent.display().to_string(),
                source,
            })?;
        }
        Self::connect(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// Connects to `url` (`sqlite:...`, `sqlite::memory:`, `postgres://...` or
    /// `postgresql://...`) and applies the migrations that are missing.
    pub async fn connect(url: &str) -> Result<Self, DatabaseError> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(DatabaseError::UnsupportedUrl);
        };
        sqlx::any::install_default_drivers();
        // Each connection to an in-memory SQLite database opens a database of its own.
        let in_memory = backend == Backend::Sqlite && url.contains(":memory:");
        let connections = if in_memory { 1 } else { MAX_CONNECTIONS };
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .connect(url)
            .await
            .map_err(DatabaseError::Connect)?;
        let specific = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        if backend == Backend::Sqlite && !in_memory {
            // Readers then do not wait for writers. The mode is stored in the file.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await
                .map_err(DatabaseError::Connect)?;
        }
        // Both sets share one history table, so each must ignore the other's versions.
        for set in [&COMMON_MIGRATIONS, specific] {
            let mut migrator = Migrator {
                migrations: set.migrations.clone(),
                ..Migrator::DEFAULT
            };
            migrator.set_ignore_missing(true);
            migrator.run(&pool).await?;
        }
        Ok(Self {
            pool,
            backend,
            lifetimes: Lifetimes::default(),
        })
    }

    /// Sets how long new sessions and invite links stay valid; those already issued keep
    /// their expiry.
    pub fn with_lifetimes(mut self, lifetimes: Lifetimes) -> Self {
        self.lifetimes = lifetimes;
        self
    }

    /// Returns which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`),
    /// so that a transaction that reads and then writes waits for other writers up to the
    /// busy timeout instead of failing with "database is locked".
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }
}

/// Returns the server clock as Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
}
