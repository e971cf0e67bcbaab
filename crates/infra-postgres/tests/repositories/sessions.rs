//! `SqlSessionRepository`: finding by secret, rotation as compare-and-set, reuse detection,
//! revocation and the list of live sessions.

use crate::support::{TestDb, event, insert, insert_with_session, micros, now, session, user};
use domain::ports::{AuditLog, SessionRepository, UserRepository};
use domain::{AuditAction, AuditQuery, SecretHash, Session, SessionId};
use std::sync::Arc;
use time::Duration;

on_both_backends!(
    the_current_secret_finds_its_session_and_user,
    an_unknown_secret_finds_nothing,
    rotation_replaces_the_secret_and_keeps_the_old_one_findable_as_not_current,
    rotation_refuses_a_stale_secret_and_a_revoked_session,
    two_concurrent_rotations_of_one_secret_let_exactly_one_through,
    revoke_revokes_once_and_records_its_event_every_time,
    revoke_all_revokes_only_that_users_unrevoked_sessions,
    list_live_returns_unrevoked_unexpired_sessions_most_recently_used_first,
    concurrent_lookups_each_get_their_own_session_and_see_a_revocation_at_once,
    find_with_user_reads_each_column_into_its_own_field,
);

async fn the_current_secret_finds_its_session_and_user(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    let session = insert_with_session(&database, &ada, "current").await;
    let found = database
        .sessions()
        .find_by_secret(&SecretHash::new("current"))
        .await
        .unwrap()
        .expect("the secret is current");
    assert!(found.current);
    assert_eq!(found.session, session);
    assert_eq!(found.user, ada);
}

async fn an_unknown_secret_finds_nothing(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert_with_session(&database, &ada, "current").await;
    assert_eq!(
        database
            .sessions()
            .find_by_secret(&SecretHash::new("never-issued"))
            .await
            .unwrap(),
        None
    );
}

async fn rotation_replaces_the_secret_and_keeps_the_old_one_findable_as_not_current(
    database: TestDb,
) {
    let ada = user("ada@example.com", "Ada Lovelace");
    let original = insert_with_session(&database, &ada, "first").await;
    let sessions = database.sessions();
    let at = micros(now() + Duration::minutes(1));
    let expires_at = micros(at + Duration::days(7));

    let rotated = sessions
        .rotate(
            original.id,
            &SecretHash::new("first"),
            &SecretHash::new("second"),
            at,
            expires_at,
        )
        .await
        .unwrap();
    assert!(rotated);
    // And once more, so two secrets are retired.
    assert!(
        sessions
            .rotate(
                original.id,
                &SecretHash::new("second"),
                &SecretHash::new("third"),
                at,
                expires_at,
            )
            .await
            .unwrap()
    );

    let current = sessions
        .find_by_secret(&SecretHash::new("third"))
        .await
        .unwrap()
        .unwrap();
    assert!(current.current);
    assert_eq!(current.session.id, original.id);
    assert_eq!(current.session.secret_hash, SecretHash::new("third"));
    assert_eq!(current.session.last_used_at, at);
    assert_eq!(current.session.expires_at, expires_at);
    assert_eq!(current.session.created_at, original.created_at);

    for retired in ["first", "second"] {
        let found = sessions
            .find_by_secret(&SecretHash::new(retired))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{retired} is still findable"));
        assert!(!found.current, "{retired} is not current");
        assert_eq!(found.session, current.session);
        assert_eq!(found.user, ada);
    }
}

async fn rotation_refuses_a_stale_secret_and_a_revoked_session(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    let original = insert_with_session(&database, &ada, "first").await;
    let sessions = database.sessions();
    let at = now();
    let expires_at = at + Duration::days(7);
    assert!(
        sessions
            .rotate(
                original.id,
                &SecretHash::new("first"),
                &SecretHash::new("second"),
                at,
                expires_at
            )
            .await
            .unwrap()
    );
    // "first" is no longer current.
    assert!(
        !sessions
            .rotate(
                original.id,
                &SecretHash::new("first"),
                &SecretHash::new("other"),
                at,
                expires_at
            )
            .await
            .unwrap()
    );
    // A secret of another session does not rotate this one.
    assert!(
        !sessions
            .rotate(
                SessionId::new(),
                &SecretHash::new("second"),
                &SecretHash::new("other"),
                at,
                expires_at
            )
            .await
            .unwrap()
    );
    sessions
        .revoke(original.id, at, &event(AuditAction::LoggedOut, &ada))
        .await
        .unwrap();
    assert!(
        !sessions
            .rotate(
                original.id,
                &SecretHash::new("second"),
                &SecretHash::new("third"),
                at,
                expires_at
            )
            .await
            .unwrap(),
        "a revoked session does not rotate"
    );
    let found = sessions
        .find_by_secret(&SecretHash::new("second"))
        .await
        .unwrap()
        .unwrap();
    assert!(found.current, "the refused rotation changed nothing");
    assert_eq!(
        sessions
            .find_by_secret(&SecretHash::new("other"))
            .await
            .unwrap(),
        None
    );
}

