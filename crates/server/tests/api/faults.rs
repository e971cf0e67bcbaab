//! The database goes away mid-service and comes back: a proxy between the server and
//! PostgreSQL is cut (every open connection dropped, new ones refused) and restored. Requests
//! fail with 503 problems within the acquire timeout, liveness stays 200 while readiness says
//! 503, the service recovers without a restart, and nothing is left half-written.

use crate::helpers::{Backend, PASSWORD, TestApp, TestDatabase, problem, spawn_on};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP proxy to PostgreSQL that can be cut and restored.
struct Proxy {
    address: SocketAddr,
    up: watch::Sender<bool>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (up, state) = watch::channel(true);
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                if !*state.borrow() {
                    // Down: the connection is closed at once, as a refused one would be.
                    continue;
                }
                let mut state = state.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = state.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { address, up }
    }

    fn cut(&self) {
        self.up.send_replace(false);
    }

    fn restore(&self) {
        self.up.send_replace(true);
    }
}

#[tokio::test]
async fn a_lost_database_is_a_quick_503_then_a_recovery_without_restart() {
    let database = Arc::new(TestDatabase::create(Backend::Postgres).await);
    let upstream: SocketAddr = "127.0.0.1:5432".parse().unwrap();
    let proxy = Proxy::start(upstream).await;
    let through_proxy = database
        .url
        .replace("127.0.0.1:5432", &proxy.address.to_string());
    let app = spawn_on(
        Arc::clone(&database),
        &["--database-url", &through_proxy, "--database-timeout", "2"],
    )
    .await;
    let ada = app.signup("ada@example.com", "Ada").await;
    // Load throughout: the cut lands mid-request for some; each answer is a 200 or a 503.
    let (stop, load) = load_on_me(&app, &ada.access);
    tokio::time::sleep(Duration::from_millis(200)).await;

    proxy.cut();
    let health = app
        .request(Method::GET, "/api/health/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        health.status(),
        StatusCode::OK,
        "liveness does not need the database"
    );
    answers_503_within_the_acquire_timeout(&app, &ada.access).await;
    // Long enough for the load to meet the outage too.
    tokio::time::sleep(Duration::from_millis(300)).await;

    proxy.restore();
    let started = Instant::now();
    while app.me_status(&ada.access).await != StatusCode::OK {
        assert!(started.elapsed() < Duration::from_secs(15), "no recovery");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "recovered {:?} after the database came back",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send_replace(true);
    let statuses: Vec<StatusCode> = load.join_all().await.into_iter().flatten().collect();
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    let (ok, unavailable) = (
        count(StatusCode::OK),
        count(StatusCode::SERVICE_UNAVAILABLE),
    );
    eprintln!(
        "under load: {} requests, {ok} 200, {unavailable} 503",
        statuses.len()
    );
    assert_eq!(
        ok + unavailable,
        statuses.len(),
        "only 200s and 503s under load"
    );
    assert!(
        ok > 0 && unavailable > 0,
        "the load saw both sides of the cut"
    );
    nothing_is_half_written(&app).await;
}

/// Readiness, an authenticated read, a login and a sign-up each answer a 503 problem well
/// within the 2 s acquire timeout.
async fn answers_503_within_the_acquire_timeout(app: &TestApp, access: &str) {
    let requests = [
        ("ready", app.request(Method::GET, "/api/ready/")),
        (
            "me",
            app.request(Method::GET, "/api/users/me/")
                .bearer_auth(access),
        ),
        (
            "login",
            app.request(Method::POST, "/api/auth/login/")
                .json(&json!({"email": "ada@example.com", "password": PASSWORD})),
        ),
        (
            "sign-up",
            app.request(Method::POST, "/api/auth/signup/").json(
                &json!({"email": "bob@example.com", "password": PASSWORD, "full_name": "Bob"}),
            ),
        ),
    ];
    for (name, request) in requests {
        let started = Instant::now();
        let response = request.send().await.unwrap();
        let took = started.elapsed();
        let body = problem(response, StatusCode::SERVICE_UNAVAILABLE).await;
        assert_eq!(
            body["type"], "/problems/service-unavailable",
            "{name}: {body}"
        );
        eprintln!("with the database gone, {name} answered 503 in {took:?}");
        assert!(took < Duration::from_secs(1), "{name} took {took:?}");
    }
}

/// Four clients asking for `/api/users/me/` until told to stop; each returns its statuses.
fn load_on_me(
    app: &TestApp,
    token: &str,
) -> (watch::Sender<bool>, tokio::task::JoinSet<Vec<StatusCode>>) {
    let (stop, stopped) = watch::channel(false);
    let mut load = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (client, url, token) = (
            app.client.clone(),
            format!("{}/api/users/me/", app.address),
            token.to_owned(),
        );
        let stopped = stopped.clone();
        load.spawn(async move {
            let mut statuses = Vec::new();
            while !*stopped.borrow() {
                let response = client.get(&url).bearer_auth(&token).send().await.unwrap();
                statuses.push(response.status());
            }
            statuses
        });
    }
    (stop, load)
}

/// The sign-up refused during the outage left no account and no event, and what came before
/// is whole.
async fn nothing_is_half_written(app: &TestApp) {
    problem(
        app.login("bob@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let admin = app.admin().await;
    let bobs: Value = app
        .get("/api/admin/users/?search=bob", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bobs["count"], 0);
    let signups: Value = app
        .get("/api/admin/audit/?action=signup", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(signups["count"], 1, "{signups}");
    app.login_ok("ada@example.com", PASSWORD).await;
}
