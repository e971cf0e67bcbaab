//! The harness: a fresh, migrated database per test on either backend, and fixtures.
//!
//! PostgreSQL is never skipped: when it does not answer, the test fails and says how to
//! point `TEST_DATABASE_URL` at a server.

use domain::{
    AuditAction, AuditEvent, ClientInfo, Email, FullName, PasswordHash, Role, SecretHash, Session,
    User, UserId,
};
use infra_postgres::{
    PoolOptions, SqlAuditLog, SqlLoginThrottle, SqlOneTimeTokens, SqlOutbox, SqlSessionRepository,
    SqlUserRepository, connect,
};
use migrations::{Migrator, MigratorTrait as _};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Generates, for each named `async fn(TestDb)` of the calling module, a module of the same
/// name holding two tests: `on_postgres` and `on_sqlite`.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn on_postgres() {
                crate::support::run(crate::support::Backend::Postgres, super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn on_sqlite() {
                crate::support::run(crate::support::Backend::Sqlite, super::$name).await;
            }
        }
    )+};
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Postgres,
    Sqlite,
}

/// A fresh, migrated database, and the adapters over it.
pub(crate) struct TestDb {
    pub(crate) connection: DatabaseConnection,
    pub(crate) url: String,
}

impl TestDb {
    pub(crate) fn users(&self) -> SqlUserRepository {
        SqlUserRepository::new(self.connection.clone())
    }

    pub(crate) fn throttle(&self) -> SqlLoginThrottle {
        SqlLoginThrottle::new(self.connection.clone())
    }

    pub(crate) fn sessions(&self) -> SqlSessionRepository {
        SqlSessionRepository::new(self.connection.clone())
    }

    pub(crate) fn audit(&self) -> SqlAuditLog {
        SqlAuditLog::new(self.connection.clone())
    }

    pub(crate) fn one_time_tokens(&self) -> SqlOneTimeTokens {
        SqlOneTimeTokens::new(self.connection.clone())
    }

    pub(crate) fn outbox(&self) -> SqlOutbox {
        SqlOutbox::new(self.connection.clone())
    }

    /// The one integer that `sql` (a `SELECT COUNT(*) …`) answers.
    pub(crate) async fn scalar_count(&self, sql: &str) -> i64 {
        let row = self
            .connection
            .query_one_raw(Statement::from_string(self.backend(), sql))
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
            .unwrap_or_else(|| panic!("{sql}: no row"));
        row.try_get_by_index(0)
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
    }

    /// The users adapter over a pool of its own with one connection: whatever state a write
    /// leaves that connection in, the next write on this adapter meets it.
    pub(crate) async fn users_on_one_connection(&self) -> SqlUserRepository {
        self.users_with(PoolOptions {
            max_connections: 1,
            ..pool_options()
        })
        .await
    }

    /// The users adapter over a pool of its own, opened with `options`.
    pub(crate) async fn users_with(&self, options: PoolOptions) -> SqlUserRepository {
        let connection = connect(&self.url, &options)
            .await
            .unwrap_or_else(|error| panic!("connecting to {}: {error}", self.url));
        SqlUserRepository::new(connection)
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.connection.get_database_backend()
    }

    /// Runs literal SQL, for what no port does (corrupting a row, deleting a user).
    pub(crate) async fn raw(&self, sql: &str) {
        self.connection
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
    }
}

pub(crate) fn pool_options() -> PoolOptions {
    PoolOptions {
        // Tests run side by side: keep well under PostgreSQL's 100 connections.
        max_connections: 5,
        ..PoolOptions::default()
    }
}

/// The server tests create their databases on.
pub(crate) fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned())
}

/// `url` with its database name replaced by `database`.
pub(crate) fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(base, query)| (base, Some(query)));
    let authority_start = base.find("://").map_or(0, |index| index + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |index| authority_start + index);
    let mut result = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        result.push('?');
        result.push_str(query);
    }
    result
}

/// Connects to the PostgreSQL server of `TEST_DATABASE_URL`, or fails saying how to fix it.
pub(crate) async fn admin_connection() -> DatabaseConnection {
    let url = admin_url();
    let options = PoolOptions {
        max_connections: 1,
        connect_timeout: Duration::from_secs(10),
        ..PoolOptions::default()
    };
    match connect(&url, &options).await {
        Ok(connection) => connection,
        Err(error) => panic!(
            "PostgreSQL does not answer at {url} ({error}).\n\
             These tests need a PostgreSQL server whose user may create and drop databases. \
             Start one (e.g. `docker run -e POSTGRES_HOST_AUTH_METHOD=trust -p 5432:5432 postgres`) \
             or point TEST_DATABASE_URL at one, e.g. \
             TEST_DATABASE_URL=postgres://user:password@host:5432/postgres"
        ),
    }
}