async fn two_concurrent_rotations_of_one_secret_let_exactly_one_through(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    let original = insert_with_session(&database, &ada, "contested").await;
    let sessions = Arc::new(database.sessions());
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let mut tasks = tokio::task::JoinSet::new();
    for replacement in ["winner-a", "winner-b"] {
        let sessions = Arc::clone(&sessions);
        let barrier = Arc::clone(&barrier);
        tasks.spawn(async move {
            barrier.wait().await;
            let at = now();
            sessions
                .rotate(
                    original.id,
                    &SecretHash::new("contested"),
                    &SecretHash::new(replacement),
                    at,
                    at + Duration::days(7),
                )
                .await
                .map(|rotated| (rotated, replacement))
        });
    }
    let outcomes: Vec<(bool, &str)> = tasks
        .join_all()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners: Vec<&str> = outcomes
        .iter()
        .filter(|(rotated, _)| *rotated)
        .map(|(_, replacement)| *replacement)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let current = sessions
        .find_by_secret(&SecretHash::new(winners[0]))
        .await
        .unwrap()
        .unwrap();
    assert!(current.current);
    let contested = sessions
        .find_by_secret(&SecretHash::new("contested"))
        .await
        .unwrap()
        .unwrap();
    assert!(!contested.current);
}

async fn revoke_revokes_once_and_records_its_event_every_time(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    let session = insert_with_session(&database, &ada, "secret").await;
    let sessions = database.sessions();
    let at = now();
    assert!(
        sessions
            .revoke(session.id, at, &event(AuditAction::LoggedOut, &ada))
            .await
            .unwrap()
    );
    assert!(
        !sessions
            .revoke(
                session.id,
                micros(at + Duration::seconds(5)),
                &event(AuditAction::RefreshReused, &ada)
            )
            .await
            .unwrap(),
        "already revoked"
    );
    let (found, _) = sessions.find_with_user(session.id).await.unwrap().unwrap();
    assert_eq!(
        found.revoked_at,
        Some(at),
        "the first revocation's time stays"
    );
    assert!(!found.is_live(at));
    let events = database
        .audit()
        .list(&AuditQuery {
            actor: None,
            target: Some(ada.id()),
            action: None,
            offset: 0,
            limit: 10,
        })
        .await
        .unwrap();
    let actions: Vec<AuditAction> = events.events.iter().map(|event| event.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::RefreshReused,
            AuditAction::LoggedOut,
            AuditAction::SignedUp
        ]
    );
}

async fn revoke_all_revokes_only_that_users_unrevoked_sessions(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    let grace = user("grace@example.com", "Grace Hopper");
    let phone = insert_with_session(&database, &ada, "phone").await;
    let other = insert_with_session(&database, &grace, "grace").await;
    let users = database.users();
    let sessions = database.sessions();
    let laptop = session(&ada, "laptop");
    users
        .record_login(
            ada.id(),
            ada.password_hash(),
            now(),
            None,
            &laptop,
            &event(AuditAction::LoggedIn, &ada),
        )
        .await
        .unwrap()
        .then_some(())
        .expect("the login is recorded");
    let tablet = session(&ada, "tablet");
    users
        .record_login(
            ada.id(),
            ada.password_hash(),
            now(),
            None,
            &tablet,
            &event(AuditAction::LoggedIn, &ada),
        )
        .await
        .unwrap()
        .then_some(())
        .expect("the login is recorded");
    let earlier = now();
    sessions
        .revoke(
            tablet.id,
            earlier,
            &event(AuditAction::SessionRevoked, &ada),
        )
        .await
        .unwrap();

    let at = micros(earlier + Duration::seconds(1));
    let revoked = sessions
        .revoke_all(ada.id(), at, &event(AuditAction::LoggedOutEverywhere, &ada))
        .await
        .unwrap();
    assert_eq!(
        revoked, 2,
        "phone and laptop; the tablet was revoked already"
    );
    for (id, expected) in [(phone.id, at), (laptop.id, at), (tablet.id, earlier)] {
        let (found, _) = sessions.find_with_user(id).await.unwrap().unwrap();
        assert_eq!(found.revoked_at, Some(expected));
    }
    let (found, _) = sessions.find_with_user(other.id).await.unwrap().unwrap();
    assert_eq!(found.revoked_at, None);
    assert_eq!(
        sessions
            .revoke_all(ada.id(), at, &event(AuditAction::LoggedOutEverywhere, &ada))
            .await
            .unwrap(),
        0
    );
}

