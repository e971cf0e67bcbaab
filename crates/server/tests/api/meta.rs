//! Service endpoints: health, readiness, the OpenAPI document, Swagger UI, JWKS, CORS.

use crate::helpers::{
    Backend, PASSWORD, TEST_ED25519_PEM, TestDatabase, on_both_backends, problem, spawn_app,
    spawn_app_with, spawn_on,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

on_both_backends!(
    health_and_ready_answer_ok,
    the_openapi_document_is_served_and_matches_the_committed_file,
    swagger_ui_is_served_from_the_binary,
    jwks_is_404_with_a_shared_secret_and_lists_the_key_with_ed25519,
    cors_allows_only_the_configured_origins,
    the_web_app_is_served_with_a_fallback_to_index_html,
);

async fn health_and_ready_answer_ok(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/api/health/", "/api/ready/"] {
        let response = app.request(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
    }
}

async fn the_openapi_document_is_served_and_matches_the_committed_file(backend: Backend) {
    let app = spawn_app(backend).await;
    let served: Value = app
        .request(Method::GET, "/api/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let committed: Value =
        serde_json::from_str(include_str!("../../../api-http/openapi.json")).unwrap();
    assert_eq!(
        served, committed,
        "regenerate with `cargo run -p server -- openapi > crates/api-http/openapi.json`"
    );
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(served["components"]["securitySchemes"]["bearer"].is_object());
}

async fn swagger_ui_is_served_from_the_binary(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.request(Method::GET, "/api/docs/").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("swagger-ui"), "{page}");
    let initializer = app
        .request(Method::GET, "/api/docs/swagger-initializer.js")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(initializer.contains("/api/openapi.json"));
    assert!(
        !initializer.contains("https://"),
        "nothing is fetched from elsewhere: {initializer}"
    );
}

async fn jwks_is_404_with_a_shared_secret_and_lists_the_key_with_ed25519(backend: Backend) {
    let app = spawn_app(backend).await;
    problem(
        app.request(Method::GET, "/.well-known/jwks.json")
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;

    let key_file = std::env::temp_dir().join(format!("key-{}.pem", uuid::Uuid::new_v4()));
    std::fs::write(&key_file, TEST_ED25519_PEM).unwrap();
    let app = spawn_app_with(
        backend,
        &["--jwt-private-key-file", key_file.to_str().unwrap()],
    )
    .await;
    let jwks: Value = app
        .request(Method::GET, "/.well-known/jwks.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    let tokens = app.login_ok(crate::helpers::ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(app.me_status(&tokens.access).await, StatusCode::OK);
    let _ = std::fs::remove_file(key_file);
}

async fn cors_allows_only_the_configured_origins(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &["--cors-allowed-origins", "https://app.example.com"],
    )
    .await;
    let preflight = |origin: &'static str| {
        app.request(Method::OPTIONS, "/api/auth/login/")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(
        allowed
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

async fn the_web_app_is_served_with_a_fallback_to_index_html(backend: Backend) {
    let dist = std::env::temp_dir().join(format!("dist-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>Users</title>",
    )
    .unwrap();
    std::fs::write(dist.join("assets/app-1234.js"), "console.log(1)").unwrap();
    let app = spawn_app_with(backend, &["--web-dist", dist.to_str().unwrap()]).await;

    for path in ["/", "/profile/sessions", "/admin/users?page=2"] {
        let response = app.request(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-cache");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("<title>Users</title>")
        );
    }
    let asset = app
        .request(Method::GET, "/assets/app-1234.js")
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), StatusCode::OK);
    assert!(
        asset.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    // The API keeps its own 404s.
    problem(
        app.request(Method::GET, "/api/nope/").send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let _ = std::fs::remove_dir_all(dist);
}

#[tokio::test]
async fn an_unreachable_database_is_503_not_500() {
    let database = Arc::new(TestDatabase::create(Backend::Postgres).await);
    let app = spawn_on(database.clone(), &["--database-timeout", "1"]).await;
    let name = database.postgres_name().unwrap().to_owned();
    TestDatabase::admin_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    TestDatabase::admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await;

    let ready = app
        .request(Method::GET, "/api/ready/")
        .send()
        .await
        .unwrap();
    problem(ready, StatusCode::SERVICE_UNAVAILABLE).await;
    let login = app
        .post(
            "/api/auth/login/",
            &json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    let body = problem(login, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["type"], "/problems/service-unavailable");
    // Liveness does not depend on the database.
    assert_eq!(
        app.request(Method::GET, "/api/health/")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    TestDatabase::admin_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    // Connections killed while the database was away are discarded as they are found dead.
    let mut recovered = false;
    for _ in 0..30 {
        let ready = app
            .request(Method::GET, "/api/ready/")
            .send()
            .await
            .unwrap();
        if ready.status() == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recovered, "the pool reconnects once the database is back");
    app.login_ok(crate::helpers::ADMIN_EMAIL, PASSWORD).await;
}
