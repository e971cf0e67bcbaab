//! `SqlUserRepository`: every method, the email's uniqueness under concurrency, atomic
//! counters, and corrupt rows.

use crate::support::{
    TestDb, email, event, insert, insert_with_session, micros, now, session, user,
};
use domain::ports::{AuditLog, SaveUserError, SessionRepository, UserRepository};
use domain::{
    AuditAction, AuditQuery, FullName, PasswordHash, Role, SecretHash, UnexpectedKind, User, UserId,
};
use infra_postgres::{PoolOptions, SqlUserRepository};
use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement, TransactionTrait};
use std::sync::Arc;
use time::Duration;

on_both_backends!(
    an_inserted_user_is_found_by_id_and_by_email_with_its_first_session_and_event,
    unknown_ids_and_emails_find_nothing,
    inserting_a_taken_email_is_email_taken_and_leaves_nothing_behind,
    twenty_concurrent_sign_ups_with_one_email_let_exactly_one_through,
    update_saves_the_profile_and_revokes_sessions_only_when_asked,
    updating_to_a_taken_email_is_email_taken,
    updating_an_unknown_user_is_an_internal_error,
    an_update_read_before_another_change_writes_nothing,
    record_login_stores_the_rehash_and_opens_a_session,
    record_login_writes_nothing_for_an_account_changed_while_the_login_was_checked,
    a_login_write_that_fails_midway_writes_nothing_and_leaves_its_connection_usable,
    a_login_write_whose_caller_goes_away_is_whole_or_absent_and_leaves_its_connection_usable,
    a_read_by_email_sees_what_every_connection_committed,
    change_password_revokes_every_session_but_the_replacement,
    a_corrupt_row_is_an_internal_error_not_a_panic,
);

async fn audit_actions(database: &TestDb, target: UserId) -> Vec<AuditAction> {
    let slice = database
        .audit()
        .list(&AuditQuery {
            actor: None,
            target: Some(target),
            action: None,
            offset: 0,
            limit: 100,
        })
        .await
        .unwrap();
    slice.events.into_iter().map(|event| event.action).collect()
}

/// A transaction of another writer that holds `id`'s row (PostgreSQL) or the database's write
/// lock (SQLite) until it is committed or dropped.
async fn hold_the_account(database: &TestDb, id: UserId) -> DatabaseTransaction {
    let holder = database.connection.begin().await.unwrap();
    holder
        .execute_raw(Statement::from_sql_and_values(
            database.backend(),
            "UPDATE users SET last_login = last_login WHERE id = $1",
            [id.as_uuid().into()],
        ))
        .await
        .unwrap();
    holder
}

async fn an_inserted_user_is_found_by_id_and_by_email_with_its_first_session_and_event(
    database: TestDb,
) {
    let ada = user("Ada@Example.com", "Ada Lovelace");
    let session = insert_with_session(&database, &ada, "first-secret").await;

    let users = database.users();
    assert_eq!(users.find_by_id(ada.id()).await.unwrap(), Some(ada.clone()));
    assert_eq!(
        users
            .find_by_email(&email("ada@example.com"))
            .await
            .unwrap(),
        Some(ada.clone())
    );
    let (found_session, found_user) = database
        .sessions()
        .find_with_user(session.id)
        .await
        .unwrap()
        .expect("the first session was inserted");
    assert_eq!(found_session, session);
    assert_eq!(found_user, ada);
    assert_eq!(
        audit_actions(&database, ada.id()).await,
        [AuditAction::SignedUp]
    );
}

