//! Requests that race: the database, not the order of arrival, decides, and what it decides
//! survives a restart.

use crate::helpers::{Backend, PASSWORD, TestDatabase, on_both_backends, spawn_app, spawn_on};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

on_both_backends!(
    fifty_simultaneous_sign_ups_with_one_email_make_one_user,
    simultaneous_refreshes_of_one_token_let_exactly_one_through,
    simultaneous_toggles_end_as_their_number_says,
    a_rotated_refresh_token_stays_dead_across_a_restart_and_its_replay_revokes_the_session,
    twenty_guesses_at_once_get_no_more_password_checks_than_five_in_a_row,
);

async fn fifty_simultaneous_sign_ups_with_one_email_make_one_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let attempts = (0..50)
        .map(|n| {
            // The same address, spelled in different cases.
            let email = if n % 2 == 0 {
                "ada@example.com"
            } else {
                "ADA@Example.com"
            };
            app.request(Method::POST, "/api/auth/signup/").json(
                &json!({"email": email, "password": PASSWORD, "full_name": format!("Ada {n}")}),
            )
        })
        .collect();
    let statuses = all_at_once(attempts).await;
    let created = count(&statuses, StatusCode::CREATED);
    let taken = count(&statuses, StatusCode::CONFLICT);
    assert_eq!((created, taken), (1, 49), "{statuses:?}");
    let admin = app.admin().await;
    let found: Value = app
        .get("/api/admin/users/?search=ada%40example.com", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["count"], 1);
}

async fn simultaneous_refreshes_of_one_token_let_exactly_one_through(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.signup("ada@example.com", "Ada").await;
    let refreshes = (0..10)
        .map(|_| {
            app.request(Method::POST, "/api/auth/token/refresh/")
                .json(&json!({"refresh": ada.refresh}))
        })
        .collect();
    let statuses = all_at_once(refreshes).await;
    let through = count(&statuses, StatusCode::OK);
    assert_eq!(through, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED)
    );
}

async fn simultaneous_toggles_end_as_their_number_says(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.signup("ada@example.com", "Ada").await;
    let admin = app.admin().await;
    let path = format!("/api/admin/users/{}/toggle/", ada.id);
    let toggles = (0..20)
        .map(|_| app.request(Method::PATCH, &path).bearer_auth(&admin.access))
        .collect();
    let statuses = all_at_once(toggles).await;
    // A toggle that read the account before another one wrote it is refused (409) rather than
    // undoing it; every other toggle applies.
    let done = count(&statuses, StatusCode::OK);
    let refused = count(&statuses, StatusCode::CONFLICT);
    assert_eq!(done + refused, 20, "{statuses:?}");
    assert!(done >= 1);
    let user: Value = app
        .get(&format!("/api/admin/users/{}/", ada.id), &admin.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        user["is_active"],
        done.is_multiple_of(2),
        "{done} applied toggles leave the account as their number says"
    );
    let audit: Value = app
        .get(
            &format!(
                "/api/admin/audit/?action=admin_toggle_active&target={}&page_size=100",
                ada.id
            ),
            &admin.access,
        )
        .await
        .json()
        .await
        .unwrap();
    let events = audit["results"].as_array().unwrap();
    assert_eq!(events.len(), done, "one event per applied toggle");
    // Newest first, each says what its toggle did: they alternate, ending on the final state.
    for (n, event) in events.iter().enumerate() {
        let expected = if n % 2 == 0 {
            user["is_active"].as_bool().unwrap()
        } else {
            !user["is_active"].as_bool().unwrap()
        };
        assert_eq!(
            event["details"]["is_active"],
            expected.to_string(),
            "{events:?}"
        );
    }
}

async fn a_rotated_refresh_token_stays_dead_across_a_restart_and_its_replay_revokes_the_session(
    backend: Backend,
) {
    let database = Arc::new(TestDatabase::create(backend).await);
    let first = spawn_on(Arc::clone(&database), &[]).await;
    let ada = first.signup("ada@example.com", "Ada").await;
    let rotated = first
        .post("/api/auth/token/refresh/", &json!({"refresh": ada.refresh}))
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let pair: Value = rotated.json().await.unwrap();
    let (access, refresh) = (
        pair["access"].as_str().unwrap(),
        pair["refresh"].as_str().unwrap(),
    );
    drop(first);

    let second = spawn_on(Arc::clone(&database), &[]).await;
    // Replayed at once (within the same second as its rotation), after a restart: refused,
    // and the whole session with it.
    let replay = second
        .post("/api/auth/token/refresh/", &json!({"refresh": ada.refresh}))
        .await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    let newest = second
        .post("/api/auth/token/refresh/", &json!({"refresh": refresh}))
        .await;
    assert_eq!(newest.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(second.me_status(access).await, StatusCode::UNAUTHORIZED);
}

/// Guesses sent all at once must not slip past the lockout while the first ones hash: at
/// login and at change-password, at most five passwords are checked, then everything is 429
/// until the lock ends, the right password too.
async fn twenty_guesses_at_once_get_no_more_password_checks_than_five_in_a_row(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("ada@example.com", "Ada").await;
    let guesses = (0..20)
        .map(|n| {
            app.request(Method::POST, "/api/auth/login/")
                .json(&json!({"email": "ada@example.com", "password": format!("guess-{n}")}))
        })
        .collect();
    let statuses = all_at_once(guesses).await;
    let checked = count(&statuses, StatusCode::UNAUTHORIZED);
    let refused = count(&statuses, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(checked + refused, 20, "{statuses:?}");
    assert!(
        checked <= 4,
        "{checked} wrong passwords answered 401: {statuses:?}"
    );
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    let grace = app.signup("grace@example.com", "Grace").await;
    let guesses = (0..20)
        .map(|n| {
            app.request(Method::PUT, "/api/users/change-password/")
                .bearer_auth(&grace.access)
                .json(&json!({"old_password": format!("guess-{n}"), "new_password": "quiet-walrus-ledger-47"}))
        })
        .collect();
    let statuses = all_at_once(guesses).await;
    let checked = count(&statuses, StatusCode::BAD_REQUEST);
    let refused = count(&statuses, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(checked + refused, 20, "{statuses:?}");
    assert!(
        checked <= 4,
        "{checked} wrong old passwords answered 400: {statuses:?}"
    );
}

/// How many of `statuses` are `status`.
fn count(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// Sends every request at once, each on a task of its own, and returns their statuses.
async fn all_at_once(requests: Vec<reqwest::RequestBuilder>) -> Vec<StatusCode> {
    let mut tasks = tokio::task::JoinSet::new();
    for request in requests {
        tasks.spawn(async move { request.send().await.unwrap().status() });
    }
    tasks.join_all().await
}
