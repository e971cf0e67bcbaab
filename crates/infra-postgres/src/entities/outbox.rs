//! The `outbox` table: messages from the transaction that queued them until delivered or
//! given up.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) recipient: String,
    pub(crate) recipient_name: String,
    pub(crate) kind: String,
    pub(crate) token: Option<String>,
    pub(crate) link_expires_at: Option<TimeDateTimeWithTimeZone>,
    pub(crate) created_at: TimeDateTimeWithTimeZone,
    pub(crate) status: String,
    pub(crate) attempts: i32,
    pub(crate) next_attempt_at: TimeDateTimeWithTimeZone,
    pub(crate) finished_at: Option<TimeDateTimeWithTimeZone>,
    pub(crate) last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
