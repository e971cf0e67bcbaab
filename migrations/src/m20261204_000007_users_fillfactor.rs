//! Room on every page of `users` for the row's next version, on PostgreSQL only.
//!
//! Every login rewrites its user's row (`last_login`, the failure counter). PostgreSQL writes
//! an updated row as a new version; when that version fits on the same page and no indexed
//! column changed, the update is "HOT": no index is touched. Otherwise each of the table's
//! eight indexes gets an entry for the new version, two of them GIN trigram indexes that
//! take one entry per three-letter sequence of the email and the name. Pages filled to the
//! brim (the default `fillfactor` of 100, and what seeding or a bulk import writes) made two
//! thirds of the benchmark's login updates non-HOT. A `fillfactor` of 80 keeps a fifth of each
//! page free for the versions that updates write, at the price of a table a quarter larger.
//!
//! `ALTER TABLE … SET (fillfactor)` only applies to pages written afterwards; existing pages
//! get it at their next rewrite (`VACUUM FULL users` or `CLUSTER`, which lock the table, so
//! the migration leaves that to the operator). SQLite updates rows in place and has no such
//! setting.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// The share of each page that inserts fill, in percent.
const FILLFACTOR: u8 = 80;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "ALTER TABLE users SET (fillfactor = {FILLFACTOR})"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE users RESET (fillfactor)")
            .await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
