//! `spawn_app`: the real application on a random port, against a fresh SQLite file or a fresh
//! PostgreSQL database, and a `TestApp` that speaks HTTP to it.

use clap::Parser as _;
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use server::{Application, Cli};
use std::path::PathBuf;

pub(crate) const PASSWORD: &str = "vivid-otter-cabinet-91";
pub(crate) const ADMIN_EMAIL: &str = "admin@example.com";

/// The HS256 key every test server signs with.
pub(crate) const SECRET_KEY: &str = "test-secret-key-that-is-long-enough-for-hs256";

/// A throwaway Ed25519 key for the JWKS test (generated with `openssl genpkey -algorithm ed25519`).
pub(crate) const TEST_ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINmqTa1/7J+hGWvAT/pA1Ams5Y/ycxxQz8rW0O8bDuQ5\n-----END PRIVATE KEY-----\n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// Where a test's database lives; dropped (PostgreSQL) or deleted (SQLite) with it.
pub(crate) struct TestDatabase {
    pub(crate) url: String,
    postgres_name: Option<String>,
    sqlite_dir: Option<PathBuf>,
}

fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl TestDatabase {
    pub(crate) async fn create(backend: Backend) -> Self {
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).unwrap();
                Self {
                    url: format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()),
                    postgres_name: None,
                    sqlite_dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let admin = Database::connect(&admin_url).await.unwrap_or_else(|error| {
                    panic!("PostgreSQL does not answer at {admin_url} ({error}). Start it, or point TEST_DATABASE_URL at a server where user may CREATE DATABASE.")
                });
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(base, _)| base);
                Self {
                    url: format!("{base}/{name}"),
                    postgres_name: Some(name),
                    sqlite_dir: None,
                }
            }
        }
    }
}

impl TestDatabase {
    /// The PostgreSQL database's name (None on SQLite).
    pub(crate) fn postgres_name(&self) -> Option<&str> {
        self.postgres_name.as_deref()
    }

