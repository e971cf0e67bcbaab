//! `Application`: builds the adapters from the configuration, hands them to the domain's
//! services and to the HTTP layer, binds, and serves until stopped. No business rule here.

use crate::config::{Config, EmailBackend, Validated};
use api_http::{AppState, ConnectionLimits, Readiness};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::ports::{OneTimeTokens, UserRepository as _};
use domain::{
    AccountService, AdminService, AuditEvent, AuthService, ClientInfo, Clock, IssueLimit, Mail,
    MailDelivery, Mailer, OneTimeToken, PageRequest, PasswordHash, PasswordPolicy,
    PlaintextPassword, Ports, RecoveryPolicy, RecoveryService, RetryPolicy, Role, SecretHash,
    Session, Settings, SignUp, SignUpError, UnexpectedError, UserFilter, UserOrdering, UserQuery,
};
use infra_argon2::{Argon2Config, Argon2Hasher};
use infra_jwt::{JwtTokenIssuer, RandomSecretGenerator};
use infra_postgres::{
    DatabaseConnection, PoolOptions, SqlAuditLog, SqlLoginThrottle, SqlOneTimeTokens, SqlOutbox,
    SqlSessionRepository, SqlUserRepository,
};
use infra_smtp::{LogMailer, SmtpMailer, SmtpSettings};
use migrations::{Migrator, MigratorTrait as _};
use secrecy::{ExposeSecret, SecretString};
use std::error::Error;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// A start-up failure, as one line for the operator.
pub type StartError = Box<dyn Error + Send + Sync>;

/// The system clock, truncated to microseconds: PostgreSQL keeps no more, so a time read back
/// equals the one written.
struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now)
    }
}

struct DatabaseReadiness(DatabaseConnection);

#[async_trait]
impl Readiness for DatabaseReadiness {
    async fn check(&self) -> Result<(), String> {
        infra_postgres::ping(&self.0)
            .await
            .map_err(|error| error.to_string())
    }
}

/// One-time tokens that wake this instance's mail worker once a message they queued is
/// committed, so that it leaves at once instead of at the next look at the outbox.
struct WakeOnIssue {
    tokens: SqlOneTimeTokens,
    mail_queued: Arc<Notify>,
}

#[async_trait]
impl OneTimeTokens for WakeOnIssue {
    async fn issue(
        &self,
        token: &OneTimeToken,
        mail: &Mail,
        event: &AuditEvent,
        limit: Option<IssueLimit>,
    ) -> Result<bool, UnexpectedError> {
        let issued = self.tokens.issue(token, mail, event, limit).await?;
        if issued {
            self.mail_queued.notify_one();
        }
        Ok(issued)
    }

    async fn forget_expired(&self, before: OffsetDateTime) -> Result<u64, UnexpectedError> {
        self.tokens.forget_expired(before).await
    }

    async fn find(&self, hash: &SecretHash) -> Result<Option<OneTimeToken>, UnexpectedError> {
        self.tokens.find(hash).await
    }

    async fn reset_password(
        &self,
        token: &OneTimeToken,
        hash: &PasswordHash,
        at: OffsetDateTime,
        session: &Session,
        event: &AuditEvent,
    ) -> Result<bool, UnexpectedError> {
        self.tokens
            .reset_password(token, hash, at, session, event)
            .await
    }
}

/// The mail worker's parts: what it delivers with, what wakes it, how often it looks anyway.
#[derive(Clone)]
pub struct MailWorker {
    /// Takes due messages from the outbox to the mailer.
    pub delivery: MailDelivery,
    /// Notified when this instance queues a message.
    pub mail_queued: Arc<Notify>,
    /// The longest wait between two looks at the outbox.
    pub poll_interval: Duration,
}

