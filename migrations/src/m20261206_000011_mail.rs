//! Mail: `one_time_tokens` (reset links, kept as hashes) and `outbox` (each message from the
//! transaction that queued it until it is delivered or given up).

use crate::m20250101_000001_create_users::Users;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum OneTimeTokens {
    Table,
    Id,
    UserId,
    Purpose,
    SecretHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Recipient,
    RecipientName,
    Kind,
    Token,
    LinkExpiresAt,
    CreatedAt,
    Status,
    Attempts,
    NextAttemptAt,
    FinishedAt,
    LastError,
}

fn timestamp(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OneTimeTokens::Table)
                    .col(
                        ColumnDef::new(OneTimeTokens::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(OneTimeTokens::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(OneTimeTokens::Purpose)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(OneTimeTokens::SecretHash).text().not_null())
                    .col(timestamp(OneTimeTokens::CreatedAt))
                    .col(timestamp(OneTimeTokens::ExpiresAt))
                    .col(
                        ColumnDef::new(OneTimeTokens::UsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("one_time_tokens_user_id_fkey")
                            .from(OneTimeTokens::Table, OneTimeTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("one_time_tokens_secret_hash_key")
                    .table(OneTimeTokens::Table)
                    .col(OneTimeTokens::SecretHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Serves the count of a user's recent links and the setting aside of their others.
        manager
            .create_index(
                Index::create()
                    .name("one_time_tokens_user_purpose_idx")
                    .table(OneTimeTokens::Table)
                    .col(OneTimeTokens::UserId)
                    .col(OneTimeTokens::Purpose)
                    .col(OneTimeTokens::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(ColumnDef::new(Outbox::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Outbox::Recipient).text().not_null())
                    .col(ColumnDef::new(Outbox::RecipientName).text().not_null())
                    .col(ColumnDef::new(Outbox::Kind).string_len(32).not_null())
                    // The link's secret, until the message is delivered or given up.
                    .col(ColumnDef::new(Outbox::Token).text().null())
                    .col(
                        ColumnDef::new(Outbox::LinkExpiresAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(timestamp(Outbox::CreatedAt))
                    // pending, sent or failed.
                    .col(ColumnDef::new(Outbox::Status).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Outbox::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(timestamp(Outbox::NextAttemptAt))
                    .col(
                        ColumnDef::new(Outbox::FinishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Outbox::LastError).text().null())
                    .to_owned(),
            )
            .await?;
        // The workers' claim: pending messages, the longest due first.
        manager
            .create_index(
                Index::create()
                    .name("outbox_due_idx")
                    .table(Outbox::Table)
                    .col(Outbox::Status)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OneTimeTokens::Table).to_owned())
            .await
    }
}
