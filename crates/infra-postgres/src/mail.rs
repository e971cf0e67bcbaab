//! [`SqlOneTimeTokens`] (reset links, and the writes that issue and use them) and
//! [`SqlOutbox`] (the messages those writes queue, taken out for delivery).

use crate::entities::{one_time_tokens, outbox, users};
use crate::rows::{self, db, insert_row, optional_timestamp, timestamp};
use crate::transaction::{
    begin_write, commit_with_event, open_session, revoke_sessions_of, set_aside_reset_links,
};
use async_trait::async_trait;
use domain::ports::{OneTimeTokens, Outbox};
use domain::{
    AuditEvent, Email, FullName, IssueLimit, Mail, MailId, MailKind, MailLink, MailStatus,
    OneTimeToken, OneTimeTokenId, OutboxEntry, OutboxQuery, OutboxSlice, PasswordHash, QueuedMail,
    RefreshSecret, SecretHash, Session, TokenPurpose, UnexpectedError, UserId,
};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use time::OffsetDateTime;

/// [`OneTimeTokens`] on PostgreSQL or SQLite, through sea-orm.
#[derive(Debug, Clone)]
pub struct SqlOneTimeTokens {
    connection: DatabaseConnection,
}

impl SqlOneTimeTokens {
    /// One-time tokens over `connection`'s pool.
    pub fn new(connection: DatabaseConnection) -> Self {
        Self { connection }
    }
}

fn token(row: one_time_tokens::Model) -> Result<OneTimeToken, UnexpectedError> {
    let purpose = TokenPurpose::parse(&row.purpose).ok_or_else(|| {
        rows::corrupt(
            "one_time_tokens",
            row.id,
            "purpose",
            format!("unknown purpose {:?}", row.purpose),
        )
    })?;
    Ok(OneTimeToken {
        id: OneTimeTokenId::from_uuid(row.id),
        user_id: UserId::from_uuid(row.user_id),
        purpose,
        secret_hash: SecretHash::new(row.secret_hash),
        created_at: row.created_at,
        expires_at: row.expires_at,
        used_at: row.used_at,
    })
}

/// Queues `mail` as part of `transaction`: due at once, no attempt yet.
async fn enqueue(transaction: &DatabaseTransaction, mail: &Mail) -> Result<(), UnexpectedError> {
    let backend = transaction.get_database_backend();
    let insert = insert_row(
        outbox::Entity,
        vec![
            (outbox::Column::Id, mail.id.as_uuid().into()),
            (outbox::Column::Recipient, mail.to.as_str().into()),
            (outbox::Column::RecipientName, mail.name.as_str().into()),
            (outbox::Column::Kind, mail.kind.as_str().into()),
            (
                outbox::Column::Token,
                mail.link
                    .as_ref()
                    .map(|link| link.token.expose().to_owned())
                    .into(),
            ),
            (
                outbox::Column::LinkExpiresAt,
                optional_timestamp(backend, mail.link.as_ref().map(|link| link.expires_at)),
            ),
            (
                outbox::Column::CreatedAt,
                timestamp(backend, mail.created_at),
            ),
            (outbox::Column::Status, MailStatus::Pending.as_str().into()),
            (outbox::Column::Attempts, 0.into()),
            (
                outbox::Column::NextAttemptAt,
                timestamp(backend, mail.created_at),
            ),
        ],
    )?;
    transaction
        .execute(&insert)
        .await
        .map_err(db("queueing a message"))?;
    Ok(())
}

