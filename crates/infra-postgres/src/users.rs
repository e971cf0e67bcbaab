//! [`PgUserRepository`]: accounts, their login counters, and the administrators' listing.

use crate::entities::{sessions, users};
use crate::hot_paths::{PostgresHotPath, SqliteLogins, to_completion};
use crate::rows::{
    self, db, db_error, insert_event, insert_row, insert_session, timestamp, user_row,
    violates_unique,
};
use crate::transaction::{begin_write, commit};
use async_trait::async_trait;
use domain::ports::{SaveUserError, UserRepository};
use domain::{
    AuditEvent, CursorKey, Email, PageRequest, PasswordHash, SearchTerm, Session, UnexpectedError,
    User, UserFilter, UserId, UserOrdering, UserQuery, UserSlice,
};
use sea_orm::sea_query::Values;
use sea_orm::sea_query::{
    Expr, ExprTrait, Func, LikeExpr, PostgresQueryBuilder, Query, SqliteQueryBuilder,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseConnectionType, DbBackend,
    DbErr, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QueryResult, QuerySelect,
    Select, Value,
};
use std::sync::Arc;
use time::OffsetDateTime;

/// The unique index that makes an email belong to one account (see `migrations`).
const EMAIL_INDEX: &str = "users_email_key";
/// How SQLite names the same index in its error messages.
const EMAIL_COLUMN: &str = "users.email";
/// How many users there are per (role, `is_active`), kept by triggers (see `migrations`).
const COUNTS_TABLE: &str = "user_counts";

/// [`UserRepository`] on PostgreSQL or SQLite, through sea-orm.
#[derive(Debug, Clone)]
pub struct PgUserRepository {
    connection: DatabaseConnection,
    /// Where accounts are read by email and logins recorded.
    logins: Logins,
}

/// Where a repository reads accounts by email and records logins.
#[derive(Debug, Clone)]
enum Logins {
    Sqlite(Arc<SqliteLogins>),
    Postgres(Arc<PostgresHotPath>),
    /// A connection that was closed (sea-orm's `Disconnected`): nothing to read or write.
    Disconnected,
}

impl PgUserRepository {
    /// A repository over `connection`'s pool. Logins read accounts by email and record
    /// themselves on connections of their own, opened at their first use: on PostgreSQL, as
    /// many as the machine has cores, at most the pool's size; on SQLite with a pool of more
    /// than one connection, two (one reads, the other writes).
    pub fn new(connection: DatabaseConnection) -> Self {
        let logins = match &connection.inner {
            DatabaseConnectionType::SqlxSqlitePoolConnection(_) => Logins::Sqlite(Arc::new(
                SqliteLogins::new(connection.get_sqlite_connection_pool().clone()),
            )),
            DatabaseConnectionType::SqlxPostgresPoolConnection(_) => Logins::Postgres(Arc::new(
                PostgresHotPath::one_per_core(connection.get_postgres_connection_pool().clone()),
            )),
            DatabaseConnectionType::Disconnected => Logins::Disconnected,
        };
        Self { connection, logins }
    }

    fn backend(&self) -> DbBackend {
        self.connection.get_database_backend()
    }
}

/// The login's writes on PostgreSQL, one statement; its parameters are [`login_values`]. One
/// statement is atomic by itself, and one round trip instead of five (`BEGIN`, `UPDATE`, two
/// `INSERT`s, `COMMIT`), each of which cost PostgreSQL and the server CPU that a login flood
/// takes from the password hashing. The update matches only the account as the password was
/// checked against (still active, same hash), and the inserts follow it, so a login that raced
/// a password change, a deactivation or a deletion writes nothing.
const RECORD_LOGIN_POSTGRES: &str = "WITH logged_in AS (
         UPDATE users
         SET last_login = $1, failed_logins = 0, locked_until = NULL, updated_at = $1,
             password_hash = COALESCE($2, password_hash)
         WHERE id = $3 AND is_active AND password_hash = $20
         RETURNING id
     ), opened AS (
         INSERT INTO sessions (id, user_id, refresh_token_hash, created_at, last_used_at,
                               expires_at, revoked_at, user_agent, ip)
         SELECT $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM logged_in
         RETURNING id
     )
     INSERT INTO audit_events (id, at, actor_id, action, target_id, ip, details)
     SELECT $13, $14, $15, $16, $17, $18, $19 FROM opened";

