//! [`SqlAuditLog`]: audit events that no other write carries, and the administrators' view
//! of the trail. Events that go with a change are written by the repository making the
//! change, in its transaction, through [`crate::rows::insert_event`].

use crate::entities::audit_events;
use crate::rows::{self, db, insert_event};
use crate::users::known_total;
use async_trait::async_trait;
use domain::ports::AuditLog;
use domain::{AuditEvent, AuditQuery, AuditSlice, UnexpectedError};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

/// [`AuditLog`] on PostgreSQL or SQLite, through sea-orm.
#[derive(Debug, Clone)]
pub struct SqlAuditLog {
    connection: DatabaseConnection,
}

impl SqlAuditLog {
    /// An audit log over `connection`'s pool.
    pub fn new(connection: DatabaseConnection) -> Self {
        Self { connection }
    }
}

#[async_trait]
impl AuditLog for SqlAuditLog {
    async fn record(&self, event: &AuditEvent) -> Result<(), UnexpectedError> {
        self.connection
            .execute(&insert_event(
                self.connection.get_database_backend(),
                event,
            )?)
            .await
            .map_err(db("recording an audit event"))?;
        Ok(())
    }

    async fn list(&self, query: &AuditQuery) -> Result<AuditSlice, UnexpectedError> {
        let mut filter = Condition::all();
        if let Some(actor) = query.actor {
            filter = filter.add(audit_events::Column::ActorId.eq(actor.as_uuid()));
        }
        if let Some(target) = query.target {
            filter = filter.add(audit_events::Column::TargetId.eq(target.as_uuid()));
        }
        if let Some(action) = query.action {
            filter = filter.add(audit_events::Column::Action.eq(action.as_str()));
        }
        // Newest first; the id orders events of the same instant, so pages are stable.
        let rows = audit_events::Entity::find()
            .filter(filter.clone())
            .order_by_desc(audit_events::Column::At)
            .order_by_desc(audit_events::Column::Id)
            .offset(query.offset)
            .limit(u64::from(query.limit))
            .all(&self.connection)
            .await
            .map_err(db("listing audit events"))?;
        let may_have_more = rows.len() >= query.limit as usize;
        let total = match known_total(Some(query.offset), rows.len(), may_have_more) {
            Some(total) => total,
            None => audit_events::Entity::find()
                .filter(filter)
                .count(&self.connection)
                .await
                .map_err(db("counting audit events"))?,
        };
        let events = rows
            .into_iter()
            .map(rows::event)
            .collect::<Result<Vec<AuditEvent>, UnexpectedError>>()?;
        Ok(AuditSlice { events, total })
    }
}