#[async_trait]
impl OneTimeTokens for SqlOneTimeTokens {
    async fn issue(
        &self,
        token: &OneTimeToken,
        mail: &Mail,
        event: &AuditEvent,
        limit: Option<IssueLimit>,
    ) -> Result<bool, UnexpectedError> {
        let backend = self.connection.get_database_backend();
        let insert = insert_row(
            one_time_tokens::Entity,
            vec![
                (one_time_tokens::Column::Id, token.id.as_uuid().into()),
                (
                    one_time_tokens::Column::UserId,
                    token.user_id.as_uuid().into(),
                ),
                (
                    one_time_tokens::Column::Purpose,
                    token.purpose.as_str().into(),
                ),
                (
                    one_time_tokens::Column::SecretHash,
                    token.secret_hash.as_str().into(),
                ),
                (
                    one_time_tokens::Column::CreatedAt,
                    timestamp(backend, token.created_at),
                ),
                (
                    one_time_tokens::Column::ExpiresAt,
                    timestamp(backend, token.expires_at),
                ),
                (
                    one_time_tokens::Column::UsedAt,
                    optional_timestamp(backend, token.used_at),
                ),
            ],
        )?;
        let transaction = begin_write(&self.connection).await?;
        if let Some(limit) = limit {
            // Concurrent issues for one user must count one after the other. SQLite's write
            // transaction already holds the one write lock; PostgreSQL locks the user's row.
            if backend == DbBackend::Postgres {
                users::Entity::find_by_id(token.user_id.as_uuid())
                    .lock_exclusive()
                    .one(&transaction)
                    .await
                    .map_err(db("locking a user to count their links"))?;
            }
            let issued = one_time_tokens::Entity::find()
                .filter(one_time_tokens::Column::UserId.eq(token.user_id.as_uuid()))
                .filter(one_time_tokens::Column::Purpose.eq(token.purpose.as_str()))
                .filter(
                    Expr::col(one_time_tokens::Column::CreatedAt)
                        .gte(timestamp(backend, limit.since)),
                )
                .count(&transaction)
                .await
                .map_err(db("counting one-time tokens"))?;
            if issued >= limit.at_most {
                return Ok(false);
            }
        }
        transaction
            .execute(&insert)
            .await
            .map_err(db("storing a one-time token"))?;
        enqueue(&transaction, mail).await?;
        commit_with_event(transaction, event).await?;
        Ok(true)
    }

    async fn forget_expired(&self, before: OffsetDateTime) -> Result<u64, UnexpectedError> {
        let backend = self.connection.get_database_backend();
        let deleted = one_time_tokens::Entity::delete_many()
            .filter(Expr::col(one_time_tokens::Column::ExpiresAt).lt(timestamp(backend, before)))
            .exec(&self.connection)
            .await
            .map_err(db("deleting expired one-time tokens"))?;
        Ok(deleted.rows_affected)
    }

    async fn find(&self, hash: &SecretHash) -> Result<Option<OneTimeToken>, UnexpectedError> {
        one_time_tokens::Entity::find()
            .filter(one_time_tokens::Column::SecretHash.eq(hash.as_str()))
            .one(&self.connection)
            .await
            .map_err(db("reading a one-time token"))?
            .map(token)
            .transpose()
    }

    async fn reset_password(
        &self,
        token: &OneTimeToken,
        hash: &PasswordHash,
        at: OffsetDateTime,
        session: &Session,
        event: &AuditEvent,
    ) -> Result<bool, UnexpectedError> {
        let backend = self.connection.get_database_backend();
        let now = timestamp(backend, at);
        let transaction = begin_write(&self.connection).await?;
        // The compare-and-set that makes the link single-use: of two concurrent uses, the
        // second finds it used and writes nothing.
        let used = one_time_tokens::Entity::update_many()
            .col_expr(one_time_tokens::Column::UsedAt, Expr::val(now.clone()))
            .filter(one_time_tokens::Column::Id.eq(token.id.as_uuid()))
            .filter(one_time_tokens::Column::UsedAt.is_null())
            .filter(Expr::col(one_time_tokens::Column::ExpiresAt).gt(now.clone()))
            .exec(&transaction)
            .await
            .map_err(db("using a one-time token"))?;
        if used.rows_affected != 1 {
            return Ok(false);
        }
        let updated = users::Entity::update_many()
            .col_expr(users::Column::PasswordHash, Expr::val(hash.as_str()))
            .col_expr(users::Column::UpdatedAt, Expr::val(now.clone()))
            .filter(users::Column::Id.eq(token.user_id.as_uuid()))
            .filter(users::Column::IsActive.eq(true))
            .exec(&transaction)
            .await
            .map_err(db("setting a password from a reset link"))?;
        if updated.rows_affected != 1 {
            return Ok(false);
        }
        // Any other link mailed before this one would reset the new password.
        set_aside_reset_links(&transaction, token.user_id, at).await?;
        revoke_sessions_of(&transaction, token.user_id, at).await?;
        open_session(&transaction, session).await?;
        commit_with_event(transaction, event).await?;
        Ok(true)
    }
}

