//! The `sessions` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) refresh_token_hash: String,
    pub(crate) created_at: TimeDateTimeWithTimeZone,
    pub(crate) last_used_at: TimeDateTimeWithTimeZone,
    pub(crate) expires_at: TimeDateTimeWithTimeZone,
    pub(crate) revoked_at: Option<TimeDateTimeWithTimeZone>,
    pub(crate) user_agent: Option<String>,
    pub(crate) ip: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
