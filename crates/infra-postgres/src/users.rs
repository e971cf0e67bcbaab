//! [`SqlUserRepository`]: accounts and the administrators' listing.

use crate::entities::users;
use crate::rows::{self, db, db_error, insert_row, timestamp, user_row, violates_unique};
use crate::transaction::{
    begin_write, commit_with_event, open_session, revoke_sessions_of, set_aside_reset_links,
};
use async_trait::async_trait;
use domain::ports::{SaveUserError, UserRepository};
use domain::{
    AuditEvent, CursorKey, Email, PageRequest, PasswordHash, SearchTerm, Session, UnexpectedError,
    User, UserFilter, UserId, UserOrdering, UserQuery, UserSlice,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select, Value,
};
use time::OffsetDateTime;

/// The unique index that makes an email belong to one account (see `migrations`).
const EMAIL_INDEX: &str = "users_email_key";
/// How SQLite names the same index in its error messages.
const EMAIL_COLUMN: &str = "users.email";
/// How many users there are per (role, `is_active`), kept by triggers (see `migrations`).
const COUNTS_TABLE: &str = "user_counts";

/// [`UserRepository`] on PostgreSQL or SQLite, through sea-orm.
#[derive(Debug, Clone)]
pub struct SqlUserRepository {
    connection: DatabaseConnection,
}

impl SqlUserRepository {
    /// A repository over `connection`'s pool.
    pub fn new(connection: DatabaseConnection) -> Self {
        Self { connection }
    }

    fn backend(&self) -> DbBackend {
        self.connection.get_database_backend()
    }
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

#[async_trait]
impl UserRepository for SqlUserRepository {
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
            open_session(&transaction, session).await?;
        }
        commit_with_event(transaction, event).await?;
        Ok(())
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, UnexpectedError> {
        self.find_one(
            users::Entity::find_by_id(id.as_uuid()),
            "finding a user by id",
        )
        .await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, UnexpectedError> {
        let by_email = users::Entity::find().filter(users::Column::Email.eq(email.as_str()));
        self.find_one(by_email, "finding a user by email").await
    }

    async fn update(
        &self,
        user: &User,
        read_as_of: OffsetDateTime,
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
            .filter(users::Column::UpdatedAt.eq(timestamp(backend, read_as_of)))
            .exec(&transaction)
            .await
            .map_err(save_error("updating a user"))?;
        if updated.rows_affected != 1 {
            // Asked on the transaction's own connection: holding one while waiting for
            // another could exhaust the pool.
            let exists = users::Entity::find_by_id(user.id().as_uuid())
                .count(&transaction)
                .await
                .map_err(save_error("updating a user"))?;
            return Err(if exists == 0 {
                no_such_user(user.id()).into()
            } else {
                SaveUserError::Changed
            });
        }
        if revoke_sessions {
            revoke_sessions_of(&transaction, user.id(), user.updated_at()).await?;
        }
        set_aside_reset_links(&transaction, user.id(), user.updated_at()).await?;
        commit_with_event(transaction, event).await?;
        Ok(())
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
        let transaction = begin_write(&self.connection).await?;
        // The update matches only the account as its password was checked (still active, the
        // same hash), so a login that raced a password change, a deactivation or a deletion
        // writes nothing and opens no session.
        let mut update = users::Entity::update_many()
            .col_expr(users::Column::LastLogin, Expr::val(timestamp(backend, at)))
            .col_expr(users::Column::UpdatedAt, Expr::val(timestamp(backend, at)))
            .filter(users::Column::Id.eq(id.as_uuid()))
            .filter(users::Column::IsActive.eq(true))
            .filter(users::Column::PasswordHash.eq(verified.as_str()));
        if let Some(rehashed) = &rehashed {
            update = update.col_expr(users::Column::PasswordHash, Expr::val(rehashed.as_str()));
        }
        let updated = update
            .exec(&transaction)
            .await
            .map_err(db("recording a login"))?;
        if updated.rows_affected != 1 {
            return Ok(false);
        }
        open_session(&transaction, session).await?;
        commit_with_event(transaction, event).await?;
        Ok(true)
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
        revoke_sessions_of(&transaction, id, at).await?;
        set_aside_reset_links(&transaction, id, at).await?;
        open_session(&transaction, replacement).await?;
        commit_with_event(transaction, event).await
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

impl SqlUserRepository {
    /// The one user `select` finds by a unique key (primary key, unique index), if any.
    ///
    /// It reads `.all()` and keeps the first row instead of calling `.one()`, which adds
    /// `LIMIT ?` with the 1 as a bound parameter: SQLite expires a statement whose `LIMIT` is
    /// a bound parameter each time it is bound again, and re-parses it on the next step. A
    /// unique key needs no limit, and the statement then stays prepared in sqlx's cache.
    async fn find_one(
        &self,
        select: Select<users::Entity>,
        context: &'static str,
    ) -> Result<Option<User>, UnexpectedError> {
        let found = select.all(&self.connection).await.map_err(db(context))?;
        found.into_iter().next().map(rows::user).transpose()
    }

    /// How many users match a filter without a search, from `user_counts` (kept by triggers,
    /// see `migrations`): four rows at most, whatever the number of users.
    async fn count_from_counters(&self, filter: &UserFilter) -> Result<u64, UnexpectedError> {
        let mut select = Query::select();
        // SUM of a bigint is a numeric on PostgreSQL: cast it back.
        select
            .expr(
                Func::coalesce([Expr::from(Func::sum(Expr::col("n"))), Expr::val(0)])
                    .cast_as("BIGINT"),
            )
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