/// The login's writes on SQLite, which has no writing `WITH`: one transaction of five
/// statements, sent to the connection's thread as one command (sqlx binds `$n` by number
/// across them). Each insert happens only if the statement before it changed one row
/// (`changes()`), so when the update matches nothing (as on PostgreSQL) nothing is written
/// and no row comes back.
const RECORD_LOGIN_SQLITE: &str = "BEGIN IMMEDIATE;
     UPDATE users
     SET last_login = $1, failed_logins = 0, locked_until = NULL, updated_at = $1,
         password_hash = COALESCE($2, password_hash)
     WHERE id = $3 AND is_active AND password_hash = $20;
     INSERT INTO sessions (id, user_id, refresh_token_hash, created_at, last_used_at,
                           expires_at, revoked_at, user_agent, ip)
     SELECT $4, $5, $6, $7, $8, $9, $10, $11, $12 WHERE changes() = 1;
     INSERT INTO audit_events (id, at, actor_id, action, target_id, ip, details)
     SELECT $13, $14, $15, $16, $17, $18, $19 WHERE changes() = 1
     RETURNING id;
     COMMIT";

/// The parameters of [`RECORD_LOGIN_POSTGRES`] and [`RECORD_LOGIN_SQLITE`], in `backend`'s
/// formats.
fn login_values(
    backend: DbBackend,
    id: UserId,
    verified: &PasswordHash,
    at: OffsetDateTime,
    rehashed: Option<&PasswordHash>,
    session: &Session,
    event: &AuditEvent,
) -> Vec<Value> {
    vec![
        timestamp(backend, at),
        Value::from(rehashed.map(|hash| hash.as_str().to_owned())),
        id.as_uuid().into(),
        session.id.as_uuid().into(),
        // The session's own user, as recorded, not the updated row's.
        session.user_id.as_uuid().into(),
        session.secret_hash.as_str().into(),
        timestamp(backend, session.created_at),
        timestamp(backend, session.last_used_at),
        timestamp(backend, session.expires_at),
        rows::optional_timestamp(backend, session.revoked_at),
        session.client.user_agent.clone().into(),
        session.client.ip.map(|ip| ip.to_string()).into(),
        event.id.as_uuid().into(),
        timestamp(backend, event.at),
        event.actor.map(|actor| actor.as_uuid()).into(),
        event.action.as_str().into(),
        event.target.map(|target| target.as_uuid()).into(),
        event.ip.map(|ip| ip.to_string()).into(),
        rows::event_details(event).into(),
        verified.as_str().into(),
    ]
}

/// [`RECORD_LOGIN_POSTGRES`] or [`RECORD_LOGIN_SQLITE`] on the logins' own connections. On
/// SQLite, one round trip to the connection's thread instead of five (and the five would hold
/// SQLite's one write lock across as many hand-offs between threads, which under a login flood
/// wait for a core while other writers sleep in SQLite's busy handler).
///
/// It runs in a task of its own so that it always finishes: a caller that goes away midway
/// (a client that disconnects, a request that times out) must not leave the connection inside
/// the transaction. Such a login is then recorded whole, session and audit event included,
/// though its tokens reach no one.
async fn record_login_on(logins: &Logins, values: Vec<Value>) -> Result<bool, UnexpectedError> {
    const CONTEXT: &str = "recording a login";
    match logins.clone() {
        // One row comes back, or one row was inserted, when the login was recorded.
        Logins::Sqlite(connections) => {
            to_completion(CONTEXT, DbErr::Exec, async move {
                let rows = connections
                    .write(RECORD_LOGIN_SQLITE, Values(values))
                    .await?;
                Ok(rows == 1)
            })
            .await
        }
        Logins::Postgres(connections) => {
            to_completion(CONTEXT, DbErr::Exec, async move {
                let inserted = connections
                    .write(RECORD_LOGIN_POSTGRES, Values(values))
                    .await?;
                Ok(inserted == 1)
            })
            .await
        }
        Logins::Disconnected => Err(disconnected(CONTEXT)),
    }
}

