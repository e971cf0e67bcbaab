//! `SqlUserRepository::list`: page numbers and cursors over every ordering (with ties in
//! `date_joined`), counts, search and filters.

use crate::support::{TestDb, event, insert, micros, now, user, user_joined};
use domain::ports::UserRepository;
use domain::{
    AuditAction, PageRequest, Role, SearchTerm, User, UserCursor, UserFilter, UserOrdering,
    UserQuery, UserRecord,
};
use time::Duration;

on_both_backends!(
    paging_through_95_users_by_number_returns_each_once_in_order_for_every_ordering,
    paging_through_95_users_by_cursor_returns_each_once_in_order_for_every_ordering,
    a_page_past_the_end_is_empty_and_has_no_more,
    search_matches_email_or_name_whatever_the_case,
    search_treats_like_wildcards_as_plain_characters,
    role_and_activity_filters_combine_with_search_and_count,
    date_joined_orders_by_time_across_whole_and_fractional_seconds,
    counts_follow_every_change_of_role_and_activity_whoever_makes_it,
    opposite_activity_changes_at_once_neither_deadlock_nor_lose_a_count,
);

/// 95 users; three join in each second, so `date_joined` ties and only the id orders them.
async fn ninety_five_users(database: &TestDb) -> Vec<User> {
    let start = micros(now() - Duration::days(1));
    let mut users = Vec::new();
    // Inserted out of order, so that the storage order is not the answer by accident.
    for index in (0..95_i64).rev() {
        let joined = start + Duration::seconds(index / 3);
        let user = user_joined(
            &format!("user{index:03}@example.com"),
            &format!("Person {index}"),
            joined,
        );
        insert(database, &user).await;
        users.push(user);
    }
    users
}

/// `users` in `ordering`, with the id breaking ties in the same direction.
fn sorted(users: &[User], ordering: UserOrdering) -> Vec<User> {
    let mut sorted = users.to_vec();
    sorted.sort_by(|left, right| match ordering {
        UserOrdering::DateJoined | UserOrdering::DateJoinedDesc => left
            .date_joined()
            .cmp(&right.date_joined())
            .then(left.id().as_uuid().cmp(&right.id().as_uuid())),
        UserOrdering::Email | UserOrdering::EmailDesc => left
            .email()
            .cmp(right.email())
            .then(left.id().as_uuid().cmp(&right.id().as_uuid())),
    });
    if ordering.is_descending() {
        sorted.reverse();
    }
    sorted
}

fn query(filter: UserFilter, ordering: UserOrdering, page: PageRequest) -> UserQuery {
    UserQuery {
        filter,
        ordering,
        page,
    }
}

fn page(number: u32) -> PageRequest {
    PageRequest::Number { number, size: 10 }
}

async fn paging_through_95_users_by_number_returns_each_once_in_order_for_every_ordering(
    database: TestDb,
) {
    let users = ninety_five_users(&database).await;
    let repository = database.users();
    for ordering in UserOrdering::ALL {
        let mut seen = Vec::new();
        for number in 1..=10 {
            let slice = repository
                .list(&query(UserFilter::default(), ordering, page(number)))
                .await
                .unwrap();
            assert_eq!(slice.total, 95);
            assert_eq!(slice.has_more, number < 10, "page {number} of {ordering:?}");
            assert_eq!(slice.users.len(), if number < 10 { 10 } else { 5 });
            seen.extend(slice.users);
        }
        assert_eq!(seen, sorted(&users, ordering), "{ordering:?}");
    }
}

async fn paging_through_95_users_by_cursor_returns_each_once_in_order_for_every_ordering(
    database: TestDb,
) {
    let users = ninety_five_users(&database).await;
    let repository = database.users();
    for ordering in UserOrdering::ALL {
        let mut seen: Vec<User> = Vec::new();
        let mut request = page(1);
        let mut pages = 0;
        loop {
            let slice = repository
                .list(&query(UserFilter::default(), ordering, request))
                .await
                .unwrap();
            pages += 1;
            assert_eq!(slice.total, 95);
            seen.extend(slice.users);
            if !slice.has_more {
                break;
            }
            let last = seen.last().expect("a page with more after it is not empty");
            request = PageRequest::After {
                cursor: UserCursor::after(last, ordering),
                size: 10,
            };
            assert!(pages < 20, "paging does not end");
        }
        assert_eq!(pages, 10, "{ordering:?}");
        assert_eq!(seen, sorted(&users, ordering), "{ordering:?}");
    }
}

