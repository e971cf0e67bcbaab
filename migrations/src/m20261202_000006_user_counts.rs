//! `user_counts`: how many accounts there are per (role, `is_active`), kept exact by triggers,
//! and an index for listings filtered by role.
//!
//! The administrators' listing must say how many users match (`count`). `COUNT(*)` over a
//! million rows costs about 80 ms on PostgreSQL whatever the page, which made every page of an
//! unfiltered listing, the cheapest keyset page included, cost that much. Every filter
//! except the search is a combination of role and activity, so four counters answer those
//! counts at once; only a search still counts rows.
//!
//! Triggers, not the adapter, keep the counters: they cannot drift whoever writes to `users`
//! (the service, the bulk seeder, an operator's hand-written `UPDATE`), and they change in the
//! same transaction as the rows they count. On PostgreSQL the insert and delete triggers run
//! once per statement over its transition table, so a bulk insert of 5,000 rows costs one
//! counter update per (role, `is_active`) it touches, not 5,000; the update trigger runs only
//! for rows whose role or activity changed. A change moves one user between two counters, and the two are always locked in
//! the same order (the order of their keys), so two concurrent changes in opposite directions
//! cannot deadlock.

use crate::run_script;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The counters, filled from the users there are; the same statements on both backends.
const CREATE_COUNTS: &str = "
CREATE TABLE user_counts (
    role varchar(16) NOT NULL,
    is_active boolean NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (role, is_active)
);
INSERT INTO user_counts (role, is_active, n)
    SELECT role, is_active, count(*) FROM users GROUP BY role, is_active;
";

const POSTGRES_UP: &str = "
CREATE FUNCTION user_counts_add(p_role varchar, p_is_active boolean, p_delta bigint)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO user_counts AS c (role, is_active, n) VALUES (p_role, p_is_active, p_delta)
    ON CONFLICT (role, is_active) DO UPDATE SET n = c.n + EXCLUDED.n
$$;

CREATE FUNCTION user_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    grp record;
BEGIN
    FOR grp IN
        SELECT role, is_active, count(*) AS k FROM inserted_users
        GROUP BY role, is_active ORDER BY role, is_active
    LOOP
        PERFORM user_counts_add(grp.role, grp.is_active, grp.k);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE FUNCTION user_counts_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    grp record;
BEGIN
    FOR grp IN
        SELECT role, is_active, count(*) AS k FROM deleted_users
        GROUP BY role, is_active ORDER BY role, is_active
    LOOP
        PERFORM user_counts_add(grp.role, grp.is_active, -grp.k);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE FUNCTION user_counts_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.role, OLD.is_active) < (NEW.role, NEW.is_active) THEN
        PERFORM user_counts_add(OLD.role, OLD.is_active, -1);
        PERFORM user_counts_add(NEW.role, NEW.is_active, 1);
    ELSE
        PERFORM user_counts_add(NEW.role, NEW.is_active, 1);
        PERFORM user_counts_add(OLD.role, OLD.is_active, -1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_count_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS inserted_users
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_after_insert();
CREATE TRIGGER users_count_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS deleted_users
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_after_delete();
CREATE TRIGGER users_count_update AFTER UPDATE OF role, is_active ON users
    FOR EACH ROW
    WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.is_active IS DISTINCT FROM NEW.is_active)
    EXECUTE FUNCTION user_counts_after_update();
";

const POSTGRES_DOWN: &str = "
DROP TRIGGER IF EXISTS users_count_update ON users;
DROP TRIGGER IF EXISTS users_count_delete ON users;
DROP TRIGGER IF EXISTS users_count_insert ON users;
DROP FUNCTION IF EXISTS user_counts_after_update();
DROP FUNCTION IF EXISTS user_counts_after_delete();
DROP FUNCTION IF EXISTS user_counts_after_insert();
DROP FUNCTION IF EXISTS user_counts_add(varchar, boolean, bigint);
DROP TABLE IF EXISTS user_counts;
";

// SQLite has one writer at a time, so there is no lock order to keep; its triggers run per
// row, inside the writing statement, at the cost of a B-tree update each.
const SQLITE_UP: &str = "
CREATE TRIGGER users_count_insert AFTER INSERT ON users BEGIN
    INSERT OR IGNORE INTO user_counts (role, is_active, n) VALUES (NEW.role, NEW.is_active, 0);
    UPDATE user_counts SET n = n + 1 WHERE role = NEW.role AND is_active = NEW.is_active;
END;
CREATE TRIGGER users_count_delete AFTER DELETE ON users BEGIN
    UPDATE user_counts SET n = n - 1 WHERE role = OLD.role AND is_active = OLD.is_active;
END;
CREATE TRIGGER users_count_update AFTER UPDATE OF role, is_active ON users
    WHEN OLD.role IS NOT NEW.role OR OLD.is_active IS NOT NEW.is_active
BEGIN
    INSERT OR IGNORE INTO user_counts (role, is_active, n) VALUES (NEW.role, NEW.is_active, 0);
    UPDATE user_counts SET n = n + 1 WHERE role = NEW.role AND is_active = NEW.is_active;
    UPDATE user_counts SET n = n - 1 WHERE role = OLD.role AND is_active = OLD.is_active;
END;
";

const SQLITE_DOWN: &str = "
DROP TRIGGER IF EXISTS users_count_update;
DROP TRIGGER IF EXISTS users_count_delete;
DROP TRIGGER IF EXISTS users_count_insert;
DROP TABLE IF EXISTS user_counts;
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(CREATE_COUNTS)
            .await?;
        run_script(manager, "user_counts", POSTGRES_UP, SQLITE_UP).await?;
        // A listing filtered by role in the default order (newest first) reads only the
        // rows it returns, and "is there an admin yet?" at start-up is one index probe, not a
        // scan of every account.
        manager
            .create_index(
                Index::create()
                    .name("users_role_date_joined_id_idx")
                    .table(Alias::new("users"))
                    .col(Alias::new("role"))
                    .col(Alias::new("date_joined"))
                    .col(Alias::new("id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("users_role_date_joined_id_idx")
                    .table(Alias::new("users"))
                    .to_owned(),
            )
            .await?;
        run_script(manager, "user_counts", POSTGRES_DOWN, SQLITE_DOWN).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
