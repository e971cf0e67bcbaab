//! Connections held outside sqlx's pool, for the statements every login and every refresh runs
//! (see [`crate::hot_paths`]).
//!
//! sqlx tests every connection that comes back to its pool with a ping, unconditionally, in a
//! task of its own: a second round trip for every statement, and two more wake-ups of the
//! runtime, which a login flood takes from the password hashing on the same cores, and which
//! cost PostgreSQL a share of its CPU per refresh. And its
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
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::{Instant, sleep, timeout_at};

/// How long a held connection may sit idle before it is pinged ahead of its next use: long
/// enough for a server, proxy or firewall to have dropped it. The pool's own connections use
/// the same (see [`crate::connect`]).
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

    /// A connection to use, opened if none is idle. Waits for one, pings it and opens one, all
    /// together no longer than the pool waits for its own. One idle for [`PING_IF_IDLE_FOR`]
    /// is pinged first, and one older than the pool's lifetime replaced, as the pool does with
    /// its own; those idle for the pool's idle timeout are closed (when the next caller comes:
    /// with no traffic at all they stay open, at most `count` of them).
    ///
    /// Callers must let their statements finish (run them in a task of their own) and then
    /// [`Taken::settle`] the connection; one dropped instead is closed, which also rolls back
    /// whatever it had begun.
    pub(crate) async fn take(&self) -> Result<Taken<'_, DB>, sqlx::Error> {
        // The pool's closing (the server shutting down) closes these too.
        if self.pool.is_closed() {
            return Err(sqlx::Error::PoolClosed);
        }
        let options = self.pool.options();
        let deadline = Instant::now() + options.get_acquire_timeout();
        let permit = timeout_at(deadline, self.permits.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let (idle, expired) = self.idle.lock().map_or_else(
            |_| (None, Vec::new()),
            |mut idle| {
                let expired = expired(&mut idle, options.get_idle_timeout());
                (idle.pop(), expired)
            },
        );
        for connection in expired {
            // Closed here, not in the background, so that this caller does not open another
            // while they are still open; a goodbye is one message, and a dead socket's is cut
            // short by the deadline.
            let _ = timeout_at(deadline, connection.connection.close()).await;
        }
        if let Some(mut idle) = idle {
            let now = Instant::now();
            let too_old = options
                .get_max_lifetime()
                .is_some_and(|lifetime| now.duration_since(idle.opened) >= lifetime);
            let alive = !too_old
                && (now.duration_since(idle.since) < PING_IF_IDLE_FOR
                    || matches!(
                        timeout_at(deadline, idle.connection.ping()).await,
                        Ok(Ok(()))
                    ));
            if alive {
                return Ok(Taken {
                    held: self,
                    connection: idle.connection,
                    opened: idle.opened,
                    reused: true,
                    deadline,
                    _permit: permit,
                });
            }
        }
        Ok(Taken {
            held: self,
            connection: self.open(deadline).await?,
            opened: Instant::now(),
            reused: false,
            deadline,
            _permit: permit,
        })
    }

    /// A new connection, opened by `deadline`. As the pool does, a database that refuses
    /// connections or says it cannot take one yet (it is starting up, or has too many) is
    /// asked again, at growing intervals, until then.
    async fn open(&self, deadline: Instant) -> Result<DB::Connection, sqlx::Error> {
        let options = self.pool.connect_options();
        let mut backoff = Duration::from_millis(10);
        loop {
            match timeout_at(deadline, options.connect()).await {
                Ok(Ok(connection)) => return Ok(connection),
                Ok(Err(sqlx::Error::Io(error)))
                    if error.kind() == std::io::ErrorKind::ConnectionRefused => {}
                Ok(Err(sqlx::Error::Database(error))) if error.is_transient_in_connect_phase() => {}
                // Whatever else keeps a connection from opening (the database refuses this
                // one, or its credentials) is the database being unavailable to the service,
                // as sea-orm reports the pool's own failures to connect: an I/O error, which
                // keeps the cause as its source.
                Ok(Err(error)) => {
                    return Err(sqlx::Error::Io(std::io::Error::new(
                        std::io::ErrorKind::NotConnected,
                        error,
                    )));
                }
                Err(_) => return Err(sqlx::Error::PoolTimedOut),
            }
            if timeout_at(deadline, sleep(backoff)).await.is_err() {
                return Err(sqlx::Error::PoolTimedOut);
            }
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    }

    /// Closes the idle connections when `error` says the database closed the one it came
    /// from: it most likely closed them all (it restarted), and the next callers would each
    /// fail on one.
    fn after(&self, error: &sqlx::Error) {
        if lost_connection(error)
            && let Ok(mut idle) = self.idle.lock()
        {
            idle.clear();
        }
    }
}

