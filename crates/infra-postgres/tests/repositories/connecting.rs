//! `connect` and `ping`: the SQLite settings on every pooled connection, the in-memory
//! database, and the errors of a bad URL or an absent server.

use crate::support::{
    TestDb, insert, migrate, pool_options, terminate_the_pools_connections, user,
};
use domain::UnexpectedKind;
use domain::ports::UserRepository;
use infra_postgres::{PoolOptions, SqlUserRepository, connect, ping};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use std::time::Duration;

on_both_backends!(ping_succeeds_on_a_live_database);

async fn ping_succeeds_on_a_live_database(database: TestDb) {
    ping(&database.connection).await.unwrap();
    assert!(!database.url.is_empty());
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
    migrate(&connection).await;
    let repository = SqlUserRepository::new(connection.clone());
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

/// PostgreSQL only: the database may close pooled connections (a restart, an administrator, a
/// proxy). A statement that meets one fails as unavailable (a 503, to be retried), never as a
/// bug, and the pool opens new connections instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_the_database_closed_fail_as_unavailable_and_are_replaced() {
    crate::support::run(
        crate::support::Backend::Postgres,
        |database: TestDb| async move {
            let ada = user("ada@example.com", "Ada Lovelace");
            insert(&database, &ada).await;
            let users = database.users();
            terminate_the_pools_connections(&database).await;
            let mut unavailable = 0;
            for _ in 0..=pool_options().max_connections {
                match users.find_by_id(ada.id()).await {
                    Ok(found) => assert_eq!(found.as_ref(), Some(&ada)),
                    Err(error) => {
                        assert_eq!(error.kind(), UnexpectedKind::Unavailable, "{error}");
                        unavailable += 1;
                    }
                }
            }
            assert!(unavailable <= pool_options().max_connections);
            assert_eq!(users.find_by_id(ada.id()).await.unwrap(), Some(ada));
        },
    )
    .await;
}