async fn unknown_ids_and_emails_find_nothing(database: TestDb) {
    let users = database.users();
    assert_eq!(users.find_by_id(UserId::new()).await.unwrap(), None);
    assert_eq!(
        users
            .find_by_email(&email("nobody@example.com"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        database
            .sessions()
            .find_with_user(domain::SessionId::new())
            .await
            .unwrap(),
        None
    );
}

async fn inserting_a_taken_email_is_email_taken_and_leaves_nothing_behind(database: TestDb) {
    let first = user("grace@example.com", "Grace Hopper");
    insert(&database, &first).await;

    let second = user("GRACE@example.com", "Another Grace");
    let second_session = session(&second, "second-secret");
    let outcome = database
        .users()
        .insert(
            &second,
            Some(second_session.clone()),
            &event(AuditAction::SignedUp, &second),
        )
        .await;
    assert!(
        matches!(outcome, Err(SaveUserError::EmailTaken)),
        "{outcome:?}"
    );

    // The transaction rolled back: no user, no session, no event for the second account.
    assert_eq!(
        database.users().find_by_id(second.id()).await.unwrap(),
        None
    );
    assert_eq!(
        database
            .sessions()
            .find_with_user(second_session.id)
            .await
            .unwrap(),
        None
    );
    assert!(audit_actions(&database, second.id()).await.is_empty());
}

async fn twenty_concurrent_sign_ups_with_one_email_let_exactly_one_through(database: TestDb) {
    let users = Arc::new(database.users());
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..20 {
        let users = Arc::clone(&users);
        tasks.spawn(async move {
            let candidate = user("race@example.com", &format!("Racer {index}"));
            let session = session(&candidate, &format!("race-secret-{index}"));
            users
                .insert(
                    &candidate,
                    Some(session),
                    &event(AuditAction::SignedUp, &candidate),
                )
                .await
        });
    }
    let outcomes = tasks.join_all().await;
    let accepted = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    let taken = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Err(SaveUserError::EmailTaken)))
        .count();
    assert_eq!((accepted, taken), (1, 19), "{outcomes:?}");
}

async fn update_saves_the_profile_and_revokes_sessions_only_when_asked(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    let kept = insert_with_session(&database, &ada, "kept-secret").await;
    let users = database.users();

    let renamed = User::restore(domain::UserRecord {
        email: email("countess@example.com"),
        full_name: FullName::parse("Augusta Ada King").unwrap(),
        role: Role::Admin,
        updated_at: micros(now() + Duration::seconds(1)),
        ..ada.to_record()
    });
    users
        .update(
            &renamed,
            ada.updated_at(),
            false,
            &event(AuditAction::ProfileUpdated, &ada),
        )
        .await
        .unwrap();
    assert_eq!(
        users.find_by_id(ada.id()).await.unwrap(),
        Some(renamed.clone())
    );
    assert_eq!(
        users
            .find_by_email(&email("ada@example.com"))
            .await
            .unwrap(),
        None
    );
    let (session, _) = database
        .sessions()
        .find_with_user(kept.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.revoked_at, None, "not asked to revoke");

    let deactivated = User::restore(domain::UserRecord {
        is_active: false,
        updated_at: micros(now() + Duration::seconds(2)),
        ..renamed.to_record()
    });
    users
        .update(
            &deactivated,
            renamed.updated_at(),
            true,
            &event(AuditAction::ActivationToggled, &ada),
        )
        .await
        .unwrap();
    assert_eq!(
        users.find_by_id(ada.id()).await.unwrap(),
        Some(deactivated.clone())
    );
    let (session, _) = database
        .sessions()
        .find_with_user(kept.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.revoked_at, Some(deactivated.updated_at()));
    assert_eq!(
        audit_actions(&database, ada.id()).await,
        [
            AuditAction::ActivationToggled,
            AuditAction::ProfileUpdated,
            AuditAction::SignedUp
        ]
    );
}

async fn updating_to_a_taken_email_is_email_taken(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    let grace = user("grace@example.com", "Grace Hopper");
    insert(&database, &ada).await;
    insert(&database, &grace).await;

    let clash = User::restore(domain::UserRecord {
        email: email("grace@example.com"),
        ..ada.to_record()
    });
    let outcome = database
        .users()
        .update(
            &clash,
            ada.updated_at(),
            true,
            &event(AuditAction::ProfileUpdated, &ada),
        )
        .await;
    assert!(
        matches!(outcome, Err(SaveUserError::EmailTaken)),
        "{outcome:?}"
    );
    assert_eq!(
        database.users().find_by_id(ada.id()).await.unwrap(),
        Some(ada.clone())
    );
    assert_eq!(
        audit_actions(&database, ada.id()).await,
        [AuditAction::SignedUp]
    );
}

