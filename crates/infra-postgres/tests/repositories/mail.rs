//! `SqlOneTimeTokens` and `SqlOutbox`: a link is issued with its message in one transaction,
//! used once, and sets the others aside; the outbox hands each message to one claimer, and
//! forgets a link's secret once the message is done with.

use crate::support::{TestDb, email, event, hash, insert, insert_with_session, micros, now, user};
use domain::ports::{OneTimeTokens, Outbox, SessionRepository, UserRepository};
use domain::{
    AuditAction, FullName, IssueLimit, Mail, MailKind, MailStatus, OneTimeToken, OutboxQuery,
    OutboxSlice, PasswordHash, RefreshSecret, SecretHash, Session, TokenPurpose, User,
};
use infra_postgres::SqlOutbox;
use std::collections::HashSet;
use std::sync::Arc;
use time::Duration;

on_both_backends!(
    a_link_and_its_message_are_stored_together_and_found_by_hash,
    ten_issues_at_once_under_a_limit_of_three_store_exactly_three,
    a_password_change_or_any_update_sets_the_reset_links_aside,
    finished_messages_and_expired_links_are_forgotten_after_their_time,
    a_link_works_once_and_sets_the_others_aside,
    an_expired_link_or_a_deactivated_account_writes_nothing,
    two_claimers_at_once_never_take_the_same_message,
    a_message_is_due_again_after_a_retry_and_forgets_its_secret_when_done,
);

/// The outbox's entries with `status` (any, for `None`), ten from `offset`.
async fn listed(outbox: &SqlOutbox, status: Option<MailStatus>, offset: u64) -> OutboxSlice {
    outbox
        .list(&OutboxQuery {
            status,
            offset,
            limit: 10,
        })
        .await
        .unwrap()
}

fn reset_token(user: &User, secret: &str) -> OneTimeToken {
    OneTimeToken::issue(
        user.id(),
        TokenPurpose::PasswordReset,
        SecretHash::new(format!("h:{secret}")),
        micros(now()),
        Duration::minutes(30),
    )
}

fn reset_mail(user: &User, secret: &str) -> Mail {
    Mail::new(
        user.email().clone(),
        user.full_name().clone(),
        MailKind::PasswordReset,
        micros(now()),
    )
    .with_link(
        RefreshSecret::new(secret),
        micros(now() + Duration::minutes(30)),
    )
}

async fn issue(database: &TestDb, user: &User, secret: &str) -> OneTimeToken {
    let token = reset_token(user, secret);
    let issued = database
        .one_time_tokens()
        .issue(
            &token,
            &reset_mail(user, secret),
            &event(AuditAction::PasswordResetRequested, user),
            None,
        )
        .await
        .unwrap();
    assert!(issued);
    token
}

