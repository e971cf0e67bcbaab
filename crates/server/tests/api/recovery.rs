//! Password reset by mail, through a real SMTP server: the link arrives, works once, expires,
//! ends every session; strangers learn nothing; mail waits out a stopped server; two instances
//! on one database send each message once.

use crate::helpers::{
    Backend, PASSWORD, SmtpSink, TestApp, TestDatabase, free_port, on_both_backends, problem,
    reset_token, spawn_app_with, spawn_on,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

on_both_backends!(
    a_forgotten_password_is_reset_through_the_mailed_link,
    strangers_and_deactivated_accounts_get_the_same_answer_and_no_mail,
    a_link_stops_working_when_it_expires,
    an_admin_mails_a_reset_link_and_only_an_admin_may,
    one_account_gets_three_links_an_hour_and_one_address_five_requests,
    mail_waits_while_the_mail_server_is_down_and_leaves_once_it_is_back,
    a_refused_message_is_kept_as_failed_and_shown_to_admins,
    two_instances_deliver_each_message_exactly_once,
);

const NEW_PASSWORD: &str = "quiet-harbour-lantern-58";
const PUBLIC_URL: &str = "https://accounts.example.test";

fn mail_args<'a>(sink_url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--email-backend",
        "smtp",
        "--smtp-url",
        sink_url,
        "--public-url",
        PUBLIC_URL,
        "--mail-from",
        "Accounts <accounts@example.test>",
    ];
    args.extend_from_slice(extra);
    args
}

