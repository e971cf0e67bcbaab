//! The SQLite connections that serve logins, held outside sqlx's pool.
//!
//! sqlx tests every connection that comes back to its pool with a ping, unconditionally: on
//! SQLite, a round trip to the connection's thread and a wake-up of the runtime after every
//! statement, which a login flood takes from the password hashing on the same cores. A login
//! is one read (the account by email) and one write command (see `users.rs`): through the pool,
//! four round trips; through connections held here, two. The writes go through one connection,
//! which costs them no concurrency (SQLite has one writer at a time anyway) and keeps its page
//! cache warm between logins (SQLite drops a connection's cache whenever another connection has
//! written since its last transaction, so pooled connections taking turns re-read every page).
//! The reads go through another, so that they never wait behind a write waiting for SQLite's
//! write lock.

use sea_orm::sea_query::Values;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::sqlite::SqliteRow;
use sea_orm::sqlx::{self, AssertSqlSafe, ConnectOptions, Sqlite, SqliteConnection, SqlitePool};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{Mutex, MutexGuard};

/// Runs the logins' reads by email and their writes, each kind one at a time on a connection
/// of its own.
///
/// Callers must let each call finish (run it in a task of its own): a write dropped midway
/// loses its connection (it is closed, which also rolls back whatever it had begun), and the
/// next write opens another.
#[derive(Debug)]
pub(crate) struct LoginConnections {
    pool: SqlitePool,
    /// Whether to hold connections of their own. Not beside a pool of one connection: that is
    /// an in-memory database (a new connection would open an empty one) or a deliberately
    /// tiny pool, and both are used through the pool.
    hold: bool,
    reader: Held,
    writer: Held,
}

/// A held connection; `None` until its first call, and again after a call that failed.
type Held = Mutex<Option<SqliteConnection>>;

impl LoginConnections {
    /// Connections beside `pool`, each opened with the pool's options (WAL, busy timeout,
    /// foreign keys) at its first call.
    pub(crate) fn new(pool: SqlitePool) -> Self {
        let hold = pool.options().get_max_connections() > 1;
        Self {
            pool,
            hold,
            reader: Mutex::new(None),
            writer: Mutex::new(None),
        }
    }

    /// Runs the query `sql` with `values` and returns its rows.
    pub(crate) async fn read(
        &self,
        sql: String,
        values: Values,
    ) -> Result<Vec<SqliteRow>, sqlx::Error> {
        let query = sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values));
        if !self.hold {
            return query.fetch_all(&self.pool).await;
        }
        let (mut slot, mut connection) = self.take(&self.reader).await?;
        let rows = query.fetch_all(&mut connection).await;
        // A failed read is rare (the file went away, the disk failed): start afresh.
        if rows.is_ok() {
            *slot = Some(connection);
        }
        rows
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
        let (mut slot, mut connection) = self.take(&self.writer).await?;
        let written = query.fetch_all(&mut connection).await;
        // After an error the connection is dropped, which closes it: whatever it had begun is
        // rolled back with it, and the next write opens another.
        if written.is_ok() {
            *slot = Some(connection);
        }
        written.map(|rows| rows.len())
    }

    /// The connection held in `held`, opened if there is none, with the lock that keeps it
    /// ours. Waits for the lock no longer than the pool waits for a connection.
    async fn take<'a>(
        &self,
        held: &'a Held,
    ) -> Result<(MutexGuard<'a, Option<SqliteConnection>>, SqliteConnection), sqlx::Error> {
        let timeout = self.pool.options().get_acquire_timeout();
        let mut slot = tokio::time::timeout(timeout, held.lock())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        let connection = match slot.take() {
            Some(connection) => connection,
            None => self.pool.connect_options().connect().await?,
        };
        Ok((slot, connection))
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