/// The wired services, for the subcommands that need them without HTTP.
pub struct Services {
    /// Sign-up, login…
    pub auth: AuthService,
    /// The caller's own account.
    pub account: AccountService,
    /// Administration.
    pub admin: AdminService,
    /// Password reset by mail.
    pub recovery: RecoveryService,
    /// The delivery of queued mail.
    pub mail: MailWorker,
    /// The database pool.
    pub database: DatabaseConnection,
    /// The JWKS document, with an asymmetric key.
    pub jwks: Option<serde_json::Value>,
    /// The password hasher (the seeder hashes its one password with it).
    pub hasher: Arc<Argon2Hasher>,
}

/// Connects to the database, applies pending migrations, and builds every adapter and service.
///
/// # Errors
/// A start-up failure, described in one line.
pub async fn wire(config: &Config, validated: &Validated) -> Result<Services, StartError> {
    let timeout = Duration::from_secs(u64::from(config.database_timeout.max(1)));
    // SQLite runs each connection's queries on a thread of its own and has one writer at a
    // time: past a few connections, more only add threads competing for the same cores and a
    // page cache each.
    let default_connections = if config.database_url.starts_with("sqlite:") {
        4
    } else {
        10
    };
    let pool = PoolOptions {
        max_connections: config
            .database_max_connections
            .unwrap_or(default_connections)
            .max(1),
        connect_timeout: timeout,
        acquire_timeout: timeout,
        ..PoolOptions::default()
    };
    let database = infra_postgres::connect(&config.database_url, &pool)
        .await
        .map_err(|error| format!("DATABASE_URL: cannot connect: {error}"))?;
    Migrator::up(&database, None)
        .await
        .map_err(|error| format!("migrating the database: {error}"))?;

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // A token claiming a longer life than we issue was not issued by us as configured.
    let issuer = token_issuer(config, validated, Arc::clone(&clock))?.with_max_lifetime(
        std::time::Duration::from_secs(config.access_token_lifetime.into()),
    );
    let jwks = issuer.jwks();
    let mut argon2 = Argon2Config {
        memory_kib: config.argon2_memory_kib,
        iterations: config.argon2_iterations,
        thread_nice: config.argon2_thread_nice,
        ..Argon2Config::default()
    };
    if let Some(max_concurrent) = config.argon2_max_concurrent {
        argon2.max_concurrent = max_concurrent.max(1);
    }
    let hasher = Arc::new(Argon2Hasher::new(argon2).map_err(|error| format!("ARGON2_*: {error}"))?);
    let ports = Ports {
        users: Arc::new(SqlUserRepository::new(database.clone())),
        sessions: Arc::new(SqlSessionRepository::new(database.clone())),
        throttle: Arc::new(SqlLoginThrottle::new(database.clone())),
        hasher: hasher.clone(),
        tokens: Arc::new(issuer),
        secrets: Arc::new(RandomSecretGenerator),
        clock,
        audit: Arc::new(SqlAuditLog::new(database.clone())),
    };
    let settings = Settings {
        access_token_lifetime: time::Duration::seconds(i64::from(config.access_token_lifetime)),
        refresh_token_lifetime: time::Duration::seconds(i64::from(config.refresh_token_lifetime)),
        session_max_lifetime: time::Duration::seconds(i64::from(config.session_max_lifetime)),
        password_policy: PasswordPolicy {
            min_score: config.password_min_score,
            ..PasswordPolicy::default()
        },
        ..Settings::default()
    };
    let mail_queued = Arc::new(Notify::new());
    let tokens = Arc::new(WakeOnIssue {
        tokens: SqlOneTimeTokens::new(database.clone()),
        mail_queued: Arc::clone(&mail_queued),
    });
    let retry = RetryPolicy {
        max_attempts: config.mail_max_attempts,
        first_delay: time::Duration::seconds(i64::from(config.mail_retry_delay)),
        ..RetryPolicy::default()
    };
    let mail = MailWorker {
        delivery: MailDelivery::new(
            Arc::new(SqlOutbox::new(database.clone())),
            mailer(config)?,
            Arc::clone(&ports.clock),
            retry,
        ),
        mail_queued,
        poll_interval: Duration::from_millis(u64::from(config.mail_poll_interval_ms)),
    };
    Ok(Services {
        auth: AuthService::new(ports.clone(), settings.clone()),
        account: AccountService::new(ports.clone(), settings.clone()),
        admin: AdminService::new(ports.clone(), settings.clone()),
        recovery: RecoveryService::new(
            ports,
            settings,
            tokens,
            RecoveryPolicy {
                reset_lifetime: time::Duration::seconds(i64::from(config.password_reset_lifetime)),
                ..RecoveryPolicy::default()
            },
        ),
        mail,
        database,
        jwks,
        hasher,
    })
}