async fn list_live_returns_unrevoked_unexpired_sessions_most_recently_used_first(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    let users = database.users();
    let sessions = database.sessions();
    let start = now();
    let mut opened = Vec::new();
    for (index, secret) in ["a", "b", "c", "d"].into_iter().enumerate() {
        let mut session = session(&ada, secret);
        session.last_used_at = micros(start + Duration::seconds(i64::try_from(index).unwrap()));
        opened.push(session.clone());
        users
            .record_login(
                ada.id(),
                ada.password_hash(),
                start,
                None,
                &session,
                &event(AuditAction::LoggedIn, &ada),
            )
            .await
            .unwrap()
            .then_some(())
            .expect("the login is recorded");
    }
    let mut expired = session(&ada, "expired");
    expired.expires_at = micros(start - Duration::seconds(1));
    users
        .record_login(
            ada.id(),
            ada.password_hash(),
            start,
            None,
            &expired,
            &event(AuditAction::LoggedIn, &ada),
        )
        .await
        .unwrap()
        .then_some(())
        .expect("the login is recorded");
    sessions
        .revoke(
            opened[2].id,
            start,
            &event(AuditAction::SessionRevoked, &ada),
        )
        .await
        .unwrap();
    // Someone else's session never shows.
    let grace = user("grace@example.com", "Grace Hopper");
    insert_with_session(&database, &grace, "grace").await;

    let live = sessions.list_live(ada.id(), start).await.unwrap();
    assert_eq!(
        live,
        [opened[3].clone(), opened[1].clone(), opened[0].clone()]
    );
    // A session expiring exactly now is no longer live.
    let last_expiry = opened
        .iter()
        .map(|session| session.expires_at)
        .max()
        .unwrap();
    let at_expiry = sessions.list_live(ada.id(), last_expiry).await.unwrap();
    assert!(at_expiry.is_empty(), "{at_expiry:?}");
}

async fn concurrent_lookups_each_get_their_own_session_and_see_a_revocation_at_once(
    database: TestDb,
) {
    // Lookups by id are coalesced into shared queries: many at once must still each get
    // exactly their own session (or nothing), and a change committed before a lookup starts
    // must show in its answer.
    let mut expected = Vec::new();
    for n in 0..12 {
        let person = user(&format!("user{n}@example.com"), &format!("User {n}"));
        let session = insert_with_session(&database, &person, &format!("secret-{n}")).await;
        expected.push((session, person));
    }
    let sessions = Arc::new(database.sessions());
    let mut lookups = Vec::new();
    for round in 0..10 {
        for (session, person) in &expected {
            let sessions = Arc::clone(&sessions);
            let (id, session, person) = (session.id, session.clone(), person.clone());
            lookups.push(tokio::spawn(async move {
                let found = sessions.find_with_user(id).await.unwrap();
                assert_eq!(found, Some((session, person)), "round {round}");
            }));
        }
        let sessions = Arc::clone(&sessions);
        lookups.push(tokio::spawn(async move {
            assert_eq!(
                sessions.find_with_user(SessionId::new()).await.unwrap(),
                None
            );
        }));
    }
    for lookup in lookups {
        lookup.await.unwrap();
    }

    let (revoked, person) = &expected[3];
    let at = now();
    assert!(
        sessions
            .revoke(revoked.id, at, &event(AuditAction::LoggedOut, person))
            .await
            .unwrap()
    );
    let (found, _) = sessions.find_with_user(revoked.id).await.unwrap().unwrap();
    assert_eq!(found.revoked_at, Some(at));
    let (other, _) = sessions
        .find_with_user(expected[4].0.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.revoked_at, None);
}

/// The coalesced lookup reads its columns by position: with every timestamp of the session
/// and of the user different, a column read into the wrong field cannot go unnoticed.
async fn find_with_user_reads_each_column_into_its_own_field(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    let hour = Duration::hours(1);
    let stored = Session {
        created_at: micros(now() - hour * 5),
        last_used_at: micros(now() - hour * 4),
        expires_at: micros(now() + hour * 50),
        revoked_at: Some(micros(now() - hour * 3)),
        ..session(&ada, "every-field")
    };
    database
        .users()
        .record_login(
            ada.id(),
            ada.password_hash(),
            now(),
            None,
            &stored,
            &event(AuditAction::LoggedIn, &ada),
        )
        .await
        .unwrap()
        .then_some(())
        .expect("the login is recorded");
    database
        .raw(
            "UPDATE users SET date_joined = '2020-01-01T01:01:01.000001Z', \
             last_login = '2021-02-02T02:02:02.000002Z', \
             updated_at = '2023-04-04T04:04:04.000004Z' \
             WHERE email = 'ada@example.com'",
        )
        .await;

    let (session, found) = database
        .sessions()
        .find_with_user(stored.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session, stored);
    let at = |raw: &str| {
        time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).unwrap()
    };
    assert_eq!(found.id(), ada.id());
    assert_eq!(found.email(), ada.email());
    assert_eq!(found.full_name(), ada.full_name());
    assert_eq!(found.password_hash(), ada.password_hash());
    assert_eq!(found.role(), ada.role());
    assert!(found.is_active());
    assert_eq!(found.date_joined(), at("2020-01-01T01:01:01.000001Z"));
    assert_eq!(found.last_login(), Some(at("2021-02-02T02:02:02.000002Z")));
    assert_eq!(found.updated_at(), at("2023-04-04T04:04:04.000004Z"));
}
