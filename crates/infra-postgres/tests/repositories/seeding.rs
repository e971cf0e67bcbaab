//! `seed_users`: bulk data across several batches, idempotent on a rerun.

use crate::support::{TestDb, email, hash};
use domain::ports::UserRepository;
use domain::{PageRequest, Role, SearchTerm, UserFilter, UserOrdering, UserQuery};

on_both_backends!(
    seeding_inserts_numbered_users_in_batches_and_skips_them_on_a_rerun,
    a_bulk_seed_leaves_every_index_in_place,
);

async fn seeding_inserts_numbered_users_in_batches_and_skips_them_on_a_rerun(database: TestDb) {
    // More than one batch on either backend (5,000 rows on PostgreSQL, 2,500 on SQLite).
    let count = 5_003;
    let mut reported = Vec::new();
    let inserted = infra_postgres::seed_users(&database.connection, count, &hash(), |done| {
        reported.push(done);
    })
    .await
    .unwrap();
    assert_eq!(inserted, count);
    assert_eq!(reported.last(), Some(&count));
    assert!(reported.len() >= 2, "{reported:?}");
    assert!(reported.windows(2).all(|pair| pair[0] < pair[1]));

    let users = database.users();
    let first = users
        .find_by_email(&email("user1@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.role(), Role::Admin);
    assert_eq!(first.password_hash(), &hash());
    let last = users
        .find_by_email(&email("user5003@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert!(last.date_joined() > first.date_joined());

    let listing = |filter: UserFilter| {
        let users = users.clone();
        async move {
            users
                .list(&UserQuery {
                    filter,
                    ordering: UserOrdering::DateJoinedDesc,
                    page: PageRequest::Number {
                        number: 1,
                        size: 10,
                    },
                })
                .await
                .unwrap()
        }
    };
    let everyone = listing(UserFilter::default()).await;
    assert_eq!(everyone.total, count);
    // Users 5002 and 5003 joined at the same instant: either may come first.
    assert_eq!(everyone.users[0].date_joined(), last.date_joined());
    let admins = listing(UserFilter {
        role: Some(Role::Admin),
        ..UserFilter::default()
    })
    .await;
    assert_eq!(admins.total, 11, "one in 500: 1, 501, …, 5001");
    let inactive = listing(UserFilter {
        is_active: Some(false),
        ..UserFilter::default()
    })
    .await;
    assert_eq!(inactive.total, 200, "one in 25");

    let again = infra_postgres::seed_users(&database.connection, count, &hash(), |_| {})
        .await
        .unwrap();
    assert_eq!(again, 0, "every email is taken already");
    assert_eq!(listing(UserFilter::default()).await.total, count);
}

async fn a_bulk_seed_leaves_every_index_in_place(database: TestDb) {
    // From 100,000 users on, PostgreSQL's seed drops the secondary indexes and rebuilds them
    // before it commits.
    let count = 100_000;
    let inserted = infra_postgres::seed_users(&database.connection, count, &hash(), |_| {})
        .await
        .unwrap();
    assert_eq!(inserted, count);
    crate::schema::assert_has_every_index(&database).await;
    let found = database
        .users()
        .list(&UserQuery {
            filter: UserFilter {
                search: Some(SearchTerm::parse("user99999@").unwrap()),
                ..UserFilter::default()
            },
            ordering: UserOrdering::Email,
            page: PageRequest::Number {
                number: 1,
                size: 10,
            },
        })
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.users[0].email(), &email("user99999@example.com"));
}
