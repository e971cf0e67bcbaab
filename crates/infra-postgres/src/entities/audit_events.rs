//! The `audit_events` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) at: TimeDateTimeWithTimeZone,
    pub(crate) actor_id: Option<Uuid>,
    pub(crate) action: String,
    pub(crate) target_id: Option<Uuid>,
    pub(crate) ip: Option<String>,
    pub(crate) details: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