/// The configured mailer: the log, or the SMTP server.
fn mailer(config: &Config) -> Result<Arc<dyn Mailer>, StartError> {
    let public_url = config.public_url.trim_end_matches('/').to_owned();
    match (config.email_backend, &config.smtp_url) {
        (EmailBackend::Smtp, Some(url)) => {
            let settings = SmtpSettings {
                url: url.expose_secret().to_owned(),
                from: config.mail_from.clone(),
                public_url,
                timeout: Duration::from_secs(u64::from(config.smtp_timeout)),
            };
            let mailer = SmtpMailer::new(&settings)
                .map_err(|error| format!("SMTP_URL/MAIL_FROM: {error}"))?;
            Ok(Arc::new(mailer))
        }
        (EmailBackend::Smtp, None) => Err("SMTP_URL: required with EMAIL_BACKEND=smtp".into()),
        (EmailBackend::Log, _) => {
            let mailer = LogMailer::new(public_url);
            let production = !config.debug && !config.database_url.starts_with("sqlite:");
            if production {
                tracing::warn!(
                    "EMAIL_BACKEND=log: no mail leaves this server, and reset links are withheld from the log (set EMAIL_BACKEND=smtp and SMTP_URL)"
                );
                Ok(Arc::new(mailer.withholding_links()))
            } else {
                Ok(Arc::new(mailer))
            }
        }
    }
}

fn token_issuer(
    config: &Config,
    validated: &Validated,
    clock: Arc<dyn Clock>,
) -> Result<JwtTokenIssuer, StartError> {
    if let Some(path) = &config.jwt_private_key_file {
        let pem = std::fs::read_to_string(path).map_err(|error| {
            format!(
                "JWT_PRIVATE_KEY_FILE: cannot read {}: {error}",
                path.display()
            )
        })?;
        return Ok(JwtTokenIssuer::ed25519_from_pem(
            &pem,
            &config.jwt_issuer,
            &config.jwt_audience,
            clock,
        )
        .map_err(|error| format!("JWT_PRIVATE_KEY_FILE: {error}"))?);
    }
    let secret = match &config.secret_key {
        Some(secret) => secret.clone(),
        None => persisted_secret(validated.sqlite_path.as_deref())?,
    };
    Ok(JwtTokenIssuer::hs256(
        secret.expose_secret().as_bytes(),
        &config.jwt_issuer,
        &config.jwt_audience,
        clock,
    )
    .map_err(|error| format!("SECRET_KEY: {error}"))?)
}

/// The key kept beside the SQLite database (or in the working directory), created on first
/// start from 256 random bits, readable by its owner only.
fn persisted_secret(sqlite_path: Option<&Path>) -> Result<SecretString, StartError> {
    let path = match sqlite_path {
        Some(database) => {
            let mut name = database.as_os_str().to_owned();
            name.push(".secret-key");
            std::path::PathBuf::from(name)
        }
        None => std::path::PathBuf::from("secret.key"),
    };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(SecretString::from(existing));
        }
        return Err(format!(
            "{}: the stored secret key is too short; delete the file to make a new one",
            path.display()
        )
        .into());
    }
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| format!("generating a secret key: {error}"))?;
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    write_private(&path, &secret).map_err(|error| {
        format!(
            "{}: cannot store the generated secret key: {error}",
            path.display()
        )
    })?;
    tracing::info!(path = %path.display(), "generated a secret key for signing tokens");
    Ok(SecretString::from(secret))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