async fn an_update_read_before_another_change_writes_nothing(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    let users = database.users();
    let deactivated = User::restore(domain::UserRecord {
        is_active: false,
        updated_at: micros(now() + Duration::seconds(1)),
        ..ada.to_record()
    });
    users
        .update(
            &deactivated,
            ada.updated_at(),
            true,
            &event(AuditAction::ActivationToggled, &ada),
        )
        .await
        .unwrap();
    // A second toggle that read Ada before the first: it would undo it.
    let stale = User::restore(domain::UserRecord {
        is_active: false,
        full_name: FullName::parse("Stale").unwrap(),
        updated_at: micros(now() + Duration::seconds(2)),
        ..ada.to_record()
    });
    let outcome = users
        .update(
            &stale,
            ada.updated_at(),
            false,
            &event(AuditAction::ActivationToggled, &ada),
        )
        .await;
    assert!(
        matches!(outcome, Err(SaveUserError::Changed)),
        "{outcome:?}"
    );
    let stored = users.find_by_id(ada.id()).await.unwrap().unwrap();
    assert_eq!(stored, deactivated);
    let toggles = audit_actions(&database, ada.id())
        .await
        .into_iter()
        .filter(|action| *action == AuditAction::ActivationToggled)
        .count();
    assert_eq!(toggles, 1, "the refused update recorded no event");
}

async fn updating_an_unknown_user_is_an_internal_error(database: TestDb) {
    let ghost = user("ghost@example.com", "Nobody");
    let outcome = database
        .users()
        .update(
            &ghost,
            ghost.updated_at(),
            false,
            &event(AuditAction::ProfileUpdated, &ghost),
        )
        .await;
    match outcome {
        Err(SaveUserError::Unexpected(error)) => assert_eq!(error.kind(), UnexpectedKind::Internal),
        other => panic!("expected an internal error, got {other:?}"),
    }
    assert!(audit_actions(&database, ghost.id()).await.is_empty());
}

async fn record_login_stores_the_rehash_and_opens_a_session(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    let users = database.users();

    let at = micros(now() + Duration::seconds(1));
    let login_session = session(&ada, "login-secret");
    let rehashed = PasswordHash::new("$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdA$bmV3aGFzaA");
    users
        .record_login(
            ada.id(),
            ada.password_hash(),
            at,
            Some(rehashed.clone()),
            &login_session,
            &event(AuditAction::LoggedIn, &ada),
        )
        .await
        .unwrap()
        .then_some(())
        .expect("the login is recorded");

    let stored = users.find_by_id(ada.id()).await.unwrap().unwrap();
    assert_eq!(stored.last_login(), Some(at));
    assert_eq!(stored.password_hash(), &rehashed);
    assert_eq!(stored.updated_at(), at);
    let (found, _) = database
        .sessions()
        .find_with_user(login_session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, login_session);

    // Without a rehash, the stored hash stays.
    users
        .record_login(
            ada.id(),
            &rehashed,
            at,
            None,
            &session(&ada, "second-login"),
            &event(AuditAction::LoggedIn, &ada),
        )
        .await
        .unwrap()
        .then_some(())
        .expect("the login is recorded");
    let stored = users.find_by_id(ada.id()).await.unwrap().unwrap();
    assert_eq!(stored.password_hash(), &rehashed);
    assert_eq!(
        audit_actions(&database, ada.id())
            .await
            .into_iter()
            .filter(|action| *action == AuditAction::LoggedIn)
            .count(),
        2
    );
}

async fn record_login_writes_nothing_for_an_account_changed_while_the_login_was_checked(
    database: TestDb,
) {
    let users = database.users();
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    let grace = User::restore(domain::UserRecord {
        is_active: false,
        ..user("grace@example.com", "Grace Hopper").to_record()
    });
    insert(&database, &grace).await;
    let ghost = user("ghost@example.com", "Nobody");
    let rehashed = PasswordHash::new("$argon2id$v=19$m=7168,t=5,p=1$bmV3c2FsdA$bmV3aGFzaA");
    // Ada's password changed meanwhile: what was verified is no longer her hash. Grace was
    // deactivated meanwhile. The ghost was deleted meanwhile.
    let stale = PasswordHash::new("$argon2id$v=19$m=7168,t=5,p=1$b2xkc2FsdA$b2xkaGFzaA");
    let attempts = [
        (&ada, &stale, "ada-secret"),
        (&grace, grace.password_hash(), "grace-secret"),
        (&ghost, ghost.password_hash(), "ghost-secret"),
    ];
    for (account, verified, secret) in attempts {
        let recorded = users
            .record_login(
                account.id(),
                verified,
                micros(now()),
                Some(rehashed.clone()),
                &session(account, secret),
                &event(AuditAction::LoggedIn, account),
            )
            .await
            .unwrap();
        assert!(!recorded, "{secret}");
        assert!(
            database
                .sessions()
                .find_by_secret(&SecretHash::new(secret))
                .await
                .unwrap()
                .is_none(),
            "{secret}"
        );
        assert!(
            !audit_actions(&database, account.id())
                .await
                .contains(&AuditAction::LoggedIn),
            "{secret}"
        );
    }
    for unchanged in [&ada, &grace] {
        assert_eq!(
            users.find_by_id(unchanged.id()).await.unwrap().as_ref(),
            Some(unchanged)
        );
    }
}

