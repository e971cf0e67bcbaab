//! [`SqlLoginThrottle`]: password checks per email and client address, and their locks.

use crate::entities::login_failures::{Column, Entity};
use crate::rows::{self, db, optional_timestamp, timestamp};
use crate::transaction::{begin_write, commit_with_event};
use async_trait::async_trait;
use domain::ports::LoginThrottle;
use domain::{AuditEvent, FailedLogins, ThrottleKey, UnexpectedError};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use time::OffsetDateTime;

/// How many idle keys one statement of [`LoginThrottle::forget_idle`] deletes.
const FORGET_BATCH: u64 = 1000;

/// [`LoginThrottle`] on PostgreSQL or SQLite, through sea-orm.
#[derive(Debug, Clone)]
pub struct SqlLoginThrottle {
    connection: DatabaseConnection,
}

impl SqlLoginThrottle {
    /// A throttle over `connection`'s pool.
    pub fn new(connection: DatabaseConnection) -> Self {
        Self { connection }
    }
}

fn id(key: &ThrottleKey) -> (String, String) {
    (key.email().as_str().to_owned(), key.address().to_owned())
}

fn count(key: &ThrottleKey, failures: i32) -> Result<u32, UnexpectedError> {
    let name = format!("{}/{}", key.email().as_str(), key.address());
    u32::try_from(failures)
        .map_err(|error| rows::corrupt("login_failures", name, "failures", error))
}

#[async_trait]
impl LoginThrottle for SqlLoginThrottle {
    async fn get(&self, key: &ThrottleKey) -> Result<FailedLogins, UnexpectedError> {
        let Some(row) = Entity::find_by_id(id(key))
            .one(&self.connection)
            .await
            .map_err(db("reading failed logins"))?
        else {
            return Ok(FailedLogins::default());
        };
        Ok(FailedLogins {
            failures: count(key, row.failures)?,
            locked_until: row.locked_until,
        })
    }

    async fn admit(
        &self,
        key: &ThrottleKey,
        at: OffsetDateTime,
        allowed: u32,
    ) -> Result<Option<u32>, UnexpectedError> {
        let backend = self.connection.get_database_backend();
        let (at, no_lock) = (timestamp(backend, at), optional_timestamp(backend, None));
        let (email, address) = id(key);
        let allowed = i32::try_from(allowed).unwrap_or(i32::MAX);
        // One statement, so that concurrent checks each see the others' counts: a check is
        // admitted while fewer than `allowed` are counted, or once the lock has ended, and
        // then it clears the lock's end so that it alone is admitted until its outcome is
        // known. When the condition fails, nothing is updated and nothing returned.
        let upsert = Query::insert()
            .into_table(Entity)
            .columns([
                Column::Email,
                Column::Address,
                Column::Failures,
                Column::UpdatedAt,
            ])
            .values([email.into(), address.into(), 1.into(), at.clone().into()])
            .map_err(|error| UnexpectedError::internal("admitting a password check", error))?
            .on_conflict(
                OnConflict::columns([Column::Email, Column::Address])
                    .value(
                        Column::Failures,
                        Expr::col((Entity, Column::Failures)).add(1),
                    )
                    .value(Column::LockedUntil, Expr::val(no_lock))
                    .value(Column::UpdatedAt, Expr::val(at.clone()))
                    .action_and_where(
                        Expr::col((Entity, Column::Failures))
                            .lt(allowed)
                            .or(Expr::col((Entity, Column::LockedUntil)).lte(at)),
                    )
                    .to_owned(),
            )
            .returning_col(Column::Failures)
            .to_owned();
        let Some(row) = self
            .connection
            .query_one(&upsert)
            .await
            .map_err(db("admitting a password check"))?
        else {
            return Ok(None);
        };
        let checks: i32 = row
            .try_get("", "failures")
            .map_err(db("reading the password-check count"))?;
        count(key, checks).map(Some)
    }

    async fn lock(
        &self,
        key: &ThrottleKey,
        until: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<(), UnexpectedError> {
        let until = timestamp(self.connection.get_database_backend(), until);
        let (email, address) = id(key);
        let transaction = begin_write(&self.connection).await?;
        Entity::update_many()
            .col_expr(Column::LockedUntil, Expr::val(until))
            .filter(Column::Email.eq(email))
            .filter(Column::Address.eq(address))
            .exec(&transaction)
            .await
            .map_err(db("locking failed logins"))?;
        commit_with_event(transaction, event).await
    }

    async fn clear(&self, key: &ThrottleKey) -> Result<(), UnexpectedError> {
        Entity::delete_by_id(id(key))
            .exec(&self.connection)
            .await
            .map_err(db("forgetting failed logins"))?;
        Ok(())
    }

    async fn forget_idle(&self, idle_since: OffsetDateTime) -> Result<u64, UnexpectedError> {
        let since = timestamp(self.connection.get_database_backend(), idle_since);
        let idle = Query::select()
            .columns([Column::Email, Column::Address])
            .from(Entity)
            .and_where(Expr::col(Column::UpdatedAt).lt(since.clone()))
            .and_where(
                Expr::col(Column::LockedUntil)
                    .is_null()
                    .or(Expr::col(Column::LockedUntil).lte(since)),
            )
            .limit(FORGET_BATCH)
            .to_owned();
        let mut forgotten = 0;
        // In batches: one statement over a sprayed table would hold SQLite's write lock, which
        // every login's admission needs, for as long as it runs.
        loop {
            let key = Expr::tuple([Expr::col(Column::Email), Expr::col(Column::Address)]);
            let batch = Entity::delete_many()
                .filter(key.in_subquery(idle.clone()))
                .exec(&self.connection)
                .await
                .map_err(db("forgetting idle failed logins"))?;
            forgotten += batch.rows_affected;
            if batch.rows_affected < FORGET_BATCH {
                return Ok(forgotten);
            }
        }
    }
}
