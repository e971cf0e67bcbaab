//! [`PgSessionRepository`]: refresh-token sessions, their rotation and reuse detection.

use crate::batch::{Batcher, Fetch, pad_to_power_of_two};
use crate::entities::{retired_secrets, sessions, users};
use crate::hot_paths::{PostgresHotPath, to_completion};
use crate::rows::{self, db, insert_event, insert_row, timestamp};
use crate::transaction::{begin_write, commit};
use async_trait::async_trait;
use domain::ports::{SecretMatch, SessionRepository};
use domain::{AuditEvent, SecretHash, Session, SessionId, UnexpectedError, User, UserId};
use sea_orm::sea_query::{Expr, ExprTrait, PostgresQueryBuilder, Query, SelectStatement, Values};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseConnectionType, DbBackend, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QueryResult,
};
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// Most sessions one coalesced lookup reads: 64 parameters, a few kilobytes of rows.
const MAX_LOOKUP_BATCH: usize = 64;

/// Coalesced lookups in progress at once. With one, the requests that arrive during a read
/// all join the next: the busier the database, the larger (and fewer) its reads. Two split the
/// same requests into smaller reads: in the benchmark, PostgreSQL spent 0.49 cores on `/me`
/// instead of 0.39 for the same throughput.
const MAX_LOOKUPS_RUNNING: usize = 1;

const FIND_WITH_USER: &str = "finding a session with its user";

/// [`SessionRepository`] on PostgreSQL or SQLite, through sea-orm.
#[derive(Debug, Clone)]
pub struct PgSessionRepository {
    connection: DatabaseConnection,
    /// [`SessionRepository::find_with_user`], which every authenticated request calls.
    with_user: Batcher<SessionsWithUsers>,
    /// On PostgreSQL, where refreshes read sessions by secret and rotate them.
    refreshes: Option<Arc<PostgresHotPath>>,
}

impl PgSessionRepository {
    /// A repository over `connection`'s pool, for everything but, on PostgreSQL, refreshes
    /// (see [`PgSessionRepository::with_lookup_connection`]).
    pub fn new(connection: DatabaseConnection) -> Self {
        Self::with_lookup_connection(connection.clone(), connection)
    }

    /// A repository that writes through `connection`'s pool and makes its coalesced session
    /// lookups ([`SessionRepository::find_with_user`], behind every authenticated request)
    /// through `lookups`: best a small pool of their own, from
    /// [`connect_lookups`](crate::connect_lookups), which says why.
    ///
    /// On PostgreSQL, refreshes and logouts ([`SessionRepository::find_by_secret`] and
    /// [`SessionRepository::rotate`]) use connections of their own, opened with `connection`'s
    /// options when first needed: up to as many as its pool has, the most recently used first,
    /// and none of sqlx's pings when one is given back. Keep one repository per process (its
    /// clones share them).
    pub fn with_lookup_connection(
        connection: DatabaseConnection,
        lookups: DatabaseConnection,
    ) -> Self {
        let with_user = Batcher::new(
            SessionsWithUsers {
                connection: lookups,
            },
            MAX_LOOKUP_BATCH,
            MAX_LOOKUPS_RUNNING,
            FIND_WITH_USER,
        );
        let refreshes = match &connection.inner {
            DatabaseConnectionType::SqlxPostgresPoolConnection(_) => Some(Arc::new(
                PostgresHotPath::pool_sized(connection.get_postgres_connection_pool().clone()),
            )),
            _ => None,
        };
        Self {
            connection,
            with_user,
            refreshes,
        }
    }

    fn backend(&self) -> DbBackend {
        self.connection.get_database_backend()
    }

    /// [`SessionRepository::rotate`] on PostgreSQL: [`ROTATE_POSTGRES`] on the refreshes' own
    /// connections, in a task of its own so that a caller going away midway does not close
    /// the connection under it.
    async fn rotate_in_one_statement(
        refreshes: Arc<PostgresHotPath>,
        id: SessionId,
        presented: &SecretHash,
        replacement: &SecretHash,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, UnexpectedError> {
        let values = Values(vec![
            replacement.as_str().into(),
            timestamp(DbBackend::Postgres, at),
            timestamp(DbBackend::Postgres, expires_at),
            id.as_uuid().into(),
            presented.as_str().into(),
        ]);
        to_completion("rotating a refresh secret", DbErr::Exec, async move {
            let inserted = refreshes.write(ROTATE_POSTGRES, values).await?;
            Ok(inserted == 1)
        })
        .await
    }

    /// The rows of `select`: on PostgreSQL on the refreshes' own connections, in a task of its
    /// own so that it always finishes; elsewhere through the pool.
    async fn rows(
        &self,
        select: SelectStatement,
        context: &'static str,
    ) -> Result<Vec<QueryResult>, UnexpectedError> {
        match &self.refreshes {
            Some(refreshes) => {
                let refreshes = refreshes.clone();
                let (sql, values) = select.build(PostgresQueryBuilder);
                to_completion(context, DbErr::Query, async move {
                    refreshes.read(sql, values).await
                })
                .await
            }
            None => self
                .connection
                .query_all(&select)
                .await
                .map_err(db(context)),
        }
    }
}

/// The rotation of a refresh secret on PostgreSQL: the compare-and-set and the keeping of the
/// retired secret in one statement, which is atomic by itself. That is one round trip instead
/// of four (`BEGIN`, `UPDATE`, `INSERT`, `COMMIT`) on the hottest write path. Of two concurrent
/// rotations of one secret, the second's `UPDATE` waits for the first's row lock, then
/// re-checks its `WHERE` against the new row, matches nothing, and so inserts nothing.
const ROTATE_POSTGRES: &str = "WITH swapped AS (
         UPDATE sessions
         SET refresh_token_hash = $1, last_used_at = $2, expires_at = $3
         WHERE id = $4 AND refresh_token_hash = $5 AND revoked_at IS NULL
         RETURNING id
     )
     INSERT INTO session_retired_secrets (secret_hash, session_id, retired_at)
     SELECT $5, id, $2 FROM swapped";