    /// Runs SQL on the PostgreSQL server's maintenance database.
    pub(crate) async fn admin_sql(sql: &str) {
        let admin = Database::connect(&postgres_admin_url()).await.unwrap();
        admin.execute_unprepared(sql).await.unwrap();
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(dir) = &self.sqlite_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(name) = self.postgres_name.take() {
            // Drop runs outside async code: use a private runtime on a thread of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    if let Ok(admin) = Database::connect(&postgres_admin_url()).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

pub(crate) struct TestApp {
    pub(crate) address: String,
    pub(crate) client: Client,
    /// Kept so the database lives as long as the app that uses it.
    _database: std::sync::Arc<TestDatabase>,
    _server: tokio::task::JoinHandle<()>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Settings every test app shares; `extra` flags override them.
fn args(database_url: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "server",
        "--database-url",
        database_url,
        "--bind",
        "127.0.0.1:0",
        "--secret-key",
        SECRET_KEY,
        "--allowed-hosts",
        "127.0.0.1,localhost",
        // Real argon2id, with a lighter cost than production so the suite stays quick.
        "--argon2-memory-kib",
        "4096",
        "--argon2-iterations",
        "1",
        "--rate-limit-burst",
        "0",
        "--admin-email",
        ADMIN_EMAIL,
        "--admin-password",
        PASSWORD,
        "--web-dist",
        "/nonexistent",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();
    args.extend(extra.iter().map(|arg| (*arg).to_owned()));
    args
}

pub(crate) async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

pub(crate) async fn spawn_app_with(backend: Backend, extra: &[&str]) -> TestApp {
    let database = std::sync::Arc::new(TestDatabase::create(backend).await);
    spawn_on(database, extra).await
}

/// Another instance on the same database (scaling out).
pub(crate) async fn spawn_on(database: std::sync::Arc<TestDatabase>, extra: &[&str]) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
    }
    let cli = Cli::try_parse_from(args(&database.url, extra)).unwrap();
    let application = Application::build(&cli.config).await.unwrap();
    let address = format!("http://{}", application.address());
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        application
            .run_until(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    TestApp {
        address,
        client: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _database: database,
        _server: server,
        shutdown: Some(shutdown),
    }
}

/// A signed-in user: their id and tokens.
#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    pub(crate) id: String,
    pub(crate) access: String,
    pub(crate) refresh: String,
}

impl TestApp {
    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn get(&self, path: &str, access: &str) -> Response {
        self.request(Method::GET, path)
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        access: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self.request(method, path).bearer_auth(access);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    pub(crate) async fn signup(&self, email: &str, full_name: &str) -> Tokens {
        let response = self
            .post(
                "/api/auth/signup/",
                &json!({"email": email, "password": PASSWORD, "full_name": full_name}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        tokens(&response.json().await.unwrap())
    }

    pub(crate) async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/auth/login/",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub(crate) async fn login_ok(&self, email: &str, password: &str) -> Tokens {
        let response = self.login(email, password).await;
        assert_eq!(response.status(), StatusCode::OK, "login of {email}");
        tokens(&response.json().await.unwrap())
    }

    pub(crate) async fn admin(&self) -> Tokens {
        self.login_ok(ADMIN_EMAIL, PASSWORD).await
    }

    pub(crate) async fn me_status(&self, access: &str) -> StatusCode {
        self.get("/api/users/me/", access).await.status()
    }
}

pub(crate) fn tokens(body: &Value) -> Tokens {
    Tokens {
        id: body["user"]["id"].as_str().unwrap_or_default().to_owned(),
        access: body["access"].as_str().unwrap().to_owned(),
        refresh: body["refresh"].as_str().unwrap().to_owned(),
    }
}

/// Checks a problem+json error and returns its body.
pub(crate) async fn problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert!(body["detail"].is_string(), "{body}");
    assert!(
        body["type"].as_str().unwrap().starts_with("/problems/"),
        "{body}"
    );
    body
}

/// Declares each listed test once per backend: `sqlite::name` and `postgres::name`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await;
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

/// A real SMTP server (`scripts/smtp-sink.py`, on Debian's python3-aiosmtpd) that keeps what
/// it accepts: each message as an `.eml` file and, beside it, a `.json` summary with its
/// decoded parts (`to`, `from`, `subject`, `text`, `html`). Stopped on drop.
pub(crate) struct SmtpSink {
    child: std::process::Child,
    pub(crate) port: u16,
    directory: std::path::PathBuf,
}

impl SmtpSink {
    /// A sink on a free port.
    pub(crate) fn start() -> Self {
        Self::start_on(free_port())
    }

    /// A sink on `port`.
    pub(crate) fn start_on(port: u16) -> Self {
        use std::io::BufRead as _;
        let directory = std::env::temp_dir().join(format!("smtp-sink-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&directory).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/smtp-sink.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .args(["--port", &port.to_string(), "--dir"])
            .arg(&directory)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("python3 runs scripts/smtp-sink.py (needs Debian's python3-aiosmtpd)");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the SMTP sink did not start (is python3-aiosmtpd installed?)"
        );
        Self {
            child,
            port,
            directory,
        }
    }

    /// The `SMTP_URL` that reaches it.
    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far, oldest first.
    pub(crate) fn messages(&self) -> Vec<Value> {
        let mut summaries: Vec<_> = std::fs::read_dir(&self.directory)
            .unwrap()
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                (path.extension()? == "json").then_some(path)
            })
            .collect();
        // `<pid>-<n>` with `n` zero-padded: the names sort in arrival order.
        summaries.sort();
        summaries
            .iter()
            .map(|path| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
            .collect()
    }

    /// Waits up to `within` for `count` messages, and returns them all.
    pub(crate) async fn wait_for(&self, count: usize, within: std::time::Duration) -> Vec<Value> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} of {count} messages arrived within {within:?}: {messages:?}",
                messages.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// A TCP port nobody listens on now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The secret of the reset link in a message's text.
pub(crate) fn reset_token(message: &Value) -> String {
    let text = message["text"].as_str().unwrap();
    let start = text
        .find("/reset-password?token=")
        .unwrap_or_else(|| panic!("no reset link in {text}"))
        + "/reset-password?token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}
