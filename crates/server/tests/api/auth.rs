//! `/api/auth/`: sign-up, login, lockout, refresh rotation and reuse, logout.

use crate::helpers::{Backend, PASSWORD, on_both_backends, problem, spawn_app, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    signup_returns_201_with_the_user_and_a_working_token_pair,
    signup_returns_409_when_the_email_is_taken_in_any_case,
    signup_returns_400_with_every_invalid_field,
    signup_ignores_role_and_is_active_fields,
    login_returns_the_tokens_and_the_user,
    login_gives_one_answer_for_unknown_emails_and_wrong_passwords,
    login_to_a_deactivated_account_is_403_only_with_the_right_password,
    login_locks_the_account_after_five_failures_with_429_and_retry_after,
    a_guesser_locks_out_its_own_address_only_and_unknown_emails_lock_alike,
    refresh_rotates_and_a_reused_token_revokes_the_whole_session,
    refresh_and_access_tokens_are_not_interchangeable,
    refreshing_never_keeps_a_session_past_its_maximum_lifetime,
    logout_revokes_the_session_and_its_access_token_at_once,
    logout_with_an_unknown_token_is_401,
    logout_all_revokes_every_session_of_the_caller,
);

async fn signup_returns_201_with_the_user_and_a_working_token_pair(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .post("/api/auth/signup/", &json!({"email": "  Ada@Example.COM ", "password": PASSWORD, "full_name": " Ada Lovelace "}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let user = &body["user"];
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["full_name"], "Ada Lovelace");
    assert_eq!(user["role"], "user");
    assert_eq!(user["is_active"], true);
    assert!(user["last_login"].is_null());
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());
    assert_eq!(
        uuid::Uuid::parse_str(user["id"].as_str().unwrap())
            .unwrap()
            .get_version_num(),
        7
    );
    let me = app
        .get("/api/users/me/", body["access"].as_str().unwrap())
        .await;
    assert_eq!(me.status(), StatusCode::OK);
    let refreshed = app
        .post(
            "/api/auth/token/refresh/",
            &json!({"refresh": body["refresh"]}),
        )
        .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
}

async fn signup_returns_409_when_the_email_is_taken_in_any_case(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("ada@example.com", "Ada").await;
    let response = app
        .post(
            "/api/auth/signup/",
            &json!({"email": "ADA@example.com", "password": PASSWORD, "full_name": "Other"}),
        )
        .await;
    let body = problem(response, StatusCode::CONFLICT).await;
    assert_eq!(body["type"], "/problems/email-taken");
    assert!(body["errors"]["email"].is_array());
}

async fn signup_returns_400_with_every_invalid_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .post(
            "/api/auth/signup/",
            &json!({"email": "not-an-email", "password": "12345678", "full_name": "   "}),
        )
        .await;
    let body = problem(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["errors"]["email"][0], "Enter a valid email address.");
    assert_eq!(
        body["errors"]["full_name"][0],
        "This field may not be blank."
    );
    let password: Vec<&str> = body["errors"]["password"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(
        password.contains(&"This password is entirely numeric."),
        "{password:?}"
    );
    assert!(
        password.contains(&"This password is too common."),
        "{password:?}"
    );
}

async fn signup_ignores_role_and_is_active_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .post("/api/auth/signup/", &json!({"email": "mallory@example.com", "password": PASSWORD, "full_name": "Mallory", "role": "admin", "is_active": false}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["role"], "user");
    assert_eq!(body["user"]["is_active"], true);
    let admin_list = app
        .get("/api/admin/users/", body["access"].as_str().unwrap())
        .await;
    assert_eq!(admin_list.status(), StatusCode::FORBIDDEN);
}