async fn a_link_and_its_message_are_stored_together_and_found_by_hash(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    let token = issue(&database, &ada, "first").await;
    let tokens = database.one_time_tokens();
    assert_eq!(
        tokens.find(&SecretHash::new("h:first")).await.unwrap(),
        Some(token)
    );
    assert_eq!(
        tokens.find(&SecretHash::new("h:other")).await.unwrap(),
        None
    );
    let claimed = database
        .outbox()
        .claim(now(), now() + Duration::minutes(10), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let mail = &claimed[0].mail;
    assert_eq!(claimed[0].attempt, 1);
    assert_eq!(mail.to, ada.email().clone());
    assert_eq!(mail.name, FullName::parse("Ada Lovelace").unwrap());
    assert_eq!(mail.kind, MailKind::PasswordReset);
    assert_eq!(
        mail.link.as_ref().map(|link| link.token.expose()),
        Some("first")
    );
    database.outbox().delivered(mail.id, now()).await.unwrap();

    // A link for an account that does not exist rolls back with its message.
    let ghost = user("ghost@example.com", "Nobody");
    let failed = database
        .one_time_tokens()
        .issue(
            &reset_token(&ghost, "ghost"),
            &reset_mail(&ghost, "ghost"),
            &event(AuditAction::PasswordResetRequested, &ghost),
            None,
        )
        .await;
    assert!(failed.is_err());
    let claimed = database
        .outbox()
        .claim(now() + Duration::hours(1), now() + Duration::hours(2), 10)
        .await
        .unwrap();
    assert!(claimed.is_empty(), "{claimed:?}");
}

async fn ten_issues_at_once_under_a_limit_of_three_store_exactly_three(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    // One link from before the window does not count.
    let mut old = reset_token(&ada, "old");
    old.created_at = micros(now() - Duration::hours(2));
    let tokens = Arc::new(database.one_time_tokens());
    let limit = IssueLimit {
        since: now() - Duration::hours(1),
        at_most: 3,
    };
    assert!(
        tokens
            .issue(
                &old,
                &reset_mail(&ada, "old"),
                &event(AuditAction::PasswordResetRequested, &ada),
                Some(limit),
            )
            .await
            .unwrap()
    );
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..10 {
        let (tokens, ada) = (Arc::clone(&tokens), ada.clone());
        tasks.spawn(async move {
            let secret = format!("secret-{n}");
            tokens
                .issue(
                    &reset_token(&ada, &secret),
                    &reset_mail(&ada, &secret),
                    &event(AuditAction::PasswordResetRequested, &ada),
                    Some(limit),
                )
                .await
                .unwrap()
        });
    }
    let outcomes = tasks.join_all().await;
    assert_eq!(
        outcomes.iter().filter(|issued| **issued).count(),
        3,
        "{outcomes:?}"
    );
    let stored = database
        .scalar_count("SELECT COUNT(*) FROM one_time_tokens")
        .await;
    let queued = database.scalar_count("SELECT COUNT(*) FROM outbox").await;
    assert_eq!((stored, queued), (4, 4), "a refused issue writes nothing");
}

async fn a_password_change_or_any_update_sets_the_reset_links_aside(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    let tokens = database.one_time_tokens();
    let first = issue(&database, &ada, "first").await;
    let later = micros(now() + Duration::minutes(1));
    database
        .users()
        .change_password(
            ada.id(),
            &PasswordHash::new("$argon2id$changed"),
            later,
            &crate::support::session(&ada, "h:after-change"),
            &event(AuditAction::PasswordChanged, &ada),
        )
        .await
        .unwrap();
    let first = tokens.find(&first.secret_hash).await.unwrap().unwrap();
    assert_eq!(first.used_at, Some(later));

    let second = issue(&database, &ada, "second").await;
    let stored = database
        .users()
        .find_by_id(ada.id())
        .await
        .unwrap()
        .unwrap();
    let mut record = stored.to_record();
    record.email = crate::support::email("ada@new.example.com");
    record.updated_at = micros(now() + Duration::minutes(2));
    database
        .users()
        .update(
            &User::restore(record),
            stored.updated_at(),
            false,
            &event(AuditAction::ProfileUpdated, &ada),
        )
        .await
        .unwrap();
    let second = tokens.find(&second.secret_hash).await.unwrap().unwrap();
    assert!(
        second.used_at.is_some(),
        "a link to the old address is dead"
    );
}

async fn a_link_works_once_and_sets_the_others_aside(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert_with_session(&database, &ada, "h:old-session").await;
    let first = issue(&database, &ada, "first").await;
    let second = issue(&database, &ada, "second").await;
    let tokens = Arc::new(database.one_time_tokens());
    let at = micros(now() + Duration::minutes(5));
    let new_hash = PasswordHash::new("$argon2id$new");

    // Two uses of one link at once: exactly one wins.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let (tokens, first, new_hash, ada) = (
            Arc::clone(&tokens),
            first.clone(),
            new_hash.clone(),
            ada.clone(),
        );
        tasks.spawn(async move {
            let session = Session::start(
                ada.id(),
                SecretHash::new(format!("h:{}", uuid::Uuid::new_v4())),
                at,
                Duration::days(7),
                crate::support::client(),
            );
            let event = event(AuditAction::PasswordReset, &ada);
            tokens
                .reset_password(&first, &new_hash, at, &session, &event)
                .await
                .unwrap()
        });
    }
    let outcomes = tasks.join_all().await;
    assert_eq!(
        outcomes.iter().filter(|won| **won).count(),
        1,
        "{outcomes:?}"
    );

    let stored = database
        .users()
        .find_by_id(ada.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.password_hash(), &new_hash);
    let sessions = database.sessions();
    let live = sessions.list_live(ada.id(), at).await.unwrap();
    assert_eq!(live.len(), 1, "only the reset's own session is live");
    assert!(
        live[0].secret_hash.as_str() != "h:old-session",
        "the earlier session was revoked"
    );
    // The second link was set aside by the use of the first.
    let second = tokens.find(&second.secret_hash).await.unwrap().unwrap();
    assert!(!second.is_usable(at));
    let session = crate::support::session(&ada, "h:unused");
    assert!(
        !tokens
            .reset_password(
                &second,
                &hash(),
                at,
                &session,
                &event(AuditAction::PasswordReset, &ada)
            )
            .await
            .unwrap()
    );
}

async fn an_expired_link_or_a_deactivated_account_writes_nothing(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    let token = issue(&database, &ada, "first").await;
    let tokens = database.one_time_tokens();
    let session = crate::support::session(&ada, "h:new");
    let reset = event(AuditAction::PasswordReset, &ada);
    let new_hash = PasswordHash::new("$argon2id$new");
    let expired = micros(now() + Duration::minutes(30));
    assert!(
        !tokens
            .reset_password(&token, &new_hash, expired, &session, &reset)
            .await
            .unwrap()
    );
    database
        .raw(&format!(
            "UPDATE users SET is_active = false WHERE email = '{}'",
            ada.email().as_str()
        ))
        .await;
    let in_time = micros(now() + Duration::minutes(1));
    assert!(
        !tokens
            .reset_password(&token, &new_hash, in_time, &session, &reset)
            .await
            .unwrap()
    );
    // Nothing was written: the link is still unused and the password unchanged.
    let stored = tokens.find(&token.secret_hash).await.unwrap().unwrap();
    assert_eq!(stored.used_at, None);
    let account = database
        .users()
        .find_by_id(ada.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.password_hash(), &hash());
    assert_eq!(email("ada@example.com"), account.email().clone());
}

