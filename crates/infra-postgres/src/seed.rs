//! [`seed_users`]: bulk demo and benchmark data, a million users in well under a minute.
//!
//! Rows go in as multi-row `INSERT`s of thousands of rows each, inside one transaction, with
//! one password hash computed by the caller for all of them (hashing a million passwords
//! would take hours by design). Everything but the ids is deterministic, so a rerun finds
//! the same emails taken and inserts nothing twice.

use crate::entities::users;
use crate::rows::{USER_COLUMNS, db, optional_timestamp, timestamp};
use crate::transaction::{begin_write, commit};
use domain::{PasswordHash, UnexpectedError};
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

#[rustfmt::skip]
const FIRST_NAMES: [&str; 20] = [
    "Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Margaret", "Dennis", "Frances",
    "John", "Radia", "Ken", "Hedy", "Tim", "Katherine", "Linus", "Sophie", "Guido", "Anita",
    "Bjarne",
];
#[rustfmt::skip]
const LAST_NAMES: [&str; 23] = [
    "Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Ritchie",
    "Allen", "McCarthy", "Perlman", "Thompson", "Lamarr", "Berners-Lee", "Johnson", "Torvalds",
    "Wilson", "van Rossum", "Borg", "Stroustrup", "Goldberg", "Kay", "Backus",
];

/// Rows per statement. PostgreSQL takes at most 65,535 bound parameters per statement and
/// SQLite 32,766; each row binds eleven.
fn batch_size(backend: DbBackend) -> u64 {
    match backend {
        DbBackend::Sqlite => 2_500,
        _ => 5_000,
    }
}

/// Inserts the users numbered `1..=count`: `user{n}@example.com`, named from a small list of
/// computing pioneers, all with `password_hash`. Two users join per 61 seconds from
/// 2021-01-01 (so `date_joined` has ties, as real sign-ups do), one in 500 is an admin, one in
/// 25 is inactive, and one in 3 has logged in once. Users whose email is taken already are
/// skipped. Calls `progress` with the number of users handled so far after each batch, and
/// returns how many were inserted.
///
/// Needs a tokio runtime: each batch is built on a blocking thread while the previous one
/// is being written.
///
/// # Errors
/// `UnexpectedError` when the database fails; nothing is inserted then (one transaction).
pub async fn seed_users(
    connection: &DatabaseConnection,
    count: u64,
    password_hash: &PasswordHash,
    mut progress: impl FnMut(u64) + Send,
) -> Result<u64, UnexpectedError> {
    let backend = connection.get_database_backend();
    let batch = batch_size(backend);
    let transaction = begin_write(connection).await?;
    let build = |first: u64| {
        let last = count.min(first + batch - 1);
        let password_hash = password_hash.clone();
        (
            last,
            tokio::task::spawn_blocking(move || {
                batch_statement(backend, first, last, &password_hash)
            }),
        )
    };
    let mut inserted = 0;
    let mut next = (count > 0).then(|| build(1));
    while let Some((last, statement)) = next.take() {
        let statement = statement
            .await
            .map_err(|error| UnexpectedError::internal("building a seed batch", error))??;
        // Build the following batch while this one is being written: on two cores, the
        // client's work then hides behind the database's.
        if last < count {
            next = Some(build(last + 1));
        }
        inserted += transaction
            .execute_raw(statement)
            .await
            .map_err(db("seeding users"))?
            .rows_affected();
        progress(last);
    }
    commit(transaction).await?;
    Ok(inserted)
}

/// The `INSERT` of users `first..=last`.
fn batch_statement(
    backend: DbBackend,
    first: u64,
    last: u64,
    password_hash: &PasswordHash,
) -> Result<Statement, UnexpectedError> {
    let mut insert = Query::insert();
    insert
        .into_table(users::Entity)
        .columns(USER_COLUMNS)
        .on_conflict(
            OnConflict::column(users::Column::Email)
                .do_nothing()
                .to_owned(),
        );
    for number in first..=last {
        insert
            .values(seeded_row(backend, number, password_hash).map(Into::into))
            .map_err(|error| UnexpectedError::internal("building the seed insert", error))?;
    }
    Ok(backend.build(&insert))
}

/// The values of user `number`, in the order of [`USER_COLUMNS`].
fn seeded_row(backend: DbBackend, number: u64, password_hash: &PasswordHash) -> [Value; 9] {
    // 2021-01-01T00:00:00Z.
    let epoch = OffsetDateTime::UNIX_EPOCH + Duration::seconds(1_609_459_200);
    let offset = i64::try_from(number / 2).unwrap_or(i64::MAX / 61) * 61;
    let date_joined = epoch + Duration::seconds(offset);
    let last_login = number
        .is_multiple_of(3)
        .then(|| date_joined + Duration::days(1));
    // Version 7, stamped with the join time: ids then sort as the rows were "created".
    let stamp = uuid::Timestamp::from_unix(
        uuid::NoContext,
        u64::try_from(date_joined.unix_timestamp()).unwrap_or_default(),
        0,
    );
    let index = usize::try_from(number).unwrap_or_default();
    let full_name = format!(
        "{} {}",
        FIRST_NAMES[index % FIRST_NAMES.len()],
        LAST_NAMES[(index / FIRST_NAMES.len()) % LAST_NAMES.len()],
    );
    [
        Uuid::new_v7(stamp).into(),
        format!("user{number}@example.com").into(),
        full_name.into(),
        password_hash.as_str().into(),
        (if number % 500 == 1 { "admin" } else { "user" }).into(),
        (!number.is_multiple_of(25)).into(),
        timestamp(backend, date_joined),
        optional_timestamp(backend, last_login),
        timestamp(backend, last_login.unwrap_or(date_joined)),
    ]
}
