//! The edge between rows and the domain: turning rows into domain values (through the
//! domain's `parse` constructors), domain values into bound SQL values, and `DbErr`s into
//! [`UnexpectedError`]s.
//!
//! A row that does not parse is reported as an internal error naming the row and the field:
//! storage holds only what the domain wrote, so a bad row is a bug or tampering, never a
//! client's fault, and never a panic.

use crate::entities::{audit_events, sessions, users};
use domain::{
    AuditAction, AuditEvent, AuditEventId, ClientInfo, Email, FullName, PasswordHash, Role,
    SecretHash, Session, SessionId, UnexpectedError, User, UserId, UserRecord,
};
use sea_orm::sea_query::{InsertStatement, IntoIden, Query};
use sea_orm::sqlx;
use sea_orm::{DbBackend, DbErr, QueryResult, RuntimeErr, SqlErr, Value};
use std::collections::BTreeMap;
use std::net::IpAddr;
use time::{Duration, OffsetDateTime, UtcOffset};

/// `instant` as the value bound for a timestamp column, truncated to whole microseconds.
///
/// PostgreSQL keeps microseconds (and would round the rest); truncating here first makes
/// both backends store, and give back, the same instant. SQLite has no timestamp type: it
/// stores what it is given, and sqlx would give it RFC 3339 text with the fraction's
/// trailing zeros trimmed and no fraction at all on a whole second, which does not sort in
/// time order (`…:00Z` sorts after `…:00.5Z`). So on SQLite the value is rendered with a
/// fixed width, always six fractional digits and `Z`, which sorts as time does and still
/// reads back as RFC 3339.
pub(crate) fn timestamp(backend: DbBackend, instant: OffsetDateTime) -> Value {
    let utc = instant.to_offset(UtcOffset::UTC);
    let utc = utc - Duration::nanoseconds(i64::from(utc.nanosecond() % 1_000));
    match backend {
        DbBackend::Sqlite => Value::from(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            utc.year(),
            u8::from(utc.month()),
            utc.day(),
            utc.hour(),
            utc.minute(),
            utc.second(),
            utc.microsecond(),
        )),
        _ => Value::from(utc),
    }
}

/// Like [`timestamp`], for a nullable column.
pub(crate) fn optional_timestamp(backend: DbBackend, instant: Option<OffsetDateTime>) -> Value {
    match (instant, backend) {
        (Some(instant), _) => timestamp(backend, instant),
        (None, DbBackend::Sqlite) => Value::from(Option::<String>::None),
        (None, _) => Value::from(Option::<OffsetDateTime>::None),
    }
}

/// An `INSERT` of one row of `(column, value)` pairs into `table`.
pub(crate) fn insert_row<T, C>(
    table: T,
    row: Vec<(C, Value)>,
) -> Result<InsertStatement, UnexpectedError>
where
    T: IntoIden,
    C: IntoIden,
{
    let (columns, values): (Vec<C>, Vec<Value>) = row.into_iter().unzip();
    let mut insert = Query::insert();
    insert.into_table(table).columns(columns);
    insert
        .values(values.into_iter().map(Into::into))
        .map_err(|error| UnexpectedError::internal("building an insert statement", error))?;
    Ok(insert)
}

/// The columns and values of a `users` row holding `user`.
pub(crate) fn user_row(backend: DbBackend, user: &User) -> Vec<(users::Column, Value)> {
    vec![
        (users::Column::Id, user.id().as_uuid().into()),
        (users::Column::Email, user.email().as_str().into()),
        (users::Column::FullName, user.full_name().as_str().into()),
        (
            users::Column::PasswordHash,
            user.password_hash().as_str().into(),
        ),
        (users::Column::Role, user.role().as_str().into()),
        (users::Column::IsActive, user.is_active().into()),
        (
            users::Column::DateJoined,
            timestamp(backend, user.date_joined()),
        ),
        (
            users::Column::LastLogin,
            optional_timestamp(backend, user.last_login()),
        ),
        (
            users::Column::UpdatedAt,
            timestamp(backend, user.updated_at()),
        ),
    ]
}

/// The `INSERT` of `session`.
pub(crate) fn insert_session(
    backend: DbBackend,
    session: &Session,
) -> Result<InsertStatement, UnexpectedError> {
    insert_row(
        sessions::Entity,
        vec![
            (sessions::Column::Id, session.id.as_uuid().into()),
            (sessions::Column::UserId, session.user_id.as_uuid().into()),
            (
                sessions::Column::RefreshTokenHash,
                session.secret_hash.as_str().into(),
            ),
            (
                sessions::Column::CreatedAt,
                timestamp(backend, session.created_at),
            ),
            (
                sessions::Column::LastUsedAt,
                timestamp(backend, session.last_used_at),
            ),
            (
                sessions::Column::ExpiresAt,
                timestamp(backend, session.expires_at),
            ),
            (
                sessions::Column::RevokedAt,
                optional_timestamp(backend, session.revoked_at),
            ),
            (
                sessions::Column::UserAgent,
                session.client.user_agent.clone().into(),
            ),
            (
                sessions::Column::Ip,
                session.client.ip.map(|ip| ip.to_string()).into(),
            ),
        ],
    )
}