/// Creates a fresh database on `backend`, migrates it, runs `test` on it, and removes it,
/// whether the test passed or panicked.
pub(crate) async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match backend {
        Backend::Postgres => {
            let admin = admin_connection().await;
            let name = format!("test_{}", Uuid::new_v4().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .unwrap_or_else(|error| panic!("creating database {name}: {error}"));
            let url = with_database(&admin_url(), &name);
            let outcome = run_on(&url, test).await;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await
                .unwrap_or_else(|error| panic!("dropping database {name}: {error}"));
            admin.close().await.ok();
            finish(outcome);
        }
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!(
                "infra_postgres_test_{}.sqlite3",
                Uuid::new_v4().simple()
            ));
            let url = format!("sqlite://{}?mode=rwc", path.display());
            let outcome = run_on(&url, test).await;
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                std::fs::remove_file(&file).ok();
            }
            finish(outcome);
        }
    }
}

async fn run_on<F, Fut>(url: &str, test: F) -> Result<(), tokio::task::JoinError>
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let connection = connect(url, &pool_options())
        .await
        .unwrap_or_else(|error| panic!("connecting to {url}: {error}"));
    migrate(&connection).await;
    let database = TestDb {
        connection: connection.clone(),
        url: url.to_owned(),
    };
    // On its own task, so that a panic comes back here and the database is still removed.
    let outcome = tokio::spawn(test(database)).await;
    connection.close().await.ok();
    outcome
}

/// Applies every migration to `connection`, as the server does at start.
pub(crate) async fn migrate(connection: &DatabaseConnection) {
    Migrator::up(connection, None)
        .await
        .expect("migrations apply");
}

fn finish(outcome: Result<(), tokio::task::JoinError>) {
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("the test task failed: {error}"),
        }
    }
}

/// The current time truncated to microseconds, what PostgreSQL keeps, so that values read
/// back compare equal to those written.
pub(crate) fn now() -> OffsetDateTime {
    micros(OffsetDateTime::now_utc())
}

pub(crate) fn micros(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000)
        .expect("a valid nanosecond")
}

pub(crate) fn email(raw: &str) -> Email {
    Email::parse(raw).expect("a valid email")
}

pub(crate) fn hash() -> PasswordHash {
    PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
}

/// A new active user.
pub(crate) fn user(address: &str, name: &str) -> User {
    user_joined(address, name, now())
}

pub(crate) fn user_joined(address: &str, name: &str, date_joined: OffsetDateTime) -> User {
    User::new(
        UserId::new(),
        email(address),
        FullName::parse(name).expect("a valid name"),
        Role::User,
        hash(),
        date_joined,
    )
}

pub(crate) fn client() -> ClientInfo {
    ClientInfo {
        user_agent: Some("integration-test/1.0".to_owned()),
        ip: Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))),
    }
}

/// A new session of `user` whose current secret hashes to `secret_hash`.
pub(crate) fn session(user: &User, secret_hash: &str) -> Session {
    Session::start(
        user.id(),
        SecretHash::new(secret_hash),
        now(),
        time::Duration::days(7),
        client(),
    )
}

/// An event of `action` by and on `user`.
pub(crate) fn event(action: AuditAction, user: &User) -> AuditEvent {
    AuditEvent::new(action, now(), &client())
        .by(user.id())
        .on(user.id())
}

/// Inserts `user` with no session.
pub(crate) async fn insert(database: &TestDb, user: &User) {
    use domain::ports::UserRepository;
    database
        .users()
        .insert(user, None, &event(AuditAction::SignedUp, user))
        .await
        .expect("the user is inserted");
}

/// Inserts `user` with a first session whose secret hashes to `secret_hash`.
pub(crate) async fn insert_with_session(
    database: &TestDb,
    user: &User,
    secret_hash: &str,
) -> Session {
    use domain::ports::UserRepository;
    let session = session(user, secret_hash);
    database
        .users()
        .insert(
            user,
            Some(session.clone()),
            &event(AuditAction::SignedUp, user),
        )
        .await
        .expect("the user is inserted");
    session
}

#[test]
fn with_database_replaces_only_the_database_name() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "test_x"),
        "postgres://postgres@127.0.0.1:5432/test_x"
    );
    assert_eq!(
        with_database("postgres://u:p@host/db?sslmode=disable", "test_x"),
        "postgres://u:p@host/test_x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://host", "test_x"),
        "postgres://host/test_x"
    );
}

/// Ends every PostgreSQL session of the test database, as a restart, an administrator or a
/// proxy would, from a connection of its own, and waits until they are gone.
pub(crate) async fn terminate_the_pools_connections(database: &TestDb) {
    let outsider = connect(
        &database.url,
        &PoolOptions {
            max_connections: 1,
            ..pool_options()
        },
    )
    .await
    .unwrap();
    let filter = "datname = current_database() AND pid <> pg_backend_pid()";
    outsider
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {filter}"
        ))
        .await
        .unwrap();
    for _ in 0..250 {
        let left = outsider
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT pid FROM pg_stat_activity WHERE {filter}"),
            ))
            .await
            .unwrap();
        if left.is_empty() {
            outsider.close().await.ok();
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the pool's connections did not end");
}
