//! `/api/users/`: the signed-in user's profile, password and sessions.

use crate::helpers::{Backend, PASSWORD, on_both_backends, problem, spawn_app};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::{AccessClaims, Clock, Role, SessionId, TokenIssuer as _, UserId};
use infra_jwt::JwtTokenIssuer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

on_both_backends!(
    me_requires_a_valid_bearer_token,
    a_token_signed_with_our_key_but_too_long_lived_or_issued_later_is_refused,
    me_returns_the_callers_account,
    put_me_replaces_name_and_email_and_ignores_role_and_is_active,
    patch_me_changes_one_field_and_refuses_a_taken_email,
    change_password_checks_the_old_one_and_the_policy,
    guessing_the_old_password_locks_the_account_as_failed_logins_do,
    change_password_kills_every_earlier_token_and_returns_a_working_pair,
    sessions_are_listed_with_the_current_one_marked,
    revoking_a_session_ends_it_and_other_users_sessions_are_404,
);

async fn me_requires_a_valid_bearer_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let anonymous = app
        .request(Method::GET, "/api/users/me/")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
    problem(
        app.get("/api/users/me/", "not.a.jwt").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let basic = app
        .request(Method::GET, "/api/users/me/")
        .basic_auth("ada", Some("pw"))
        .send()
        .await
        .unwrap();
    problem(basic, StatusCode::UNAUTHORIZED).await;
    // A token whose signature was tampered with.
    let tokens = app.signup("ada@example.com", "Ada").await;
    let mut forged = tokens.access.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    problem(
        app.get("/api/users/me/", &forged).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A token for the same user and session as `access`, signed with the test server's own key,
/// issued at `issued_at` and living `lifetime`: what a leaked key could mint.
fn resigned(access: &str, issued_at: OffsetDateTime, lifetime: Duration) -> String {
    let payload = access.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let field = |name: &str| claims[name].as_str().unwrap().to_owned();
    let issuer = JwtTokenIssuer::hs256(
        crate::helpers::SECRET_KEY.as_bytes(),
        field("iss"),
        field("aud"),
        Arc::new(SystemClock),
    )
    .unwrap();
    let token = issuer
        .issue(&AccessClaims {
            user_id: UserId::parse(&field("sub")).unwrap(),
            session_id: SessionId::parse(&field("sid")).unwrap(),
            role: Role::User,
            issued_at,
            expires_at: issued_at + lifetime,
            token_id: uuid::Uuid::new_v4(),
        })
        .unwrap();
    token.expose().to_owned()
}

async fn a_token_signed_with_our_key_but_too_long_lived_or_issued_later_is_refused(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let tokens = app.signup("ada@example.com", "Ada").await;
    let now = OffsetDateTime::now_utc();
    // The server issues tokens for ACCESS_TOKEN_LIFETIME (15 minutes by default): the same
    // key and claims with that lifetime pass, which shows the refusals below are the lifetime's.
    let as_issued = resigned(&tokens.access, now, Duration::minutes(15));
    assert_eq!(app.me_status(&as_issued).await, StatusCode::OK);
    let decade = resigned(&tokens.access, now, Duration::days(3650));
    let body = problem(
        app.get("/api/users/me/", &decade).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("lifetime"),
        "{body}"
    );
    let later = resigned(
        &tokens.access,
        now + Duration::hours(1),
        Duration::minutes(15),
    );
    problem(
        app.get("/api/users/me/", &later).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

async fn me_returns_the_callers_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.signup("ada@example.com", "Ada Lovelace").await;
    let response = app.get("/api/users/me/", &tokens.access).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], tokens.id.as_str());
    assert_eq!(body["email"], "ada@example.com");
    assert_eq!(body["full_name"], "Ada Lovelace");
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 7, "{keys:?}");
}