async fn a_page_past_the_end_is_empty_and_has_no_more(database: TestDb) {
    let users = ninety_five_users(&database).await;
    let repository = database.users();
    let slice = repository
        .list(&query(UserFilter::default(), UserOrdering::Email, page(11)))
        .await
        .unwrap();
    assert!(slice.users.is_empty());
    assert!(!slice.has_more);
    assert_eq!(slice.total, 95);

    let last = sorted(&users, UserOrdering::Email).pop().unwrap();
    let slice = repository
        .list(&query(
            UserFilter::default(),
            UserOrdering::Email,
            PageRequest::After {
                cursor: UserCursor::after(&last, UserOrdering::Email),
                size: 10,
            },
        ))
        .await
        .unwrap();
    assert!(slice.users.is_empty());
    assert!(!slice.has_more);
}

async fn search(database: &TestDb, term: &str) -> Vec<String> {
    let slice = database
        .users()
        .list(&query(
            UserFilter {
                search: Some(SearchTerm::parse(term).unwrap()),
                ..UserFilter::default()
            },
            UserOrdering::Email,
            PageRequest::Number {
                number: 1,
                size: 100,
            },
        ))
        .await
        .unwrap();
    assert_eq!(slice.total, slice.users.len() as u64);
    slice
        .users
        .iter()
        .map(|user| user.email().as_str().to_owned())
        .collect()
}

async fn search_matches_email_or_name_whatever_the_case(database: TestDb) {
    for (address, name) in [
        ("ada@example.com", "Ada LOVELACE"),
        ("grace@navy.example", "Grace Hopper"),
        ("countess@example.com", "Augusta Ada King"),
        ("alan@example.org", "Alan Turing"),
    ] {
        insert(&database, &user_joined(address, name, now())).await;
    }
    assert_eq!(search(&database, "lovelace").await, ["ada@example.com"]);
    assert_eq!(search(&database, "LoVeLaCe").await, ["ada@example.com"]);
    assert_eq!(
        search(&database, "ada").await,
        ["ada@example.com", "countess@example.com"],
        "the email of one, the name of the other"
    );
    assert_eq!(search(&database, "NAVY").await, ["grace@navy.example"]);
    assert_eq!(search(&database, "example.org").await, ["alan@example.org"]);
    assert!(search(&database, "hopper turing").await.is_empty());
}

