//! Seeds a million users into a fresh PostgreSQL database and measures the queries that
//! matter: a user by id, a session with its user (every authenticated request), and the
//! administrators' listing at page 1 and at the very end, by page number and by cursor.
//! Prints medians over many iterations, then `EXPLAIN ANALYZE` of the same statements.
//!
//! ```text
//! cargo run --release -p infra-postgres --example measure
//! ```
//!
//! Environment: `MEASURE_DATABASE_URL` (a server whose user may create databases; default
//! `TEST_DATABASE_URL`, then `postgres://postgres@127.0.0.1:5432/postgres`), `MEASURE_USERS`
//! (default 1,000,000), `MEASURE_ITERATIONS` (default 200), `MEASURE_KEEP=1` to keep the
//! database afterwards (it is dropped otherwise).

use domain::ports::{SessionRepository, UserRepository};
use domain::{
    AuditAction, AuditEvent, ClientInfo, CursorKey, Email, FullName, PageRequest, PasswordHash,
    Role, SearchTerm, SecretHash, Session, User, UserCursor, UserFilter, UserId, UserOrdering,
    UserQuery,
};
use infra_postgres::{
    PgSessionRepository, PgUserRepository, PoolOptions, connect, migrate, seed_users,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use std::error::Error;
use std::future::Future;
use std::time::{Duration, Instant};

type Outcome<T> = Result<T, Box<dyn Error + Send + Sync>>;

fn setting(name: &str, default: u64) -> Outcome<u64> {
    match std::env::var(name) {
        Ok(raw) => Ok(raw.replace('_', "").parse()?),
        Err(_) => Ok(default),
    }
}

fn with_database(url: &str, database: &str) -> String {
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

/// Median and 90th percentile of `iterations` runs of `operation`, after a few warm-ups.
async fn time<F, Fut, T>(iterations: u64, mut operation: F) -> Outcome<(Duration, Duration)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Outcome<T>>,
{
    for _ in 0..3 {
        operation().await?;
    }
    let mut samples = Vec::new();
    for _ in 0..iterations {
        let started = Instant::now();
        operation().await?;
        samples.push(started.elapsed());
    }
    samples.sort_unstable();
    let at = |fraction: f64| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "an index into a few hundred samples"
        )]
        let index = ((samples.len() - 1) as f64 * fraction).round() as usize;
        samples[index]
    };
    Ok((at(0.5), at(0.9)))
}

fn report(label: &str, (median, p90): (Duration, Duration)) {
    println!(
        "  {label:<58} median {:>9.3} ms   p90 {:>9.3} ms",
        median.as_secs_f64() * 1e3,
        p90.as_secs_f64() * 1e3
    );
}

async fn explain(connection: &DatabaseConnection, label: &str, sql: &str) -> Outcome<()> {
    println!("\n-- {label}\n{sql}");
    let rows = connection
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}"),
        ))
        .await?;
    for row in rows {
        println!("   {}", row.try_get_by_index::<String>(0)?);
    }
    Ok(())
}

fn listing(page: PageRequest) -> UserQuery {
    UserQuery {
        filter: UserFilter::default(),
        ordering: ORDERING,
        page,
    }
}