/// `event`'s details as the JSON object the `details` column holds.
pub(crate) fn event_details(event: &AuditEvent) -> serde_json::Value {
    serde_json::Value::Object(
        event
            .details
            .iter()
            .map(|(key, value)| (key.clone(), serde_json::Value::String(value.clone())))
            .collect(),
    )
}

/// The `INSERT` of `event`.
pub(crate) fn insert_event(
    backend: DbBackend,
    event: &AuditEvent,
) -> Result<InsertStatement, UnexpectedError> {
    insert_row(
        audit_events::Entity,
        vec![
            (audit_events::Column::Id, event.id.as_uuid().into()),
            (audit_events::Column::At, timestamp(backend, event.at)),
            (
                audit_events::Column::ActorId,
                event.actor.map(|id| id.as_uuid()).into(),
            ),
            (audit_events::Column::Action, event.action.as_str().into()),
            (
                audit_events::Column::TargetId,
                event.target.map(|id| id.as_uuid()).into(),
            ),
            (
                audit_events::Column::Ip,
                event.ip.map(|ip| ip.to_string()).into(),
            ),
            (audit_events::Column::Details, event_details(event).into()),
        ],
    )
}

/// That the `field` of row `id` of `table` holds a value the domain rejects.
pub(crate) fn corrupt(
    table: &str,
    id: impl std::fmt::Display,
    field: &str,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> UnexpectedError {
    UnexpectedError::internal(format!("{table} row {id} holds an invalid {field}"), source)
}

fn parse_ip(
    table: &str,
    id: uuid::Uuid,
    raw: Option<&str>,
) -> Result<Option<IpAddr>, UnexpectedError> {
    raw.map(str::parse::<IpAddr>)
        .transpose()
        .map_err(|error| corrupt(table, id, "ip", error))
}

/// The [`User`] a `users` row holds.
pub(crate) fn user(row: users::Model) -> Result<User, UnexpectedError> {
    let table = "users";
    Ok(User::restore(UserRecord {
        id: UserId::from_uuid(row.id),
        email: Email::parse(&row.email).map_err(|error| corrupt(table, row.id, "email", error))?,
        full_name: FullName::parse(&row.full_name)
            .map_err(|error| corrupt(table, row.id, "full_name", error))?,
        role: Role::parse(&row.role).map_err(|error| corrupt(table, row.id, "role", error))?,
        is_active: row.is_active,
        password_hash: PasswordHash::new(row.password_hash),
        date_joined: row.date_joined,
        last_login: row.last_login,
        updated_at: row.updated_at,
    }))
}

/// Every column of `sessions`, in the order [`session_at`] reads them.
pub(crate) const SESSION_COLUMNS: [sessions::Column; 9] = [
    sessions::Column::Id,
    sessions::Column::UserId,
    sessions::Column::RefreshTokenHash,
    sessions::Column::CreatedAt,
    sessions::Column::LastUsedAt,
    sessions::Column::ExpiresAt,
    sessions::Column::RevokedAt,
    sessions::Column::UserAgent,
    sessions::Column::Ip,
];

/// Every column of `users`, in the order [`user_at`] reads them (and the seeder writes them).
pub(crate) const USER_COLUMNS: [users::Column; 9] = [
    users::Column::Id,
    users::Column::Email,
    users::Column::FullName,
    users::Column::PasswordHash,
    users::Column::Role,
    users::Column::IsActive,
    users::Column::DateJoined,
    users::Column::LastLogin,
    users::Column::UpdatedAt,
];

/// The `sessions` row whose [`SESSION_COLUMNS`] start at position `first` of `row`.
pub(crate) fn session_at(row: &QueryResult, first: usize) -> Result<sessions::Model, DbErr> {
    Ok(sessions::Model {
        id: row.try_get_by_index(first)?,
        user_id: row.try_get_by_index(first + 1)?,
        refresh_token_hash: row.try_get_by_index(first + 2)?,
        created_at: row.try_get_by_index(first + 3)?,
        last_used_at: row.try_get_by_index(first + 4)?,
        expires_at: row.try_get_by_index(first + 5)?,
        revoked_at: row.try_get_by_index(first + 6)?,
        user_agent: row.try_get_by_index(first + 7)?,
        ip: row.try_get_by_index(first + 8)?,
    })
}

/// The `users` row whose [`USER_COLUMNS`] start at position `first` of `row`, or `None` when
/// they are null (an outer join that found no user).
pub(crate) fn user_at(row: &QueryResult, first: usize) -> Result<Option<users::Model>, DbErr> {
    let Some(id) = row.try_get_by_index(first)? else {
        return Ok(None);
    };
    Ok(Some(users::Model {
        id,
        email: row.try_get_by_index(first + 1)?,
        full_name: row.try_get_by_index(first + 2)?,
        password_hash: row.try_get_by_index(first + 3)?,
        role: row.try_get_by_index(first + 4)?,
        is_active: row.try_get_by_index(first + 5)?,
        date_joined: row.try_get_by_index(first + 6)?,
        last_login: row.try_get_by_index(first + 7)?,
        updated_at: row.try_get_by_index(first + 8)?,
    }))
}

/// The [`Session`] a `sessions` row holds.
pub(crate) fn session(row: sessions::Model) -> Result<Session, UnexpectedError> {
    let ip = parse_ip("sessions", row.id, row.ip.as_deref())?;
    Ok(Session {
        id: SessionId::from_uuid(row.id),
        user_id: UserId::from_uuid(row.user_id),
        secret_hash: SecretHash::new(row.refresh_token_hash),
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
        client: ClientInfo {
            user_agent: row.user_agent,
            ip,
        },
    })
}

/// A session row and the user row joined to it; the join is on a foreign key, so a missing
/// user is corrupt storage.
pub(crate) fn session_with_user(
    session_row: sessions::Model,
    user_row: Option<users::Model>,
) -> Result<(Session, User), UnexpectedError> {
    let session_id = session_row.id;
    let user_row = user_row.ok_or_else(|| {
        corrupt(
            "sessions",
            session_id,
            "user_id",
            "the user it names does not exist",
        )
    })?;
    Ok((session(session_row)?, user(user_row)?))
}

/// The [`AuditEvent`] an `audit_events` row holds.
pub(crate) fn event(row: audit_events::Model) -> Result<AuditEvent, UnexpectedError> {
    let table = "audit_events";
    let serde_json::Value::Object(object) = row.details else {
        return Err(corrupt(table, row.id, "details", "not a JSON object"));
    };
    let details = object
        .into_iter()
        .map(|(key, value)| match value {
            serde_json::Value::String(value) => Ok((key, value)),
            _ => Err(corrupt(table, row.id, "details", "a value is not a string")),
        })
        .collect::<Result<BTreeMap<String, String>, UnexpectedError>>()?;
    Ok(AuditEvent {
        id: AuditEventId::from_uuid(row.id),
        at: row.at,
        actor: row.actor_id.map(UserId::from_uuid),
        action: AuditAction::parse(&row.action)
            .map_err(|error| corrupt(table, row.id, "action", error))?,
        target: row.target_id.map(UserId::from_uuid),
        ip: parse_ip(table, row.id, row.ip.as_deref())?,
        details,
    })
}

/// `error` as an [`UnexpectedError`]: `unavailable` when the database could not be reached
/// or is too busy (retrying later may work), `internal` otherwise.
pub(crate) fn db_error(context: &str, error: DbErr) -> UnexpectedError {
    if is_unavailable(&error) {
        UnexpectedError::unavailable(context, error)
    } else {
        UnexpectedError::internal(context, error)
    }
}

/// A closure for `map_err` that applies [`db_error`] with `context`.
pub(crate) fn db(context: &'static str) -> impl Fn(DbErr) -> UnexpectedError {
    move |error| db_error(context, error)
}

fn is_unavailable(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner)) => {
            match inner.as_ref() {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(database) => is_transient(database.as_ref()),
                _ => false,
            }
        }
        _ => false,
    }
}