async fn put_me_replaces_name_and_email_and_ignores_role_and_is_active(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.signup("ada@example.com", "Ada").await;
    let body = json!({"full_name": "Ada King", "email": "Countess@Example.com", "role": "admin", "is_active": false});
    let response = app
        .send(Method::PUT, "/api/users/me/", &tokens.access, Some(&body))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["full_name"], "Ada King");
    assert_eq!(user["email"], "countess@example.com");
    assert_eq!(user["role"], "user");
    assert_eq!(user["is_active"], true);
    // PUT needs both fields.
    let partial = app
        .send(
            Method::PUT,
            "/api/users/me/",
            &tokens.access,
            Some(&json!({"full_name": "X"})),
        )
        .await;
    let partial = problem(partial, StatusCode::BAD_REQUEST).await;
    assert!(partial["errors"]["email"].is_array(), "{partial}");
    app.login_ok("countess@example.com", PASSWORD).await;
}

async fn patch_me_changes_one_field_and_refuses_a_taken_email(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.signup("ada@example.com", "Ada").await;
    app.signup("grace@example.com", "Grace").await;
    let response = app
        .send(
            Method::PATCH,
            "/api/users/me/",
            &tokens.access,
            Some(&json!({"full_name": "Zoë Ōtsuka 🚀"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["full_name"], "Zoë Ōtsuka 🚀");
    assert_eq!(user["email"], "ada@example.com");
    let taken = app
        .send(
            Method::PATCH,
            "/api/users/me/",
            &tokens.access,
            Some(&json!({"email": "GRACE@example.com"})),
        )
        .await;
    problem(taken, StatusCode::CONFLICT).await;
    let invalid = app
        .send(
            Method::PATCH,
            "/api/users/me/",
            &tokens.access,
            Some(&json!({"email": "nope", "full_name": ""})),
        )
        .await;
    let invalid = problem(invalid, StatusCode::BAD_REQUEST).await;
    assert!(invalid["errors"]["email"].is_array() && invalid["errors"]["full_name"].is_array());
}

async fn change_password_checks_the_old_one_and_the_policy(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.signup("ada@example.com", "Ada").await;
    let wrong_old = app
        .send(
            Method::PUT,
            "/api/users/change-password/",
            &tokens.access,
            Some(&json!({"old_password": "nope", "new_password": "quiet-walrus-ledger-47"})),
        )
        .await;
    let wrong_old = problem(wrong_old, StatusCode::BAD_REQUEST).await;
    assert!(wrong_old["errors"]["old_password"].is_array());
    let weak = app
        .send(
            Method::PUT,
            "/api/users/change-password/",
            &tokens.access,
            Some(&json!({"old_password": PASSWORD, "new_password": "password1"})),
        )
        .await;
    let weak = problem(weak, StatusCode::BAD_REQUEST).await;
    assert!(weak["errors"]["new_password"].is_array());
    let same = app
        .send(
            Method::PUT,
            "/api/users/change-password/",
            &tokens.access,
            Some(&json!({"old_password": PASSWORD, "new_password": PASSWORD})),
        )
        .await;
    problem(same, StatusCode::BAD_REQUEST).await;
    // Nothing changed: the old password still works.
    app.login_ok("ada@example.com", PASSWORD).await;
}

/// A stolen access token must not buy unlimited guesses at the password behind it.
async fn guessing_the_old_password_locks_the_account_as_failed_logins_do(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.signup("ada@example.com", "Ada").await;
    let guess = |old: &str| json!({"old_password": old, "new_password": "quiet-walrus-ledger-47"});
    for attempt in 1..=4 {
        let wrong = app
            .send(
                Method::PUT,
                "/api/users/change-password/",
                &tokens.access,
                Some(&guess(&format!("guess-{attempt}"))),
            )
            .await;
        problem(wrong, StatusCode::BAD_REQUEST).await;
    }
    let fifth = app
        .send(
            Method::PUT,
            "/api/users/change-password/",
            &tokens.access,
            Some(&guess("guess-5")),
        )
        .await;
    assert!(fifth.headers().contains_key("retry-after"));
    problem(fifth, StatusCode::TOO_MANY_REQUESTS).await;
    // Locked: even the right password is not checked, here or at login.
    let right = app
        .send(
            Method::PUT,
            "/api/users/change-password/",
            &tokens.access,
            Some(&guess(PASSWORD)),
        )
        .await;
    problem(right, StatusCode::TOO_MANY_REQUESTS).await;
    problem(
        app.login("ada@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    // The owner's session goes on.
    assert_eq!(app.me_status(&tokens.access).await, StatusCode::OK);
}

async fn change_password_kills_every_earlier_token_and_returns_a_working_pair(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.signup("ada@example.com", "Ada").await;
    let other_device = app.login_ok("ada@example.com", PASSWORD).await;
    let response = app
        .send(
            Method::PUT,
            "/api/users/change-password/",
            &tokens.access,
            Some(&json!({"old_password": PASSWORD, "new_password": "quiet-walrus-ledger-47"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let pair: Value = response.json().await.unwrap();
    let (access, refresh) = (
        pair["access"].as_str().unwrap(),
        pair["refresh"].as_str().unwrap(),
    );
    for dead in [&tokens.access, &other_device.access] {
        assert_eq!(app.me_status(dead).await, StatusCode::UNAUTHORIZED);
    }
    for dead in [&tokens.refresh, &other_device.refresh] {
        problem(
            app.post("/api/auth/token/refresh/", &json!({"refresh": dead}))
                .await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    assert_eq!(app.me_status(access).await, StatusCode::OK);
    let renewed = app
        .post("/api/auth/token/refresh/", &json!({"refresh": refresh}))
        .await;
    assert_eq!(renewed.status(), StatusCode::OK);
    problem(
        app.login("ada@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    app.login_ok("ada@example.com", "quiet-walrus-ledger-47")
        .await;
}

async fn sessions_are_listed_with_the_current_one_marked(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.signup("ada@example.com", "Ada").await;
    let response = app
        .request(Method::POST, "/api/auth/login/")
        .header("user-agent", "Phone/1.0")
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let second = crate::helpers::tokens(&response.json().await.unwrap());
    let response = app.get("/api/users/me/sessions/", &second.access).await;
    assert_eq!(response.status(), StatusCode::OK);
    let sessions: Vec<Value> = response.json().await.unwrap();
    assert_eq!(sessions.len(), 2);
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["user_agent"], "Phone/1.0");
    assert_eq!(current[0]["ip"], "127.0.0.1");
    for field in ["id", "created_at", "last_used_at", "expires_at"] {
        assert!(current[0][field].is_string(), "{field}");
    }
    drop(first);
}

async fn revoking_a_session_ends_it_and_other_users_sessions_are_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let laptop = app.signup("ada@example.com", "Ada").await;
    let phone = app.login_ok("ada@example.com", PASSWORD).await;
    let stranger = app.signup("eve@example.com", "Eve").await;
    let sessions: Vec<Value> = app
        .get("/api/users/me/sessions/", &laptop.access)
        .await
        .json()
        .await
        .unwrap();
    let phone_session = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let by_stranger = app
        .send(
            Method::DELETE,
            &format!("/api/users/me/sessions/{phone_session}/"),
            &stranger.access,
            None,
        )
        .await;
    problem(by_stranger, StatusCode::NOT_FOUND).await;
    problem(
        app.send(
            Method::DELETE,
            "/api/users/me/sessions/not-an-id/",
            &laptop.access,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let revoked = app
        .send(
            Method::DELETE,
            &format!("/api/users/me/sessions/{phone_session}/"),
            &laptop.access,
            None,
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.me_status(&phone.access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me_status(&laptop.access).await, StatusCode::OK);
    let again = app
        .send(
            Method::DELETE,
            &format!("/api/users/me/sessions/{phone_session}/"),
            &laptop.access,
            None,
        )
        .await;
    problem(again, StatusCode::NOT_FOUND).await;
}
