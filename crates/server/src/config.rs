//! Configuration: command-line flags that fall back to environment variables (and a `.env`
//! file), validated once at start-up. This is the only module that reads the environment.

// The doc comments below are the `--help` text, where variable names read better bare.
#![allow(clippy::doc_markdown)]

use api_http::{AllowedHosts, ConnectionLimits, HttpConfig, RateLimit};
use clap::{Args, Parser, Subcommand};
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// User management and authentication service.
#[derive(Debug, Parser)]
#[command(name = "server", version, about, args_override_self = true)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings shared by every command.
    #[command(flatten)]
    pub config: Config,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve HTTP until SIGTERM or Ctrl-C.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Create an admin account. The password comes from ADMIN_PASSWORD, or a prompt.
    CreateAdmin {
        /// The admin's email.
        #[arg(long)]
        email: String,
        /// The admin's display name.
        #[arg(long)]
        full_name: String,
    },
    /// Print the OpenAPI document (JSON) and exit.
    Openapi,
    /// Insert N demo users (`user{n}@example.com`, all with one password), for demos and
    /// benchmarks.
    Seed {
        /// How many users.
        #[arg(long)]
        users: u64,
        /// The password every seeded user gets.
        #[arg(
            long,
            env = "SEED_PASSWORD",
            default_value = "demo-password-1234",
            hide_env_values = true
        )]
        password: String,
    },
}