/// [`UserRepository::find_by_email`], on the logins' own connections in a task of its own so
/// that it always finishes.
async fn find_by_email_on(logins: &Logins, email: &Email) -> Result<Option<User>, UnexpectedError> {
    const CONTEXT: &str = "finding a user by email";
    let query = Query::select()
        .columns(rows::USER_COLUMNS.map(|column| (users::Entity, column)))
        .from(users::Entity)
        .and_where(Expr::col((users::Entity, users::Column::Email)).eq(email.as_str()))
        .to_owned();
    let found: Vec<QueryResult> = match logins.clone() {
        Logins::Sqlite(connections) => {
            let (sql, values) = query.build(SqliteQueryBuilder);
            to_completion(CONTEXT, DbErr::Query, async move {
                connections.read(sql, values).await
            })
            .await?
        }
        Logins::Postgres(connections) => {
            let (sql, values) = query.build(PostgresQueryBuilder);
            to_completion(CONTEXT, DbErr::Query, async move {
                connections.read(sql, values).await
            })
            .await?
        }
        Logins::Disconnected => return Err(disconnected(CONTEXT)),
    };
    found
        .first()
        .map(|row| rows::user_at(row, 0).map_err(db(CONTEXT)))
        .transpose()?
        .flatten()
        .map(rows::user)
        .transpose()
}

fn disconnected(context: &'static str) -> UnexpectedError {
    UnexpectedError::unavailable(context, "the database connection was closed")
}

/// A write's error, with a violation of the email's unique index told apart.
fn save_error(context: &'static str) -> impl Fn(DbErr) -> SaveUserError {
    move |error| {
        if violates_unique(&error, EMAIL_INDEX, EMAIL_COLUMN) {
            SaveUserError::EmailTaken
        } else {
            SaveUserError::Unexpected(db_error(context, error))
        }
    }
}

fn no_such_user(id: UserId) -> UnexpectedError {
    UnexpectedError::internal("updating a user", format!("no user has the id {id}"))
}

/// Revokes every unrevoked session of `user_id` at `at`; returns how many.
async fn revoke_sessions_of(
    connection: &impl ConnectionTrait,
    user_id: UserId,
    at: OffsetDateTime,
) -> Result<u64, DbErr> {
    let backend = connection.get_database_backend();
    let result = sessions::Entity::update_many()
        .col_expr(
            sessions::Column::RevokedAt,
            Expr::val(timestamp(backend, at)),
        )
        .filter(sessions::Column::UserId.eq(user_id.as_uuid()))
        .filter(sessions::Column::RevokedAt.is_null())
        .exec(connection)
        .await?;
    Ok(result.rows_affected)
}

