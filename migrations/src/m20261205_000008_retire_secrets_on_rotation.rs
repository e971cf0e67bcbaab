//! A trigger on `sessions` keeps every refresh secret a session rotates away from in
//! `session_retired_secrets`.
//!
//! A rotation is then one `UPDATE` (a compare-and-set on the current secret) in autocommit,
//! which the trigger extends with the insert inside the same statement: the retired secret is
//! kept exactly when the rotation happened, whoever writes the row, without a transaction of
//! four round trips around two statements. Rotation is the write behind every refresh; on
//! PostgreSQL the trigger makes refreshes about a fifth faster
//! (`docs/decisions/0005-retired-secrets-by-trigger.md`).

use crate::run_script;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The rotation sets `last_used_at` to the moment of the rotation: that is when the old
/// secret retired.
const POSTGRES_UP: &str = "
CREATE FUNCTION sessions_retire_secret() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO session_retired_secrets (secret_hash, session_id, retired_at)
        VALUES (OLD.refresh_token_hash, OLD.id, NEW.last_used_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_retire_secret AFTER UPDATE OF refresh_token_hash ON sessions
    FOR EACH ROW WHEN (OLD.refresh_token_hash IS DISTINCT FROM NEW.refresh_token_hash)
    EXECUTE FUNCTION sessions_retire_secret();
";

const POSTGRES_DOWN: &str = "
DROP TRIGGER IF EXISTS sessions_retire_secret ON sessions;
DROP FUNCTION IF EXISTS sessions_retire_secret();
";

const SQLITE_UP: &str = "
CREATE TRIGGER sessions_retire_secret AFTER UPDATE OF refresh_token_hash ON sessions
    WHEN OLD.refresh_token_hash IS NOT NEW.refresh_token_hash
BEGIN
    INSERT INTO session_retired_secrets (secret_hash, session_id, retired_at)
        VALUES (OLD.refresh_token_hash, OLD.id, NEW.last_used_at);
END;
";

const SQLITE_DOWN: &str = "DROP TRIGGER IF EXISTS sessions_retire_secret;";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_script(manager, "sessions_retire_secret", POSTGRES_UP, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_script(
            manager,
            "sessions_retire_secret",
            POSTGRES_DOWN,
            SQLITE_DOWN,
        )
        .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
