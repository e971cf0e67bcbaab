//! Trigram indexes for the administrators' search, on PostgreSQL only.
//!
//! The search is a case-insensitive substring match (`email LIKE '%term%' OR
//! LOWER(full_name) LIKE '%term%'`), which no B-tree can serve; `pg_trgm`'s GIN indexes can,
//! so a search over a million users does not read them all. The query stays the same on
//! both backends: SQLite, meant for small deployments, scans.
//!
//! When the server does not ship `pg_trgm`, the migration creates nothing and search still
//! works, by a scan. `down` drops the indexes but keeps the extension: other objects of the
//! database may use it, and dropping it may need more privileges than creating it did.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let connection = manager.get_connection();
        let available = connection
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'",
            ))
            .await?
            .is_some();
        if !available {
            return Ok(());
        }
        connection
            .execute_unprepared(
                "CREATE EXTENSION IF NOT EXISTS pg_trgm;
                 CREATE INDEX users_email_trgm_idx ON users USING gin (email gin_trgm_ops);
                 CREATE INDEX users_full_name_trgm_idx
                     ON users USING gin (lower(full_name) gin_trgm_ops);",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "DROP INDEX IF EXISTS users_full_name_trgm_idx;
                 DROP INDEX IF EXISTS users_email_trgm_idx;",
            )
            .await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
