//! Embedding the domain crate: in-memory adapters for every port, wired into the services,
//! then a sign-up, a log-in, a refresh (and a reuse of the old refresh secret) run through
//! them. Run it with `cargo run -p domain --example embed`.
//!
//! The adapters here are deliberately simple and NOT secure (the "hasher" and the "token
//! issuer" do no cryptography): real services use `infra-argon2`, `infra-jwt` and
//! `infra-postgres`, or adapters of their own that keep the contracts documented in
//! `domain::ports`.

use async_trait::async_trait;
use domain::{
    AccessClaims, AccessToken, AccountService, AuditEvent, AuditLog, AuditQuery, AuditSlice,
    AuthService, ClientInfo, Clock, Email, FailedLogins, LogIn, LoginThrottle, PasswordHash,
    PasswordHasher, PlaintextPassword, Ports, RefreshError, RefreshSecret, SaveUserError,
    SecretGenerator, SecretHash, SecretMatch, Session, SessionId, SessionRepository, Settings,
    SignUp, ThrottleKey, TokenError, TokenIssuer, UnexpectedError, User, UserId, UserQuery,
    UserRecord, UserRepository, UserSlice,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use time::OffsetDateTime;

/// Everything the in-memory store holds, behind one lock so each method is one transaction.
#[derive(Default)]
struct Tables {
    users: HashMap<UserId, User>,
    sessions: HashMap<SessionId, Session>,
    /// Secrets sessions rotated away from, kept for reuse detection.
    retired: HashMap<SecretHash, SessionId>,
    audit: Vec<AuditEvent>,
    /// What is counted per key, and when its last check was admitted.
    failed_logins: HashMap<ThrottleKey, (FailedLogins, OffsetDateTime)>,
}

#[derive(Clone, Default)]
struct Memory(Arc<Mutex<Tables>>);

impl Memory {
    fn tables(&self) -> Result<MutexGuard<'_, Tables>, UnexpectedError> {
        self.0
            .lock()
            .map_err(|_| UnexpectedError::internal("locking the store", "a writer panicked"))
    }
}

fn revoke_all_of(tables: &mut Tables, user: UserId, at: OffsetDateTime) -> u64 {
    let mut count = 0;
    for session in tables.sessions.values_mut() {
        if session.user_id == user && session.revoked_at.is_none() {
            session.revoked_at = Some(at);
            count += 1;
        }
    }
    count
}

fn with_user_fields(user: &User, change: impl FnOnce(&mut UserRecord)) -> User {
    let mut record = user.to_record();
    change(&mut record);
    User::restore(record)
}

