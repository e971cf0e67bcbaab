//! What a hostile or careless client can send: bad JSON, wrong types, huge bodies, odd paths,
//! foreign hosts, floods. None of it may yield a 500.

use crate::helpers::{Backend, PASSWORD, on_both_backends, problem, spawn_app, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    malformed_json_is_400_and_the_wrong_content_type_415,
    a_missing_field_is_named_in_the_errors,
    a_one_megabyte_body_is_413,
    sql_looking_and_unicode_input_is_stored_verbatim,
    nul_characters_are_refused_and_non_addresses_never_reach_the_audit_log,
    paths_without_the_trailing_slash_are_served_the_same,
    unknown_paths_and_methods_are_problems,
    a_foreign_host_header_is_400,
    malformed_or_repeated_host_headers_are_400_even_with_a_wildcard,
    the_auth_endpoints_are_rate_limited_per_address,
    responses_carry_the_security_headers_and_a_request_id,
    a_wrong_password_takes_as_long_for_an_unknown_email_as_for_a_real_one,
);

async fn malformed_json_is_400_and_the_wrong_content_type_415(backend: Backend) {
    let app = spawn_app(backend).await;
    let malformed = app
        .request(Method::POST, "/api/auth/login/")
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    problem(malformed, StatusCode::BAD_REQUEST).await;
    let wrong_type = app
        .post("/api/auth/login/", &json!({"email": 42, "password": ["x"]}))
        .await;
    problem(wrong_type, StatusCode::BAD_REQUEST).await;
    let form = app
        .request(Method::POST, "/api/auth/login/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=a&password=b")
        .send()
        .await
        .unwrap();
    problem(form, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let none = app
        .request(Method::POST, "/api/auth/signup/")
        .body("{}")
        .send()
        .await
        .unwrap();
    problem(none, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    // A content coding is refused, not ignored (the body below is plain JSON).
    let compressed = app
        .request(Method::POST, "/api/auth/login/")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(r#"{"email":"ada@example.com","password":"x"}"#)
        .send()
        .await
        .unwrap();
    let body = problem(compressed, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert_eq!(body["type"], "/problems/unsupported-content-encoding");
    // Objects only: serde would read `[null, null]` as an empty update.
    let tokens = app.signup("ada@example.com", "Ada").await;
    let array = app
        .send(
            Method::PATCH,
            "/api/users/me/",
            &tokens.access,
            Some(&json!([null, null])),
        )
        .await;
    let body = problem(array, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["detail"], "The body must be a JSON object.");
}

async fn a_missing_field_is_named_in_the_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = problem(
        app.post(
            "/api/auth/signup/",
            &json!({"email": "a@example.com", "password": PASSWORD}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["errors"]["full_name"][0], "This field is required.");
}

async fn a_one_megabyte_body_is_413(backend: Backend) {
    let app = spawn_app(backend).await;
    let huge =
        json!({"email": "a@example.com", "password": "x".repeat(1024 * 1024), "full_name": "A"});
    let body = problem(
        app.post("/api/auth/signup/", &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert_eq!(body["type"], "/problems/body-too-large");
    // The server is fine afterwards.
    assert_eq!(
        app.request(Method::GET, "/api/health/")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

async fn sql_looking_and_unicode_input_is_stored_verbatim(backend: Backend) {
    let app = spawn_app(backend).await;
    let name = "Robert'); DROP TABLE users;-- 李小龍 ☃";
    let response = app
        .post(
            "/api/auth/signup/",
            &json!({"email": "bobby@example.com", "password": PASSWORD, "full_name": name}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["full_name"], name);
    problem(
        app.login("' OR '1'='1", "' OR '1'='1").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        app.login("bobby@example.com' --", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let unicode_email = app
        .post(
            "/api/auth/signup/",
            &json!({"email": "ünï@exämple.com", "password": PASSWORD, "full_name": "U"}),
        )
        .await;
    problem(unicode_email, StatusCode::BAD_REQUEST).await;
    let nul = app
        .post(
            "/api/auth/signup/",
            &json!({"email": "nul@example.com", "password": PASSWORD, "full_name": "a\u{0}b"}),
        )
        .await;
    problem(nul, StatusCode::BAD_REQUEST).await;
    app.login_ok("bobby@example.com", PASSWORD).await;
}

async fn nul_characters_are_refused_and_non_addresses_never_reach_the_audit_log(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    // PostgreSQL refuses a NUL in text and in JSON: none may get that far.
    for email in ["ada\u{0}@example.com", PASSWORD] {
        let failed = app.login(email, PASSWORD).await;
        problem(failed, StatusCode::UNAUTHORIZED).await;
    }
    let signup = app
        .post(
            "/api/auth/signup/",
            &json!({"email": "ada@example.com", "password": PASSWORD, "full_name": "Ada\u{0}"}),
        )
        .await;
    let body = problem(signup, StatusCode::BAD_REQUEST).await;
    assert!(body["errors"]["full_name"].is_array(), "{body}");
    let search = app
        .get("/api/admin/users/?search=ada%00", &admin.access)
        .await;
    let body = problem(search, StatusCode::BAD_REQUEST).await;
    assert!(body["errors"]["search"].is_array(), "{body}");

    // Both failed logins are in the trail, and neither the NUL nor the password typed into
    // the email field is.
    let trail: Value = app
        .get("/api/admin/audit/?action=login_failed", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    let failures = trail["results"].as_array().unwrap();
    assert_eq!(failures.len(), 2, "{trail}");
    for failure in failures {
        assert_eq!(
            failure["details"],
            json!({"reason": "invalid_email"}),
            "{trail}"
        );
    }
}

async fn paths_without_the_trailing_slash_are_served_the_same(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .post(
            "/api/auth/signup",
            &json!({"email": "ada@example.com", "password": PASSWORD, "full_name": "Ada"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let tokens = app.login_ok("ada@example.com", PASSWORD).await;
    assert_eq!(
        app.get("/api/users/me", &tokens.access).await.status(),
        StatusCode::OK
    );
    let admin = app.admin().await;
    assert_eq!(
        app.get("/api/admin/users?page_size=1", &admin.access)
            .await
            .status(),
        StatusCode::OK
    );
}

async fn unknown_paths_and_methods_are_problems(backend: Backend) {
    let app = spawn_app(backend).await;
    problem(
        app.request(Method::GET, "/api/nothing/here/")
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let wrong_method = app
        .request(Method::DELETE, "/api/auth/login/")
        .send()
        .await
        .unwrap();
    problem(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await;
    // Without a built web app, other paths are 404 too.
    assert_eq!(
        app.request(Method::GET, "/profile")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

async fn a_foreign_host_header_is_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .request(Method::GET, "/api/health/")
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["type"], "/problems/invalid-host");
    let allowed = app
        .request(Method::GET, "/api/health/")
        .header("host", "localhost:1234")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
}

/// Sends `head` as written (reqwest would fix it up) and returns the response's status line.
async fn raw_status_line(app: &crate::helpers::TestApp, head: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn malformed_or_repeated_host_headers_are_400_even_with_a_wildcard(backend: Backend) {
    let app = spawn_app_with(backend, &["--allowed-hosts", "*"]).await;
    let request =
        |hosts: &str| format!("GET /api/health/ HTTP/1.1\r\n{hosts}Connection: close\r\n\r\n");
    assert_eq!(
        raw_status_line(&app, &request("Host: anything.example\r\n")).await,
        "HTTP/1.1 200 OK"
    );
    for hosts in [
        "Host: 127.0.0.1\r\nHost: evil.example\r\n",
        "Host: evil.example/path?x=\r\n",
        "Host: user@evil.example\r\n",
        "Host: evil.example:99999\r\n",
        "Host: \r\n",
    ] {
        assert_eq!(
            raw_status_line(&app, &request(hosts)).await,
            "HTTP/1.1 400 Bad Request",
            "{hosts:?}"
        );
    }
}

async fn the_auth_endpoints_are_rate_limited_per_address(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &["--rate-limit-burst", "3", "--rate-limit-per-second", "0.5"],
    )
    .await;
    for _ in 0..3 {
        problem(
            app.login("ghost@example.com", "x").await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    let limited = app.login("ghost@example.com", "x").await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body = problem(limited, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["type"], "/problems/rate-limited");
    // Endpoints that do not hash are not limited.
    assert_eq!(
        app.request(Method::GET, "/api/health/")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

async fn responses_carry_the_security_headers_and_a_request_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .request(Method::GET, "/api/health/")
        .send()
        .await
        .unwrap();
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(
        uuid::Uuid::parse_str(headers["x-request-id"].to_str().unwrap())
            .unwrap()
            .get_version_num(),
        4
    );
    let echoed = app
        .request(Method::GET, "/api/health/")
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
}

/// Timing must not tell which emails have accounts: a wrong password for a real account and any
/// password for an unknown email cost the same (one verification, the same queries). 200 of
/// each, interleaved so that load from elsewhere falls on both alike, each from its own address
/// (through a trusted proxy) so that no lockout answers early; the medians differ by < 10 %.
async fn a_wrong_password_takes_as_long_for_an_unknown_email_as_for_a_real_one(backend: Backend) {
    let app = spawn_app_with(backend, &["--trusted-proxies", "127.0.0.1"]).await;
    app.signup("ada@example.com", "Ada").await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for attempt in 0..400_u32 {
        let email = if attempt % 2 == 0 {
            "ada@example.com"
        } else {
            "ghost@example.com"
        };
        let address = format!("10.{}.{}.1", attempt / 256, attempt % 256);
        let started = std::time::Instant::now();
        let response = app
            .request(Method::POST, "/api/auth/login/")
            .header("x-forwarded-for", address)
            .json(&json!({"email": email, "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        let elapsed = started.elapsed();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        if attempt % 2 == 0 {
            known.push(elapsed);
        } else {
            unknown.push(elapsed);
        }
    }
    known.sort_unstable();
    unknown.sort_unstable();
    let (known, unknown) = (known[known.len() / 2], unknown[unknown.len() / 2]);
    let (fast, slow) = (known.min(unknown), known.max(unknown));
    assert!(
        slow.as_secs_f64() < fast.as_secs_f64() * 1.10,
        "median {known:?} for a real email, {unknown:?} for an unknown one"
    );
}
