//! The connections that serve the hottest statements, held outside sqlx's pool (see [`Held`]
//! for why): logins' and refreshes'.
//!
//! A login is one read (the account by email) and one write (see `users.rs`); a refresh, one
//! read (the session by its secret) and one write, its rotation (see `sessions.rs`). Through
//! the pool, each is four round trips; through connections held here, two.
//!
//! On SQLite the logins' writes go through one connection, which costs them no concurrency
//! (SQLite has one writer at a time anyway) and keeps its page cache warm between logins (SQLite
//! drops a connection's cache whenever another connection has written since its last
//! transaction, so pooled connections taking turns re-read every page). The reads go through
//! another, so that they never wait behind a write waiting for SQLite's write lock.
//!
//! On PostgreSQL, logins and refreshes each have connections of their own, which their reads and
//! writes share: one per core for logins, as many as the pool has for refreshes (see
//! [`PostgresHotPath`]).
//!
//! Every call here must be let finish: run it through [`to_completion`].

use crate::held::{Held, fetch_all};
use crate::rows::sqlx_db;
use domain::UnexpectedError;
use sea_orm::sea_query::Values;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, AssertSqlSafe, PgPool, Postgres, Sqlite, SqlitePool};
use sea_orm::{DbErr, QueryResult, RuntimeErr};
use sea_query_sqlx::SqlxValues;

/// Runs SQLite's logins: the reads by email and the writes, each kind one at a time on a
/// connection of its own.
///
/// Callers must let each call finish (run it in a task of its own): a call dropped midway
/// loses its connection (it is closed, which also rolls back whatever it had begun), and the
/// next call opens another.
#[derive(Debug)]
pub(crate) struct SqliteLogins {
    pool: SqlitePool,
    /// Whether to hold connections of their own. Not beside a pool of one connection: that is
    /// an in-memory database (which lives only as long as the pool's one connection, see
    /// [`crate::connect`]) or a deliberately tiny pool, and both are used through the pool.
    hold: bool,
    reader: Held<Sqlite>,
    writer: Held<Sqlite>,
}

impl SqliteLogins {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        let hold = pool.options().get_max_connections() > 1;
        Self {
            reader: Held::new(pool.clone(), 1),
            writer: Held::new(pool.clone(), 1),
            pool,
            hold,
        }
    }

    /// Runs the query `sql` with `values` and returns its rows.
    pub(crate) async fn read(
        &self,
        sql: String,
        values: Values,
    ) -> Result<Vec<QueryResult>, sqlx::Error> {
        if !self.hold {
            let rows = sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values))
                .fetch_all(&self.pool)
                .await?;
            return Ok(rows.into_iter().map(QueryResult::from).collect());
        }
        fetch_all(&self.reader, sql, values).await
    }

    /// Runs `sql` (which may be several statements, the first a `BEGIN`) with `values`, and
    /// returns how many rows it returned. On an error the transaction is rolled back, or the
    /// connection closed, so that no connection keeps it open.
    pub(crate) async fn write(
        &self,
        sql: &'static str,
        values: Values,
    ) -> Result<usize, sqlx::Error> {
        let query = sqlx::query_with(sql, SqlxValues(values));
        if !self.hold {
            let mut connection = self.pool.acquire().await?;
            let written = query.fetch_all(&mut *connection).await;
            if written.is_err() {
                roll_back_or_close(&mut connection).await;
            }
            return written.map(|rows| rows.len());
        }
        let mut connection = self.writer.take().await?;
        let written = query.fetch_all(&mut *connection).await;
        // After an error the connection is dropped, which closes it: whatever it had begun is
        // rolled back with it, and the next write opens another.
        connection.settle(&written);
        written.map(|rows| rows.len())
    }
}

/// Rolls back whatever transaction a failed write left open on a pooled connection, or, when
/// that fails for another reason than there being none, keeps the connection from going back
/// to the pool.
async fn roll_back_or_close(connection: &mut PoolConnection<Sqlite>) {
    if let Err(error) = sqlx::query("ROLLBACK").execute(&mut **connection).await {
        let none_open = error
            .as_database_error()
            .is_some_and(|error| error.message().contains("no transaction is active"));
        if !none_open {
            connection.close_on_drop();
        }
    }
}

/// Runs PostgreSQL's reads and one-statement writes of one hot path (logins, or refreshes) on
/// connections of its own.
///
/// Callers must let each call finish (run it in a task of its own), as for [`SqliteLogins`].
#[derive(Debug)]
pub(crate) struct PostgresHotPath {
    held: Held<Postgres>,
}

impl PostgresHotPath {
    /// Up to `count` connections, and no more than the pool's size.
    pub(crate) fn new(pool: PgPool, count: usize) -> Self {
        let most = usize::try_from(pool.options().get_max_connections()).unwrap_or(usize::MAX);
        let count = count.clamp(1, most.max(1));
        Self {
            held: Held::new(pool, count),
        }
    }

    /// As many connections as the machine has cores (and no more than the pool's size): for
    /// logins, which arrive no faster than the cores hash their passwords.
    pub(crate) fn one_per_core(pool: PgPool) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(pool, cores)
    }

    /// As many connections as the pool has: for refreshes, which need no hashing and so arrive
    /// as fast as clients send them. Each waits for its commit to reach the disk, and
    /// PostgreSQL flushes the commits waiting together at once, so throughput grows with the
    /// writes in flight: in the benchmark, 2 connections gave 1,670–1,936 refreshes/s, 4 gave
    /// 2,021–2,118, and 10 gave 2,517–3,065 (bench/README, "What the sixteenth run found").
    pub(crate) fn pool_sized(pool: PgPool) -> Self {
        let size = usize::try_from(pool.options().get_max_connections()).unwrap_or(usize::MAX);
        Self::new(pool, size)
    }

    /// Runs the query `sql` with `values` and returns its rows.
    pub(crate) async fn read(
        &self,
        sql: String,
        values: Values,
    ) -> Result<Vec<QueryResult>, sqlx::Error> {
        fetch_all(&self.held, sql, values).await
    }

    /// Runs the statement `sql` with `values` and returns how many rows it changed. It must be
    /// one statement (atomic by itself): a connection whose statement failed is closed.
    pub(crate) async fn write(
        &self,
        sql: &'static str,
        values: Values,
    ) -> Result<u64, sqlx::Error> {
        let mut connection = self.held.take().await?;
        let written = sqlx::query_with(sql, SqlxValues(values))
            .execute(&mut *connection)
            .await;
        // A write is not tried again when its connection was lost: it may have committed.
        connection.settle(&written);
        written.map(|done| done.rows_affected())
    }
}

/// Runs `work` in a task of its own, so that it finishes even when its caller goes away: a call
/// dropped midway would close its held connection (rolling back whatever it had begun), and the
/// next call would open another. Says what failed in `context`, its sqlx error wrapped by
/// `kind`.
pub(crate) async fn to_completion<T: Send + 'static>(
    context: &'static str,
    kind: fn(RuntimeErr) -> DbErr,
    work: impl Future<Output = Result<T, sqlx::Error>> + Send + 'static,
) -> Result<T, UnexpectedError> {
    tokio::spawn(work)
        .await
        .map_err(|error| UnexpectedError::internal(context, error))?
        .map_err(sqlx_db(context, kind))
}
