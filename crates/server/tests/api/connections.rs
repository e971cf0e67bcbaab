//! The listener's limits, tried the way an attacker would: clients that never finish a request
//! head or sit idle are cut off, one address cannot hold every connection, and past the bound
//! clients wait instead of failing. The HTTP layer is the same on both backends: SQLite only.

use crate::helpers::{Backend, TestApp, spawn_app_with};
use reqwest::StatusCode;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

fn server_address(app: &TestApp) -> SocketAddr {
    app.address.trim_start_matches("http://").parse().unwrap()
}

/// A TCP connection to the app from `source` (any 127.x.y.z address reaches the loopback).
async fn connect_from(app: &TestApp, source: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(source.parse().unwrap(), 0))
        .unwrap();
    socket.connect(server_address(app)).await.unwrap()
}

/// Whether the server closes `stream` within `within` (whatever it sends before closing).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    let mut buffer = [0_u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// A `GET /api/health/` from `source`, with its own client and connection.
async fn health_from(app: &TestApp, source: &str) -> Result<StatusCode, reqwest::Error> {
    let client = reqwest::Client::builder()
        .local_address(source.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let response = client
        .get(format!("{}/api/health/", app.address))
        .send()
        .await?;
    Ok(response.status())
}

#[tokio::test]
async fn clients_that_never_finish_a_request_head_or_sit_idle_are_cut_off() {
    let app = spawn_app_with(Backend::Sqlite, &["--header-read-timeout", "1"]).await;

    let mut silent = connect_from(&app, "127.0.0.1").await;
    let mut slowloris = connect_from(&app, "127.0.0.1").await;
    slowloris
        .write_all(b"GET /api/health/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let mut kept_alive = connect_from(&app, "127.0.0.1").await;
    kept_alive
        .write_all(b"GET /api/health/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut response = [0_u8; 1024];
    let read = kept_alive.read(&mut response).await.unwrap();
    assert!(response[..read].starts_with(b"HTTP/1.1 200"));

    // One header line every 300 ms keeps a byte-idle timer alive forever; the head's deadline
    // is counted from the start.
    let trickle = async {
        for line in 0..20 {
            let header = format!("X-Slow-{line}: 1\r\n");
            if slowloris.write_all(header.as_bytes()).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let started = Instant::now();
    trickle.await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a client trickling its headers was never cut off"
    );
    assert!(closed_within(&mut slowloris, Duration::from_secs(3)).await);
    assert!(
        closed_within(&mut silent, Duration::from_secs(3)).await,
        "a connection that sends nothing stays open"
    );
    assert!(
        closed_within(&mut kept_alive, Duration::from_secs(3)).await,
        "an idle kept-alive connection stays open"
    );
    assert_eq!(
        health_from(&app, "127.0.0.1").await.unwrap(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn one_address_cannot_hold_every_connection() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            "--max-connections-per-address",
            "5",
            "--header-read-timeout",
            "60",
        ],
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(connect_from(&app, "127.0.0.3").await);
    }
    // Give the server the time to accept the five before the sixth.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut sixth = connect_from(&app, "127.0.0.3").await;
    assert!(
        closed_within(&mut sixth, Duration::from_secs(2)).await,
        "the sixth connection from one address was kept"
    );
    assert_eq!(
        health_from(&app, "127.0.0.2").await.unwrap(),
        StatusCode::OK,
        "another address is served while the first holds its limit"
    );
    held.pop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        health_from(&app, "127.0.0.3").await.unwrap(),
        StatusCode::OK,
        "a closed connection gives its address room again"
    );
}

#[tokio::test]
async fn past_the_connection_bound_clients_wait_rather_than_fail() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            "--max-connections",
            "3",
            "--max-connections-per-address",
            "0",
            "--header-read-timeout",
            "2",
        ],
    )
    .await;
    let mut idle = Vec::new();
    for source in ["127.0.0.4", "127.0.0.5", "127.0.0.6"] {
        idle.push(connect_from(&app, source).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    assert_eq!(
        health_from(&app, "127.0.0.2").await.unwrap(),
        StatusCode::OK
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "served at once ({:?}): the bound of 3 connections was not applied",
        started.elapsed()
    );
    drop(idle);
}

/// A client still sending a body the server has already refused must read its 413, not a
/// connection reset: closing a socket with unread data makes the kernel reset it, which can
/// destroy the answer before the client reads it. Many at once, each on its own connection,
/// with bodies sent slower than the server answers.
#[tokio::test]
async fn every_oversized_body_gets_its_413_even_many_at_once() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    let body = format!(
        r#"{{"email":"a@example.com","password":"{}","full_name":"A"}}"#,
        "x".repeat(4 * 1024 * 1024)
    );
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (address, body) = (server_address(&app), body.clone());
        tasks.spawn(async move {
            let mut stream = TcpStream::connect(address).await.unwrap();
            let head = format!(
                "POST /api/auth/signup/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            // The server refuses after 64 KiB; whatever of the rest it takes is fine.
            for chunk in body.as_bytes().chunks(64 * 1024) {
                if stream.write_all(chunk).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let mut response = Vec::new();
            let _ = stream.read_to_end(&mut response).await;
            String::from_utf8_lossy(&response)
                .lines()
                .next()
                .unwrap_or("(nothing: the connection was reset)")
                .to_owned()
        });
    }
    let answers = tasks.join_all().await;
    assert!(
        answers
            .iter()
            .all(|line| line == "HTTP/1.1 413 Payload Too Large"),
        "{answers:?}"
    );
}

/// What the server answers to `request`, sent whole on a connection of its own, up to the close.
async fn raw_exchange(app: &TestApp, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(server_address(app)).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    String::from_utf8(response).unwrap()
}

/// The problem body of a raw `response` whose status line is `status_line`.
fn problem_of(response: &str, status_line: &str) -> serde_json::Value {
    let (head, body) = response.rsplit_once("\r\n\r\n").unwrap();
    assert!(head.starts_with(status_line), "{response}");
    assert!(
        head.contains("\r\ncontent-type: application/problem+json\r\n"),
        "{response}"
    );
    serde_json::from_str(body).unwrap()
}

/// The parser's own refusals (hyper answers them before any handler runs) are problem
/// details like every other error, on a fresh connection and after an answered request.
#[tokio::test]
async fn requests_that_cannot_be_parsed_get_problem_details() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;

    let garbage = raw_exchange(&app, b"NOT HTTP AT ALL\r\n\r\n").await;
    let problem = problem_of(&garbage, "HTTP/1.1 400 Bad Request\r\n");
    assert_eq!(problem["type"], "/problems/bad-request");
    assert_eq!(problem["status"], 400);

    let headers = (0..150)
        .map(|n| format!("X-Header-{n}: 1\r\n"))
        .collect::<Vec<_>>()
        .concat();
    let many = format!("GET /api/health/ HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n");
    let refused = raw_exchange(&app, many.as_bytes()).await;
    let problem = problem_of(&refused, "HTTP/1.1 431 Request Header Fields Too Large\r\n");
    assert_eq!(problem["type"], "/problems/header-fields-too-large");

    let after_a_good_one = raw_exchange(
        &app,
        b"GET /api/health/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /\x01 HTTP/1.1\r\n\r\n",
    )
    .await;
    let (first, second) = after_a_good_one.split_once("HTTP/1.1 400").unwrap();
    assert!(
        first.starts_with("HTTP/1.1 200 OK\r\n"),
        "{after_a_good_one}"
    );
    problem_of(
        &format!("HTTP/1.1 400{second}"),
        "HTTP/1.1 400 Bad Request\r\n",
    );
}

/// A client that asks for answers and never reads them is cut off after the send timeout,
/// giving its connection back, instead of holding it for good.
#[tokio::test]
async fn a_client_that_never_reads_its_answers_is_cut_off() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            "--send-timeout",
            "2",
            "--max-connections-per-address",
            "1",
            "--header-read-timeout",
            "60",
        ],
    )
    .await;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket
        .bind(SocketAddr::new("127.0.0.7".parse().unwrap(), 0))
        .unwrap();
    let mut stalled = socket.connect(server_address(&app)).await.unwrap();
    // Far more answer (64 KiB each) than the kernel's buffers hold.
    let requests = "GET /api/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(400);
    stalled.write_all(requests.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut second = connect_from(&app, "127.0.0.7").await;
    assert!(
        closed_within(&mut second, Duration::from_secs(2)).await,
        "the stalled client's connection should still hold its address's only place"
    );

    let started = Instant::now();
    loop {
        match health_from(&app, "127.0.0.7").await {
            Ok(status) => {
                assert_eq!(status, StatusCode::OK);
                break;
            }
            Err(_) if started.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("the stalled client still holds its connection: {error}"),
        }
    }
    drop(stalled);
}