/// Every setting, each from a flag or its environment variable.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database URL: `postgres://user:pass@host/db` or `sqlite://path?mode=rwc`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://users.db?mode=rwc"
    )]
    pub database_url: String,
    /// Key that signs access tokens (HS256), at least 32 bytes. Without it, a key is generated
    /// once and kept beside the SQLite database; required on PostgreSQL unless DEBUG is set.
    #[arg(long, env = "SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<SecretString>,
    /// An Ed25519 private key (PKCS#8 PEM file) to sign tokens with EdDSA instead; its public
    /// key is published at /.well-known/jwks.json.
    #[arg(long, env = "JWT_PRIVATE_KEY_FILE")]
    pub jwt_private_key_file: Option<PathBuf>,
    /// The `iss` claim of access tokens.
    #[arg(long, env = "JWT_ISSUER", default_value = "users")]
    pub jwt_issuer: String,
    /// The `aud` claim of access tokens.
    #[arg(long, env = "JWT_AUDIENCE", default_value = "users")]
    pub jwt_audience: String,
    /// Development mode: allows a generated secret on PostgreSQL.
    #[arg(long, env = "DEBUG", default_value_t = false)]
    pub debug: bool,
    /// Hosts the service answers for, comma-separated (`*` for any, `.example.com` for a
    /// domain and its subdomains).
    #[arg(
        long,
        env = "ALLOWED_HOSTS",
        default_value = "localhost,127.0.0.1,[::1]",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed to call the API, comma-separated (empty: same origin only).
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,
    /// Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8000")]
    pub bind: String,
    /// Access token lifetime, in seconds.
    #[arg(long, env = "ACCESS_TOKEN_LIFETIME", default_value_t = 900)]
    pub access_token_lifetime: u32,
    /// Refresh token lifetime (renewed at each refresh), in seconds.
    #[arg(long, env = "REFRESH_TOKEN_LIFETIME", default_value_t = 604_800)]
    pub refresh_token_lifetime: u32,
    /// How long a session lasts from its login, however often it is refreshed, in seconds.
    #[arg(long, env = "SESSION_MAX_LIFETIME", default_value_t = 2_592_000)]
    pub session_max_lifetime: u32,
    /// Requests one address may make at once to the login, sign-up, refresh and logout
    /// endpoints (0 turns the limit off).
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 100)]
    pub rate_limit_burst: u32,
    /// Requests per second an address regains.
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", default_value_t = 20.0)]
    pub rate_limit_per_second: f64,
    /// The most database connections the process opens (default: 10 on PostgreSQL, 4 on
    /// SQLite); one pool serves every query.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS")]
    pub database_max_connections: Option<u32>,
    /// Seconds to wait for the database at start-up and for a free connection.
    #[arg(long, env = "DATABASE_TIMEOUT", default_value_t = 5)]
    pub database_timeout: u32,
    /// argon2id memory cost in KiB (OWASP lists 7168 with 5 passes, 12288 with 3, 19456 with 2).
    #[arg(long, env = "ARGON2_MEMORY_KIB", default_value_t = infra_argon2::OWASP_MEMORY_KIB)]
    pub argon2_memory_kib: u32,
    /// argon2id passes (OWASP: 5 with 7168 KiB, 3 with 12288, 2 with 19456).
    #[arg(long, env = "ARGON2_ITERATIONS", default_value_t = infra_argon2::OWASP_ITERATIONS)]
    pub argon2_iterations: u32,
    /// Password hashes computed at once (default: the number of CPUs).
    #[arg(long, env = "ARGON2_MAX_CONCURRENT")]
    pub argon2_max_concurrent: Option<usize>,
    /// How much lower the hashing threads' scheduling priority is than the server's (a nice
    /// increment, 0–19; 0 keeps it equal): requests run first while a login flood hashes.
    #[arg(long, env = "ARGON2_THREAD_NICE", default_value_t = infra_argon2::DEFAULT_THREAD_NICE,
          value_parser = clap::value_parser!(u8).range(0..=19))]
    pub argon2_thread_nice: u8,
    /// Lowest zxcvbn score (0–4) a new password must reach.
    #[arg(long, env = "PASSWORD_MIN_SCORE", default_value_t = 3)]
    pub password_min_score: u8,
    /// Seconds a request may take before it gets a 408.
    #[arg(long, env = "REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u32,
    /// Seconds a client may take to send a request's headers, and to start its next request
    /// on a kept-alive connection, before the connection is closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT", default_value_t = 10)]
    pub header_read_timeout: u32,
    /// Seconds a client may leave its answer unread (taking in none of it) before the
    /// connection is closed.
    #[arg(long, env = "SEND_TIMEOUT", default_value_t = 30)]
    pub send_timeout: u32,
    /// The most client connections open at once (lowered to fit the process's file
    /// descriptor limit); further clients wait.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: u32,
    /// The most client connections open at once from one address, trusted proxies excepted
    /// (0 turns the limit off); further ones are closed.
    #[arg(long, env = "MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 256)]
    pub max_connections_per_address: u32,
    /// The built web app, served at `/`.
    #[arg(long, env = "WEB_DIST", default_value = "web/dist")]
    pub web_dist: PathBuf,
    /// At first start (no admin yet): create this admin (with ADMIN_PASSWORD).
    #[arg(long, env = "ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// The bootstrap admin's password.
    #[arg(long, env = "ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<SecretString>,
    /// The bootstrap admin's display name.
    #[arg(long, env = "ADMIN_FULL_NAME", default_value = "Administrator")]
    pub admin_full_name: String,
    /// How mail leaves: `log` writes each message and its link to the log (no mail server
    /// needed), `smtp` sends it through SMTP_URL.
    #[arg(long, env = "EMAIL_BACKEND", value_enum, default_value_t = EmailBackend::Log)]
    pub email_backend: EmailBackend,
    /// The mail server, for EMAIL_BACKEND=smtp: `smtp://host:25`,
    /// `smtp://user:pass@host:587?tls=starttls` or `smtps://user:pass@host:465`.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<SecretString>,
    /// Seconds one delivery may take, from connecting to the server's last answer, before it
    /// counts as failed for now.
    #[arg(long, env = "SMTP_TIMEOUT", default_value_t = 30)]
    pub smtp_timeout: u32,
    /// The From of every message.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "Accounts <no-reply@localhost>"
    )]
    pub mail_from: String,
    /// The web app's address as people reach it; links in mail start with it.
    #[arg(long, env = "PUBLIC_URL", default_value = "http://localhost:8000")]
    pub public_url: String,
    /// Seconds before a message that failed for now is tried again; doubles with each
    /// failure, up to an hour.
    #[arg(long, env = "MAIL_RETRY_DELAY", default_value_t = 30)]
    pub mail_retry_delay: u32,
    /// Seconds a password-reset link works.
    #[arg(long, env = "PASSWORD_RESET_LIFETIME", default_value_t = 1800)]
    pub password_reset_lifetime: u32,
    /// Delivery attempts before a message is marked failed.
    #[arg(long, env = "MAIL_MAX_ATTEMPTS", default_value_t = 10)]
    pub mail_max_attempts: u32,
    /// Milliseconds between two looks at the outbox (mail queued by this instance is sent at
    /// once; this bounds the wait for mail queued by another).
    #[arg(long, env = "MAIL_POLL_INTERVAL_MS", default_value_t = 1000)]
    pub mail_poll_interval_ms: u32,
}

