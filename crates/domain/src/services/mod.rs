//! The use cases, one method each, grouped in three services: [`AuthService`] (getting and
//! losing a session), [`AccountService`] (a signed-in user's own account) and
//! [`AdminService`] (administrators over other accounts).

mod account;
mod admin;
mod auth;
mod recovery;

pub use account::{
    AccountService, ChangePassword, ChangePasswordError, ProfileUpdate, RevokeSessionError,
    SessionView, UpdateProfileError,
};
pub use admin::{
    AdminService, AuditListQuery, AuditPage, GetUserError, ListAuditError, ListUsersError,
    ToggleActivationError, UpdateUserError, UserUpdate,
};
pub use auth::{
    AuthService, AuthenticateError, LogIn, LogInError, LogOutError, RefreshError, SignUp,
    SignUpError, SignedIn,
};
pub use recovery::{
    ConfirmReset, ConfirmResetError, DeliveryReport, ListOutboxError, MailDelivery,
    OutboxListQuery, OutboxPage, RecoveryPolicy, RecoveryService, SendResetError,
};

use crate::{
    AccessClaims, AuditAction, AuditEvent, AuditLog, ClientInfo, Clock, LoginThrottle,
    PasswordHasher, PasswordPolicy, RefreshSecret, SecretGenerator, Session, SessionRepository,
    ThrottleKey, TokenIssuer, TokenPair, UnexpectedError, User, UserRepository,
};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Every port the services need, as shared trait objects. Cloning is cheap.
#[derive(Clone)]
pub struct Ports {
    /// Accounts.
    pub users: Arc<dyn UserRepository>,
    /// Refresh-token sessions.
    pub sessions: Arc<dyn SessionRepository>,
    /// Wrong passwords per email and address, and lockouts.
    pub throttle: Arc<dyn LoginThrottle>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Access tokens.
    pub tokens: Arc<dyn TokenIssuer>,
    /// Refresh secrets.
    pub secrets: Arc<dyn SecretGenerator>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Audit events with no other write to ride on.
    pub audit: Arc<dyn AuditLog>,
}

/// When repeated wrong passwords for one email from one address ([`crate::ThrottleKey`]) stop
/// being checked, and for how long.
///
/// ```
/// use domain::LockoutPolicy;
/// use time::Duration;
///
/// let policy = LockoutPolicy::default();
/// assert_eq!(policy.lock_for(4), None);
/// assert_eq!(policy.lock_for(5), Some(Duration::minutes(1)));
/// assert_eq!(policy.lock_for(6), Some(Duration::minutes(2)));
/// assert_eq!(policy.lock_for(9), Some(Duration::minutes(15)));
/// assert_eq!(policy.lock_for(60), Some(Duration::minutes(15)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Consecutive failures that lock the account (default 5).
    pub threshold: u32,
    /// The first lock's length (default 1 minute); each further failure doubles it.
    pub first_lock: Duration,
    /// The longest lock (default 15 minutes).
    pub max_lock: Duration,
    /// How long checks are remembered with none since (default 1 day): then the count starts
    /// again and its storage is freed, so a spray of made-up emails leaves nothing behind.
    pub forget_after: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            threshold: 5,
            first_lock: Duration::minutes(1),
            max_lock: Duration::minutes(15),
            forget_after: Duration::days(1),
        }
    }
}

impl LockoutPolicy {
    /// How long to lock an account after `failures` consecutive failures, if at all.
    pub fn lock_for(&self, failures: u32) -> Option<Duration> {
        if failures < self.threshold {
            return None;
        }
        let doublings = (failures - self.threshold).min(30);
        let lock = self.first_lock.saturating_mul(1_i32 << doublings);
        Some(lock.min(self.max_lock))
    }
}

/// Lifetimes and rules the services apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// How long an access token lives (default 15 minutes).
    pub access_token_lifetime: Duration,
    /// How long a refresh secret lives unused (default 7 days); each rotation renews it.
    pub refresh_token_lifetime: Duration,
    /// How long a session lasts from its login, however often it is refreshed (default 30
    /// days): a stolen refresh token kept alive by rotation dies then too.
    pub session_max_lifetime: Duration,
    /// Login lockout.
    pub lockout: LockoutPolicy,
    /// Rules for new passwords.
    pub password_policy: PasswordPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            access_token_lifetime: Duration::minutes(15),
            refresh_token_lifetime: Duration::days(7),
            session_max_lifetime: Duration::days(30),
            lockout: LockoutPolicy::default(),
            password_policy: PasswordPolicy::default(),
        }
    }
}

