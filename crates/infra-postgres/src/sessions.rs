//! [`SqlSessionRepository`]: refresh-token sessions, their rotation and reuse detection.

use crate::batch::{Batcher, Fetch, pad_to_power_of_two};
use crate::entities::{retired_secrets, sessions, users};
use crate::rows::{self, db, timestamp};
use crate::transaction::{begin_write, commit_with_event, revoke_sessions_of};
use async_trait::async_trait;
use domain::ports::{SecretMatch, SessionRepository};
use domain::{AuditEvent, SecretHash, Session, SessionId, UnexpectedError, User, UserId};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QueryResult,
};
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// Most sessions one coalesced lookup reads: 64 parameters, a few kilobytes of rows.
const MAX_LOOKUP_BATCH: usize = 64;

const FIND_WITH_USER: &str = "finding a session with its user";

/// [`SessionRepository`] on PostgreSQL or SQLite, through sea-orm.
#[derive(Debug, Clone)]
pub struct SqlSessionRepository {
    connection: DatabaseConnection,
    /// [`SessionRepository::find_with_user`], which every authenticated request calls.
    with_user: Batcher<SessionsWithUsers>,
}

impl SqlSessionRepository {
    /// A repository over `connection`'s pool. Keep one per process: its clones share the
    /// coalescing of [`SessionRepository::find_with_user`].
    pub fn new(connection: DatabaseConnection) -> Self {
        let with_user = Batcher::new(
            SessionsWithUsers {
                connection: connection.clone(),
            },
            MAX_LOOKUP_BATCH,
            FIND_WITH_USER,
        );
        Self {
            connection,
            with_user,
        }
    }
}

/// Every column of `sessions` and then of the user it names ([`rows::session_at`] and
/// [`rows::user_at`] decode them), for the caller to add which sessions. Decoded by column
/// position: `find_also_related` would format and look up a prefixed name for every column of
/// every row, on the read behind every authenticated request.
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
impl SessionRepository for SqlSessionRepository {
    async fn find_by_secret(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<SecretMatch>, UnexpectedError> {
        const CURRENT: &str = "finding a session by its secret";
        const RETIRED: &str = "finding a session by a rotated secret";
        // The current secret is what nearly every refresh presents: look there first, by
        // the unique index on the hash, with the user joined in the same query.
        let current = self
            .connection
            .query_all(&by_secret(hash, true))
            .await
            .map_err(db(CURRENT))?;
        if let Some(found) = secret_match(&current, true, CURRENT)? {
            return Ok(Some(found));
        }
        // Then among the secrets sessions rotated away from: a hit there is a replay.
        let retired = self
            .connection
            .query_all(&by_secret(hash, false))
            .await
            .map_err(db(RETIRED))?;
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
        let backend = self.connection.get_database_backend();
        // Compare-and-set: the update matches only while `presented` is still the current,
        // unrevoked secret, so of two concurrent rotations the second matches nothing. The
        // `sessions_retire_secret` trigger keeps `presented` among the retired secrets within
        // the same statement (see the migration that creates it).
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
            .exec(&self.connection)
            .await
            .map_err(db("rotating a refresh secret"))?;
        Ok(swapped.rows_affected == 1)
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
        let backend = self.connection.get_database_backend();
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
        commit_with_event(transaction, event).await?;
        Ok(revoked.rows_affected == 1)
    }

    async fn revoke_all(
        &self,
        user_id: UserId,
        at: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<u64, UnexpectedError> {
        let transaction = begin_write(&self.connection).await?;
        let revoked = revoke_sessions_of(&transaction, user_id, at).await?;
        commit_with_event(transaction, event).await?;
        Ok(revoked)
    }

    async fn list_live(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, UnexpectedError> {
        let backend = self.connection.get_database_backend();
        sessions::Entity::find()
            .filter(sessions::Column::UserId.eq(user_id.as_uuid()))
            .filter(sessions::Column::RevokedAt.is_null())
            .filter(sessions::Column::ExpiresAt.gt(timestamp(backend, now)))
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
