//! Two server processes on one PostgreSQL database: tokens issued by one are honoured by the
//! other, and refused by it at once after a logout or a deactivation on the first, because
//! nothing that matters lives in memory.

use crate::helpers::{ADMIN_EMAIL, Backend, PASSWORD, TestDatabase, problem};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The real `server` binary, started as its own process.
struct ServerProcess {
    child: Child,
    address: String,
}

impl ServerProcess {
    fn start(database_url: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
            .arg("serve")
            .env_clear()
            .env("DATABASE_URL", database_url)
            .env("BIND", "127.0.0.1:0")
            .env("SECRET_KEY", "scale-out-secret-shared-by-every-instance")
            .env("ALLOWED_HOSTS", "127.0.0.1")
            .env("ARGON2_MEMORY_KIB", "4096")
            .env("ARGON2_ITERATIONS", "1")
            .env("ADMIN_EMAIL", ADMIN_EMAIL)
            .env("ADMIN_PASSWORD", PASSWORD)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("the server prints where it listens before exiting")
                .expect("stdout is readable");
            if let Some(address) = line.strip_prefix("listening on ") {
                break address.trim().to_owned();
            }
        };
        Self { child, address }
    }

    async fn post(&self, client: &Client, path: &str, body: &Value) -> reqwest::Response {
        client
            .post(format!("{}{path}", self.address))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// The tokens and user of a login as `email` (with the shared test password).
    async fn login(&self, client: &Client, email: &str) -> Value {
        let login = self
            .post(
                client,
                "/api/auth/login/",
                &json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(login.status(), StatusCode::OK);
        login.json().await.unwrap()
    }

    async fn me(&self, client: &Client, access: &str) -> StatusCode {
        client
            .get(format!("{}/api/users/me/", self.address))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .status()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn two_server_processes_share_tokens_and_revocation_on_postgres() {
    let database = TestDatabase::create(Backend::Postgres).await;
    let first = ServerProcess::start(&database.url);
    let second = ServerProcess::start(&database.url);
    assert_ne!(first.address, second.address);
    let client = Client::new();

    let signup = first
        .post(
            &client,
            "/api/auth/signup/",
            &json!({"email": "ada@example.com", "password": PASSWORD, "full_name": "Ada"}),
        )
        .await;
    assert_eq!(signup.status(), StatusCode::CREATED);
    let tokens: Value = signup.json().await.unwrap();
    let (access, refresh) = (
        tokens["access"].as_str().unwrap(),
        tokens["refresh"].as_str().unwrap(),
    );
    assert_eq!(second.me(&client, access).await, StatusCode::OK);

    // Rotation on one, reuse detected on the other.
    let rotated = second
        .post(
            &client,
            "/api/auth/token/refresh/",
            &json!({"refresh": refresh}),
        )
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    problem(
        first
            .post(
                &client,
                "/api/auth/token/refresh/",
                &json!({"refresh": refresh}),
            )
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // A logout on one takes effect on the other at once.
    let session = second.login(&client, "ada@example.com").await;
    let access = session["access"].as_str().unwrap();
    assert_eq!(first.me(&client, access).await, StatusCode::OK);
    let logout = first
        .post(
            &client,
            "/api/auth/logout/",
            &json!({"refresh": session["refresh"]}),
        )
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(second.me(&client, access).await, StatusCode::UNAUTHORIZED);

    // A deactivation on one takes effect on the other at once.
    let session = second.login(&client, "ada@example.com").await;
    let access = session["access"].as_str().unwrap();
    assert_eq!(second.me(&client, access).await, StatusCode::OK);
    let admin = first.login(&client, ADMIN_EMAIL).await;
    let toggled = client
        .patch(format!(
            "{}/api/admin/users/{}/toggle/",
            first.address,
            session["user"]["id"].as_str().unwrap()
        ))
        .bearer_auth(admin["access"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(toggled.status(), StatusCode::OK);
    let toggled: Value = toggled.json().await.unwrap();
    assert_eq!(toggled["is_active"], false);
    assert_eq!(second.me(&client, access).await, StatusCode::UNAUTHORIZED);
}
