//! The `users` table: one row per account, with the email stored normalised (trimmed,
//! lower-cased by the domain) so that a plain unique index enforces case-insensitive
//! uniqueness on every backend.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Users {
    Table,
    Id,
    Email,
    FullName,
    PasswordHash,
    Role,
    IsActive,
    DateJoined,
    LastLogin,
    FailedLogins,
    LockedUntil,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(ColumnDef::new(Users::Id).uuid().not_null().primary_key())
                    // 254 bytes is the longest address the domain's `Email` accepts.
                    .col(ColumnDef::new(Users::Email).string_len(254).not_null())
                    .col(ColumnDef::new(Users::FullName).string_len(150).not_null())
                    .col(ColumnDef::new(Users::PasswordHash).text().not_null())
                    .col(ColumnDef::new(Users::Role).string_len(16).not_null())
                    .col(ColumnDef::new(Users::IsActive).boolean().not_null())
                    .col(
                        ColumnDef::new(Users::DateJoined)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Users::LastLogin)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Users::FailedLogins)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Users::LockedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Users::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // The database, not a prior lookup, decides who gets an email: two concurrent
        // sign-ups race, and only a unique index settles the race. The adapter maps a
        // violation of this index, by name, to "email taken".
        manager
            .create_index(
                Index::create()
                    .name("users_email_key")
                    .table(Users::Table)
                    .col(Users::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The administrators' listing orders by (date_joined, id) or (email, id), both ways,
        // and pages by keyset on the same pairs: each ordering needs its own composite index
        // so that page 1 and any cursor page read only the rows they return.
        manager
            .create_index(
                Index::create()
                    .name("users_date_joined_id_idx")
                    .table(Users::Table)
                    .col(Users::DateJoined)
                    .col(Users::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("users_email_id_idx")
                    .table(Users::Table)
                    .col(Users::Email)
                    .col(Users::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the table drops its indexes with it.
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
