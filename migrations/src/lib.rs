//! The schema of the service, as sea-orm-migration migrations that run unchanged on PostgreSQL
//! and SQLite. `server migrate` and the server's start-up apply them; `infra-postgres` never
//! creates a table itself.
//!
//! Each migration has a working `down`, and every migration runs in a transaction on both
//! backends (both have transactional DDL), so a failed step leaves nothing half-built.
//! Constraint and index names are part of the contract: `infra-postgres` recognises a taken
//! email by the name `users_email_key`.
//!
//! ```no_run
//! # async fn run(db: &sea_orm_migration::sea_orm::DatabaseConnection) -> Result<(), sea_orm_migration::DbErr> {
//! use migrations::{Migrator, MigratorTrait};
//!
//! Migrator::up(db, None).await?;
//! # Ok(()) }
//! ```

/// Re-exported so that callers can run [`Migrator`] (`up`, `down`, `status`…) without
/// depending on `sea-orm-migration` themselves.
pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::prelude::{ConnectionTrait, DbErr, SchemaManager};
use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{MigrationTrait, async_trait};

mod m20250101_000001_create_users;
mod m20250101_000002_create_sessions;
mod m20250101_000003_create_session_retired_secrets;
mod m20250101_000004_create_audit_events;
mod m20250101_000005_users_search_trigram;
mod m20261202_000006_user_counts;
mod m20261204_000007_users_fillfactor;
mod m20261205_000008_retire_secrets_on_rotation;
mod m20261205_000009_login_failures;
mod m20261205_000010_login_failures_by_age;
mod m20261206_000011_mail;

/// Every migration of the service, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20250101_000001_create_users::Migration),
            Box::new(m20250101_000002_create_sessions::Migration),
            Box::new(m20250101_000003_create_session_retired_secrets::Migration),
            Box::new(m20250101_000004_create_audit_events::Migration),
            Box::new(m20250101_000005_users_search_trigram::Migration),
            Box::new(m20261202_000006_user_counts::Migration),
            Box::new(m20261204_000007_users_fillfactor::Migration),
            Box::new(m20261205_000008_retire_secrets_on_rotation::Migration),
            Box::new(m20261205_000009_login_failures::Migration),
            Box::new(m20261205_000010_login_failures_by_age::Migration),
            Box::new(m20261206_000011_mail::Migration),
        ]
    }
}

/// Runs `postgres` or `sqlite`, whichever is the dialect of the database `manager` works on,
/// for the migrations whose triggers differ between the two; `migration` names the one that
/// asks, in the error for any other backend.
async fn run_script(
    manager: &SchemaManager<'_>,
    migration: &str,
    postgres: &str,
    sqlite: &str,
) -> Result<(), DbErr> {
    let script = match manager.get_database_backend() {
        DbBackend::Postgres => postgres,
        DbBackend::Sqlite => sqlite,
        other => {
            return Err(DbErr::Migration(format!(
                "{migration}: unsupported backend {other:?}"
            )));
        }
    };
    manager.get_connection().execute_unprepared(script).await?;
    Ok(())
}
