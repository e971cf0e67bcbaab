//! The SQLite connection that serves logins, held outside sqlx's pool.
//!
//! sqlx tests every connection that comes back to its pool with a ping, unconditionally: on
//! SQLite, a round trip to the connection's thread and a wake-up of the runtime after every
//! statement, which a login flood takes from the password hashing on the same cores. A login
//! is one read (the account by email) and one write command (see `users.rs`): through the pool,
//! four round trips; through a connection held here, two. SQLite has one writer at a time
//! anyway, so one connection costs the logins no concurrency, and its page cache stays warm
//! between them (SQLite drops a connection's cache whenever another connection has written
//! since its last transaction, so pooled connections taking turns re-read every page).

use sea_orm::sea_query::Values;
use sea_orm::sqlx::sqlite::SqliteRow;
use sea_orm::sqlx::{self, AssertSqlSafe, ConnectOptions, SqliteConnection, SqlitePool};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{Mutex, MutexGuard};

/// Runs the logins' statements, one at a time, on a connection of its own.
///
/// Callers must let each call finish (run it in a task of its own): one dropped midway loses
/// the held connection (it is closed, which also rolls back whatever it had begun), and the
/// next call opens another.
#[derive(Debug)]
pub(crate) struct LoginConnection {
    pool: SqlitePool,
    /// Whether to hold a connection of its own. Not beside a pool of one connection: that is
    /// an in-memory database (a new connection would open an empty one) or a deliberately
    /// tiny pool, and both are used through the pool.
    hold: bool,
    /// The held connection; `None` until the first call, and again after one broke it.
    held: Mutex<Option<SqliteConnection>>,
}

impl LoginConnection {
    /// A connection beside `pool`, opened with the pool's options (WAL, busy timeout, foreign
    /// keys) at the first call.
    pub(crate) fn new(pool: SqlitePool) -> Self {
        let hold = pool.options().get_max_connections() > 1;
        Self {
            pool,
            hold,
            held: Mutex::new(None),
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
        let (mut slot, mut connection) = self.take().await?;
        let rows = query.fetch_all(&mut connection).await;
        put_back(&mut slot, connection, &rows);
        rows
    }

    /// Runs `sql` (which may be several statements, the first a `BEGIN`) with `values`, and
    /// returns how many rows it returned. On an error the transaction is rolled back, so the
    /// connection never keeps one open.
    pub(crate) async fn write(
        &self,
        sql: &'static str,
        values: Values,
    ) -> Result<usize, sqlx::Error> {
        if !self.hold {
            let mut connection = self.pool.acquire().await?;
            return write_on(&mut connection, sql, values).await;
        }
        let (mut slot, mut connection) = self.take().await?;
        let written = write_on(&mut connection, sql, values).await;
        put_back(&mut slot, connection, &written);
        written
    }

    /// The held connection, opened if there is none, with the lock that keeps it ours.
    async fn take(
        &self,
    ) -> Result<(MutexGuard<'_, Option<SqliteConnection>>, SqliteConnection), sqlx::Error> {
        let mut slot = self.held.lock().await;
        let connection = match slot.take() {
            Some(connection) => connection,
            None => self.pool.connect_options().connect().await?,
        };
        Ok((slot, connection))
    }
}

/// Keeps `connection` for the next call unless `outcome` says it broke (its thread died, or
/// its file went away): the next call then opens a new one.
fn put_back<T>(
    slot: &mut Option<SqliteConnection>,
    connection: SqliteConnection,
    outcome: &Result<T, sqlx::Error>,
) {
    if !matches!(
        outcome,
        Err(sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed)
    ) {
        *slot = Some(connection);
    }
}

async fn write_on(
    connection: &mut SqliteConnection,
    sql: &'static str,
    values: Values,
) -> Result<usize, sqlx::Error> {
    let written = sqlx::query_with(sql, SqlxValues(values))
        .fetch_all(&mut *connection)
        .await;
    if written.is_err() {
        // Fails only when no transaction is open (the error came before or with the `BEGIN`,
        // or SQLite rolled back already), which is what it ensures.
        let _ = sqlx::query("ROLLBACK").execute(&mut *connection).await;
    }
    written.map(|rows| rows.len())
}