#[async_trait]
impl UserRepository for Memory {
    async fn insert(
        &self,
        user: &User,
        first_session: Option<Session>,
        event: &AuditEvent,
    ) -> Result<(), SaveUserError> {
        let mut tables = self.tables()?;
        if tables
            .users
            .values()
            .any(|other| other.email() == user.email())
        {
            return Err(SaveUserError::EmailTaken);
        }
        tables.users.insert(user.id(), user.clone());
        if let Some(session) = first_session {
            tables.sessions.insert(session.id, session);
        }
        tables.audit.push(event.clone());
        Ok(())
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, UnexpectedError> {
        Ok(self.tables()?.users.get(&id).cloned())
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, UnexpectedError> {
        Ok(self
            .tables()?
            .users
            .values()
            .find(|user| user.email() == email)
            .cloned())
    }

    async fn update(
        &self,
        user: &User,
        read_as_of: OffsetDateTime,
        revoke_sessions: bool,
        event: &AuditEvent,
    ) -> Result<(), SaveUserError> {
        let mut tables = self.tables()?;
        match tables.users.get(&user.id()) {
            None => return Err(UnexpectedError::internal("updating a user", "no such user").into()),
            Some(stored) if stored.updated_at() != read_as_of => {
                return Err(SaveUserError::Changed);
            }
            Some(_) => {}
        }
        if tables
            .users
            .values()
            .any(|other| other.email() == user.email() && other.id() != user.id())
        {
            return Err(SaveUserError::EmailTaken);
        }
        tables.users.insert(user.id(), user.clone());
        if revoke_sessions {
            revoke_all_of(&mut tables, user.id(), user.updated_at());
        }
        tables.audit.push(event.clone());
        Ok(())
    }

    async fn record_login(
        &self,
        id: UserId,
        verified: &PasswordHash,
        at: OffsetDateTime,
        rehashed: Option<PasswordHash>,
        session: &Session,
        event: &AuditEvent,
    ) -> Result<bool, UnexpectedError> {
        let mut tables = self.tables()?;
        // Only the account as the password was checked against: still there, still active,
        // with the same hash.
        let Some(user) = tables
            .users
            .get(&id)
            .filter(|user| user.is_active() && user.password_hash() == verified)
            .cloned()
        else {
            return Ok(false);
        };
        let user = with_user_fields(&user, |record| {
            record.last_login = Some(at);
            if let Some(hash) = rehashed {
                record.password_hash = hash;
            }
        });
        tables.users.insert(id, user);
        tables.sessions.insert(session.id, session.clone());
        tables.audit.push(event.clone());
        Ok(true)
    }

    async fn change_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        at: OffsetDateTime,
        replacement: &Session,
        event: &AuditEvent,
    ) -> Result<(), UnexpectedError> {
        let mut tables = self.tables()?;
        if let Some(user) = tables.users.get(&id).cloned() {
            tables.users.insert(
                id,
                with_user_fields(&user, |record| record.password_hash = hash.clone()),
            );
        }
        revoke_all_of(&mut tables, id, at);
        tables.sessions.insert(replacement.id, replacement.clone());
        tables.audit.push(event.clone());
        Ok(())
    }

    async fn list(&self, query: &UserQuery) -> Result<UserSlice, UnexpectedError> {
        // Enough for the example: no filters or ordering beyond date joined.
        let tables = self.tables()?;
        let mut users: Vec<User> = tables.users.values().cloned().collect();
        users.sort_by_key(|user| (user.date_joined(), user.id()));
        let total = users.len() as u64;
        let size = query.page.size() as usize;
        let has_more = users.len() > size;
        users.truncate(size);
        Ok(UserSlice {
            users,
            total,
            has_more,
        })
    }
}

#[async_trait]
impl SessionRepository for Memory {
    async fn find_by_secret(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<SecretMatch>, UnexpectedError> {
        let tables = self.tables()?;
        let (session, current) = if let Some(session) = tables
            .sessions
            .values()
            .find(|session| &session.secret_hash == hash)
        {
            (session.clone(), true)
        } else if let Some(id) = tables.retired.get(hash) {
            match tables.sessions.get(id) {
                Some(session) => (session.clone(), false),
                None => return Ok(None),
            }
        } else {
            return Ok(None);
        };
        let user = tables.users.get(&session.user_id).cloned();
        Ok(user.map(|user| SecretMatch {
            session,
            user,
            current,
        }))
    }

    async fn rotate(
        &self,
        id: SessionId,
        presented: &SecretHash,
        replacement: &SecretHash,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, UnexpectedError> {
        let mut tables = self.tables()?;
        let Some(session) = tables.sessions.get_mut(&id) else {
            return Ok(false);
        };
        if &session.secret_hash != presented || session.revoked_at.is_some() {
            return Ok(false);
        }
        session.secret_hash = replacement.clone();
        session.last_used_at = at;
        session.expires_at = expires_at;
        tables.retired.insert(presented.clone(), id);
        Ok(true)
    }

    async fn find_with_user(
        &self,
        id: SessionId,
    ) -> Result<Option<(Session, User)>, UnexpectedError> {
        let tables = self.tables()?;
        Ok(tables.sessions.get(&id).and_then(|session| {
            tables
                .users
                .get(&session.user_id)
                .map(|user| (session.clone(), user.clone()))
        }))
    }

    async fn revoke(
        &self,
        id: SessionId,
        at: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, UnexpectedError> {
        let mut tables = self.tables()?;
        let revoked = match tables.sessions.get_mut(&id) {
            Some(session) if session.revoked_at.is_none() => {
                session.revoked_at = Some(at);
                true
            }
            _ => false,
        };
        tables.audit.push(event.clone());
        Ok(revoked)
    }

    async fn revoke_all(
        &self,
        user_id: UserId,
        at: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<u64, UnexpectedError> {
        let mut tables = self.tables()?;
        let count = revoke_all_of(&mut tables, user_id, at);
        tables.audit.push(event.clone());
        Ok(count)
    }

    async fn list_live(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, UnexpectedError> {
        let tables = self.tables()?;
        let mut live: Vec<Session> = tables
            .sessions
            .values()
            .filter(|session| session.user_id == user_id && session.is_live(now))
            .cloned()
            .collect();
        live.sort_by_key(|session| std::cmp::Reverse(session.last_used_at));
        Ok(live)
    }
}

#[async_trait]
impl AuditLog for Memory {
    async fn record(&self, event: &AuditEvent) -> Result<(), UnexpectedError> {
        self.tables()?.audit.push(event.clone());
        Ok(())
    }

    async fn list(&self, query: &AuditQuery) -> Result<AuditSlice, UnexpectedError> {
        let tables = self.tables()?;
        let events: Vec<AuditEvent> = tables.audit.iter().rev().cloned().collect();
        let total = events.len() as u64;
        let events = events
            .into_iter()
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(query.limit as usize)
            .collect();
        Ok(AuditSlice { events, total })
    }
}

/// NOT a password hasher: it stores the password reversed. Use `infra-argon2`.
struct ToyHasher;

#[async_trait]
impl PasswordHasher for ToyHasher {
    async fn hash(&self, password: &PlaintextPassword) -> Result<PasswordHash, UnexpectedError> {
        Ok(PasswordHash::new(format!(
            "toy${}",
            password.expose().chars().rev().collect::<String>()
        )))
    }
    async fn verify(
        &self,
        password: &PlaintextPassword,
        hash: &PasswordHash,
    ) -> Result<bool, UnexpectedError> {
        Ok(self.hash(password).await?.as_str() == hash.as_str())
    }
    async fn verify_dummy(&self, password: &PlaintextPassword) -> Result<(), UnexpectedError> {
        self.hash(password).await.map(drop)
    }
    fn needs_rehash(&self, _hash: &PasswordHash) -> bool {
        false
    }
}

/// NOT a token issuer: tokens are unsigned. Use `infra-jwt`.
#[derive(Default)]
struct ToyTokens(Mutex<HashMap<String, AccessClaims>>);

impl TokenIssuer for ToyTokens {
    fn issue(&self, claims: &AccessClaims) -> Result<AccessToken, UnexpectedError> {
        let token = format!("toy.{}", claims.token_id);
        self.0
            .lock()
            .map_err(|_| UnexpectedError::internal("issuing", "poisoned"))?
            .insert(token.clone(), claims.clone());
        Ok(AccessToken::new(token))
    }
    fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        self.0
            .lock()
            .map_err(|_| TokenError::Malformed)?
            .get(token)
            .cloned()
            .ok_or(TokenError::InvalidSignature)
    }
}

/// NOT random: a counter. Use `infra-jwt`'s generator, which reads the OS CSPRNG.
#[derive(Default)]
struct CountingSecrets(AtomicU64);

impl SecretGenerator for CountingSecrets {
    fn generate(&self) -> RefreshSecret {
        RefreshSecret::new(format!("secret-{}", self.0.fetch_add(1, Ordering::SeqCst)))
    }
    fn hash(&self, secret: &RefreshSecret) -> SecretHash {
        SecretHash::new(format!("digest-of-{}", secret.expose()))
    }
}

#[async_trait]
impl LoginThrottle for Memory {
    async fn get(&self, key: &ThrottleKey) -> Result<FailedLogins, UnexpectedError> {
        Ok(self
            .tables()?
            .failed_logins
            .get(key)
            .map(|(counted, _)| *counted)
            .unwrap_or_default())
    }

    async fn admit(
        &self,
        key: &ThrottleKey,
        at: OffsetDateTime,
        allowed: u32,
    ) -> Result<Option<u32>, UnexpectedError> {
        let mut tables = self.tables()?;
        let (counted, last_check) = tables
            .failed_logins
            .entry(key.clone())
            .or_insert((FailedLogins::default(), at));
        let lock_ended = counted.locked_until.is_some_and(|until| until <= at);
        if counted.failures >= allowed && !lock_ended {
            return Ok(None);
        }
        counted.failures += 1;
        counted.locked_until = None;
        *last_check = at;
        Ok(Some(counted.failures))
    }

    async fn lock(
        &self,
        key: &ThrottleKey,
        until: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<(), UnexpectedError> {
        let mut tables = self.tables()?;
        if let Some((counted, _)) = tables.failed_logins.get_mut(key) {
            counted.locked_until = Some(until);
        }
        tables.audit.push(event.clone());
        Ok(())
    }

    async fn clear(&self, key: &ThrottleKey) -> Result<(), UnexpectedError> {
        self.tables()?.failed_logins.remove(key);
        Ok(())
    }

    async fn forget_idle(&self, idle_since: OffsetDateTime) -> Result<u64, UnexpectedError> {
        let mut tables = self.tables()?;
        let before = tables.failed_logins.len();
        tables.failed_logins.retain(|_, (counted, last_check)| {
            *last_check >= idle_since || counted.locked_until.is_some_and(|end| end > idle_since)
        });
        Ok((before - tables.failed_logins.len()) as u64)
    }
}

struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Memory::default();
    let ports = Ports {
        users: Arc::new(store.clone()),
        sessions: Arc::new(store.clone()),
        throttle: Arc::new(store.clone()),
        hasher: Arc::new(ToyHasher),
        tokens: Arc::new(ToyTokens::default()),
        secrets: Arc::new(CountingSecrets::default()),
        clock: Arc::new(SystemClock),
        audit: Arc::new(store.clone()),
    };
    let auth = AuthService::new(ports.clone(), Settings::default());
    let account = AccountService::new(ports, Settings::default());
    let client = ClientInfo::default();

    pollster::block_on(async {
        let signed_up = auth
            .sign_up(
                SignUp {
                    email: "Ada@Example.com".into(),
                    password: PlaintextPassword::new("vivid-otter-cabinet-91"),
                    full_name: "Ada Lovelace".into(),
                },
                &client,
            )
            .await?;
        println!(
            "signed up {} ({})",
            signed_up.user.email(),
            signed_up.user.id()
        );

        let logged_in = auth
            .log_in(
                LogIn {
                    email: "ada@example.com".into(),
                    password: PlaintextPassword::new("vivid-otter-cabinet-91"),
                },
                &client,
            )
            .await?;
        let principal = auth.authenticate(logged_in.tokens.access.expose()).await?;
        println!(
            "logged in; the access token speaks for {}",
            account.profile(&principal).full_name()
        );

        let renewed = auth.refresh(&logged_in.tokens.refresh, &client).await?;
        println!(
            "refreshed; the new refresh secret differs: {}",
            renewed.refresh.expose() != logged_in.tokens.refresh.expose()
        );

        let reuse = auth.refresh(&logged_in.tokens.refresh, &client).await;
        assert!(matches!(reuse, Err(RefreshError::Reused)));
        let revoked = auth.authenticate(renewed.access.expose()).await;
        println!(
            "presenting the old secret again: {reuse:?}; the session's tokens now fail: {}",
            revoked.is_err()
        );

        let events = store.tables()?.audit.len();
        println!("{events} audit events recorded");
        Ok(())
    })
}
