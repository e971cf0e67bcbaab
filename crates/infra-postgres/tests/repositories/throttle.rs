//! `SqlLoginThrottle`: failures counted per email and address, atomically, with their lock
//! and its event, and forgotten on a right password.

use crate::support::{TestDb, client, email, event, insert, micros, now, user};
use domain::ports::{AuditLog, LoginThrottle};
use domain::{AuditAction, AuditQuery, ClientInfo, FailedLogins, ThrottleKey, UnexpectedKind};
use std::sync::Arc;
use time::Duration;

on_both_backends!(
    failures_count_up_per_email_and_address_and_ten_concurrent_ones_all_count,
    a_lock_is_kept_with_its_event_and_a_clear_forgets_everything,
    an_email_without_an_account_is_counted_and_locked_the_same,
    a_corrupt_count_is_an_internal_error,
);

fn from(ip: &str) -> ClientInfo {
    ClientInfo {
        user_agent: None,
        ip: Some(ip.parse().unwrap()),
    }
}

async fn failures_count_up_per_email_and_address_and_ten_concurrent_ones_all_count(
    database: TestDb,
) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    let throttle = Arc::new(database.throttle());
    let key = ThrottleKey::new(ada.email().clone(), &client());
    let failed = || event(AuditAction::LoginFailed, &ada);

    assert_eq!(throttle.get(&key).await.unwrap(), FailedLogins::default());
    assert_eq!(
        throttle
            .record_failure(&key, now(), &failed())
            .await
            .unwrap(),
        1
    );
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (throttle, key, failed) = (Arc::clone(&throttle), key.clone(), failed());
        tasks.spawn(async move { throttle.record_failure(&key, now(), &failed).await.unwrap() });
    }
    let mut counts = tasks.join_all().await;
    counts.sort_unstable();
    // Each increment saw the one before it: no two failures read the same count.
    assert_eq!(counts, (2..=11).collect::<Vec<u32>>());
    assert_eq!(throttle.get(&key).await.unwrap().failures, 11);

    // Another address, or another email, starts from nothing.
    let elsewhere = ThrottleKey::new(ada.email().clone(), &from("198.51.100.1"));
    assert_eq!(throttle.get(&elsewhere).await.unwrap().failures, 0);
    let other = ThrottleKey::new(email("grace@example.com"), &client());
    assert_eq!(throttle.get(&other).await.unwrap().failures, 0);
    let events = database
        .audit()
        .list(&AuditQuery {
            actor: None,
            target: None,
            action: Some(AuditAction::LoginFailed),
            offset: 0,
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(events.total, 11, "each failure records its event");
}

async fn a_lock_is_kept_with_its_event_and_a_clear_forgets_everything(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    let throttle = database.throttle();
    let key = ThrottleKey::new(ada.email().clone(), &from("2001:db8::1"));
    for _ in 0..5 {
        throttle
            .record_failure(&key, now(), &event(AuditAction::LoginFailed, &ada))
            .await
            .unwrap();
    }
    let until = micros(now() + Duration::minutes(1));
    throttle
        .lock(&key, until, &event(AuditAction::LockedOut, &ada))
        .await
        .unwrap();
    let counted = throttle.get(&key).await.unwrap();
    assert_eq!(counted.failures, 5);
    assert_eq!(counted.locked_until, Some(until));
    assert!(counted.lock_remaining(now()).is_some());
    // The same /64 shares the lock.
    let neighbour = ThrottleKey::new(ada.email().clone(), &from("2001:db8::2"));
    assert_eq!(throttle.get(&neighbour).await.unwrap(), counted);

    throttle.clear(&key).await.unwrap();
    assert_eq!(throttle.get(&key).await.unwrap(), FailedLogins::default());
    // Clearing what is not there is no error.
    throttle.clear(&key).await.unwrap();
}

async fn an_email_without_an_account_is_counted_and_locked_the_same(database: TestDb) {
    let throttle = database.throttle();
    let key = ThrottleKey::new(email("ghost@example.com"), &client());
    let failed = || {
        domain::AuditEvent::new(AuditAction::LoginFailed, now(), &client())
            .with("reason", "unknown_email")
    };
    for expected in 1..=5 {
        assert_eq!(
            throttle
                .record_failure(&key, now(), &failed())
                .await
                .unwrap(),
            expected
        );
    }
    let until = micros(now() + Duration::minutes(1));
    let locked = domain::AuditEvent::new(AuditAction::LockedOut, now(), &client());
    throttle.lock(&key, until, &locked).await.unwrap();
    assert_eq!(throttle.get(&key).await.unwrap().locked_until, Some(until));
}

async fn a_corrupt_count_is_an_internal_error(database: TestDb) {
    let key = ThrottleKey::new(email("ada@example.com"), &client());
    database
        .throttle()
        .record_failure(
            &key,
            now(),
            &domain::AuditEvent::new(AuditAction::LoginFailed, now(), &client()),
        )
        .await
        .unwrap();
    database
        .raw("UPDATE login_failures SET failures = -1")
        .await;
    let error = database.throttle().get(&key).await.unwrap_err();
    assert_eq!(error.kind(), UnexpectedKind::Internal);
}