#[tokio::main]
async fn main() -> Outcome<()> {
    let admin_url = std::env::var("MEASURE_DATABASE_URL")
        .or_else(|_| std::env::var("TEST_DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let count = setting("MEASURE_USERS", 1_000_000)?;
    let iterations = setting("MEASURE_ITERATIONS", 200)?;
    let keep = std::env::var("MEASURE_KEEP").is_ok_and(|value| value == "1");

    let admin = connect(
        &admin_url,
        &PoolOptions {
            max_connections: 1,
            ..PoolOptions::default()
        },
    )
    .await?;
    let name = format!("measure_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    let url = with_database(&admin_url, &name);
    println!("database {name}");
    let outcome = run(&url, count, iterations).await;
    if keep {
        println!("\nkept: {url}");
    } else {
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await?;
    }
    outcome
}

/// What the measurements run against: the repositories, a user to look up, a session to
/// authenticate with, and the cursors of the listing's second and last pages.
struct Fixture {
    connection: DatabaseConnection,
    users: PgUserRepository,
    sessions: PgSessionRepository,
    probe: UserId,
    session: Session,
    total: u64,
    second_cursor: UserCursor,
    last_cursor: UserCursor,
}

const ORDERING: UserOrdering = UserOrdering::DateJoinedDesc;

async fn run(url: &str, count: u64, iterations: u64) -> Outcome<()> {
    let connection = connect(url, &PoolOptions::default()).await?;
    migrate(&connection).await?;
    seed(&connection, count).await?;
    let fixture = prepare(connection).await?;
    measure_adapters(&fixture, iterations).await?;
    measure_statements(&fixture, iterations).await?;
    fixture.connection.close().await?;
    Ok(())
}

// One hash for every seeded user, as the seeder expects: argon2id's cost is per call.
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2VlZHNhbHQ$c2VlZGhhc2hzZWVkaGFzaA";

async fn seed(connection: &DatabaseConnection, count: u64) -> Outcome<()> {
    let started = Instant::now();
    let mut next_report = 100_000;
    let inserted = seed_users(connection, count, &PasswordHash::new(HASH), |done| {
        if done >= next_report {
            println!(
                "  inserted {done:>9} users after {:>6.1} s",
                started.elapsed().as_secs_f64()
            );
            next_report += 100_000;
        }
    })
    .await?;
    let seeding = started.elapsed();
    println!(
        "seed_users: {inserted} users in {:.1} s, indexes rebuilt and committed ({:.0} users/s)",
        seeding.as_secs_f64(),
        f64::from(u32::try_from(inserted)?) / seeding.as_secs_f64()
    );
    // What autovacuum would soon do: fresh statistics and a visibility map, as a database
    // that has been running for a while has.
    let started = Instant::now();
    connection
        .execute_unprepared("VACUUM ANALYZE users")
        .await?;
    println!(
        "VACUUM ANALYZE users: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn prepare(connection: DatabaseConnection) -> Outcome<Fixture> {
    let users = PgUserRepository::new(connection.clone());
    let sessions = PgSessionRepository::new(connection.clone());
    let now = time::OffsetDateTime::now_utc();
    let probe = users
        .find_by_email(&Email::parse("user500000@example.com")?)
        .await?
        .map_or_else(UserId::new, |user| user.id());
    let signed_in = User::new(
        UserId::new(),
        Email::parse("measure@example.org")?,
        FullName::parse("Measuring Agent")?,
        Role::Admin,
        PasswordHash::new(HASH),
        now,
    );
    let session = Session::start(
        signed_in.id(),
        SecretHash::new("measure-secret-hash"),
        now,
        time::Duration::days(7),
        ClientInfo::default(),
    );
    let event =
        AuditEvent::new(AuditAction::SignedUp, now, &ClientInfo::default()).on(signed_in.id());
    users
        .insert(&signed_in, Some(session.clone()), &event)
        .await?;

    let first_page = users
        .list(&listing(PageRequest::Number {
            number: 1,
            size: 10,
        }))
        .await?;
    let second_cursor = UserCursor::after(first_page.users.last().ok_or("no users")?, ORDERING);
    // The cursor just before the last ten rows of `-date_joined` is the eleventh oldest user.
    let oldest = users
        .list(&UserQuery {
            filter: UserFilter::default(),
            ordering: UserOrdering::DateJoined,
            page: PageRequest::Number {
                number: 1,
                size: 11,
            },
        })
        .await?;
    let before_last = oldest.users.last().ok_or("fewer than 11 users")?;
    let last_cursor = UserCursor::after(before_last, ORDERING);
    let check = users
        .list(&listing(PageRequest::After {
            cursor: last_cursor.clone(),
            size: 10,
        }))
        .await?;
    if check.users.len() != 10 || check.has_more {
        return Err("the last cursor does not open the last page".into());
    }
    Ok(Fixture {
        connection,
        users,
        sessions,
        probe,
        session,
        total: first_page.total,
        second_cursor,
        last_cursor,
    })
}

async fn measure_adapters(fixture: &Fixture, iterations: u64) -> Outcome<()> {
    let Fixture {
        users, sessions, ..
    } = fixture;
    let last_page = u32::try_from(fixture.total.div_ceil(10))?;
    println!(
        "\nmedians over {iterations} sequential calls through the adapters ({} users, page size 10, -date_joined):",
        fixture.total
    );
    let by_number = |number| listing(PageRequest::Number { number, size: 10 });
    let after = |cursor: &UserCursor| {
        listing(PageRequest::After {
            cursor: cursor.clone(),
            size: 10,
        })
    };
    report(
        "(a) user by id (find_by_id)",
        time(iterations, || async {
            Ok(users.find_by_id(fixture.probe).await?)
        })
        .await?,
    );
    report(
        "(b) session with its user (find_with_user)",
        time(iterations, || async {
            Ok(sessions.find_with_user(fixture.session.id).await?)
        })
        .await?,
    );
    report(
        "(c) list, page 1 by number",
        time(iterations, || async {
            Ok(users.list(&by_number(1)).await?)
        })
        .await?,
    );
    report(
        &format!(
            "(d) list, last page by number (page {last_page}, OFFSET {})",
            (last_page - 1) * 10
        ),
        time(iterations, || async {
            Ok(users.list(&by_number(last_page)).await?)
        })
        .await?,
    );
    report(
        "(c') list, page 2 by cursor",
        time(iterations, || async {
            Ok(users.list(&after(&fixture.second_cursor)).await?)
        })
        .await?,
    );
    report(
        "(d') list, last page by cursor",
        time(iterations, || async {
            Ok(users.list(&after(&fixture.last_cursor)).await?)
        })
        .await?,
    );
    let search = SearchTerm::parse("user4242")?;
    report(
        "     list, search 'user4242', page 1",
        time(iterations, || async {
            Ok(users
                .list(&UserQuery {
                    filter: UserFilter {
                        search: Some(search.clone()),
                        ..UserFilter::default()
                    },
                    ordering: ORDERING,
                    page: PageRequest::Number {
                        number: 1,
                        size: 10,
                    },
                })
                .await?)
        })
        .await?,
    );
    Ok(())
}

async fn measure_statements(fixture: &Fixture, iterations: u64) -> Outcome<()> {
    let connection = &fixture.connection;
    let last_page = fixture.total.div_ceil(10);
    let columns = "id, email, full_name, password_hash, role, is_active, date_joined, \
                   last_login, failed_logins, locked_until, updated_at";
    let page_1 = format!("SELECT {columns} FROM users ORDER BY date_joined DESC, id DESC LIMIT 11");
    let last_by_number = format!(
        "SELECT {columns} FROM users ORDER BY date_joined DESC, id DESC LIMIT 11 OFFSET {}",
        (last_page - 1) * 10
    );
    let CursorKey::DateJoined(key) = &fixture.last_cursor.key else {
        return Err("a date cursor".into());
    };
    let key = key.format(&time::format_description::well_known::Rfc3339)?;
    let last_by_cursor = format!(
        "SELECT {columns} FROM users WHERE (date_joined, id) < ('{key}', '{}') \
         ORDER BY date_joined DESC, id DESC LIMIT 11",
        fixture.last_cursor.id
    );
    let count_all = "SELECT COUNT(*) FROM users".to_owned();
    let with_user = format!(
        "SELECT s.*, u.* FROM sessions s LEFT JOIN users u ON s.user_id = u.id WHERE s.id = '{}'",
        fixture.session.id
    );
    let search_count = "SELECT COUNT(*) FROM users \
                        WHERE email LIKE '%user4242%' OR LOWER(full_name) LIKE '%user4242%'"
        .to_owned();

    println!("\nthe parts of a listing, as raw statements:");
    let raw = |sql: &str| {
        let statement = Statement::from_string(DbBackend::Postgres, sql.to_owned());
        move || {
            let statement = statement.clone();
            async move { Ok(connection.query_all_raw(statement).await?) }
        }
    };
    report(
        "COUNT(*) of all users",
        time(iterations, raw(&count_all)).await?,
    );
    report("page 1 rows", time(iterations, raw(&page_1)).await?);
    report(
        "last page rows by OFFSET",
        time(iterations, raw(&last_by_number)).await?,
    );
    report(
        "last page rows by cursor",
        time(iterations, raw(&last_by_cursor)).await?,
    );

    println!("\nEXPLAIN ANALYZE:");
    explain(connection, "session with its user", &with_user).await?;
    explain(connection, "page 1", &page_1).await?;
    explain(connection, "last page by OFFSET", &last_by_number).await?;
    explain(connection, "last page by cursor", &last_by_cursor).await?;
    explain(connection, "count", &count_all).await?;
    explain(connection, "search count", &search_count).await?;
    Ok(())
}
