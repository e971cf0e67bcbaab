//! `SqlAuditLog`: events recorded alone or by the repositories' transactions, listed newest
//! first with filters and pages.

use crate::support::{TestDb, client, event, insert_with_session, micros, now, user};
use domain::ports::{AuditLog, SessionRepository};
use domain::{AuditAction, AuditEvent, AuditQuery, ClientInfo, UnexpectedKind, UserId};
use time::Duration;

on_both_backends!(
    a_recorded_event_reads_back_with_every_field,
    events_of_mutations_are_listed_newest_first_and_filter_by_actor_target_and_action,
    the_audit_listing_pages_by_offset_and_limit_with_a_total,
    a_corrupt_audit_row_is_an_internal_error,
);

fn all() -> AuditQuery {
    AuditQuery {
        actor: None,
        target: None,
        action: None,
        offset: 0,
        limit: 100,
    }
}

async fn a_recorded_event_reads_back_with_every_field(database: TestDb) {
    let actor = UserId::new();
    let target = UserId::new();
    let recorded = AuditEvent::new(AuditAction::UserUpdated, now(), &client())
        .by(actor)
        .on(target)
        .with("fields", "role,is_active")
        .with("reason", "quoted \"text\" and ünïcode");
    database.audit().record(&recorded).await.unwrap();
    let anonymous = AuditEvent::new(
        AuditAction::LoginFailed,
        micros(now() + Duration::seconds(1)),
        &ClientInfo {
            user_agent: None,
            ip: Some("2001:db8::1".parse().unwrap()),
        },
    );
    database.audit().record(&anonymous).await.unwrap();

    let slice = database.audit().list(&all()).await.unwrap();
    assert_eq!(slice.total, 2);
    assert_eq!(slice.events, [anonymous, recorded]);
}

async fn events_of_mutations_are_listed_newest_first_and_filter_by_actor_target_and_action(
    database: TestDb,
) {
    let ada = user("ada@example.com", "Ada Lovelace");
    let grace = user("grace@example.com", "Grace Hopper");
    let ada_session = insert_with_session(&database, &ada, "ada").await;
    insert_with_session(&database, &grace, "grace").await;
    database
        .audit()
        .record(&event(AuditAction::LoginFailed, &grace))
        .await
        .unwrap();
    // An admin (Ada) acting on Grace.
    let admin_event = AuditEvent::new(
        AuditAction::ActivationToggled,
        micros(now() + Duration::seconds(1)),
        &client(),
    )
    .by(ada.id())
    .on(grace.id());
    database
        .sessions()
        .revoke_all(grace.id(), now(), &admin_event)
        .await
        .unwrap();
    let logout = AuditEvent::new(
        AuditAction::LoggedOut,
        micros(now() + Duration::seconds(2)),
        &client(),
    )
    .by(ada.id())
    .on(ada.id())
    .with("session", ada_session.id.to_string());
    database
        .sessions()
        .revoke(ada_session.id, now(), &logout)
        .await
        .unwrap();

    let audit = database.audit();
    let every = audit.list(&all()).await.unwrap();
    assert_eq!(every.total, 5);
    let actions: Vec<AuditAction> = every.events.iter().map(|event| event.action).collect();
    assert_eq!(
        actions[..2],
        [AuditAction::LoggedOut, AuditAction::ActivationToggled]
    );
    assert!(
        every.events.windows(2).all(|pair| pair[0].at >= pair[1].at),
        "newest first"
    );

    let by_ada = audit
        .list(&AuditQuery {
            actor: Some(ada.id()),
            ..all()
        })
        .await
        .unwrap();
    assert_eq!(by_ada.total, 3, "sign-up, toggle, logout");
    assert!(
        by_ada
            .events
            .iter()
            .all(|event| event.actor == Some(ada.id()))
    );

    let on_grace = audit
        .list(&AuditQuery {
            target: Some(grace.id()),
            ..all()
        })
        .await
        .unwrap();
    let actions: Vec<AuditAction> = on_grace.events.iter().map(|event| event.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::ActivationToggled,
            AuditAction::LoginFailed,
            AuditAction::SignedUp
        ]
    );

    let logouts = audit
        .list(&AuditQuery {
            action: Some(AuditAction::LoggedOut),
            ..all()
        })
        .await
        .unwrap();
    assert_eq!(logouts.events, [logout]);

    let combined = audit
        .list(&AuditQuery {
            actor: Some(ada.id()),
            target: Some(grace.id()),
            action: Some(AuditAction::ActivationToggled),
            ..all()
        })
        .await
        .unwrap();
    assert_eq!(combined.events, [admin_event]);
}

async fn the_audit_listing_pages_by_offset_and_limit_with_a_total(database: TestDb) {
    let start = now();
    let mut recorded = Vec::new();
    for index in 0..25_i64 {
        // Pairs share an instant; the id orders them.
        let event = AuditEvent::new(
            AuditAction::LoginFailed,
            start + Duration::seconds(index / 2),
            &client(),
        );
        database.audit().record(&event).await.unwrap();
        recorded.push(event);
    }
    recorded.sort_by_key(|event| std::cmp::Reverse((event.at, event.id.as_uuid())));
    let mut seen = Vec::new();
    for offset in (0..25).step_by(10) {
        let slice = database
            .audit()
            .list(&AuditQuery {
                offset,
                limit: 10,
                ..all()
            })
            .await
            .unwrap();
        assert_eq!(slice.total, 25);
        seen.extend(slice.events);
    }
    assert_eq!(seen, recorded);
    let past_the_end = database
        .audit()
        .list(&AuditQuery {
            offset: 30,
            limit: 10,
            ..all()
        })
        .await
        .unwrap();
    assert!(past_the_end.events.is_empty());
    assert_eq!(past_the_end.total, 25);
}

async fn a_corrupt_audit_row_is_an_internal_error(database: TestDb) {
    let event = AuditEvent::new(AuditAction::LoginFailed, now(), &client());
    database.audit().record(&event).await.unwrap();
    database
        .raw("UPDATE audit_events SET action = 'teleported'")
        .await;
    let error = database.audit().list(&all()).await.unwrap_err();
    assert_eq!(error.kind(), UnexpectedKind::Internal);
    assert!(error.to_string().contains("action"), "{error}");

    database
        .raw("UPDATE audit_events SET action = 'login_failed', ip = 'not an address'")
        .await;
    let error = database.audit().list(&all()).await.unwrap_err();
    assert!(error.to_string().contains("ip"), "{error}");
}