async fn a_login_write_that_fails_midway_writes_nothing_and_leaves_its_connection_usable(
    database: TestDb,
) {
    // Through the shared pool and through a pool of one, where the next write is sure to
    // meet the connection the failed one used.
    let repositories = [database.users(), database.users_on_one_connection().await];
    for (index, users) in repositories.into_iter().enumerate() {
        fail_a_login_write_midway(&database, &users, index).await;
    }
}

async fn fail_a_login_write_midway(database: &TestDb, users: &SqlUserRepository, index: usize) {
    let ada = user(&format!("ada{index}@example.com"), "Ada Lovelace");
    let first = insert_with_session(database, &ada, &format!("first-secret-{index}")).await;
    // The user's update succeeds, then the session's insert breaks its primary key.
    let mut clash = session(&ada, &format!("clash-secret-{index}"));
    clash.id = first.id;
    let rehashed = PasswordHash::new("$argon2id$v=19$m=7168,t=5,p=1$c2FsdHNhbHQ$aGFzaGhhc2g");
    let error = users
        .record_login(
            ada.id(),
            ada.password_hash(),
            micros(now() + Duration::seconds(1)),
            Some(rehashed.clone()),
            &clash,
            &event(AuditAction::LoggedIn, &ada),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), UnexpectedKind::Internal);

    // Nothing of it stayed: not the update, not the event.
    let stored = users.find_by_id(ada.id()).await.unwrap().unwrap();
    assert_eq!(stored.last_login(), None);
    assert_eq!(stored.password_hash(), ada.password_hash());
    assert_eq!(
        audit_actions(database, ada.id()).await,
        [AuditAction::SignedUp]
    );

    // The one connection is not left inside the failed transaction: it writes again, and
    // the main pool, a writer of its own, is not locked out.
    let next = session(&ada, &format!("next-secret-{index}"));
    users
        .record_login(
            ada.id(),
            ada.password_hash(),
            micros(now() + Duration::seconds(2)),
            None,
            &next,
            &event(AuditAction::LoggedIn, &ada),
        )
        .await
        .unwrap()
        .then_some(())
        .expect("the login is recorded");
    database
        .audit()
        .record(&event(AuditAction::LoginFailed, &ada))
        .await
        .unwrap();
    assert_eq!(
        audit_actions(database, ada.id()).await,
        // Newest first.
        [
            AuditAction::LoginFailed,
            AuditAction::LoggedIn,
            AuditAction::SignedUp
        ]
    );
}

async fn a_login_write_whose_caller_goes_away_is_whole_or_absent_and_leaves_its_connection_usable(
    database: TestDb,
) {
    // Through the shared pool and through a pool of one, where the next write is sure to
    // meet the connection the failed one used.
    let repositories = [database.users(), database.users_on_one_connection().await];
    for (index, users) in repositories.into_iter().enumerate() {
        leave_a_login_write_midway(&database, &users, index).await;
    }
}