async fn login_returns_the_tokens_and_the_user(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("ada@example.com", "Ada").await;
    let response = app.login(" ADA@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["access"].as_str().unwrap().split('.').count() == 3);
    assert!(!body["refresh"].as_str().unwrap().is_empty());
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert!(body["user"]["last_login"].is_string());
}

async fn login_gives_one_answer_for_unknown_emails_and_wrong_passwords(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("ada@example.com", "Ada").await;
    let wrong_password = app.login("ada@example.com", "not-the-password").await;
    assert_eq!(wrong_password.headers()["www-authenticate"], "Bearer");
    let wrong_password = problem(wrong_password, StatusCode::UNAUTHORIZED).await;
    let unknown = problem(
        app.login("nobody@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let malformed = problem(
        app.login("nobody", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(wrong_password, unknown);
    assert_eq!(unknown, malformed);
}

async fn login_to_a_deactivated_account_is_403_only_with_the_right_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.signup("ada@example.com", "Ada").await;
    let admin = app.admin().await;
    let toggled = app
        .send(
            Method::PATCH,
            &format!("/api/admin/users/{}/toggle/", user.id),
            &admin.access,
            None,
        )
        .await;
    assert_eq!(toggled.status(), StatusCode::OK);
    let body = problem(
        app.login("ada@example.com", PASSWORD).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(body["type"], "/problems/account-disabled");
    problem(
        app.login("ada@example.com", "wrong-password").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

async fn login_locks_the_account_after_five_failures_with_429_and_retry_after(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("ada@example.com", "Ada").await;
    for _ in 0..4 {
        problem(
            app.login("ada@example.com", "wrong-password").await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    let fifth = app.login("ada@example.com", "wrong-password").await;
    let retry_after: u64 = fifth.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((55..=60).contains(&retry_after), "{retry_after}");
    let body = problem(fifth, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["type"], "/problems/account-locked");
    // Even the right password is refused while the lock lasts.
    let locked = app.login("ada@example.com", PASSWORD).await;
    assert!(locked.headers().contains_key("retry-after"));
    problem(locked, StatusCode::TOO_MANY_REQUESTS).await;
}

/// One wrong password each time the lock ends used to keep an account (an admin's too) locked
/// for good, from anywhere; and only registered emails ever got a 429.
async fn a_guesser_locks_out_its_own_address_only_and_unknown_emails_lock_alike(backend: Backend) {
    let app = spawn_app_with(backend, &["--trusted-proxies", "127.0.0.1"]).await;
    app.signup("ada@example.com", "Ada").await;
    let login_from = |address: &'static str, email: &'static str, password: &'static str| {
        app.request(Method::POST, "/api/auth/login/")
            .header("x-forwarded-for", address)
            .json(&json!({"email": email, "password": password}))
            .send()
    };
    let mut answers = Vec::new();
    for email in ["ada@example.com", "ghost@example.com"] {
        let mut statuses = Vec::new();
        let mut last = Value::Null;
        for _ in 0..5 {
            let response = login_from("203.0.113.5", email, "wrong-password")
                .await
                .unwrap();
            statuses.push(response.status());
            last = response.json().await.unwrap();
        }
        answers.push((statuses, last["type"].clone(), last["title"].clone()));
    }
    assert_eq!(
        answers[0], answers[1],
        "an unknown email answers as a real one"
    );
    assert_eq!(
        answers[0].0,
        [
            [StatusCode::UNAUTHORIZED; 4].as_slice(),
            &[StatusCode::TOO_MANY_REQUESTS]
        ]
        .concat()
    );
    // The guesser's address stays locked, even with the right password...
    let guesser = login_from("203.0.113.5", "ada@example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(guesser.status(), StatusCode::TOO_MANY_REQUESTS);
    // ...and so does its IPv6 neighbourhood, but the owner elsewhere signs in.
    let owner = login_from("198.51.100.7", "ada@example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(owner.status(), StatusCode::OK);
    for address in [
        "2001:db8:1:2::1",
        "2001:db8:1:2::2",
        "2001:db8:1:2::3",
        "2001:db8:1:2::4",
    ] {
        login_from(address, "ada@example.com", "wrong-password")
            .await
            .unwrap();
    }
    let same_network = login_from("2001:db8:1:2::5", "ada@example.com", "wrong")
        .await
        .unwrap();
    assert_eq!(same_network.status(), StatusCode::TOO_MANY_REQUESTS);
    let next_network = login_from("2001:db8:1:3::1", "ada@example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(next_network.status(), StatusCode::OK);
}

async fn refreshing_never_keeps_a_session_past_its_maximum_lifetime(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            "--access-token-lifetime",
            "1",
            "--session-max-lifetime",
            "2",
        ],
    )
    .await;
    let mut refresh = app.signup("ada@example.com", "Ada").await.refresh;
    // Refreshed in time, the session lives on; its refresh token expires with the session.
    let response = app
        .post("/api/auth/token/refresh/", &json!({"refresh": refresh}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    refresh = body["refresh"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;
    let ended = problem(
        app.post("/api/auth/token/refresh/", &json!({"refresh": refresh}))
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(ended["type"], "/problems/token-expired");
}

async fn refresh_rotates_and_a_reused_token_revokes_the_whole_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.signup("ada@example.com", "Ada").await;
    let response = app
        .post(
            "/api/auth/token/refresh/",
            &json!({"refresh": first.refresh}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.unwrap();
    let (access, refresh) = (
        second["access"].as_str().unwrap(),
        second["refresh"].as_str().unwrap(),
    );
    assert_ne!(refresh, first.refresh);
    assert_eq!(app.me_status(access).await, StatusCode::OK);

    // The rotated token presented again: refused, and the session it belonged to is revoked.
    let reused = problem(
        app.post(
            "/api/auth/token/refresh/",
            &json!({"refresh": first.refresh}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(reused["type"], "/problems/token-reused");
    assert_eq!(app.me_status(access).await, StatusCode::UNAUTHORIZED);
    problem(
        app.post("/api/auth/token/refresh/", &json!({"refresh": refresh}))
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

async fn refresh_and_access_tokens_are_not_interchangeable(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.signup("ada@example.com", "Ada").await;
    problem(
        app.post(
            "/api/auth/token/refresh/",
            &json!({"refresh": tokens.access}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        app.get("/api/users/me/", &tokens.refresh).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        app.post("/api/auth/token/refresh/", &json!({"refresh": "made-up"}))
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

async fn logout_revokes_the_session_and_its_access_token_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.signup("ada@example.com", "Ada").await;
    let other_device = app.login_ok("ada@example.com", PASSWORD).await;
    let response = app
        .post("/api/auth/logout/", &json!({"refresh": tokens.refresh}))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.me_status(&tokens.access).await,
        StatusCode::UNAUTHORIZED
    );
    problem(
        app.post(
            "/api/auth/token/refresh/",
            &json!({"refresh": tokens.refresh}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // Other sessions live on; logging out twice is fine.
    assert_eq!(app.me_status(&other_device.access).await, StatusCode::OK);
    let again = app
        .post("/api/auth/logout/", &json!({"refresh": tokens.refresh}))
        .await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
}

async fn logout_with_an_unknown_token_is_401(backend: Backend) {
    let app = spawn_app(backend).await;
    problem(
        app.post("/api/auth/logout/", &json!({"refresh": "never-issued"}))
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        app.post("/api/auth/logout/", &json!({})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

async fn logout_all_revokes_every_session_of_the_caller(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.signup("ada@example.com", "Ada").await;
    let second = app.login_ok("ada@example.com", PASSWORD).await;
    let bystander = app.signup("grace@example.com", "Grace").await;
    let response = app
        .send(Method::POST, "/api/auth/logout-all/", &first.access, None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.me_status(&first.access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.me_status(&second.access).await,
        StatusCode::UNAUTHORIZED
    );
    problem(
        app.post(
            "/api/auth/token/refresh/",
            &json!({"refresh": second.refresh}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(app.me_status(&bystander.access).await, StatusCode::OK);
    let anonymous = app
        .request(Method::POST, "/api/auth/logout-all/")
        .send()
        .await
        .unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
}
