//! Beginning and committing the write transactions of the adapters.
//!
//! Every transaction begins and ends inside one adapter method: callers never hold one.

use crate::entities::{one_time_tokens, sessions};
use crate::rows::{db, insert_event, insert_session, timestamp};
use domain::{AuditEvent, Session, TokenPurpose, UnexpectedError, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use time::OffsetDateTime;

/// Begins a transaction that will write.
///
/// On SQLite it is `BEGIN IMMEDIATE`: it takes the write lock at once, waiting for it up to
/// the busy timeout. A deferred transaction that reads first and writes later would instead
/// fail with `SQLITE_BUSY` at the first write whenever another writer got in between, without
/// waiting, so concurrent sign-ups or refreshes would fail instead of queueing. PostgreSQL
/// ignores the mode.
pub(crate) async fn begin_write(
    connection: &DatabaseConnection,
) -> Result<DatabaseTransaction, UnexpectedError> {
    connection
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await
        .map_err(db("beginning a transaction"))
}

/// Commits `transaction`. Dropping one without committing rolls it back, which is how every
/// early return of an adapter method undoes its partial work.
pub(crate) async fn commit(transaction: DatabaseTransaction) -> Result<(), UnexpectedError> {
    transaction
        .commit()
        .await
        .map_err(db("committing a transaction"))
}

/// Inserts `session` as part of `transaction`.
pub(crate) async fn open_session(
    transaction: &DatabaseTransaction,
    session: &Session,
) -> Result<(), UnexpectedError> {
    transaction
        .execute(&insert_session(
            transaction.get_database_backend(),
            session,
        )?)
        .await
        .map_err(db("inserting a session"))?;
    Ok(())
}

/// Revokes, as part of `transaction`, every session of `user_id` not revoked yet, at `at`;
/// returns how many.
pub(crate) async fn revoke_sessions_of(
    transaction: &DatabaseTransaction,
    user_id: UserId,
    at: OffsetDateTime,
) -> Result<u64, UnexpectedError> {
    let backend = transaction.get_database_backend();
    let revoked = sessions::Entity::update_many()
        .col_expr(
            sessions::Column::RevokedAt,
            Expr::val(timestamp(backend, at)),
        )
        .filter(sessions::Column::UserId.eq(user_id.as_uuid()))
        .filter(sessions::Column::RevokedAt.is_null())
        .exec(transaction)
        .await
        .map_err(db("revoking a user's sessions"))?;
    Ok(revoked.rows_affected)
}

/// Marks every unused password-reset link of `user_id` used at `at`, as part of `transaction`:
/// a link mailed before a change to the account (its password, its address, its activation)
/// must not undo that change.
pub(crate) async fn set_aside_reset_links(
    transaction: &DatabaseTransaction,
    user_id: UserId,
    at: OffsetDateTime,
) -> Result<(), UnexpectedError> {
    let backend = transaction.get_database_backend();
    one_time_tokens::Entity::update_many()
        .col_expr(
            one_time_tokens::Column::UsedAt,
            Expr::val(timestamp(backend, at)),
        )
        .filter(one_time_tokens::Column::UserId.eq(user_id.as_uuid()))
        .filter(one_time_tokens::Column::Purpose.eq(TokenPurpose::PasswordReset.as_str()))
        .filter(one_time_tokens::Column::UsedAt.is_null())
        .exec(transaction)
        .await
        .map_err(db("setting aside reset links"))?;
    Ok(())
}

/// Records `event` as part of `transaction`, then commits it: the audit trail holds an event
/// exactly when the change it describes happened.
pub(crate) async fn commit_with_event(
    transaction: DatabaseTransaction,
    event: &AuditEvent,
) -> Result<(), UnexpectedError> {
    transaction
        .execute(&insert_event(transaction.get_database_backend(), event)?)
        .await
        .map_err(db("recording an audit event"))?;
    commit(transaction).await
}
