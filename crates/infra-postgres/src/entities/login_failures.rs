//! The `login_failures` table: wrong passwords per email and client address, and their lock.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_failures")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) email: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) address: String,
    pub(crate) failures: i32,
    pub(crate) locked_until: Option<TimeDateTimeWithTimeZone>,
    pub(crate) updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