#[async_trait]
impl UserRepository for PgUserRepository {
    async fn insert(
        &self,
        user: &User,
        first_session: Option<Session>,
        event: &AuditEvent,
    ) -> Result<(), SaveUserError> {
        let backend = self.backend();
        let transaction = begin_write(&self.connection).await?;
        transaction
            .execute(&insert_row(users::Entity, user_row(backend, user))?)
            .await
            .map_err(save_error("inserting a user"))?;
        if let Some(session) = &first_session {
            transaction
                .execute(&insert_session(backend, session)?)
                .await
                .map_err(db("inserting a session"))?;
        }
        transaction
            .execute(&insert_event(backend, event)?)
            .await
            .map_err(db("recording an audit event"))?;
        commit(transaction).await?;
        Ok(())
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, UnexpectedError> {
        users::Entity::find_by_id(id.as_uuid())
            .all(&self.connection)
            .await
            .map_err(db("finding a user by id"))
            .map(rows::unique_row)?
            .map(rows::user)
            .transpose()
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, UnexpectedError> {
        find_by_email_on(&self.logins, email).await
    }

    async fn update(
        &self,
        user: &User,
        revoke_sessions: bool,
        event: &AuditEvent,
    ) -> Result<(), SaveUserError> {
        let backend = self.backend();
        let transaction = begin_write(&self.connection).await?;
        let updated = users::Entity::update_many()
            .col_expr(users::Column::Email, Expr::val(user.email().as_str()))
            .col_expr(
                users::Column::FullName,
                Expr::val(user.full_name().as_str()),
            )
            .col_expr(users::Column::Role, Expr::val(user.role().as_str()))
            .col_expr(users::Column::IsActive, Expr::val(user.is_active()))
            .col_expr(
                users::Column::UpdatedAt,
                Expr::val(timestamp(backend, user.updated_at())),
            )
            .filter(users::Column::Id.eq(user.id().as_uuid()))
            .exec(&transaction)
            .await
            .map_err(save_error("updating a user"))?;
        if updated.rows_affected != 1 {
            return Err(no_such_user(user.id()).into());
        }
        if revoke_sessions {
            revoke_sessions_of(&transaction, user.id(), user.updated_at())
                .await
                .map_err(db("revoking a user's sessions"))?;
        }
        transaction
            .execute(&insert_event(backend, event)?)
            .await
            .map_err(db("recording an audit event"))?;
        commit(transaction).await?;
        Ok(())
    }

    async fn record_failed_login(
        &self,
        id: UserId,
        event: &AuditEvent,
    ) -> Result<u32, UnexpectedError> {
        let backend = self.backend();
        let transaction = begin_write(&self.connection).await?;
        // The increment happens in the database, so concurrent failures each add one
        // (a read-modify-write in Rust would lose updates); RETURNING reads the count this
        // very update produced.
        let increment = Query::update()
            .table(users::Entity)
            .value(
                users::Column::FailedLogins,
                Expr::col(users::Column::FailedLogins).add(1),
            )
            .and_where(Expr::col(users::Column::Id).eq(id.as_uuid()))
            .returning_col(users::Column::FailedLogins)
            .to_owned();
        let row = transaction
            .query_one(&increment)
            .await
            .map_err(db("counting a failed login"))?
            .ok_or_else(|| no_such_user(id))?;
        let count: i32 = row
            .try_get("", "failed_logins")
            .map_err(db("reading the failed-login count"))?;
        transaction
            .execute(&insert_event(backend, event)?)
            .await
            .map_err(db("recording an audit event"))?;
        commit(transaction).await?;
        u32::try_from(count).map_err(|error| {
            UnexpectedError::internal(
                format!("users row {id} holds an invalid failed_logins"),
                error,
            )
        })
    }

    async fn lock(
        &self,
        id: UserId,
        until: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<(), UnexpectedError> {
        let backend = self.backend();
        let transaction = begin_write(&self.connection).await?;
        let updated = users::Entity::update_many()
            .col_expr(
                users::Column::LockedUntil,
                Expr::val(timestamp(backend, until)),
            )
            .filter(users::Column::Id.eq(id.as_uuid()))
            .exec(&transaction)
            .await
            .map_err(db("locking a user"))?;
        if updated.rows_affected != 1 {
            return Err(no_such_user(id));
        }
        transaction
            .execute(&insert_event(backend, event)?)
            .await
            .map_err(db("recording an audit event"))?;
        commit(transaction).await
    }

    async fn record_login(
        &self,
        id: UserId,
        verified: &PasswordHash,
        at: OffsetDateTime,
        rehashed: Option<PasswordHash>,
        session: &Session,
        event: &AuditEvent,
    ) -> Result<bool, UnexpectedError> {
        let backend = self.backend();
        let values = login_values(backend, id, verified, at, rehashed.as_ref(), session, event);
        record_login_on(&self.logins, values).await
    }

    async fn change_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        at: OffsetDateTime,
        replacement: &Session,
        event: &AuditEvent,
    ) -> Result<(), UnexpectedError> {
        let backend = self.backend();
        let transaction = begin_write(&self.connection).await?;
        let updated = users::Entity::update_many()
            .col_expr(users::Column::PasswordHash, Expr::val(hash.as_str()))
            .col_expr(users::Column::UpdatedAt, Expr::val(timestamp(backend, at)))
            .filter(users::Column::Id.eq(id.as_uuid()))
            .exec(&transaction)
            .await
            .map_err(db("changing a password"))?;
        if updated.rows_affected != 1 {
            return Err(no_such_user(id));
        }
        // Revoke first, then insert the replacement: the new session must survive.
        revoke_sessions_of(&transaction, id, at)
            .await
            .map_err(db("revoking a user's sessions"))?;
        transaction
            .execute(&insert_session(backend, replacement)?)
            .await
            .map_err(db("inserting a session"))?;
        transaction
            .execute(&insert_event(backend, event)?)
            .await
            .map_err(db("recording an audit event"))?;
        commit(transaction).await
    }

    async fn list(&self, query: &UserQuery) -> Result<UserSlice, UnexpectedError> {
        let size = query.page.size();
        // Without a search, the triggers' counters give the exact total at once, and knowing
        // it first lets a deep page be read from the nearer end.
        let counted = if query.filter.search.is_none() {
            Some(self.count_from_counters(&query.filter).await?)
        } else {
            None
        };
        let (rows, has_more) = match (&query.page, counted) {
            (PageRequest::Number { number, size }, Some(total))
                if offset_of(*number, *size) > total / 2 =>
            {
                self.page_from_the_end(query, offset_of(*number, *size), total)
                    .await?
            }
            _ => {
                let mut rows = page_query(self.backend(), query, Direction::Forward)?
                    .all(&self.connection)
                    .await
                    .map_err(db("listing users"))?;
                let has_more = rows.len() > size as usize;
                rows.truncate(size as usize);
                (rows, has_more)
            }
        };
        let offset = match query.page {
            PageRequest::Number { number, size } => Some(offset_of(number, size)),
            PageRequest::After { .. } => None,
        };
        let total = match counted.or_else(|| known_total(offset, rows.len(), has_more)) {
            Some(total) => total,
            None => users::Entity::find()
                .filter(user_filter(&query.filter))
                .count(&self.connection)
                .await
                .map_err(db("counting users"))?,
        };
        let users = rows
            .into_iter()
            .map(rows::user)
            .collect::<Result<Vec<User>, UnexpectedError>>()?;
        Ok(UserSlice {
            users,
            total,
            has_more,
        })
    }
}

impl PgUserRepository {
    /// How many users match a filter without a search, from `user_counts` (kept by triggers,
    /// see `migrations`): four rows at most, whatever the number of users.
    async fn count_from_counters(&self, filter: &UserFilter) -> Result<u64, UnexpectedError> {
        let mut select = Query::select();
        // SUM of a bigint is a numeric on PostgreSQL: cast it back.
        select
            .expr(Expr::cust("CAST(COALESCE(SUM(n), 0) AS BIGINT)"))
            .from(COUNTS_TABLE);
        if let Some(role) = filter.role {
            select.and_where(Expr::col((COUNTS_TABLE, "role")).eq(role.as_str()));
        }
        if let Some(is_active) = filter.is_active {
            select.and_where(Expr::col((COUNTS_TABLE, "is_active")).eq(is_active));
        }
        let row = self
            .connection
            .query_one(&select)
            .await
            .map_err(db("counting users"))?
            .ok_or_else(|| UnexpectedError::internal("counting users", "SUM returned no row"))?;
        let total: i64 = row
            .try_get_by_index(0)
            .map_err(db("reading the user count"))?;
        u64::try_from(total).map_err(|error| {
            UnexpectedError::internal("counting users", format!("a negative count: {error}"))
        })
    }

    /// The page at `offset` of `total` matches, read in the reverse order from the end and
    /// turned around: OFFSET walks every row it skips, so the last page of a million users
    /// by number costs what the first does instead of a walk over the million before it.
    async fn page_from_the_end(
        &self,
        query: &UserQuery,
        offset: u64,
        total: u64,
    ) -> Result<(Vec<users::Model>, bool), UnexpectedError> {
        let size = u64::from(query.page.size());
        if offset >= total {
            return Ok((Vec::new(), false));
        }
        let take = std::cmp::min(size, total - offset);
        let mut rows = page_query(self.backend(), query, Direction::Backward)?
            .offset(total - offset - take)
            .limit(take)
            .all(&self.connection)
            .await
            .map_err(db("listing users"))?;
        rows.reverse();
        Ok((rows, offset + take < total))
    }
}

/// How many rows precede page `number` of `size` rows.
fn offset_of(number: u32, size: u32) -> u64 {
    u64::from(number.saturating_sub(1)) * u64::from(size)
}

/// The exact count of all matches when a page by offset already tells it: a page that is
/// the last one and not past the end (or the empty first page) ends the matches, so they
/// number its offset plus its rows. Listings without a search take their count from the
/// counters; a search must count its matches (a trigram index scan on PostgreSQL, a scan on
/// SQLite), and skipping that whenever the page tells it makes small searches cheap. A cursor
/// page never knows it.
pub(crate) fn known_total(offset: Option<u64>, rows: usize, has_more: bool) -> Option<u64> {
    let offset = offset?;
    (!has_more && (rows > 0 || offset == 0)).then(|| offset + rows as u64)
}

/// Which way a page is read: in the listing's order, or from its end (see
/// `page_from_the_end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Backward,
}

/// The `SELECT` of a listing's page. Forwards it reads one row more than the page holds,
/// which tells whether another page follows; backwards it is only filtered and ordered, and
/// the caller positions and limits it.
fn page_query(
    backend: DbBackend,
    query: &UserQuery,
    direction: Direction,
) -> Result<Select<users::Entity>, UnexpectedError> {
    let (key_column, order) = match query.ordering {
        UserOrdering::DateJoined => (users::Column::DateJoined, Order::Asc),
        UserOrdering::DateJoinedDesc => (users::Column::DateJoined, Order::Desc),
        UserOrdering::Email => (users::Column::Email, Order::Asc),
        UserOrdering::EmailDesc => (users::Column::Email, Order::Desc),
    };
    let read_order = match (direction, &order) {
        (Direction::Forward, _) => order.clone(),
        (Direction::Backward, Order::Desc) => Order::Asc,
        (Direction::Backward, _) => Order::Desc,
    };
    // The id breaks ties in the key's direction, so the order is total and pages can neither
    // overlap nor skip; (key, id) is also exactly the composite index that serves it.
    let mut page = users::Entity::find()
        .filter(user_filter(&query.filter))
        .order_by(key_column, read_order.clone())
        .order_by(users::Column::Id, read_order);
    if direction == Direction::Forward {
        page = page.limit(u64::from(query.page.size()) + 1);
    }
    match &query.page {
        PageRequest::Number { number, size } => {
            // OFFSET makes the database walk past every earlier row: deep pages cost in
            // proportion to their depth (from the nearer end, see `page_from_the_end`).
            // Cursors do not.
            if direction == Direction::Forward {
                page = page.offset(offset_of(*number, *size));
            }
        }
        PageRequest::After { cursor, .. } => {
            let key = match (&cursor.key, key_column) {
                (CursorKey::DateJoined(at), users::Column::DateJoined) => timestamp(backend, *at),
                (CursorKey::Email(email), users::Column::Email) => Value::from(email.as_str()),
                _ => {
                    return Err(UnexpectedError::internal(
                        "listing users",
                        "the cursor's key does not fit the ordering",
                    ));
                }
            };
            // A row-value comparison, which both backends evaluate and PostgreSQL turns into
            // one range condition on the (key, id) index: a deep page costs what the first
            // does.
            let position = Expr::tuple([Expr::col(key_column), Expr::col(users::Column::Id)]);
            let after = Expr::tuple([Expr::val(key), Expr::val(cursor.id.as_uuid())]);
            page = page.filter(match order {
                Order::Desc => position.lt(after),
                _ => position.gt(after),
            });
        }
    }
    Ok(page)
}

/// The `WHERE` of a listing.
fn user_filter(filter: &UserFilter) -> Condition {
    let mut condition = Condition::all();
    if let Some(role) = filter.role {
        condition = condition.add(users::Column::Role.eq(role.as_str()));
    }
    if let Some(is_active) = filter.is_active {
        condition = condition.add(users::Column::IsActive.eq(is_active));
    }
    if let Some(term) = filter.search.as_ref().map(SearchTerm::as_str) {
        // One query for both backends: SQLite has no ILIKE, so both sides are lower-cased.
        // Emails are stored lower-cased already, which keeps the email side a plain column
        // (PostgreSQL's trigram index is on `email` and on `lower(full_name)`).
        let pattern = format!("%{}%", escape_like(&term.to_lowercase()));
        condition = condition.add(
            Condition::any()
                .add(Expr::col(users::Column::Email).like(LikeExpr::new(&pattern).escape('\\')))
                .add(
                    Func::lower(Expr::col(users::Column::FullName))
                        .like(LikeExpr::new(&pattern).escape('\\')),
                ),
        );
    }
    condition
}

/// `term` with LIKE's wildcards (and the escape character itself) escaped, so that a search
/// for `50%_off` matches those characters and nothing else.
fn escape_like(term: &str) -> String {
    let mut escaped = String::with_capacity(term.len());
    for character in term.chars() {
        if matches!(character, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::QueryTrait;

    #[test]
    fn a_cursor_page_is_one_row_value_range_on_the_ordering_index() {
        let cursor = domain::UserCursor {
            ordering: UserOrdering::DateJoinedDesc,
            key: CursorKey::DateJoined(OffsetDateTime::UNIX_EPOCH),
            id: UserId::new(),
        };
        let query = UserQuery {
            filter: UserFilter::default(),
            ordering: UserOrdering::DateJoinedDesc,
            page: PageRequest::After { cursor, size: 10 },
        };
        let sql = page_query(DbBackend::Postgres, &query, Direction::Forward)
            .unwrap()
            .build(DbBackend::Postgres)
            .to_string();
        assert!(sql.contains(r#"WHERE ("date_joined", "id") < ("#), "{sql}");
        assert!(
            sql.ends_with(r#"ORDER BY "users"."date_joined" DESC, "users"."id" DESC LIMIT 11"#),
            "{sql}"
        );
    }

    #[test]
    fn search_escapes_its_term_and_lower_cases_the_name() {
        let query = UserQuery {
            filter: UserFilter {
                search: Some(SearchTerm::parse("50%").unwrap()),
                ..UserFilter::default()
            },
            ordering: UserOrdering::Email,
            page: PageRequest::Number {
                number: 3,
                size: 10,
            },
        };
        let sql = page_query(DbBackend::Sqlite, &query, Direction::Forward)
            .unwrap()
            .build(DbBackend::Sqlite)
            .to_string();
        assert!(
            sql.contains(r#"LOWER("full_name") LIKE '%50\%%' ESCAPE '\'"#),
            "{sql}"
        );
        assert!(sql.ends_with("LIMIT 11 OFFSET 20"), "{sql}");
    }

    #[test]
    fn a_page_read_from_the_end_reverses_key_and_id_and_skips_no_rows_itself() {
        let query = UserQuery {
            filter: UserFilter::default(),
            ordering: UserOrdering::DateJoinedDesc,
            page: PageRequest::Number {
                number: 100_001,
                size: 10,
            },
        };
        let sql = page_query(DbBackend::Postgres, &query, Direction::Backward)
            .unwrap()
            .build(DbBackend::Postgres)
            .to_string();
        assert!(
            sql.ends_with(r#"ORDER BY "users"."date_joined" ASC, "users"."id" ASC"#),
            "{sql}"
        );
    }

    #[test]
    fn the_total_is_known_from_a_last_page_by_offset_only() {
        assert_eq!(known_total(Some(90), 5, false), Some(95), "the last page");
        assert_eq!(known_total(Some(0), 0, false), Some(0), "no match at all");
        assert_eq!(
            known_total(Some(100), 0, false),
            None,
            "past the end: count"
        );
        assert_eq!(known_total(Some(0), 10, true), None, "more follow: count");
        assert_eq!(known_total(None, 3, false), None, "a cursor page: count");
    }

    #[test]
    fn like_wildcards_and_the_escape_character_are_escaped() {
        assert_eq!(escape_like(r"50%_off\now"), r"50\%\_off\\now");
        assert_eq!(escape_like("plain"), "plain");
    }
}
