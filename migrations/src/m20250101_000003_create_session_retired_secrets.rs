//! `session_retired_secrets`: the hashes of refresh secrets a session rotated away from.
//!
//! Presenting one of them again means the token was copied (or replayed), so the domain
//! revokes the whole session; they must therefore stay findable for as long as their session
//! exists, and go with it (`ON DELETE CASCADE`).

use crate::m20250101_000002_create_sessions::Sessions;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum SessionRetiredSecrets {
    Table,
    SecretHash,
    SessionId,
    RetiredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SessionRetiredSecrets::Table)
                    // The primary key is the lookup: a presented hash that is not current is
                    // searched for here.
                    .col(
                        ColumnDef::new(SessionRetiredSecrets::SecretHash)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(SessionRetiredSecrets::SessionId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SessionRetiredSecrets::RetiredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("session_retired_secrets_session_id_fkey")
                            .from(
                                SessionRetiredSecrets::Table,
                                SessionRetiredSecrets::SessionId,
                            )
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Without it, deleting a session (or a user) would scan this whole table.
        manager
            .create_index(
                Index::create()
                    .name("session_retired_secrets_session_id_idx")
                    .table(SessionRetiredSecrets::Table)
                    .col(SessionRetiredSecrets::SessionId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SessionRetiredSecrets::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
