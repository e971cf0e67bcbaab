//! An index on `login_failures.updated_at`, for the hourly deletion of counts nobody has added
//! to for a day: it reads the oldest rows first instead of the whole table, a batch at a time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const INDEX: &str = "login_failures_updated_at";

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(LoginFailures::Table)
                    .col(LoginFailures::UpdatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(LoginFailures::Table)
                    .to_owned(),
            )
            .await
    }
}
