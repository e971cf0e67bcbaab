//! `connect`, `migrate` and `ping`: the SQLite settings on every pooled connection, the
//! in-memory database, and the errors of a bad URL or an absent server.

use crate::support::{TestDb, pool_options, user};
use domain::UnexpectedKind;
use domain::ports::UserRepository;
use infra_postgres::{
    LOOKUP_CONNECTIONS, PgUserRepository, PoolOptions, connect, connect_lookups, migrate, ping,
};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use std::time::Duration;

on_both_backends!(
    ping_succeeds_on_a_live_database,
    the_lookup_pool_keeps_its_own_connections_open
);

async fn ping_succeeds_on_a_live_database(database: TestDb) {
    ping(&database.connection).await.unwrap();
    assert!(!database.url.is_empty());
}

async fn the_lookup_pool_keeps_its_own_connections_open(database: TestDb) {
    ping(&database.lookups).await.unwrap();
    let size = || match database.backend() {
        DbBackend::Postgres => database.lookups.get_postgres_connection_pool().size(),
        _ => database.lookups.get_sqlite_connection_pool().size(),
    };
    // `min_connections` is reached in the background: give it a moment.
    for _ in 0..100 {
        if size() == LOOKUP_CONNECTIONS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(size(), LOOKUP_CONNECTIONS);
}

#[tokio::test]
async fn an_in_memory_sqlite_database_gets_no_lookup_pool_of_its_own() {
    // Its data lives on its one connection: a second pool would open an empty database.
    let lookups = connect_lookups("sqlite::memory:", &pool_options())
        .await
        .unwrap();
    assert!(lookups.is_none());
}

async fn pragma(connection: &impl ConnectionTrait, name: &str) -> String {
    let row = connection
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            format!("PRAGMA {name}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0)
        .map(|value| value.to_string())
        .or_else(|_| row.try_get_by_index::<String>(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_pooled_sqlite_connection_uses_wal_normal_sync_a_busy_timeout_and_foreign_keys() {
    crate::support::run(
        crate::support::Backend::Sqlite,
        |database: TestDb| async move {
            // Three transactions open at once hold three distinct connections of the pool.
            let mut transactions = Vec::new();
            for _ in 0..3 {
                transactions.push(database.connection.begin().await.unwrap());
            }
            for transaction in &transactions {
                assert_eq!(pragma(transaction, "journal_mode").await, "wal");
                assert_eq!(pragma(transaction, "synchronous").await, "1", "NORMAL");
                assert_eq!(pragma(transaction, "busy_timeout").await, "5000");
                assert_eq!(pragma(transaction, "foreign_keys").await, "1");
            }
        },
    )
    .await;
}

#[tokio::test]
async fn an_in_memory_sqlite_database_keeps_its_data_on_its_one_connection() {
    let options = PoolOptions {
        max_connections: 8,
        ..pool_options()
    };
    let connection = connect("sqlite::memory:", &options).await.unwrap();
    migrate(&connection).await.unwrap();
    let repository = PgUserRepository::new(connection.clone());
    let ada = user("ada@example.com", "Ada Lovelace");
    repository
        .insert(
            &ada,
            None,
            &crate::support::event(domain::AuditAction::SignedUp, &ada),
        )
        .await
        .unwrap();
    // Idle longer than nothing at all: the pool must not have dropped the database.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(repository.find_by_id(ada.id()).await.unwrap(), Some(ada));
    assert_eq!(pragma(&connection, "foreign_keys").await, "1");
}

#[tokio::test]
async fn an_unsupported_url_is_an_internal_error_that_does_not_echo_the_url() {
    let error = connect("mysql://root:hunter2@localhost/db", &pool_options())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), UnexpectedKind::Internal);
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[tokio::test]
async fn a_server_that_does_not_answer_is_unavailable_within_the_connect_timeout() {
    let options = PoolOptions {
        connect_timeout: Duration::from_secs(2),
        acquire_timeout: Duration::from_secs(2),
        ..pool_options()
    };
    let started = std::time::Instant::now();
    // Port 1 on the loopback: nothing listens there.
    let error = connect("postgres://postgres@127.0.0.1:1/postgres", &options)
        .await
        .unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