/// Every column of `sessions` and then of the user it names ([`rows::session_at`] and
/// [`rows::user_at`] decode them), for the caller to add which sessions. Built and decoded by
/// column position rather than through `find_also_related`, whose decoding formats and looks up
/// a prefixed name for every column of every row: in a profile of `/api/users/me/` on SQLite,
/// the lookup's share of the server's CPU fell from 12 % to 8 %.
fn sessions_with_users() -> SelectStatement {
    let mut select = Query::select();
    select
        .columns(rows::SESSION_COLUMNS.map(|column| (sessions::Entity, column)))
        .columns(rows::USER_COLUMNS.map(|column| (users::Entity, column)))
        .from(sessions::Entity)
        .left_join(
            users::Entity,
            Expr::col((users::Entity, users::Column::Id))
                .equals((sessions::Entity, sessions::Column::UserId)),
        );
    select
}

/// The session (with its user) whose current refresh secret is `hash`, or, when `current` is
/// false, that rotated away from `hash`.
fn by_secret(hash: &SecretHash, current: bool) -> SelectStatement {
    let mut select = sessions_with_users();
    if current {
        select.and_where(
            Expr::col((sessions::Entity, sessions::Column::RefreshTokenHash)).eq(hash.as_str()),
        );
    } else {
        select
            .inner_join(
                retired_secrets::Entity,
                Expr::col((retired_secrets::Entity, retired_secrets::Column::SessionId))
                    .equals((sessions::Entity, sessions::Column::Id)),
            )
            .and_where(
                Expr::col((retired_secrets::Entity, retired_secrets::Column::SecretHash))
                    .eq(hash.as_str()),
            );
    }
    select
}

/// The session and user of the first of `found`, the rows of a [`by_secret`] query.
fn secret_match(
    found: &[QueryResult],
    current: bool,
    context: &'static str,
) -> Result<Option<SecretMatch>, UnexpectedError> {
    let Some(row) = found.first() else {
        return Ok(None);
    };
    let session = rows::session_at(row, 0).map_err(db(context))?;
    let user = rows::user_at(row, rows::SESSION_COLUMNS.len()).map_err(db(context))?;
    let (session, user) = rows::session_with_user(session, user)?;
    Ok(Some(SecretMatch {
        session,
        user,
        current,
    }))
}