async fn two_claimers_at_once_never_take_the_same_message(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    for n in 0..40 {
        issue(&database, &ada, &format!("secret-{n}")).await;
    }
    let outbox = Arc::new(database.outbox());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let outbox = Arc::clone(&outbox);
        tasks.spawn(async move {
            let mut taken = Vec::new();
            loop {
                let claimed = outbox
                    .claim(now(), now() + Duration::minutes(10), 3)
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    return taken;
                }
                taken.extend(claimed.into_iter().map(|queued| queued.mail.id));
            }
        });
    }
    let taken: Vec<_> = tasks.join_all().await.into_iter().flatten().collect();
    let distinct: HashSet<_> = taken.iter().collect();
    assert_eq!(taken.len(), 40, "every message claimed once");
    assert_eq!(distinct.len(), 40, "no message claimed twice");
}

async fn a_message_is_due_again_after_a_retry_and_forgets_its_secret_when_done(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    issue(&database, &ada, "first").await;
    let outbox = database.outbox();
    let lease = now() + Duration::minutes(10);
    let first = outbox.claim(now(), lease, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    let id = first[0].mail.id;
    // Claimed: no other worker takes it while the lease runs.
    assert!(outbox.claim(now(), lease, 10).await.unwrap().is_empty());
    let retry_at = micros(now() + Duration::seconds(30));
    outbox.retry(id, retry_at, "451 try later").await.unwrap();
    assert!(
        outbox
            .claim(retry_at - Duration::seconds(1), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = outbox.claim(retry_at, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
    outbox.delivered(id, retry_at).await.unwrap();
    // Done with: never claimed again, and the secret is gone from storage.
    let much_later = now() + Duration::days(1);
    assert!(
        outbox
            .claim(much_later, much_later, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let secrets = database
        .scalar_count("SELECT COUNT(*) FROM outbox WHERE token IS NOT NULL")
        .await;
    assert_eq!(secrets, 0);
    let sent = listed(&outbox, Some(MailStatus::Sent), 0).await;
    assert_eq!(sent.total, 1);
    let entry = &sent.entries[0];
    assert_eq!((entry.id, entry.attempts), (id, 2));
    assert_eq!(entry.last_error, None, "a delivered message keeps no error");
    assert_eq!(entry.finished_at, Some(retry_at));

    // A message given up on stays, with its reason, for administrators to see.
    issue(&database, &ada, "second").await;
    let claimed = outbox.claim(much_later, much_later, 10).await.unwrap();
    outbox
        .give_up(claimed[0].mail.id, much_later, "550 no such mailbox")
        .await
        .unwrap();
    let secrets = database
        .scalar_count("SELECT COUNT(*) FROM outbox WHERE token IS NOT NULL")
        .await;
    assert_eq!(secrets, 0, "a message given up on forgets its link too");
    let failed = listed(&outbox, Some(MailStatus::Failed), 0).await;
    assert_eq!(failed.total, 1);
    assert_eq!(failed.entries[0].status, MailStatus::Failed);
    assert_eq!(
        failed.entries[0].last_error.as_deref(),
        Some("550 no such mailbox")
    );
    let every = listed(&outbox, None, 1).await;
    assert_eq!(every.total, 2);
    assert_eq!(
        every.entries.len(),
        1,
        "the second page of one holds the older"
    );
    assert_eq!(every.entries[0].id, id);
}

async fn finished_messages_and_expired_links_are_forgotten_after_their_time(database: TestDb) {
    let ada = user("ada@example.com", "Ada Lovelace");
    insert(&database, &ada).await;
    let outbox = database.outbox();
    for secret in ["sent", "failed"] {
        issue(&database, &ada, secret).await;
    }
    let claimed = outbox
        .claim(now(), now() + Duration::minutes(10), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let finished = micros(now());
    outbox
        .delivered(claimed[0].mail.id, finished)
        .await
        .unwrap();
    outbox
        .give_up(claimed[1].mail.id, finished, "550 no such mailbox")
        .await
        .unwrap();
    issue(&database, &ada, "pending").await;

    // Finished messages go once they are older than the cutoff; pending ones stay.
    assert_eq!(outbox.forget_finished(finished).await.unwrap(), 0);
    let later = finished + Duration::seconds(1);
    assert_eq!(outbox.forget_finished(later).await.unwrap(), 2);
    let left = listed(&outbox, None, 0).await;
    assert_eq!(left.total, 1);
    assert_eq!(left.entries[0].status, MailStatus::Pending);

    // Links go once they expired before the cutoff, used or not.
    let tokens = database.one_time_tokens();
    assert_eq!(tokens.forget_expired(now()).await.unwrap(), 0);
    let after_expiry = now() + Duration::minutes(31);
    assert_eq!(tokens.forget_expired(after_expiry).await.unwrap(), 3);
    let stored = database
        .scalar_count("SELECT COUNT(*) FROM one_time_tokens")
        .await;
    assert_eq!(stored, 0);
}