/// Database errors that mean "not now" rather than "wrong": PostgreSQL's connection
/// exceptions (class 08), insufficient resources (53) and shutdowns (57P0x); SQLite's busy
/// and locked families (primary codes 5 and 6, whatever the extended code).
fn is_transient(database: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = database.code() else {
        return false;
    };
    if database
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        return code.starts_with("08") || code.starts_with("53") || code.starts_with("57P0");
    }
    if database
        .try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .is_some()
    {
        return code
            .parse::<i32>()
            .is_ok_and(|code| matches!(code & 0xff, 5 | 6));
    }
    false
}

/// Whether `error` violates the unique index `index` (PostgreSQL names it in the message)
/// on `table.column` (SQLite names the columns instead).
pub(crate) fn violates_unique(error: &DbErr, index: &str, table_column: &str) -> bool {
    matches!(
        error.sql_err(),
        Some(SqlErr::UniqueConstraintViolation(message))
            if message.contains(&format!("\"{index}\"")) || message.ends_with(table_column)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{IdenStatic, Iterable};

    fn names<C: IdenStatic>(columns: impl IntoIterator<Item = C>) -> Vec<&'static str> {
        columns.into_iter().map(|column| column.as_str()).collect()
    }

    #[test]
    fn the_positional_column_lists_name_every_column_in_the_entities_order() {
        assert_eq!(names(SESSION_COLUMNS), names(sessions::Column::iter()));
        assert_eq!(names(USER_COLUMNS), names(users::Column::iter()));
    }
}