async fn leave_a_login_write_midway(database: &TestDb, users: &SqlUserRepository, index: usize) {
    let ada = user(&format!("ada{index}@example.com"), "Ada Lovelace");
    insert(database, &ada).await;
    // Another writer holds the user's row (PostgreSQL) or the database's write lock (SQLite),
    // so the login's write is under way, and waiting, when its caller goes away.
    let holder = hold_the_account(database, ada.id()).await;
    let dropped = session(&ada, &format!("dropped-secret-{index}"));
    let gone = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        users.record_login(
            ada.id(),
            ada.password_hash(),
            micros(now()),
            None,
            &dropped,
            &event(AuditAction::LoggedIn, &ada),
        ),
    )
    .await;
    assert!(gone.is_err(), "the write waited for the other writer");
    holder.commit().await.unwrap();

    // The next write on the same connection works (it would fail, or wait out the busy
    // timeout, if that connection had been left inside a transaction).
    let next = session(&ada, &format!("next-secret-{index}"));
    users
        .record_login(
            ada.id(),
            ada.password_hash(),
            micros(now()),
            None,
            &next,
            &event(AuditAction::LoggedIn, &ada),
        )
        .await
        .unwrap()
        .then_some(())
        .expect("the login is recorded");
    let sessions = database.sessions();
    assert!(
        sessions
            .find_by_secret(&SecretHash::new(format!("next-secret-{index}")))
            .await
            .unwrap()
            .is_some()
    );
    // The dropped write happened whole or not at all: its session and its event together.
    let dropped_session = sessions
        .find_by_secret(&SecretHash::new(format!("dropped-secret-{index}")))
        .await
        .unwrap();
    let logins = audit_actions(database, ada.id())
        .await
        .into_iter()
        .filter(|action| *action == AuditAction::LoggedIn)
        .count();
    assert_eq!(logins, 1 + usize::from(dropped_session.is_some()));
}

async fn a_read_by_email_sees_what_every_connection_committed(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    let users = database.users();
    let address = email("ada@example.com");
    // On SQLite the reads by email have a connection of their own: read once, it has
    // cached ada's pages, which the writes below, on other connections, make stale.
    assert_eq!(
        users.find_by_email(&address).await.unwrap(),
        Some(ada.clone())
    );

    // What the logins' own write connection recorded.
    let at = micros(now() + Duration::seconds(1));
    users
        .record_login(
            ada.id(),
            ada.password_hash(),
            at,
            None,
            &session(&ada, "login-secret"),
            &event(AuditAction::LoggedIn, &ada),
        )
        .await
        .unwrap()
        .then_some(())
        .expect("the login is recorded");
    let logged_in = users.find_by_email(&address).await.unwrap().unwrap();
    assert_eq!(logged_in.last_login(), Some(at));

    // What the pool wrote.
    let rehashed = PasswordHash::new("$argon2id$v=19$m=7168,t=5,p=1$bmV3c2FsdA$bmV3aGFzaA");
    users
        .change_password(
            ada.id(),
            &rehashed,
            micros(now() + Duration::seconds(2)),
            &session(&ada, "changed-secret"),
            &event(AuditAction::PasswordChanged, &ada),
        )
        .await
        .unwrap();
    let changed = users.find_by_email(&address).await.unwrap().unwrap();
    assert_eq!(changed.password_hash(), &rehashed);

    let deactivated = User::restore(domain::UserRecord {
        is_active: false,
        updated_at: micros(now() + Duration::seconds(3)),
        ..changed.to_record()
    });
    users
        .update(
            &deactivated,
            changed.updated_at(),
            true,
            &event(AuditAction::ActivationToggled, &ada),
        )
        .await
        .unwrap();
    assert_eq!(
        users.find_by_email(&address).await.unwrap(),
        Some(deactivated)
    );
}