/// [`Outbox`] on PostgreSQL or SQLite, through sea-orm.
#[derive(Debug, Clone)]
pub struct SqlOutbox {
    connection: DatabaseConnection,
}

impl SqlOutbox {
    /// The outbox over `connection`'s pool.
    pub fn new(connection: DatabaseConnection) -> Self {
        Self { connection }
    }

    async fn finish(
        &self,
        id: MailId,
        status: MailStatus,
        at: OffsetDateTime,
        error: Option<&str>,
    ) -> Result<(), UnexpectedError> {
        let backend = self.connection.get_database_backend();
        outbox::Entity::update_many()
            .col_expr(outbox::Column::Status, Expr::val(status.as_str()))
            .col_expr(
                outbox::Column::FinishedAt,
                Expr::val(timestamp(backend, at)),
            )
            .col_expr(outbox::Column::Token, Expr::val(Option::<String>::None))
            .col_expr(
                outbox::Column::LastError,
                Expr::val(error.map(str::to_owned)),
            )
            .filter(outbox::Column::Id.eq(id.as_uuid()))
            .exec(&self.connection)
            .await
            .map_err(db("finishing a message"))?;
        Ok(())
    }
}

fn queued(row: outbox::Model) -> Result<QueuedMail, UnexpectedError> {
    let corrupt = |field: &str, error: String| rows::corrupt("outbox", row.id, field, error);
    let to =
        Email::parse(&row.recipient).map_err(|error| corrupt("recipient", error.to_string()))?;
    let name = FullName::parse(&row.recipient_name)
        .map_err(|error| corrupt("recipient_name", error.to_string()))?;
    let kind = MailKind::parse(&row.kind).map_err(|error| corrupt("kind", error.to_string()))?;
    let attempt =
        u32::try_from(row.attempts).map_err(|error| corrupt("attempts", error.to_string()))?;
    let link = match (row.token, row.link_expires_at) {
        (Some(token), Some(expires_at)) => Some(MailLink {
            token: RefreshSecret::new(token),
            expires_at,
        }),
        (None, _) => None,
        (Some(_), None) => {
            return Err(corrupt(
                "link_expires_at",
                "a link without an end".to_owned(),
            ));
        }
    };
    Ok(QueuedMail {
        mail: Mail {
            id: MailId::from_uuid(row.id),
            to,
            name,
            kind,
            link,
            created_at: row.created_at,
        },
        attempt,
    })
}

#[async_trait]
impl Outbox for SqlOutbox {
    async fn claim(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, UnexpectedError> {
        let backend = self.connection.get_database_backend();
        // On PostgreSQL the row locks let concurrent claims pass each other without taking a
        // message twice (a claim that meets a locked row skips it, and one that waited sees
        // the new `next_attempt_at` and drops the row); SQLite has one writer at a time, so
        // its claims run one after the other and need no lock clause.
        let mut due = Query::select();
        due.column(outbox::Column::Id)
            .from(outbox::Entity)
            .and_where(Expr::col(outbox::Column::Status).eq(MailStatus::Pending.as_str()))
            .and_where(Expr::col(outbox::Column::NextAttemptAt).lte(timestamp(backend, now)))
            .order_by(outbox::Column::NextAttemptAt, sea_orm::Order::Asc)
            .limit(u64::from(limit));
        if backend == DbBackend::Postgres {
            due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let claim = Query::update()
            .table(outbox::Entity)
            .value(
                outbox::Column::Attempts,
                Expr::col(outbox::Column::Attempts).add(1),
            )
            .value(
                outbox::Column::NextAttemptAt,
                timestamp(backend, lease_until),
            )
            .and_where(Expr::col(outbox::Column::Id).in_subquery(due))
            .returning_all()
            .to_owned();
        let rows = self
            .connection
            .query_all(&claim)
            .await
            .map_err(db("claiming messages"))?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                outbox::Model::from_query_result(row, "")
                    .map_err(db("reading a claimed message"))
                    .and_then(queued)
            })
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by_key(|queued| queued.mail.created_at);
        Ok(claimed)
    }