async fn request_reset(app: &TestApp, email: &str) -> Value {
    let response = app
        .post("/api/auth/password-reset/", &json!({"email": email}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.json().await.unwrap()
}

async fn confirm(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post(
        "/api/auth/password-reset/confirm/",
        &json!({"token": token, "new_password": password}),
    )
    .await
}

async fn a_forgotten_password_is_reset_through_the_mailed_link(backend: Backend) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(backend, &mail_args(&url, &[])).await;
    let before = app.signup("ada@example.com", "Ada Lovelace").await;

    request_reset(&app, " ADA@Example.com ").await;
    let messages = sink.wait_for(1, Duration::from_secs(10)).await;
    let message = &messages[0];
    assert_eq!(message["to"], json!(["ada@example.com"]));
    assert!(
        message["from"]
            .as_str()
            .unwrap()
            .contains("accounts@example.test")
    );
    let text = message["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("{PUBLIC_URL}/reset-password?token=")),
        "{text}"
    );
    assert!(message["html"].as_str().unwrap().contains("reset-password"));
    let token = reset_token(message);

    // A weak password is refused, and the link still works afterwards.
    let weak = problem(
        confirm(&app, &token, "12345678").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(weak["errors"]["new_password"].is_array(), "{weak}");

    let reset = confirm(&app, &token, NEW_PASSWORD).await;
    assert_eq!(reset.status(), StatusCode::OK);
    let body: Value = reset.json().await.unwrap();
    assert_eq!(body["user"]["email"], "ada@example.com");
    let access = body["access"].as_str().unwrap();
    assert_eq!(app.me_status(access).await, StatusCode::OK);

    // Every earlier session ended: its access and its refresh token are refused at once.
    assert_eq!(
        app.me_status(&before.access).await,
        StatusCode::UNAUTHORIZED
    );
    let refresh = app
        .post(
            "/api/auth/token/refresh/",
            &json!({"refresh": before.refresh}),
        )
        .await;
    assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
    // The old password no longer opens the account; the new one does.
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.login_ok("ada@example.com", NEW_PASSWORD).await;

    // The link works once.
    let again = problem(
        confirm(&app, &token, "another-sturdy-passphrase-77").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(again["type"], "/problems/reset-token-invalid");
    let unknown = problem(
        confirm(&app, "not-a-token", NEW_PASSWORD).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(unknown["type"], "/problems/reset-token-invalid");

    // Both steps are in the audit trail, and no event holds the secret.
    let admin = app.admin().await;
    let audit: Value = app
        .get("/api/admin/audit/?page_size=100", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"password_reset_request"), "{actions:?}");
    assert!(actions.contains(&"password_reset"), "{actions:?}");
    assert!(!audit.to_string().contains(&token));
}

async fn strangers_and_deactivated_accounts_get_the_same_answer_and_no_mail(backend: Backend) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(backend, &mail_args(&url, &[])).await;
    let gone = app.signup("gone@example.com", "Gone Away").await;
    app.signup("ada@example.com", "Ada Lovelace").await;
    let admin = app.admin().await;
    let toggled = app
        .send(
            Method::PATCH,
            &format!("/api/admin/users/{}/toggle/", gone.id),
            &admin.access,
            None,
        )
        .await;
    assert_eq!(toggled.status(), StatusCode::OK);

    let stranger = request_reset(&app, "nobody@example.com").await;
    let deactivated = request_reset(&app, "gone@example.com").await;
    let known = request_reset(&app, "ada@example.com").await;
    assert_eq!(stranger, known);
    assert_eq!(deactivated, known);

    sink.wait_for(1, Duration::from_secs(10)).await;
    // Anything queued for the others would have left by now too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["to"], json!(["ada@example.com"]));

    // What is not an email is said so: it tells nothing about accounts.
    let invalid = app
        .post(
            "/api/auth/password-reset/",
            &json!({"email": "not-an-email"}),
        )
        .await;
    let invalid = problem(invalid, StatusCode::BAD_REQUEST).await;
    assert!(invalid["errors"]["email"].is_array(), "{invalid}");
}

async fn a_link_stops_working_when_it_expires(backend: Backend) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(
        backend,
        &mail_args(&url, &["--password-reset-lifetime", "1"]),
    )
    .await;
    app.signup("ada@example.com", "Ada Lovelace").await;
    request_reset(&app, "ada@example.com").await;
    let messages = sink.wait_for(1, Duration::from_secs(10)).await;
    let token = reset_token(&messages[0]);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let expired = problem(
        confirm(&app, &token, NEW_PASSWORD).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(expired["type"], "/problems/reset-token-invalid");
    app.login_ok("ada@example.com", PASSWORD).await;
}

async fn an_admin_mails_a_reset_link_and_only_an_admin_may(backend: Backend) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(backend, &mail_args(&url, &[])).await;
    let ada = app.signup("ada@example.com", "Ada Lovelace").await;
    let grace = app.signup("grace@example.com", "Grace Hopper").await;
    let admin = app.admin().await;
    let path = format!("/api/admin/users/{}/password-reset/", ada.id);

    let by_user = app.send(Method::POST, &path, &grace.access, None).await;
    problem(by_user, StatusCode::FORBIDDEN).await;
    let anonymous = app.request(Method::POST, &path).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let unknown = app
        .send(
            Method::POST,
            &format!("/api/admin/users/{}/password-reset/", uuid::Uuid::now_v7()),
            &admin.access,
            None,
        )
        .await;
    problem(unknown, StatusCode::NOT_FOUND).await;

    let sent = app.send(Method::POST, &path, &admin.access, None).await;
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    let messages = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(messages[0]["to"], json!(["ada@example.com"]));
    let token = reset_token(&messages[0]);
    assert_eq!(
        confirm(&app, &token, NEW_PASSWORD).await.status(),
        StatusCode::OK
    );

    let toggled = app
        .send(
            Method::PATCH,
            &format!("/api/admin/users/{}/toggle/", grace.id),
            &admin.access,
            None,
        )
        .await;
    assert_eq!(toggled.status(), StatusCode::OK);
    let deactivated = app
        .send(
            Method::POST,
            &format!("/api/admin/users/{}/password-reset/", grace.id),
            &admin.access,
            None,
        )
        .await;
    problem(deactivated, StatusCode::CONFLICT).await;
}

async fn one_account_gets_three_links_an_hour_and_one_address_five_requests(backend: Backend) {
    let sink = SmtpSink::start();
    let url = sink.url();
    // The per-address limits on, as in production.
    let app = spawn_app_with(backend, &mail_args(&url, &["--rate-limit-burst", "100"])).await;
    app.signup("ada@example.com", "Ada Lovelace").await;
    for _ in 0..4 {
        request_reset(&app, "ada@example.com").await;
    }
    sink.wait_for(3, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 3, "the fourth request sent nothing");

    // The fifth request from this address is the last one it may make for a while, alike
    // for any email.
    request_reset(&app, "someone@example.com").await;
    let limited = app
        .post(
            "/api/auth/password-reset/",
            &json!({"email": "ada@example.com"}),
        )
        .await;
    assert!(limited.headers().contains_key("retry-after"));
    problem(limited, StatusCode::TOO_MANY_REQUESTS).await;
}

async fn mail_waits_while_the_mail_server_is_down_and_leaves_once_it_is_back(backend: Backend) {
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(
        backend,
        &mail_args(&url, &["--mail-retry-delay", "1", "--smtp-timeout", "2"]),
    )
    .await;
    app.signup("ada@example.com", "Ada Lovelace").await;
    request_reset(&app, "ada@example.com").await;
    // At least one attempt fails while nothing listens; the message waits, and says why.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let admin = app.admin().await;
    let waiting = outbox(&app, &admin.access, "?status=pending").await;
    assert_eq!(waiting["count"], 1, "{waiting}");
    let entry = &waiting["results"][0];
    assert!(entry["attempts"].as_u64().unwrap() >= 1, "{entry}");
    assert!(entry["last_error"].is_string(), "{entry}");
    let sink = SmtpSink::start_on(port);
    let messages = sink.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(messages[0]["to"], json!(["ada@example.com"]));
    let token = reset_token(&messages[0]);
    assert_eq!(
        confirm(&app, &token, NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
    let sent = outbox(&app, &admin.access, "?status=sent").await;
    assert_eq!(sent["count"], 1, "{sent}");
    assert_eq!(sent["results"][0]["last_error"], Value::Null);
}

async fn outbox(app: &TestApp, access: &str, query: &str) -> Value {
    let response = app.get(&format!("/api/admin/mail/{query}"), access).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn a_refused_message_is_kept_as_failed_and_shown_to_admins(backend: Backend) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(backend, &mail_args(&url, &[])).await;
    // The sink refuses, for good, every recipient whose address starts with "reject".
    let user = app.signup("reject.me@example.com", "Rex Jected").await;
    request_reset(&app, "reject.me@example.com").await;
    let admin = app.admin().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let failed = loop {
        let failed = outbox(&app, &admin.access, "?status=failed").await;
        if failed["count"] == 1 {
            break failed;
        }
        assert!(std::time::Instant::now() < deadline, "{failed}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let entry = &failed["results"][0];
    assert_eq!(entry["to"], "reject.me@example.com");
    assert_eq!(entry["kind"], "password_reset");
    assert_eq!(entry["attempts"], 1, "a refusal is not retried");
    assert!(
        entry["last_error"].as_str().unwrap().contains("550"),
        "{entry}"
    );
    assert!(entry["finished_at"].is_string());
    assert!(sink.messages().is_empty());

    // Only administrators see the outbox, and a bad filter is said so.
    let by_user = app.get("/api/admin/mail/", &user.access).await;
    problem(by_user, StatusCode::FORBIDDEN).await;
    let bad = app.get("/api/admin/mail/?status=lost", &admin.access).await;
    let bad = problem(bad, StatusCode::BAD_REQUEST).await;
    assert!(bad["errors"]["status"].is_array(), "{bad}");
    let all = outbox(&app, &admin.access, "").await;
    assert_eq!(all["count"], 1);
}

async fn two_instances_deliver_each_message_exactly_once(backend: Backend) {
    const USERS: usize = 30;
    let sink = SmtpSink::start();
    let url = sink.url();
    let database = Arc::new(TestDatabase::create(backend).await);
    // Both look at the outbox every 20 ms, so their claims keep meeting.
    let args = mail_args(&url, &["--mail-poll-interval-ms", "20"]);
    let first = spawn_on(Arc::clone(&database), &args).await;
    let second = spawn_on(Arc::clone(&database), &args).await;
    for n in 0..USERS {
        first
            .signup(&format!("user{n}@example.com"), "Some One")
            .await;
    }
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..USERS {
        let app = if n % 2 == 0 { &first } else { &second };
        let (client, address) = (app.client.clone(), app.address.clone());
        requests.spawn(async move {
            let response = client
                .post(format!("{address}/api/auth/password-reset/"))
                .json(&json!({"email": format!("user{n}@example.com")}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::ACCEPTED);
        });
    }
    requests.join_all().await;
    sink.wait_for(USERS, Duration::from_secs(15)).await;
    // Time for any duplicate to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = sink.messages();
    let mut recipients: Vec<String> = messages
        .iter()
        .map(|message| message["to"][0].as_str().unwrap().to_owned())
        .collect();
    recipients.sort();
    let mut expected: Vec<String> = (0..USERS).map(|n| format!("user{n}@example.com")).collect();
    expected.sort();
    assert_eq!(recipients, expected);
}