/// Creates the configured bootstrap admin unless that email already has an account.
///
/// # Errors
/// When the admin's input is invalid (a weak password, say) or storage fails.
pub async fn bootstrap_admin(config: &Config, services: &Services) -> Result<(), StartError> {
    let (email, password) = match (&config.admin_email, &config.admin_password) {
        (Some(email), Some(password)) => (email, password),
        (None, None) => return Ok(()),
        // `create-admin` takes ADMIN_PASSWORD alone; a bootstrap needs both.
        _ => return Err("ADMIN_EMAIL and ADMIN_PASSWORD: set both or neither".into()),
    };
    let input = SignUp {
        email: email.clone(),
        password: PlaintextPassword::new(password.expose_secret()),
        full_name: config.admin_full_name.clone(),
    };
    match services
        .admin
        .create_admin(input, &ClientInfo::default())
        .await
    {
        Ok(admin) => {
            tracing::info!(email = %admin.email(), "created the bootstrap admin");
            Ok(())
        }
        Err(SignUpError::EmailTaken) => Ok(()),
        Err(SignUpError::Invalid(errors)) => {
            Err(format!("ADMIN_EMAIL/ADMIN_PASSWORD/ADMIN_FULL_NAME: {errors}").into())
        }
        Err(SignUpError::Unexpected(error)) => {
            Err(format!("creating the bootstrap admin: {error}").into())
        }
    }
}

/// How many admin accounts exist.
async fn admin_count(database: &DatabaseConnection) -> Result<u64, StartError> {
    let query = UserQuery {
        filter: UserFilter {
            role: Some(Role::Admin),
            ..UserFilter::default()
        },
        ordering: UserOrdering::default(),
        page: PageRequest::Number { number: 1, size: 1 },
    };
    Ok(SqlUserRepository::new(database.clone())
        .list(&query)
        .await?
        .total)
}

/// Every client connection is a file descriptor. Raises the process's soft limit toward its
/// hard one as far as `MAX_CONNECTIONS` needs (as Go's runtime does at start), and lowers
/// `MAX_CONNECTIONS` if even that is not enough, keeping room for the database, the log and the
/// web app's files: running out of descriptors would stop every client, not just the last.
fn fit_to_descriptor_limit(limits: &mut ConnectionLimits) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    const RESERVED: u64 = 256;
    let needed = limits.max_connections as u64 + RESERVED;
    let limit = getrlimit(Resource::Nofile);
    let mut available = limit.current.unwrap_or(u64::MAX);
    if available < needed {
        let raised = limit.maximum.map_or(needed, |hard| hard.min(needed));
        let new = Rlimit {
            current: Some(raised),
            maximum: limit.maximum,
        };
        if raised > available && setrlimit(Resource::Nofile, new).is_ok() {
            available = raised;
        }
    }
    if available < needed {
        let fitted = usize::try_from(available.saturating_sub(RESERVED).max(1)).unwrap_or(1);
        tracing::warn!(
            "MAX_CONNECTIONS lowered from {} to {fitted}: the process may open only {available} files (ulimit -n)",
            limits.max_connections
        );
        limits.max_connections = fitted;
    }
}

/// A bound, ready-to-serve application.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    state: AppState,
    auth: AuthService,
    recovery: RecoveryService,
    mail: MailWorker,
}