/// SQLite only: PostgreSQL has no busy timeout (its writers wait for each other's row locks).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_write_that_finds_sqlite_busy_writes_nothing_and_leaves_its_connection_usable() {
    crate::support::run(crate::support::Backend::Sqlite, |database| async move {
        let options = PoolOptions {
            sqlite_busy_timeout: std::time::Duration::from_millis(100),
            ..crate::support::pool_options()
        };
        let on_own_connection = database.users_with(options.clone()).await;
        let on_one_connection = database
            .users_with(PoolOptions {
                max_connections: 1,
                ..options
            })
            .await;
        for (index, users) in [on_own_connection, on_one_connection]
            .into_iter()
            .enumerate()
        {
            let ada = user(&format!("ada{index}@example.com"), "Ada Lovelace");
            insert(&database, &ada).await;
            // Another writer holds SQLite's write lock past the busy timeout.
            let holder = hold_the_account(&database, ada.id()).await;
            let busy = session(&ada, &format!("busy-secret-{index}"));
            let error = users
                .record_login(
                    ada.id(),
                    ada.password_hash(),
                    micros(now()),
                    None,
                    &busy,
                    &event(AuditAction::LoggedIn, &ada),
                )
                .await
                .unwrap_err();
            assert_eq!(error.kind(), UnexpectedKind::Unavailable, "{error}");
            holder.commit().await.unwrap();

            let next = session(&ada, &format!("next-secret-{index}"));
            users
                .record_login(
                    ada.id(),
                    ada.password_hash(),
                    micros(now()),
                    None,
                    &next,
                    &event(AuditAction::LoggedIn, &ada),
                )
                .await
                .unwrap()
                .then_some(())
                .expect("the login is recorded");
            let sessions = database.sessions();
            assert!(
                sessions
                    .find_by_secret(&SecretHash::new(format!("busy-secret-{index}")))
                    .await
                    .unwrap()
                    .is_none()
            );
            assert_eq!(
                audit_actions(&database, ada.id())
                    .await
                    .into_iter()
                    .filter(|action| *action == AuditAction::LoggedIn)
                    .count(),
                1
            );
        }
    })
    .await;
}

async fn change_password_revokes_every_session_but_the_replacement(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    let first = insert_with_session(&database, &ada, "phone-secret").await;
    let users = database.users();
    let laptop = session(&ada, "laptop-secret");
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
    let grace = user("grace@example.com", "Grace Hopper");
    let bystander = insert_with_session(&database, &grace, "grace-secret").await;

    let at = micros(now() + Duration::seconds(1));
    let replacement = session(&ada, "replacement-secret");
    let new_hash = PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$b3RoZXI$b3RoZXJoYXNo");
    users
        .change_password(
            ada.id(),
            &new_hash,
            at,
            &replacement,
            &event(AuditAction::PasswordChanged, &ada),
        )
        .await
        .unwrap();

    let sessions = database.sessions();
    for old in [&first, &laptop] {
        let (found, _) = sessions.find_with_user(old.id).await.unwrap().unwrap();
        assert_eq!(
            found.revoked_at,
            Some(at),
            "every earlier session is revoked"
        );
    }
    let live = sessions.list_live(ada.id(), at).await.unwrap();
    assert_eq!(live, std::slice::from_ref(&replacement));
    let (found, _) = sessions
        .find_with_user(bystander.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.revoked_at, None,
        "another user's session is untouched"
    );
    let stored = users.find_by_id(ada.id()).await.unwrap().unwrap();
    assert_eq!(stored.password_hash(), &new_hash);
    assert_eq!(stored.updated_at(), at);
    assert_eq!(
        audit_actions(&database, ada.id()).await.first(),
        Some(&AuditAction::PasswordChanged)
    );
}

async fn a_corrupt_row_is_an_internal_error_not_a_panic(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    let ada_session = insert_with_session(&database, &ada, "ada-secret").await;
    database
        .raw("UPDATE users SET email = 'not an email' WHERE email = 'ada@example.com'")
        .await;

    let users = database.users();
    let error = users.find_by_id(ada.id()).await.unwrap_err();
    assert_eq!(error.kind(), UnexpectedKind::Internal);
    assert!(error.to_string().contains("email"), "{error}");
    let error = database
        .sessions()
        .find_with_user(ada_session.id)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), UnexpectedKind::Internal);
    let error = database
        .sessions()
        .find_by_secret(&SecretHash::new("ada-secret"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), UnexpectedKind::Internal);
    let listing = users
        .list(&domain::UserQuery {
            filter: domain::UserFilter::default(),
            ordering: domain::UserOrdering::default(),
            page: domain::PageRequest::Number {
                number: 1,
                size: 10,
            },
        })
        .await
        .unwrap_err();
    assert_eq!(listing.kind(), UnexpectedKind::Internal);

    database
        .raw("UPDATE users SET email = 'ada@example.com', role = 'superuser'")
        .await;
    let error = users.find_by_id(ada.id()).await.unwrap_err();
    assert!(error.to_string().contains("role"), "{error}");

    database.raw("UPDATE users SET role = 'user'").await;
    assert!(users.find_by_id(ada.id()).await.unwrap().is_some());
}
