//! `audit_events`: who did what to whom, from where.
//!
//! `actor_id` and `target_id` carry no foreign key on purpose: the trail must outlive the
//! accounts it mentions, and recording an event must never fail because of them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    At,
    ActorId,
    Action,
    TargetId,
    Ip,
    Details,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(
                        ColumnDef::new(AuditEvents::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AuditEvents::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditEvents::ActorId).uuid().null())
                    .col(
                        ColumnDef::new(AuditEvents::Action)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditEvents::TargetId).uuid().null())
                    .col(ColumnDef::new(AuditEvents::Ip).string_len(45).null())
                    // jsonb on PostgreSQL, text on SQLite.
                    .col(
                        ColumnDef::new(AuditEvents::Details)
                            .json_binary()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // The listing is newest first, optionally filtered by actor, target or action; each
        // filter gets an index whose trailing (at, id) already holds the listing's order.
        for (name, leading) in [
            ("audit_events_at_id_idx", None),
            ("audit_events_actor_id_at_idx", Some(AuditEvents::ActorId)),
            ("audit_events_target_id_at_idx", Some(AuditEvents::TargetId)),
            ("audit_events_action_at_idx", Some(AuditEvents::Action)),
        ] {
            let mut index = Index::create();
            index.name(name).table(AuditEvents::Table);
            if let Some(leading) = leading {
                index.col(leading);
            }
            manager
                .create_index(index.col(AuditEvents::At).col(AuditEvents::Id).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
