//! Beginning and committing the write transactions of the adapters.
//!
//! Every transaction begins and ends inside one adapter method: callers never hold one.

use crate::rows::{db, insert_event, insert_session};
use domain::{AuditEvent, Session, UnexpectedError};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

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
