//! A few connections held outside sqlx's pool, for the statements every login (and every
//! authenticated request) runs.
//!
//! sqlx tests every connection that comes back to its pool with a ping, unconditionally, in a
//! task of its own: a second round trip for every statement, and two more wake-ups of the
//! runtime, which a login flood takes from the password hashing on the same cores. And its
//! pool hands out idle connections oldest first, so that under a steady load each statement
//! wakes a PostgreSQL backend that has gone to sleep since its last one, with cold caches. The
//! connections held here go back without a ping, and the most recently used goes out first.

use sea_orm::QueryResult;
use sea_orm::sea_query::Values;
use sea_orm::sqlx::{
    self, AssertSqlSafe, ConnectOptions, Connection, Database, Executor, IntoArguments, Pool,
};
use sea_query_sqlx::SqlxValues;
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

/// How long a held connection may sit idle before it is pinged ahead of its next use: long
/// enough for a server, proxy or firewall to have dropped it. The pool's own connections use
/// the same (see `connect`).
pub(crate) const PING_IF_IDLE_FOR: Duration = Duration::from_secs(30);

/// Up to `count` connections, each opened with `pool`'s options (for SQLite: WAL, busy
/// timeout, foreign keys) when first needed, and given out one caller at a time.
pub(crate) struct Held<DB: Database> {
    pool: Pool<DB>,
    permits: Semaphore,
    idle: Mutex<Vec<Idle<DB>>>,
}

struct Idle<DB: Database> {
    connection: DB::Connection,
    opened: Instant,
    since: Instant,
}

impl<DB: Database> std::fmt::Debug for Held<DB> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Held")
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl<DB: Database> Held<DB> {
    pub(crate) fn new(pool: Pool<DB>, count: usize) -> Self {
        Self {
            pool,
            permits: Semaphore::new(count),
            idle: Mutex::new(Vec::with_capacity(count)),
        }
    }

    /// A connection to use, opened if none is idle. Waits for one, and to open it, no longer
    /// than the pool waits for its own. One idle for [`PING_IF_IDLE_FOR`] is pinged first,
    /// and one older than the pool's lifetime closed, as the pool does with its own.
    ///
    /// Callers must let their statements finish (run them in a task of their own) and then
    /// [`Taken::give_back`] the connection; one dropped instead is closed, which also rolls
    /// back whatever it had begun.
    pub(crate) async fn take(&self) -> Result<Taken<'_, DB>, sqlx::Error> {
        self.take_or_open(false).await
    }

    /// As [`Self::take`], but always a connection opened now.
    async fn open(&self) -> Result<Taken<'_, DB>, sqlx::Error> {
        self.take_or_open(true).await
    }

    async fn take_or_open(&self, open: bool) -> Result<Taken<'_, DB>, sqlx::Error> {
        let options = self.pool.options();
        let deadline = tokio::time::Instant::now() + options.get_acquire_timeout();
        let permit = tokio::time::timeout_at(deadline, self.permits.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let now = Instant::now();
        let idle = if open {
            None
        } else {
            self.idle.lock().ok().and_then(|mut idle| idle.pop())
        };
        if let Some(mut idle) = idle {
            let too_old = options
                .get_max_lifetime()
                .is_some_and(|lifetime| now.duration_since(idle.opened) >= lifetime);
            let alive = !too_old
                && (now.duration_since(idle.since) < PING_IF_IDLE_FOR
                    || idle.connection.ping().await.is_ok());
            if alive {
                return Ok(Taken {
                    held: self,
                    connection: idle.connection,
                    opened: idle.opened,
                    reused: true,
                    _permit: permit,
                });
            }
        }
        let connection = tokio::time::timeout_at(deadline, self.pool.connect_options().connect())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
        Ok(Taken {
            held: self,
            connection,
            opened: Instant::now(),
            reused: false,
            _permit: permit,
        })
    }
}

/// A connection [`Held::take`] gave out; it derefs to the connection. Dropped, it closes the
/// connection.
pub(crate) struct Taken<'a, DB: Database> {
    held: &'a Held<DB>,
    connection: DB::Connection,
    opened: Instant,
    /// Whether it served an earlier caller, and so may have been closed by the database
    /// since, unnoticed until used.
    reused: bool,
    _permit: SemaphorePermit<'a>,
}

impl<DB: Database> Taken<'_, DB> {
    /// Keeps the connection for the next caller. Only for one whose last statements
    /// succeeded: after an error it may be broken or inside a transaction, and is better
    /// dropped (closed).
    pub(crate) fn give_back(self) {
        let Self {
            held,
            connection,
            opened,
            reused: _,
            _permit,
        } = self;
        if let Ok(mut idle) = held.idle.lock() {
            idle.push(Idle {
                connection,
                opened,
                since: Instant::now(),
            });
        }
    }
}

impl<DB: Database> Deref for Taken<'_, DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &Self::Target {
        &self.connection
    }
}

impl<DB: Database> DerefMut for Taken<'_, DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.connection
    }
}

/// The rows of `sql` with `values` on one of `held`'s connections. A connection whose read
/// failed is closed. When the database had closed it (it restarted, or an administrator or a
/// proxy ended the session), the read is tried once more on a connection opened for it, so that
/// reads recover from a restart without failing a request per held connection.
pub(crate) async fn fetch_all<DB>(
    held: &Held<DB>,
    sql: String,
    values: Values,
) -> Result<Vec<QueryResult>, sqlx::Error>
where
    DB: Database,
    DB::Row: Into<QueryResult>,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let connection = held.take().await?;
    let reused = connection.reused;
    match fetch_all_on(connection, sql.clone(), values.clone()).await {
        Err(error) if reused && lost_connection(&error) => {
            fetch_all_on(held.open().await?, sql, values).await
        }
        rows => rows,
    }
}

async fn fetch_all_on<DB>(
    mut connection: Taken<'_, DB>,
    sql: String,
    values: Values,
) -> Result<Vec<QueryResult>, sqlx::Error>
where
    DB: Database,
    DB::Row: Into<QueryResult>,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let rows = sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values))
        .fetch_all(&mut *connection)
        .await;
    if rows.is_ok() {
        connection.give_back();
    }
    rows.map(|rows| rows.into_iter().map(Into::into).collect())
}

/// Whether `error` says the connection is gone: its socket failed, or PostgreSQL ended the
/// session (connection exceptions, class 08; an administrator's or a shutdown's termination,
/// 57P01–57P03).
fn lost_connection(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(database) => database
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
        _ => false,
    }
}
