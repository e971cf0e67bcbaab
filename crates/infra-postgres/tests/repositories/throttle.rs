//! `SqlLoginThrottle`: password checks admitted per email and address in one atomic step, so
//! that checks sent all at once cannot slip past the lock; locks that end one check at a
//! time; and a right password that forgets everything.

use crate::support::{TestDb, client, email, event, insert, micros, now, user};
use domain::ports::LoginThrottle;
use domain::{AuditAction, ClientInfo, FailedLogins, ThrottleKey, UnexpectedKind};
use std::sync::Arc;
use time::Duration;

on_both_backends!(
    twenty_checks_at_once_admit_exactly_the_allowed_five,
    a_lock_that_ended_admits_one_check_at_a_time,
    counts_are_per_email_and_address_and_a_clear_forgets_them,
    a_corrupt_count_is_an_internal_error,
    only_keys_idle_since_the_cutoff_and_unlocked_then_are_forgotten,
);

const ALLOWED: u32 = 5;

fn from(ip: &str) -> ClientInfo {
    ClientInfo {
        user_agent: None,
        ip: Some(ip.parse().unwrap()),
    }
}

async fn twenty_checks_at_once_admit_exactly_the_allowed_five(database: TestDb) {
    let throttle = Arc::new(database.throttle());
    // An email without an account is counted exactly as one with.
    let key = ThrottleKey::new(email("ghost@example.com"), &client());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (throttle, key) = (Arc::clone(&throttle), key.clone());
        tasks.spawn(async move { throttle.admit(&key, now(), ALLOWED).await.unwrap() });
    }
    let outcomes = tasks.join_all().await;
    let mut admitted: Vec<u32> = outcomes.iter().flatten().copied().collect();
    admitted.sort_unstable();
    assert_eq!(admitted, [1, 2, 3, 4, 5], "{outcomes:?}");
    assert_eq!(throttle.get(&key).await.unwrap().failures, 5);
}

async fn a_lock_that_ended_admits_one_check_at_a_time(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    let throttle = database.throttle();
    let key = ThrottleKey::new(ada.email().clone(), &from("2001:db8::1"));
    for expected in 1..=ALLOWED {
        assert_eq!(
            throttle.admit(&key, now(), ALLOWED).await.unwrap(),
            Some(expected)
        );
    }
    // The fifth failed: its lock. Until it is written, and while it lasts, nothing is admitted.
    assert_eq!(throttle.admit(&key, now(), ALLOWED).await.unwrap(), None);
    let until = micros(now() + Duration::minutes(1));
    throttle
        .lock(&key, until, &event(AuditAction::LockedOut, &ada))
        .await
        .unwrap();
    let counted = throttle.get(&key).await.unwrap();
    assert_eq!(counted.locked_until, Some(until));
    assert!(counted.lock_remaining(now()).is_some());
    // The same /64 shares the lock.
    let neighbour = ThrottleKey::new(ada.email().clone(), &from("2001:db8::2"));
    assert_eq!(
        throttle.admit(&neighbour, now(), ALLOWED).await.unwrap(),
        None
    );

    let later = until + Duration::seconds(1);
    assert_eq!(throttle.admit(&key, later, ALLOWED).await.unwrap(), Some(6));
    // That check's outcome is not known yet: no other is admitted meanwhile.
    assert_eq!(throttle.admit(&key, later, ALLOWED).await.unwrap(), None);
    assert_eq!(throttle.get(&key).await.unwrap().locked_until, None);
}

async fn counts_are_per_email_and_address_and_a_clear_forgets_them(database: TestDb) {
    let throttle = database.throttle();
    let key = ThrottleKey::new(email("ada@example.com"), &client());
    for _ in 0..3 {
        throttle.admit(&key, now(), ALLOWED).await.unwrap();
    }
    assert_eq!(throttle.get(&key).await.unwrap().failures, 3);
    let elsewhere = ThrottleKey::new(email("ada@example.com"), &from("198.51.100.1"));
    let other = ThrottleKey::new(email("grace@example.com"), &client());
    assert_eq!(
        throttle.get(&elsewhere).await.unwrap(),
        FailedLogins::default()
    );
    assert_eq!(throttle.get(&other).await.unwrap(), FailedLogins::default());
    throttle.clear(&key).await.unwrap();
    assert_eq!(throttle.get(&key).await.unwrap(), FailedLogins::default());
    assert_eq!(throttle.admit(&key, now(), ALLOWED).await.unwrap(), Some(1));
    // Clearing what is not there is no error.
    throttle.clear(&other).await.unwrap();
}

async fn only_keys_idle_since_the_cutoff_and_unlocked_then_are_forgotten(database: TestDb) {
    let throttle = database.throttle();
    let day_ago = now() - Duration::days(1);
    let key = |name: &str| ThrottleKey::new(email(&format!("{name}@example.com")), &client());
    let (idle, recent, locked) = (key("idle"), key("recent"), key("locked"));
    throttle
        .admit(&idle, day_ago - Duration::seconds(1), ALLOWED)
        .await
        .unwrap();
    throttle.admit(&recent, day_ago, ALLOWED).await.unwrap();
    throttle
        .admit(&locked, day_ago - Duration::hours(1), ALLOWED)
        .await
        .unwrap();
    let owner = user("locked@example.com", "Locked Out");
    insert(&database, &owner).await;
    let lock = event(AuditAction::LockedOut, &owner);
    throttle
        .lock(&locked, micros(day_ago + Duration::minutes(15)), &lock)
        .await
        .unwrap();

    assert_eq!(throttle.forget_idle(day_ago).await.unwrap(), 1);
    assert_eq!(throttle.get(&idle).await.unwrap(), FailedLogins::default());
    // A spray of made-up emails goes in batches, all of it.
    for n in 0..1_500 {
        let sprayed = key(&format!("sprayed{n}"));
        throttle
            .admit(&sprayed, day_ago - Duration::minutes(5), ALLOWED)
            .await
            .unwrap();
    }
    assert_eq!(throttle.forget_idle(day_ago).await.unwrap(), 1_500);
    assert_eq!(throttle.get(&recent).await.unwrap().failures, 1);
    assert_eq!(throttle.get(&locked).await.unwrap().failures, 1);
    // Once the lock has ended before the cutoff, the locked key goes too.
    let later = day_ago + Duration::hours(1);
    assert_eq!(throttle.forget_idle(later).await.unwrap(), 2);
    assert_eq!(throttle.forget_idle(later).await.unwrap(), 0);
}

async fn a_corrupt_count_is_an_internal_error(database: TestDb) {
    let key = ThrottleKey::new(email("ada@example.com"), &client());
    database
        .throttle()
        .admit(&key, now(), ALLOWED)
        .await
        .unwrap();
    database
        .raw("UPDATE login_failures SET failures = -1")
        .await;
    let error = database.throttle().get(&key).await.unwrap_err();
    assert_eq!(error.kind(), UnexpectedKind::Internal);
}