/// How mail leaves the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EmailBackend {
    /// Written to the log, link included: for development.
    Log,
    /// Sent through the SMTP server of SMTP_URL.
    Smtp,
}

/// Settings after validation.
#[derive(Debug)]
pub struct Validated {
    /// Where to listen.
    pub bind: SocketAddr,
    /// HTTP settings.
    pub http: HttpConfig,
    /// The trusted proxy networks.
    pub trusted_proxies: Vec<IpNet>,
    /// Whether the database is SQLite.
    pub sqlite_path: Option<PathBuf>,
}

impl Config {
    /// Checks every setting, returning one line per problem.
    pub fn validate(&self) -> Result<Validated, Vec<String>> {
        let mut problems = Vec::new();
        let bind = self
            .bind
            .parse::<SocketAddr>()
            .map_err(|_| problems.push(format!("BIND: `{}` is not an address:port", self.bind)))
            .ok();
        let trusted_proxies: Vec<IpNet> = self
            .trusted_proxies
            .iter()
            .filter(|raw| !raw.trim().is_empty())
            .filter_map(|raw| {
                let raw = raw.trim();
                raw.parse::<IpNet>()
                    .or_else(|_| raw.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        problems.push(format!(
                            "TRUSTED_PROXIES: `{raw}` is not an address or CIDR range"
                        ));
                    })
                    .ok()
            })
            .collect();
        let is_postgres = self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://");
        let sqlite_path = sqlite_file(&self.database_url);
        if !is_postgres && !self.database_url.starts_with("sqlite:") {
            problems.push("DATABASE_URL: use postgres://… or sqlite://path?mode=rwc".to_owned());
        }
        match &self.secret_key {
            Some(key) if key.expose_secret().len() < 32 => {
                problems.push("SECRET_KEY: must be at least 32 bytes".to_owned());
            }
            None if is_postgres && !self.debug && self.jwt_private_key_file.is_none() => problems.push(
                "SECRET_KEY: required on PostgreSQL unless DEBUG=true (every instance must share it)".to_owned(),
            ),
            _ => {}
        }
        self.check_lifetimes_and_limits(&mut problems);
        self.check_mail(&mut problems);
        if self.allowed_hosts.iter().all(|host| host.trim().is_empty()) {
            problems.push("ALLOWED_HOSTS: list at least one host, or `*`".to_owned());
        }
        if self
            .cors_allowed_origins
            .iter()
            .any(|origin| origin.trim() == "*")
        {
            problems.push("CORS_ALLOWED_ORIGINS: list the origins; `*` is not allowed".to_owned());
        }
        let (Some(bind), true) = (bind, problems.is_empty()) else {
            return Err(problems);
        };
        let http = HttpConfig {
            allowed_hosts: AllowedHosts::new(&self.allowed_hosts),
            cors_allowed_origins: self
                .cors_allowed_origins
                .iter()
                .map(|origin| origin.trim().to_owned())
                .filter(|origin| !origin.is_empty())
                .collect(),
            trusted_proxies: trusted_proxies.clone(),
            rate_limit: RateLimit {
                burst: self.rate_limit_burst,
                per_second: self.rate_limit_per_second,
            },
            mail_rate_limit: HttpConfig::default().mail_rate_limit,
            request_timeout: Duration::from_secs(u64::from(self.request_timeout.max(1))),
            web_dist: Some(self.web_dist.clone()),
            connections: ConnectionLimits {
                header_read_timeout: Duration::from_secs(u64::from(self.header_read_timeout)),
                send_timeout: Duration::from_secs(u64::from(self.send_timeout)),
                max_connections: self.max_connections as usize,
                max_per_address: self.max_connections_per_address as usize,
            },
        };
        Ok(Validated {
            bind,
            http,
            trusted_proxies,
            sqlite_path,
        })
    }
}

