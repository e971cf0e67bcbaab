//! The migrations: down and up again, the indexes the queries rely on, and the cascades.

use crate::support::{TestDb, insert, insert_with_session, now, user};
use domain::SecretHash;
use domain::ports::{SessionRepository, UserRepository};
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use time::Duration;

on_both_backends!(
    migrations_go_down_and_up_again,
    the_schema_has_the_indexes_the_queries_need,
    deleting_a_user_deletes_its_sessions_and_rotated_secrets,
);

const TABLES: [&str; 4] = [
    "users",
    "sessions",
    "session_retired_secrets",
    "audit_events",
];

async fn table_exists(database: &TestDb, table: &str) -> bool {
    database
        .connection
        .execute_unprepared(&format!("SELECT 1 FROM {table}"))
        .await
        .is_ok()
}

async fn migrations_go_down_and_up_again(database: TestDb) {
    let connection = &database.connection;
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    assert!(
        Migrator::get_pending_migrations(connection)
            .await
            .unwrap()
            .is_empty()
    );

    Migrator::down(connection, None).await.unwrap();
    assert_eq!(
        Migrator::get_pending_migrations(connection)
            .await
            .unwrap()
            .len(),
        Migrator::migrations().len()
    );
    for table in TABLES {
        assert!(!table_exists(&database, table).await, "{table} was dropped");
    }

    Migrator::up(connection, None).await.unwrap();
    for table in TABLES {
        assert!(
            table_exists(&database, table).await,
            "{table} was created again"
        );
    }
    assert_eq!(database.users().find_by_id(ada.id()).await.unwrap(), None);
    insert(&database, &ada).await;
    assert_eq!(
        database.users().find_by_id(ada.id()).await.unwrap(),
        Some(ada)
    );
}

async fn the_schema_has_the_indexes_the_queries_need(database: TestDb) {
    assert_has_every_index(&database).await;
}

/// Fails unless every index the queries rely on exists.
pub(crate) async fn assert_has_every_index(database: &TestDb) {
    let sql = match database.backend() {
        DbBackend::Postgres => {
            "SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'index'",
    };
    let rows = database
        .connection
        .query_all_raw(Statement::from_string(database.backend(), sql))
        .await
        .unwrap();
    let names: Vec<String> = rows
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .collect();
    let mut expected = vec![
        "users_email_key",
        "users_date_joined_id_idx",
        "users_email_id_idx",
        "sessions_refresh_token_hash_key",
        "sessions_user_id_idx",
        "session_retired_secrets_session_id_idx",
        "audit_events_at_id_idx",
        "audit_events_actor_id_at_idx",
        "audit_events_target_id_at_idx",
        "audit_events_action_at_idx",
    ];
    if database.backend() == DbBackend::Postgres {
        expected.extend(["users_email_trgm_idx", "users_full_name_trgm_idx"]);
    }
    for index in expected {
        assert!(
            names.iter().any(|name| name == index),
            "{index} missing from {names:?}"
        );
    }
}

async fn deleting_a_user_deletes_its_sessions_and_rotated_secrets(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    let session = insert_with_session(&database, &ada, "first").await;
    let at = now();
    assert!(
        database
            .sessions()
            .rotate(
                session.id,
                &SecretHash::new("first"),
                &SecretHash::new("second"),
                at,
                at + Duration::days(1)
            )
            .await
            .unwrap()
    );
    database
        .raw("DELETE FROM users WHERE email = 'ada@example.com'")
        .await;
    assert_eq!(
        database
            .sessions()
            .find_with_user(session.id)
            .await
            .unwrap(),
        None
    );
    for secret in ["first", "second"] {
        assert_eq!(
            database
                .sessions()
                .find_by_secret(&SecretHash::new(secret))
                .await
                .unwrap(),
            None
        );
    }
    let rows = database
        .connection
        .query_all_raw(Statement::from_string(
            database.backend(),
            "SELECT secret_hash FROM session_retired_secrets",
        ))
        .await
        .unwrap();
    assert!(
        rows.is_empty(),
        "the foreign keys cascade (SQLite: foreign_keys is on)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_pages_keep_room_for_the_rows_logins_rewrite_on_postgres() {
    crate::support::run(
        crate::support::Backend::Postgres,
        |database: TestDb| async move {
            let options = |connection: sea_orm::DatabaseConnection| async move {
                connection
                    .query_one_raw(Statement::from_string(
                        DbBackend::Postgres,
                        "SELECT array_to_string(reloptions, ',') AS options \
                     FROM pg_class WHERE relname = 'users'",
                    ))
                    .await
                    .unwrap()
                    .unwrap()
                    .try_get::<Option<String>>("", "options")
                    .unwrap()
            };
            assert_eq!(
                options(database.connection.clone()).await.as_deref(),
                Some("fillfactor=80")
            );
            // `down` puts the default back (after undoing the migrations that came later).
            let applied = Migrator::get_applied_migrations(&database.connection)
                .await
                .unwrap();
            let undo = applied
                .iter()
                .rev()
                .position(|migration| migration.name() == "m20261204_000007_users_fillfactor")
                .unwrap()
                + 1;
            Migrator::down(&database.connection, Some(u32::try_from(undo).unwrap()))
                .await
                .unwrap();
            assert_eq!(options(database.connection.clone()).await, None);
            Migrator::up(&database.connection, None).await.unwrap();
        },
    )
    .await;
}
