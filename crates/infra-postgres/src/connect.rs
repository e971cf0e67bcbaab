//! Opening the connection pool and checking the database answers.
//!
//! One pool serves every repository of this crate: a process opens at most
//! [`PoolOptions::max_connections`] connections to its database. One function opens both
//! backends: `postgres://…` and `sqlite:…`. SQLite gets the settings
//! that make it fit for a server (WAL, `synchronous=NORMAL`, a busy timeout, foreign keys),
//! applied through sqlx's connect options, so that every connection the pool ever opens gets
//! them, not just the first.

use crate::rows::db;
use domain::UnexpectedError;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use std::time::Duration;

/// How long a connection may sit idle in the pool before it is pinged ahead of its next use:
/// long enough for a server, proxy or firewall to have dropped it. Pinging every connection
/// handed out (sqlx's default) would add a round trip to every statement.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(30);

/// How the connection pool behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOptions {
    /// The most connections the pool opens. An in-memory SQLite database always gets one, never
    /// closed: the database lives only while a connection to it is open.
    pub max_connections: u32,
    /// Connections kept open even when idle.
    pub min_connections: u32,
    /// How long opening the pool (its first connection) may take before giving up.
    pub connect_timeout: Duration,
    /// How long a query may wait for a free connection (or to open one) before failing as
    /// unavailable.
    pub acquire_timeout: Duration,
    /// SQLite only: how long a write waits for another writer's lock before failing.
    pub sqlite_busy_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 0,
            connect_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
        }
    }
}

/// Opens a pool on `url`: `postgres://user:password@host:port/database`, `sqlite://path?mode=rwc`
/// (a file, created if missing) or `sqlite::memory:`.
///
/// # Errors
/// `unavailable` when the database does not answer within `options.connect_timeout`;
/// `internal` when the URL names no supported database.
pub async fn connect(
    url: &str,
    options: &PoolOptions,
) -> Result<DatabaseConnection, UnexpectedError> {
    let backend = Backend::of(url)?;
    let mut connect_options = ConnectOptions::new(url);
    connect_options
        .max_connections(options.max_connections.max(1))
        .min_connections(options.min_connections)
        .connect_timeout(options.connect_timeout)
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        // Every statement at INFO would drown the service's own logs.
        .sqlx_logging(false);
    let busy_timeout = options.sqlite_busy_timeout;
    match backend {
        Backend::Postgres => {}
        Backend::SqliteFile => {
            connect_options.map_sqlx_sqlite_opts(move |sqlite| {
                sqlite
                    // Readers no longer block the writer, and a commit costs an append
                    // instead of a journal rewrite (about 0.1 ms instead of 1.5 ms here).
                    .journal_mode(SqliteJournalMode::Wal)
                    // Safe with WAL: a power cut may lose the last commits, never corrupt.
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(busy_timeout)
                    .foreign_keys(true)
            });
        }
        Backend::SqliteMemory => {
            // The database lives exactly as long as its one connection: never let the pool
            // close it for idleness or age.
            connect_options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .map_sqlx_sqlite_opts(move |sqlite| {
                    sqlite.busy_timeout(busy_timeout).foreign_keys(true)
                });
        }
    }
    match tokio::time::timeout(options.connect_timeout, Database::connect(connect_options)).await {
        Ok(connected) => connected.map_err(db("connecting to the database")),
        Err(elapsed) => Err(UnexpectedError::unavailable(
            "connecting to the database",
            elapsed,
        )),
    }
}

/// Checks that the database answers (for a readiness probe).
///
/// # Errors
/// `unavailable` when it does not.
pub async fn ping(connection: &DatabaseConnection) -> Result<(), UnexpectedError> {
    connection
        .ping()
        .await
        .map_err(|error| UnexpectedError::unavailable("checking the database answers", error))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Postgres,
    SqliteFile,
    SqliteMemory,
}

impl Backend {
    fn of(url: &str) -> Result<Self, UnexpectedError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            if url.contains(":memory:") || url.contains("mode=memory") {
                Ok(Self::SqliteMemory)
            } else {
                Ok(Self::SqliteFile)
            }
        } else {
            // The URL itself stays out of the message: it may hold a password.
            let scheme = url.split(':').next().unwrap_or_default();
            Err(UnexpectedError::internal(
                "opening the database",
                format!("unsupported database URL scheme {scheme:?}: use postgres:// or sqlite:"),
            ))
        }
    }
}