impl Application {
    /// Validates `config`, wires everything, bootstraps the admin if asked, and binds.
    ///
    /// # Errors
    /// A start-up failure, described in one line per problem.
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        let mut validated = config.validate().map_err(|problems| problems.join("\n"))?;
        fit_to_descriptor_limit(&mut validated.http.connections);
        let services = wire(config, &validated).await?;
        bootstrap_admin(config, &services).await?;
        let listener = TcpListener::bind(validated.bind)
            .await
            .map_err(|error| format!("BIND: cannot listen on {}: {error}", validated.bind))?;
        let address = listener.local_addr()?;
        if admin_count(&services.database).await? == 0 {
            // Most first starts come from a checkout with no `server` on the PATH: give the
            // command that works there first.
            tracing::warn!(
                "no admin account yet: from the repository run `ADMIN_PASSWORD='choose-a-long-passphrase' cargo run --release -p server -- create-admin --email you@example.com --full-name \"Your Name\"` (an installed binary: `server create-admin …`; without ADMIN_PASSWORD it asks for the password), or start with ADMIN_EMAIL and ADMIN_PASSWORD set"
            );
        }
        let auth = services.auth.clone();
        let recovery = services.recovery.clone();
        let mail = services.mail.clone();
        let state = AppState::new(
            api_http::Services {
                auth: services.auth,
                account: services.account,
                admin: services.admin,
                recovery: services.recovery,
                mail: services.mail.delivery,
            },
            Arc::new(DatabaseReadiness(services.database)),
            services.jwks,
            validated.http,
        );
        Ok(Self {
            listener,
            address,
            state,
            auth,
            recovery,
            mail,
        })
    }

    /// The address the server listens on (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    ///
    /// # Errors
    /// When the listener fails.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let housekeeping = tokio::spawn(housekeeping(
            self.auth,
            self.recovery,
            self.mail.delivery.clone(),
        ));
        let stop = Arc::new(Notify::new());
        let mut mail = tokio::spawn(deliver_mail(self.mail, Arc::clone(&stop)));
        let served = api_http::serve(self.listener, self.state, shutdown).await;
        housekeeping.abort();
        // The delivery under way may finish; then the worker stops.
        stop.notify_one();
        if tokio::time::timeout(MAIL_STOP_GRACE, &mut mail)
            .await
            .is_err()
        {
            mail.abort();
        }
        served
    }
}

/// Messages taken from the outbox in one claim: one, so that a claimed message is always the
/// one being sent (a stopping server leaves at most one leased), and a lease never has to
/// cover more than one delivery. The worker claims again at once while claims find mail.
const MAIL_BATCH: u32 = 1;

/// How long a stopping server waits for the delivery under way (which `SMTP_TIMEOUT` bounds);
/// a message cut off is sent again once its lease ends.
const MAIL_STOP_GRACE: Duration = Duration::from_secs(10);

/// Delivers queued mail until `stop` is notified: at once when this instance queued some, and
/// at every poll interval for what other instances queued or what is due again. Instances
/// sharing a database may all run it: the outbox hands each message to one of them.
async fn deliver_mail(worker: MailWorker, stop: Arc<Notify>) {
    loop {
        loop {
            match worker.delivery.deliver_due(MAIL_BATCH).await {
                Ok(report) => {
                    if report.claimed() > 0 {
                        tracing::info!(
                            sent = report.sent,
                            retrying = report.retrying,
                            failed = report.failed,
                            "mail delivery"
                        );
                    }
                    if report.claimed() < MAIL_BATCH as usize {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "reading the outbox failed; trying again shortly");
                    break;
                }
            }
        }
        tokio::select! {
            () = stop.notified() => return,
            () = worker.mail_queued.notified() => {}
            () = tokio::time::sleep(worker.poll_interval) => {}
        }
    }
}

/// How often the housekeeping runs.
const HOUSEKEEPING_EVERY: Duration = Duration::from_hours(1);

/// Deletes, at start and every hour, what nothing else frees: the counts of password checks
/// nobody has made for a day (a spray of failed logins with made-up emails leaves them
/// behind), links that expired a day ago, and messages finished 30 days ago. Instances sharing
/// a database may all do it; each delete only finds less to do.
async fn housekeeping(auth: AuthService, recovery: RecoveryService, mail: MailDelivery) {
    let mut every = tokio::time::interval(HOUSEKEEPING_EVERY);
    loop {
        every.tick().await;
        report(
            "forgot idle login checks",
            auth.forget_idle_login_checks().await,
        );
        report(
            "forgot expired links",
            recovery.forget_expired_links().await,
        );
        report("forgot finished mail", mail.forget_finished().await);
    }
}

fn report(what: &str, outcome: Result<u64, UnexpectedError>) {
    match outcome {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "{what}"),
        Err(error) => {
            tracing::warn!(%error, "housekeeping failed ({what}); trying again in an hour");
        }
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