async fn search_treats_like_wildcards_as_plain_characters(database: TestDb) {
    for (address, name) in [
        ("percent@example.com", "100% Real"),
        ("thousand@example.com", "1000 Real"),
        ("underscore@example.com", "Under_score"),
        ("space@example.com", "Under score"),
        ("backslash@example.com", r"Back\slash"),
        ("plain@example.com", "Back slash"),
    ] {
        insert(&database, &user_joined(address, name, now())).await;
    }
    assert_eq!(search(&database, "100%").await, ["percent@example.com"]);
    assert_eq!(search(&database, "%").await, ["percent@example.com"]);
    assert_eq!(search(&database, "r_s").await, ["underscore@example.com"]);
    assert_eq!(search(&database, "_").await, ["underscore@example.com"]);
    assert_eq!(search(&database, r"k\s").await, ["backslash@example.com"]);
    assert_eq!(search(&database, r"\").await, ["backslash@example.com"]);
}

async fn role_and_activity_filters_combine_with_search_and_count(database: TestDb) {
    let start = micros(now() - Duration::hours(1));
    let mut expected_active_admins = Vec::new();
    for index in 0..30_i64 {
        let base = user_joined(
            &format!("member{index:02}@example.com"),
            if index % 2 == 0 {
                "Even Member"
            } else {
                "Odd Member"
            },
            start + Duration::seconds(index),
        );
        let user = User::restore(UserRecord {
            role: if index % 3 == 0 {
                Role::Admin
            } else {
                Role::User
            },
            is_active: index % 5 != 0,
            ..base.to_record()
        });
        if index % 3 == 0 && index % 5 != 0 {
            expected_active_admins.push(user.email().as_str().to_owned());
        }
        insert(&database, &user).await;
    }
    let repository = database.users();
    let list = |filter: UserFilter| {
        let repository = repository.clone();
        async move {
            repository
                .list(&query(filter, UserOrdering::Email, page(1)))
                .await
                .unwrap()
        }
    };

    let admins = list(UserFilter {
        role: Some(Role::Admin),
        ..UserFilter::default()
    })
    .await;
    assert_eq!(admins.total, 10);
    assert!(admins.users.iter().all(|user| user.role() == Role::Admin));

    let inactive = list(UserFilter {
        is_active: Some(false),
        ..UserFilter::default()
    })
    .await;
    assert_eq!(inactive.total, 6);
    assert!(inactive.users.iter().all(|user| !user.is_active()));

    let active_admins = list(UserFilter {
        role: Some(Role::Admin),
        is_active: Some(true),
        ..UserFilter::default()
    })
    .await;
    assert_eq!(active_admins.total, 8);
    let emails: Vec<String> = active_admins
        .users
        .iter()
        .map(|user| user.email().as_str().to_owned())
        .collect();
    assert_eq!(emails, expected_active_admins);

    let even_active_admins = list(UserFilter {
        search: Some(SearchTerm::parse("even").unwrap()),
        role: Some(Role::Admin),
        is_active: Some(true),
    })
    .await;
    // Admins: 0, 3, …, 27; active: not 0, 15; even: 6, 12, 18, 24.
    assert_eq!(even_active_admins.total, 4);
    assert!(!even_active_admins.has_more);

    let paged = repository
        .list(&query(
            UserFilter {
                is_active: Some(true),
                ..UserFilter::default()
            },
            UserOrdering::DateJoinedDesc,
            PageRequest::Number {
                number: 3,
                size: 10,
            },
        ))
        .await
        .unwrap();
    assert_eq!(paged.total, 24);
    assert_eq!(paged.users.len(), 4);
    assert!(!paged.has_more);
}

async fn date_joined_orders_by_time_across_whole_and_fractional_seconds(database: TestDb) {
    // On SQLite timestamps are text: RFC 3339 with trimmed fractions would sort `…:01Z`
    // after `…:01.5Z`, and `…:01.1Z` after `…:01.100001Z`. The adapter writes a fixed width.
    let whole = micros(now()).replace_nanosecond(0).unwrap();
    let offsets_in_micros = [
        0, 1, 100_000, 100_001, 500_000, 1_000_000, 1_000_010, 999_999,
    ];
    let mut users = Vec::new();
    for (index, micros_after) in offsets_in_micros.into_iter().enumerate() {
        let user = user_joined(
            &format!("t{index}@example.com"),
            "Timed",
            whole + Duration::microseconds(micros_after),
        );
        insert(&database, &user).await;
        users.push(user);
    }
    let repository = database.users();
    for ordering in [UserOrdering::DateJoined, UserOrdering::DateJoinedDesc] {
        let slice = repository
            .list(&query(UserFilter::default(), ordering, page(1)))
            .await
            .unwrap();
        assert_eq!(slice.users, sorted(&users, ordering), "{ordering:?}");
        // And a cursor in the middle, between a whole and a fractional second.
        let middle = &slice.users[3];
        let rest = repository
            .list(&query(
                UserFilter::default(),
                ordering,
                PageRequest::After {
                    cursor: UserCursor::after(middle, ordering),
                    size: 10,
                },
            ))
            .await
            .unwrap();
        assert_eq!(rest.users, slice.users[4..], "{ordering:?}");
    }
}

/// The totals of an unfiltered listing and of each role and activity filter.
async fn totals(database: &TestDb) -> [u64; 5] {
    let repository = database.users();
    let mut totals = [0; 5];
    let filters = [
        UserFilter::default(),
        UserFilter {
            role: Some(Role::Admin),
            ..UserFilter::default()
        },
        UserFilter {
            role: Some(Role::User),
            ..UserFilter::default()
        },
        UserFilter {
            is_active: Some(false),
            ..UserFilter::default()
        },
        UserFilter {
            role: Some(Role::User),
            is_active: Some(true),
            search: None,
        },
    ];
    for (total, filter) in totals.iter_mut().zip(filters) {
        *total = repository
            .list(&query(filter, UserOrdering::DateJoinedDesc, page(1)))
            .await
            .unwrap()
            .total;
    }
    totals
}

/// `user` with another role and activity, as an administrator's change would leave it.
fn changed(user: &User, role: Role, is_active: bool) -> User {
    User::restore(UserRecord {
        role,
        is_active,
        ..user.to_record()
    })
}

async fn counts_follow_every_change_of_role_and_activity_whoever_makes_it(database: TestDb) {
    // [all, admins, users, inactive, active users]
    assert_eq!(totals(&database).await, [0, 0, 0, 0, 0]);
    let ada = user("ada@example.com", "Ada");
    let alan = user("alan@example.com", "Alan");
    insert(&database, &ada).await;
    insert(&database, &alan).await;
    assert_eq!(totals(&database).await, [2, 0, 2, 0, 2]);

    let repository = database.users();
    let promoted = changed(&ada, Role::Admin, true);
    repository
        .update(
            &promoted,
            ada.updated_at(),
            false,
            &event(AuditAction::UserUpdated, &ada),
        )
        .await
        .unwrap();
    assert_eq!(totals(&database).await, [2, 1, 1, 0, 1]);
    let deactivated = changed(&alan, Role::User, false);
    repository
        .update(
            &deactivated,
            alan.updated_at(),
            true,
            &event(AuditAction::UserUpdated, &alan),
        )
        .await
        .unwrap();
    assert_eq!(totals(&database).await, [2, 1, 1, 1, 0]);
    // An update that changes neither leaves the counts alone.
    repository
        .update(
            &deactivated,
            alan.updated_at(),
            false,
            &event(AuditAction::UserUpdated, &alan),
        )
        .await
        .unwrap();
    assert_eq!(totals(&database).await, [2, 1, 1, 1, 0]);

    // The counters are kept by the database, so a hand-written statement keeps them too.
    let inactive = if database.backend() == sea_orm::DbBackend::Postgres {
        "false"
    } else {
        "0"
    };
    database
        .raw(&format!(
            "UPDATE users SET role = 'user', is_active = {inactive}"
        ))
        .await;
    assert_eq!(totals(&database).await, [2, 0, 2, 2, 0]);
    database
        .raw("DELETE FROM users WHERE email = 'ada@example.com'")
        .await;
    assert_eq!(totals(&database).await, [1, 0, 1, 1, 0]);

    // The bulk seeder's multi-row inserts too.
    // (user1 is an admin; users 25, 50, 75 and 100 are inactive.)
    let seeded =
        infra_postgres::seed_users(&database.connection, 100, &crate::support::hash(), |_| {})
            .await
            .unwrap();
    assert_eq!(seeded, 100);
    assert_eq!(totals(&database).await, [101, 1, 100, 5, 95]);
}

async fn opposite_activity_changes_at_once_neither_deadlock_nor_lose_a_count(database: TestDb) {
    // One user is deactivated and reactivated while another is reactivated and deactivated:
    // each change moves a user between the same two counters, in opposite directions.
    let first = user("first@example.com", "First");
    let second = changed(&user("second@example.com", "Second"), Role::User, false);
    insert(&database, &first).await;
    insert(&database, &second).await;
    let flip = |user: User| {
        let repository = database.users();
        tokio::spawn(async move {
            for round in 0..40 {
                let target = changed(&user, Role::User, (round % 2 == 1) != user.is_active());
                repository
                    .update(
                        &target,
                        user.updated_at(),
                        false,
                        &event(AuditAction::UserUpdated, &user),
                    )
                    .await
                    .unwrap();
            }
        })
    };
    let (one, two) = tokio::join!(flip(first), flip(second));
    one.unwrap();
    two.unwrap();
    // Forty flips each bring both back where they started: one active, one not.
    assert_eq!(totals(&database).await, [2, 0, 2, 1, 1]);
}