impl Settings {
    /// When the refresh secret of a session opened at `created_at` and renewed at `now` stops
    /// working: a refresh lifetime after `now`, but never past the session's absolute end.
    ///
    /// ```
    /// use domain::Settings;
    /// use time::{Duration, OffsetDateTime};
    ///
    /// let settings = Settings::default();
    /// let opened = OffsetDateTime::UNIX_EPOCH;
    /// assert_eq!(settings.session_expiry(opened, opened), opened + Duration::days(7));
    /// let late = opened + Duration::days(28);
    /// assert_eq!(settings.session_expiry(opened, late), opened + Duration::days(30));
    /// ```
    pub fn session_expiry(
        &self,
        created_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> OffsetDateTime {
        (now + self.refresh_token_lifetime).min(created_at + self.session_max_lifetime)
    }
}

/// How often an update that sets values is applied again when other changes keep landing
/// between its read and its write.
const CHANGE_ATTEMPTS: usize = 5;

/// Why a page by number cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageError {
    /// The page size is outside 1 to [`crate::MAX_PAGE_SIZE`].
    SizeOutOfRange,
    /// The page number is 0.
    NotFound,
}

/// Where page `number` (1-based) of `size` items starts, once both are checked.
fn page_offset(number: u32, size: u32) -> Result<u64, PageError> {
    if !crate::is_valid_page_size(size) {
        return Err(PageError::SizeOutOfRange);
    }
    if number == 0 {
        return Err(PageError::NotFound);
    }
    Ok(u64::from(number - 1) * u64::from(size))
}

/// What every service holds.
#[derive(Clone)]
struct Core {
    ports: Ports,
    settings: Arc<Settings>,
}

impl Core {
    fn new(ports: Ports, settings: Settings) -> Self {
        Self {
            ports,
            settings: Arc::new(settings),
        }
    }

    /// A new session for `user` and the secret that renews it (not stored yet).
    fn open_session(
        &self,
        user: &User,
        now: OffsetDateTime,
        client: ClientInfo,
    ) -> (Session, RefreshSecret) {
        let secret = self.ports.secrets.generate();
        let session = Session::start(
            user.id(),
            self.ports.secrets.hash(&secret),
            now,
            self.settings.session_expiry(now, now) - now,
            client,
        );
        (session, secret)
    }

    /// Admits one password check for `key` (see [`LoginThrottle::admit`]), or tells how long
    /// until one is: `Err(retry_after)`.
    async fn admit_check(
        &self,
        key: &ThrottleKey,
        now: OffsetDateTime,
    ) -> Result<Result<u32, Duration>, UnexpectedError> {
        let throttle = &self.ports.throttle;
        let lockout = &self.settings.lockout;
        if let Some(checks) = throttle.admit(key, now, lockout.threshold).await? {
            return Ok(Ok(checks));
        }
        // Locked, or the check that ends a lock is still running: its lock, if it fails.
        let counted = throttle.get(key).await?;
        let retry_after = counted
            .lock_remaining(now)
            .or_else(|| lockout.lock_for(counted.failures))
            .unwrap_or(lockout.first_lock);
        Ok(Err(retry_after))
    }

    /// Records a wrong password (`failed`), the `checks`-th counted against `key` (at login,
    /// or as the old password of a password change: a stolen access token must not buy
    /// unlimited guesses), and locks `key` when the lockout policy says so; returns the lock's
    /// length if it did.
    async fn count_wrong_password(
        &self,
        key: &ThrottleKey,
        checks: u32,
        failed: &AuditEvent,
        now: OffsetDateTime,
        client: &ClientInfo,
    ) -> Result<Option<Duration>, UnexpectedError> {
        self.ports.audit.record(failed).await?;
        let Some(lock) = self.settings.lockout.lock_for(checks) else {
            return Ok(None);
        };
        let mut event = AuditEvent::new(AuditAction::LockedOut, now, client)
            .with("email", key.email().as_str())
            .with("failures", checks.to_string())
            .with("seconds", lock.whole_seconds().to_string());
        event.target = failed.target;
        self.ports.throttle.lock(key, now + lock, &event).await?;
        Ok(Some(lock))
    }

    /// Adds to `errors`, under `new_password`, every rule of the password policy that
    /// `password` breaks as `user`'s new password.
    fn check_new_password(
        &self,
        user: &User,
        password: &crate::PlaintextPassword,
        errors: &mut crate::FieldErrors,
    ) {
        let context = crate::PolicyContext {
            email: Some(user.email()),
            full_name: Some(user.full_name()),
        };
        if let Err(violations) = self.settings.password_policy.check(password, &context) {
            for message in violations.messages() {
                errors.add("new_password", message);
            }
        }
    }

    /// Signs an access token for `session` and pairs it with `refresh`.
    fn token_pair(
        &self,
        user: &User,
        session: &Session,
        refresh: RefreshSecret,
        now: OffsetDateTime,
    ) -> Result<TokenPair, UnexpectedError> {
        let claims = AccessClaims {
            user_id: user.id(),
            session_id: session.id,
            role: user.role(),
            issued_at: now,
            expires_at: now + self.settings.access_token_lifetime,
            token_id: Uuid::new_v4(),
        };
        let access = self.ports.tokens.issue(&claims)?;
        Ok(TokenPair {
            access,
            refresh,
            access_expires_at: claims.expires_at,
            refresh_expires_at: session.expires_at,
        })
    }
}

#[cfg(test)]
pub(crate) mod testing;