    async fn delivered(&self, id: MailId, at: OffsetDateTime) -> Result<(), UnexpectedError> {
        self.finish(id, MailStatus::Sent, at, None).await
    }

    async fn retry(
        &self,
        id: MailId,
        retry_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), UnexpectedError> {
        let backend = self.connection.get_database_backend();
        outbox::Entity::update_many()
            .col_expr(
                outbox::Column::NextAttemptAt,
                Expr::val(timestamp(backend, retry_at)),
            )
            .col_expr(outbox::Column::LastError, Expr::val(error))
            .filter(outbox::Column::Id.eq(id.as_uuid()))
            .exec(&self.connection)
            .await
            .map_err(db("leaving a message for later"))?;
        Ok(())
    }

    async fn give_up(
        &self,
        id: MailId,
        at: OffsetDateTime,
        error: &str,
    ) -> Result<(), UnexpectedError> {
        self.finish(id, MailStatus::Failed, at, Some(error)).await
    }

    async fn forget_finished(&self, before: OffsetDateTime) -> Result<u64, UnexpectedError> {
        let backend = self.connection.get_database_backend();
        let deleted = outbox::Entity::delete_many()
            .filter(outbox::Column::Status.ne(MailStatus::Pending.as_str()))
            .filter(Expr::col(outbox::Column::FinishedAt).lt(timestamp(backend, before)))
            .exec(&self.connection)
            .await
            .map_err(db("deleting finished messages"))?;
        Ok(deleted.rows_affected)
    }

    async fn list(&self, query: &OutboxQuery) -> Result<OutboxSlice, UnexpectedError> {
        let mut matching = outbox::Entity::find();
        if let Some(status) = query.status {
            matching = matching.filter(outbox::Column::Status.eq(status.as_str()));
        }
        let total = matching
            .clone()
            .count(&self.connection)
            .await
            .map_err(db("counting messages"))?;
        let rows = matching
            .order_by_desc(outbox::Column::CreatedAt)
            .order_by_desc(outbox::Column::Id)
            .offset(query.offset)
            .limit(u64::from(query.limit))
            .all(&self.connection)
            .await
            .map_err(db("listing messages"))?;
        let entries = rows.into_iter().map(entry).collect::<Result<Vec<_>, _>>()?;
        Ok(OutboxSlice { entries, total })
    }
}

fn entry(row: outbox::Model) -> Result<OutboxEntry, UnexpectedError> {
    let corrupt = |field: &str, error: String| rows::corrupt("outbox", row.id, field, error);
    Ok(OutboxEntry {
        id: MailId::from_uuid(row.id),
        to: Email::parse(&row.recipient)
            .map_err(|error| corrupt("recipient", error.to_string()))?,
        kind: MailKind::parse(&row.kind).map_err(|error| corrupt("kind", error.to_string()))?,
        status: MailStatus::parse(&row.status)
            .ok_or_else(|| corrupt("status", format!("unknown status {:?}", row.status)))?,
        attempts: u32::try_from(row.attempts)
            .map_err(|error| corrupt("attempts", error.to_string()))?,
        created_at: row.created_at,
        next_attempt_at: row.next_attempt_at,
        finished_at: row.finished_at,
        last_error: row.last_error,
    })
}
