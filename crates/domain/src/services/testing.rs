//! Fixtures for the services' unit tests: mocks of every port with benign defaults for the
//! pure ones (clock, secrets, tokens), and ready-made users and sessions.

use crate::ports::{
    MockAuditLog, MockClock, MockLoginThrottle, MockPasswordHasher, MockSecretGenerator,
    MockSessionRepository, MockTokenIssuer, MockUserRepository,
};
use crate::{
    AccessToken, ClientInfo, Email, FullName, PasswordHash, Ports, Principal, RefreshSecret, Role,
    SecretHash, Session, User, UserId,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use time::{Duration, OffsetDateTime, macros::datetime};

pub(crate) const STRONG: &str = "vivid-otter-cabinet-91";

pub(crate) fn now() -> OffsetDateTime {
    datetime!(2026-11-26 12:00:00 UTC)
}

pub(crate) fn client() -> ClientInfo {
    ClientInfo {
        user_agent: Some("tests".into()),
        ip: Some("203.0.113.9".parse().unwrap()),
    }
}

pub(crate) fn user(email: &str, role: Role) -> User {
    User::new(
        UserId::new(),
        Email::parse(email).unwrap(),
        FullName::parse("Ada Lovelace").unwrap(),
        role,
        PasswordHash::new("stored-hash"),
        now() - Duration::days(30),
    )
}

pub(crate) fn session_of(user: &User) -> Session {
    Session::start(
        user.id(),
        SecretHash::new("h:current"),
        now() - Duration::hours(1),
        Duration::days(7),
        client(),
    )
}

pub(crate) fn principal(role: Role) -> Principal {
    let user = user("caller@example.com", role);
    let session = session_of(&user);
    Principal { user, session }
}

/// One mock per port. `clock`, `secrets` and `tokens` answer deterministically by default:
/// secrets are `secret-<n>`, their hash `h:<secret>`, access tokens `at:<session id>`; the
/// throttle admits every check as the first and forgets on demand (replace `throttle` to
/// count something).
pub(crate) struct Mocks {
    pub(crate) users: MockUserRepository,
    pub(crate) sessions: MockSessionRepository,
    pub(crate) throttle: MockLoginThrottle,
    pub(crate) hasher: MockPasswordHasher,
    pub(crate) tokens: MockTokenIssuer,
    pub(crate) secrets: MockSecretGenerator,
    pub(crate) clock: MockClock,
    pub(crate) audit: MockAuditLog,
}

impl Mocks {
    pub(crate) fn new() -> Self {
        let mut clock = MockClock::new();
        clock.expect_now().returning(now);
        let mut secrets = MockSecretGenerator::new();
        let counter = Arc::new(AtomicUsize::new(0));
        secrets.expect_generate().returning(move || {
            RefreshSecret::new(format!("secret-{}", counter.fetch_add(1, Ordering::SeqCst)))
        });
        secrets
            .expect_hash()
            .returning(|secret| SecretHash::new(format!("h:{}", secret.expose())));
        let mut tokens = MockTokenIssuer::new();
        tokens
            .expect_issue()
            .returning(|claims| Ok(AccessToken::new(format!("at:{}", claims.session_id))));
        let mut throttle = MockLoginThrottle::new();
        throttle
            .expect_get()
            .returning(|_| Ok(crate::FailedLogins::default()));
        throttle.expect_admit().returning(|_, _, _| Ok(Some(1)));
        throttle.expect_clear().returning(|_| Ok(()));
        Self {
            users: MockUserRepository::new(),
            sessions: MockSessionRepository::new(),
            throttle,
            hasher: MockPasswordHasher::new(),
            tokens,
            secrets,
            clock,
            audit: MockAuditLog::new(),
        }
    }

    pub(crate) fn ports(self) -> Ports {
        Ports {
            users: Arc::new(self.users),
            sessions: Arc::new(self.sessions),
            throttle: Arc::new(self.throttle),
            hasher: Arc::new(self.hasher),
            tokens: Arc::new(self.tokens),
            secrets: Arc::new(self.secrets),
            clock: Arc::new(self.clock),
            audit: Arc::new(self.audit),
        }
    }
}

pub(crate) fn storage_down() -> crate::UnexpectedError {
    crate::UnexpectedError::unavailable("test", "database is down")
}