impl Config {
    /// The token lifetimes' and the limits' problems, one line each.
    fn check_lifetimes_and_limits(&self, problems: &mut Vec<String>) {
        if self.access_token_lifetime == 0
            || self.refresh_token_lifetime <= self.access_token_lifetime
        {
            problems.push(
                "ACCESS_TOKEN_LIFETIME must be positive and shorter than REFRESH_TOKEN_LIFETIME"
                    .to_owned(),
            );
        }
        if self.session_max_lifetime < self.access_token_lifetime {
            problems.push("SESSION_MAX_LIFETIME must be at least ACCESS_TOKEN_LIFETIME".to_owned());
        }
        if !(0.0..=1_000_000.0).contains(&self.rate_limit_per_second) {
            problems.push("RATE_LIMIT_PER_SECOND: must be between 0 and 1000000".to_owned());
        }
        if self.header_read_timeout == 0 || self.send_timeout == 0 || self.max_connections == 0 {
            problems.push(
                "HEADER_READ_TIMEOUT, SEND_TIMEOUT and MAX_CONNECTIONS must be positive".to_owned(),
            );
        }
        if self.password_min_score > 4 {
            problems.push("PASSWORD_MIN_SCORE: must be 0 to 4".to_owned());
        }
    }

    /// The mail settings' problems, one line each.
    fn check_mail(&self, problems: &mut Vec<String>) {
        if self.email_backend == EmailBackend::Smtp && self.smtp_url.is_none() {
            problems.push("SMTP_URL: required with EMAIL_BACKEND=smtp".to_owned());
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            problems.push("PUBLIC_URL: must start with http:// or https://".to_owned());
        }
        if self.mail_max_attempts == 0
            || self.mail_poll_interval_ms == 0
            || self.mail_retry_delay == 0
            || self.password_reset_lifetime == 0
        {
            problems.push(
                "MAIL_MAX_ATTEMPTS, MAIL_POLL_INTERVAL_MS, MAIL_RETRY_DELAY and PASSWORD_RESET_LIFETIME must be positive"
                    .to_owned(),
            );
        }
        // A claimed message is leased for ten minutes (domain::RetryPolicy): one delivery must
        // end well within that, or another instance could take the message and send it again.
        if !(1..=300).contains(&self.smtp_timeout) {
            problems.push("SMTP_TIMEOUT: must be 1 to 300 seconds".to_owned());
        }
    }
}

/// The file of a `sqlite://path?…` URL, if it names one (not `sqlite::memory:`).
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Config {
        let mut command_line = vec!["server"];
        command_line.extend_from_slice(args);
        Cli::try_parse_from(command_line).unwrap().config
    }

    #[test]
    fn defaults_are_valid_and_run_on_sqlite() {
        let config = parse(&[]);
        let validated = config.validate().unwrap();
        assert_eq!(validated.sqlite_path, Some(PathBuf::from("users.db")));
        assert_eq!(validated.bind.port(), 8000);
    }

    #[test]
    fn every_problem_is_reported_on_its_own_line() {
        let config = parse(&[
            "--database-url",
            "postgres://db/users",
            "--bind",
            "nowhere",
            "--trusted-proxies",
            "10.0.0.0/8,garbage",
            "--secret-key",
            "short",
            "--cors-allowed-origins",
            "*",
        ]);
        let problems = config.validate().unwrap_err();
        assert!(problems.iter().any(|p| p.starts_with("BIND")));
        assert!(problems.iter().any(|p| p.starts_with("TRUSTED_PROXIES")));
        assert!(problems.iter().any(|p| p.starts_with("SECRET_KEY")));
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("CORS_ALLOWED_ORIGINS"))
        );
    }

    #[test]
    fn postgres_needs_a_secret_unless_debugging() {
        let problems = parse(&["--database-url", "postgres://db/users"])
            .validate()
            .unwrap_err();
        assert!(problems.iter().any(|p| p.starts_with("SECRET_KEY")));
        assert!(
            parse(&["--database-url", "postgres://db/users", "--debug"])
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite:///tmp/x.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://x"), None);
    }
}