/// Takes out of `idle` the connections idle for `limit` or longer (the pool's idle timeout), as
/// the pool closes its own, so that a burst's extra connections do not stay open for good. The
/// most recently used is last, so they are the first ones.
fn expired<DB: Database>(idle: &mut Vec<Idle<DB>>, limit: Option<Duration>) -> Vec<Idle<DB>> {
    let Some(limit) = limit else {
        return Vec::new();
    };
    let now = Instant::now();
    let fresh = idle
        .iter()
        .position(|connection| now.duration_since(connection.since) < limit)
        .unwrap_or(idle.len());
    idle.drain(..fresh).collect()
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
    /// When [`Held::take`] must have given it, and [`Taken::reopen`] replaced it.
    deadline: Instant,
    _permit: SemaphorePermit<'a>,
}

impl<DB: Database> Taken<'_, DB> {
    /// Replaces the connection (closing it) with one opened now, keeping its place.
    async fn reopen(&mut self) -> Result<(), sqlx::Error> {
        self.connection = self.held.open(self.deadline).await?;
        self.opened = Instant::now();
        self.reused = false;
        Ok(())
    }

    /// Ends the use of the connection by `outcome`, what its last statements gave: kept for
    /// the next caller after a success; closed after an error (it may be broken or inside a
    /// transaction), with the idle ones too when the database had closed it ([`Held::after`]).
    pub(crate) fn settle<T>(self, outcome: &Result<T, sqlx::Error>) {
        match outcome {
            Ok(_) => self.give_back(),
            Err(error) => self.held.after(error),
        }
    }

    /// Keeps the connection for the next caller. Only for one whose last statements
    /// succeeded: after an error it may be broken or inside a transaction, and is better
    /// dropped (closed).
    fn give_back(self) {
        let Self {
            held,
            connection,
            opened,
            reused: _,
            deadline: _,
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
/// logins' and refreshes' reads recover from a restart without failing a request.
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
    let mut connection = held.take().await?;
    // Kept for a second try only where one may happen.
    let again = connection.reused.then(|| (sql.clone(), values.clone()));
    let mut rows = fetch_all_on(&mut connection, sql, values).await;
    if let (Err(error), Some((sql, values))) = (&rows, again)
        && lost_connection(error)
    {
        held.after(error);
        connection.reopen().await?;
        rows = fetch_all_on(&mut connection, sql, values).await;
    }
    connection.settle(&rows);
    rows.map(|rows| rows.into_iter().map(Into::into).collect())
}

async fn fetch_all_on<DB>(
    connection: &mut Taken<'_, DB>,
    sql: String,
    values: Values,
) -> Result<Vec<DB::Row>, sqlx::Error>
where
    DB: Database,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values))
        .fetch_all(&mut **connection)
        .await
}

/// Whether `error` says the connection is gone: its socket failed, or PostgreSQL ended the
/// session (connection exceptions, class 08; an administrator's or a shutdown's termination,
/// 57P01–57P03; an idle session's timeout, 57P05).
fn lost_connection(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(database) => database.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "57P05")
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sqlx::Sqlite;
    use sea_orm::sqlx::sqlite::SqlitePoolOptions;

    const DONE: Result<(), sqlx::Error> = Ok(());

    #[tokio::test]
    async fn connections_idle_past_the_pools_idle_timeout_are_closed_at_the_next_take() {
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .idle_timeout(Duration::from_millis(300))
            .connect_lazy("sqlite::memory:")
            .unwrap();
        let held: Held<Sqlite> = Held::new(pool, 2);
        let first = held.take().await.unwrap();
        let second = held.take().await.unwrap();
        first.settle(&DONE);
        sleep(Duration::from_millis(400)).await;
        second.settle(&DONE);

        // `first` has been idle past the timeout, `second` has not: `second` goes out, and
        // `first` is closed.
        let taken = held.take().await.unwrap();
        assert!(taken.reused);
        assert_eq!(held.idle.lock().unwrap().len(), 0);
        taken.settle(&DONE);
        assert_eq!(held.idle.lock().unwrap().len(), 1);

        sleep(Duration::from_millis(400)).await;
        let taken = held.take().await.unwrap();
        assert!(
            !taken.reused,
            "the only idle one was stale: a new one is opened"
        );
        assert_eq!(held.idle.lock().unwrap().len(), 0);
    }

    #[tokio::test]
    async fn the_most_recently_used_connection_goes_out_first() {
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_lazy("sqlite::memory:")
            .unwrap();
        let held: Held<Sqlite> = Held::new(pool, 2);
        let mut first = held.take().await.unwrap();
        let second = held.take().await.unwrap();
        // A temporary table belongs to its connection alone (sqlx's in-memory connections share
        // one database): mark one.
        sqlx::query("CREATE TEMP TABLE marked (x INTEGER)")
            .execute(&mut *first)
            .await
            .unwrap();
        second.settle(&DONE);
        first.settle(&DONE);

        let mut last_back = held.take().await.unwrap();
        let mut first_back = held.take().await.unwrap();
        assert!(last_back.reused && first_back.reused);
        assert_eq!(
            marked(&mut last_back).await,
            1,
            "the last given back goes first"
        );
        assert_eq!(marked(&mut first_back).await, 0);
    }

    async fn marked(connection: &mut Taken<'_, Sqlite>) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM sqlite_temp_master WHERE name = 'marked'")
            .fetch_one(&mut **connection)
            .await
            .unwrap()
    }
}