#[async_trait]
impl SessionRepository for PgSessionRepository {
    async fn find_by_secret(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<SecretMatch>, UnexpectedError> {
        const CURRENT: &str = "finding a session by its secret";
        const RETIRED: &str = "finding a session by a rotated secret";
        // The current secret is what nearly every refresh presents: look there first, by
        // the unique index on the hash, with the user joined in the same query.
        let current = self.rows(by_secret(hash, true), CURRENT).await?;
        if let Some(found) = secret_match(&current, true, CURRENT)? {
            return Ok(Some(found));
        }
        // Then among the secrets sessions rotated away from: a hit there is a replay.
        let retired = self.rows(by_secret(hash, false), RETIRED).await?;
        secret_match(&retired, false, RETIRED)
    }

    async fn rotate(
        &self,
        id: SessionId,
        presented: &SecretHash,
        replacement: &SecretHash,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, UnexpectedError> {
        if let Some(refreshes) = &self.refreshes {
            return Self::rotate_in_one_statement(
                refreshes.clone(),
                id,
                presented,
                replacement,
                at,
                expires_at,
            )
            .await;
        }
        let backend = self.backend();
        let transaction = begin_write(&self.connection).await?;
        // Compare-and-set: the update matches only while `presented` is still the current,
        // unrevoked secret. Of two concurrent rotations, the second waits for the first's write
        // lock (`BEGIN IMMEDIATE`), then matches nothing.
        let swapped = sessions::Entity::update_many()
            .col_expr(
                sessions::Column::RefreshTokenHash,
                Expr::val(replacement.as_str()),
            )
            .col_expr(
                sessions::Column::LastUsedAt,
                Expr::val(timestamp(backend, at)),
            )
            .col_expr(
                sessions::Column::ExpiresAt,
                Expr::val(timestamp(backend, expires_at)),
            )
            .filter(sessions::Column::Id.eq(id.as_uuid()))
            .filter(sessions::Column::RefreshTokenHash.eq(presented.as_str()))
            .filter(sessions::Column::RevokedAt.is_null())
            .exec(&transaction)
            .await
            .map_err(db("rotating a refresh secret"))?;
        if swapped.rows_affected != 1 {
            // Dropping the transaction rolls it back; nothing changed anyway.
            return Ok(false);
        }
        transaction
            .execute(&insert_row(
                retired_secrets::Entity,
                vec![
                    (
                        retired_secrets::Column::SecretHash,
                        presented.as_str().into(),
                    ),
                    (retired_secrets::Column::SessionId, id.as_uuid().into()),
                    (retired_secrets::Column::RetiredAt, timestamp(backend, at)),
                ],
            )?)
            .await
            .map_err(db("keeping a rotated refresh secret"))?;
        commit(transaction).await?;
        Ok(true)
    }

    async fn find_with_user(
        &self,
        id: SessionId,
    ) -> Result<Option<(Session, User)>, UnexpectedError> {
        self.with_user
            .get(id.as_uuid())
            .await?
            .map(|(session, user)| rows::session_with_user(session, user))
            .transpose()
    }

    async fn revoke(
        &self,
        id: SessionId,
        at: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, UnexpectedError> {
        let backend = self.backend();
        let transaction = begin_write(&self.connection).await?;
        let revoked = sessions::Entity::update_many()
            .col_expr(
                sessions::Column::RevokedAt,
                Expr::val(timestamp(backend, at)),
            )
            .filter(sessions::Column::Id.eq(id.as_uuid()))
            .filter(sessions::Column::RevokedAt.is_null())
            .exec(&transaction)
            .await
            .map_err(db("revoking a session"))?;
        // The event is recorded even when the session was already revoked: a replayed
        // refresh token on a dead session is still worth an entry in the trail.
        transaction
            .execute(&insert_event(backend, event)?)
            .await
            .map_err(db("recording an audit event"))?;
        commit(transaction).await?;
        Ok(revoked.rows_affected == 1)
    }

    async fn revoke_all(
        &self,
        user_id: UserId,
        at: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<u64, UnexpectedError> {
        let backend = self.backend();
        let transaction = begin_write(&self.connection).await?;
        let revoked = sessions::Entity::update_many()
            .col_expr(
                sessions::Column::RevokedAt,
                Expr::val(timestamp(backend, at)),
            )
            .filter(sessions::Column::UserId.eq(user_id.as_uuid()))
            .filter(sessions::Column::RevokedAt.is_null())
            .exec(&transaction)
            .await
            .map_err(db("revoking a user's sessions"))?;
        transaction
            .execute(&insert_event(backend, event)?)
            .await
            .map_err(db("recording an audit event"))?;
        commit(transaction).await?;
        Ok(revoked.rows_affected)
    }

    async fn list_live(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, UnexpectedError> {
        sessions::Entity::find()
            .filter(sessions::Column::UserId.eq(user_id.as_uuid()))
            .filter(sessions::Column::RevokedAt.is_null())
            .filter(Expr::col(sessions::Column::ExpiresAt).gt(timestamp(self.backend(), now)))
            .order_by_desc(sessions::Column::LastUsedAt)
            .order_by_desc(sessions::Column::Id)
            .all(&self.connection)
            .await
            .map_err(db("listing live sessions"))?
            .into_iter()
            .map(rows::session)
            .collect()
    }
}

/// Sessions by id with their users, many at once, in one query: the read behind every
/// authenticated request, coalesced (see [`crate::batch`]).
struct SessionsWithUsers {
    connection: DatabaseConnection,
}

impl Fetch for SessionsWithUsers {
    type Key = Uuid;
    type Value = (sessions::Model, Option<users::Model>);

    async fn fetch(
        &self,
        mut ids: Vec<Uuid>,
    ) -> Result<HashMap<Uuid, Self::Value>, UnexpectedError> {
        pad_to_power_of_two(&mut ids);
        let mut select = sessions_with_users();
        select.and_where(Expr::col((sessions::Entity, sessions::Column::Id)).is_in(ids));
        let found = self
            .connection
            .query_all(&select)
            .await
            .map_err(db(FIND_WITH_USER))?;
        found
            .iter()
            .map(|row| {
                let session = rows::session_at(row, 0)?;
                let user = rows::user_at(row, rows::SESSION_COLUMNS.len())?;
                Ok((session.id, (session, user)))
            })
            .collect::<Result<_, DbErr>>()
            .map_err(db(FIND_WITH_USER))
    }
}
