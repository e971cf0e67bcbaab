//! The `one_time_tokens` table: reset links, kept as the hashes of their secrets.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "one_time_tokens")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) purpose: String,
    pub(crate) secret_hash: String,
    pub(crate) created_at: TimeDateTimeWithTimeZone,
    pub(crate) expires_at: TimeDateTimeWithTimeZone,
    pub(crate) used_at: Option<TimeDateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
