//! Getting, renewing and losing a session: sign up, log in, refresh, log out, log out
//! everywhere, and authenticating a request.

use super::Core;
use crate::{
    AuditAction, AuditEvent, ClientInfo, Email, FieldErrors, FullName, PlaintextPassword,
    PolicyContext, Ports, Principal, RefreshSecret, Role, SaveUserError, Settings, ThrottleKey,
    TokenError, TokenPair, UnexpectedError, User, UserId,
};
use time::Duration;

/// Input of [`AuthService::sign_up`], as the client typed it.
#[derive(Debug, Clone)]
pub struct SignUp {
    /// The email, to be normalised.
    pub email: String,
    /// The chosen password, checked against the policy.
    pub password: PlaintextPassword,
    /// The display name.
    pub full_name: String,
}

/// Input of [`AuthService::log_in`].
#[derive(Debug, Clone)]
pub struct LogIn {
    /// The email as typed; normalised before lookup.
    pub email: String,
    /// The password as typed.
    pub password: PlaintextPassword,
}

/// A user who has just signed in, with the tokens of their new session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The account.
    pub user: User,
    /// The new session's tokens.
    pub tokens: TokenPair,
}

/// Why sign-up (or creating an admin) failed.
#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    /// Some fields are invalid; each has its messages (a weak password lists every rule).
    #[error("the sign-up input is invalid: {0}")]
    Invalid(FieldErrors),
    /// An account with this email exists.
    #[error("the email is already taken")]
    EmailTaken,
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LogInError {
    /// Unknown email or wrong password (or a password changed while it was being checked):
    /// deliberately one answer for all.
    #[error("wrong email or password")]
    InvalidCredentials,
    /// Too many consecutive failures: try again after `retry_after`.
    #[error("too many failed logins; retry after {retry_after}")]
    Locked {
        /// How long until logins are accepted again.
        retry_after: Duration,
    },
    /// The password was right, but the account is deactivated.
    #[error("the account is deactivated")]
    Deactivated,
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

/// Why a refresh failed. Every variant means the client must log in again.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// No session has ever had this secret.
    #[error("the refresh token is not valid")]
    InvalidToken,
    /// The secret was already rotated; its whole session has now been revoked.
    #[error("the refresh token was already used; its session has been revoked")]
    Reused,
    /// The session was revoked (logout, password change, deactivation…).
    #[error("the session has been revoked")]
    Revoked,
    /// The session expired.
    #[error("the refresh token has expired")]
    Expired,
    /// The account is deactivated.
    #[error("the account is deactivated")]
    UserInactive,
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

/// Why a logout failed.
#[derive(Debug, thiserror::Error)]
pub enum LogOutError {
    /// No session has ever had this secret.
    #[error("the refresh token is not valid")]
    InvalidToken,
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

/// Why a request could not be authenticated. Every variant but `Unexpected` means "not
/// authenticated".
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    /// The access token itself was refused.
    #[error(transparent)]
    InvalidToken(#[from] TokenError),
    /// The token's session no longer exists or was revoked.
    #[error("the session has been revoked")]
    SessionRevoked,
    /// The token's session has expired.
    #[error("the session has expired")]
    SessionExpired,
    /// The account is deactivated.
    #[error("the account is deactivated")]
    UserInactive,
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

/// Sign-up, login, refresh, logout and request authentication.
///
/// See `examples/embed.rs` for a complete wiring with in-memory adapters.
#[derive(Clone)]
pub struct AuthService {
    core: Core,
}

impl AuthService {
    /// A service over `ports` applying `settings`.
    pub fn new(ports: Ports, settings: Settings) -> Self {
        Self {
            core: Core::new(ports, settings),
        }
    }

    /// Creates an account with the role `user` and signs it in.
    ///
    /// Every invalid field is reported at once; the account, its first session and the
    /// audit event are stored together.
    ///
    /// # Errors
    /// See [`SignUpError`].
    pub async fn sign_up(
        &self,
        input: SignUp,
        client: &ClientInfo,
    ) -> Result<SignedIn, SignUpError> {
        let user = self.new_user(input, Role::User).await?;
        let now = user.date_joined();
        let (session, refresh) = self.core.open_session(&user, now, client.clone());
        let event = AuditEvent::new(AuditAction::SignedUp, now, client)
            .by(user.id())
            .on(user.id());
        self.core
            .ports
            .users
            .insert(&user, Some(session.clone()), &event)
            .await
            .map_err(|error| match error {
                SaveUserError::EmailTaken => SignUpError::EmailTaken,
                // An insert has no earlier state to have changed.
                SaveUserError::Changed => SignUpError::Unexpected(UnexpectedError::internal(
                    "inserting a user",
                    "the store reported a concurrent change",
                )),
                SaveUserError::Unexpected(error) => SignUpError::Unexpected(error),
            })?;
        let tokens = self.core.token_pair(&user, &session, refresh, now)?;
        Ok(SignedIn { user, tokens })
    }

    /// Validates sign-up input and hashes the password: shared with creating an admin.
    pub(super) async fn new_user(&self, input: SignUp, role: Role) -> Result<User, SignUpError> {
        let mut errors = FieldErrors::default();
        let email = Email::parse(&input.email)
            .map_err(|error| errors.add("email", error.to_string()))
            .ok();
        let full_name = FullName::parse(&input.full_name)
            .map_err(|error| errors.add("full_name", error.to_string()))
            .ok();
        let context = PolicyContext {
            email: email.as_ref(),
            full_name: full_name.as_ref(),
        };
        if let Err(violations) = self
            .core
            .settings
            .password_policy
            .check(&input.password, &context)
        {
            for message in violations.messages() {
                errors.add("password", message);
            }
        }
        let (Some(email), Some(full_name)) = (email, full_name) else {
            return Err(SignUpError::Invalid(errors));
        };
        errors.into_result().map_err(SignUpError::Invalid)?;

        let hash = self.core.ports.hasher.hash(&input.password).await?;
        let now = self.core.ports.clock.now();
        Ok(User::new(UserId::new(), email, full_name, role, hash, now))
    }

    /// Checks an email and password and opens a session.
    ///
    /// An unknown email still costs one password verification, so timing does not reveal
    /// which emails exist; a deactivated account is only reported after a correct password;
    /// consecutive wrong passwords for one email from one address lock that pair, whether
    /// the account exists or not (see [`crate::ThrottleKey`] and [`crate::LockoutPolicy`]). The session opens
    /// only on the account as the password was checked: when it changed meanwhile, the
    /// password is checked once more against it as it is now (a concurrent login may only have
    /// re-hashed it), and a changed password or a deactivation refuses the login.
    ///
    /// # Errors
    /// See [`LogInError`].
    pub async fn log_in(&self, input: LogIn, client: &ClientInfo) -> Result<SignedIn, LogInError> {
        let ports = &self.core.ports;
        let now = ports.clock.now();
        let Ok(email) = Email::parse(&input.email) else {
            // No account can have this email, so no lock either; only the reason is kept:
            // what people type into the email field when it is not one is often their password.
            ports.hasher.verify_dummy(&input.password).await?;
            let event = AuditEvent::new(AuditAction::LoginFailed, now, client)
                .with("reason", "invalid_email");
            ports.audit.record(&event).await?;
            return Err(LogInError::InvalidCredentials);
        };
        // A lock is answered before anything is looked up or hashed, and alike whether the
        // account exists: it exists to stop guessing, and skipping the hash keeps a flood from
        // tying up the hashers. The check counts as it is admitted, so that checks sent all at
        // once cannot slip past the lock while the first are still hashing.
        let key = ThrottleKey::new(email.clone(), client);
        let checks = match self.core.admit_check(&key, now).await? {
            Ok(checks) => checks,
            Err(retry_after) => return Err(LogInError::Locked { retry_after }),
        };
        let Some(user) = ports.users.find_by_email(&email).await? else {
            ports.hasher.verify_dummy(&input.password).await?;
            let failed = AuditEvent::new(AuditAction::LoginFailed, now, client)
                .with("reason", "unknown_email")
                .with("email", email.as_str());
            return Err(self
                .wrong_password(&key, checks, &failed, now, client)
                .await?);
        };
        if !ports
            .hasher
            .verify(&input.password, user.password_hash())
            .await?
        {
            let failed = AuditEvent::new(AuditAction::LoginFailed, now, client)
                .by(user.id())
                .on(user.id())
                .with("reason", "wrong_password");
            return Err(self
                .wrong_password(&key, checks, &failed, now, client)
                .await?);
        }
        // The password was right: what was counted against this email and address goes.
        ports.throttle.clear(&key).await?;

        if !user.is_active() {
            let event = AuditEvent::new(AuditAction::LoginFailed, now, client)
                .by(user.id())
                .on(user.id())
                .with("reason", "inactive");
            ports.audit.record(&event).await?;
            return Err(LogInError::Deactivated);
        }

        self.open_session_as_checked(user, &input.password, now, client)
            .await
    }

    /// Counts a failed login and words it: wrong credentials, or locked by this very failure.
    async fn wrong_password(
        &self,
        key: &ThrottleKey,
        checks: u32,
        failed: &AuditEvent,
        now: time::OffsetDateTime,
        client: &ClientInfo,
    ) -> Result<LogInError, UnexpectedError> {
        let locked = (self.core)
            .count_wrong_password(key, checks, failed, now, client)
            .await?;
        Ok(
            locked.map_or(LogInError::InvalidCredentials, |retry_after| {
                LogInError::Locked { retry_after }
            }),
        )
    }

    /// Records the login of `user`, whose password `password` was verified against the hash
    /// it was read with, and returns its tokens; [`Self::log_in`] says what happens when the
    /// account changed meanwhile.
    async fn open_session_as_checked(
        &self,
        user: User,
        password: &PlaintextPassword,
        now: time::OffsetDateTime,
        client: &ClientInfo,
    ) -> Result<SignedIn, LogInError> {
        let ports = &self.core.ports;
        let mut user = user;
        let mut checked_again = false;
        loop {
            let rehashed = if ports.hasher.needs_rehash(user.password_hash()) {
                Some(ports.hasher.hash(password).await?)
            } else {
                None
            };
            let (session, refresh) = self.core.open_session(&user, now, client.clone());
            let event = AuditEvent::new(AuditAction::LoggedIn, now, client)
                .by(user.id())
                .on(user.id())
                .with("session", session.id.to_string());
            let recorded = ports
                .users
                .record_login(
                    user.id(),
                    user.password_hash(),
                    now,
                    rehashed.clone(),
                    &session,
                    &event,
                )
                .await?;
            if recorded {
                let user = user.with_login(now, rehashed);
                let tokens = self.core.token_pair(&user, &session, refresh, now)?;
                return Ok(SignedIn { user, tokens });
            }
            // The account changed while the password was being checked. A concurrent login
            // may only have re-hashed the same password, so the password is checked once more
            // against the account as it is now; a changed password or a deactivation refuses.
            let current = if checked_again {
                None
            } else {
                ports.users.find_by_id(user.id()).await?
            };
            match current {
                Some(current) if !current.is_active() => {
                    let event = AuditEvent::new(AuditAction::LoginFailed, now, client)
                        .by(user.id())
                        .on(user.id())
                        .with("reason", "inactive");
                    ports.audit.record(&event).await?;
                    return Err(LogInError::Deactivated);
                }
                Some(current)
                    if current.password_hash() != user.password_hash()
                        && ports
                            .hasher
                            .verify(password, current.password_hash())
                            .await? =>
                {
                    user = current;
                    checked_again = true;
                    continue;
                }
                _ => {}
            }
            let event = AuditEvent::new(AuditAction::LoginFailed, now, client)
                .by(user.id())
                .on(user.id())
                .with("reason", "changed_during_login");
            ports.audit.record(&event).await?;
            return Err(LogInError::InvalidCredentials);
        }
    }

    /// Rotates a refresh secret: the presented one stops working and a new pair is returned.
    ///
    /// Presenting a secret that was already rotated (by this client or by a thief) revokes
    /// the whole session, so a stolen token works at most until its owner refreshes.
    ///
    /// # Errors
    /// See [`RefreshError`].
    pub async fn refresh(
        &self,
        secret: &RefreshSecret,
        client: &ClientInfo,
    ) -> Result<TokenPair, RefreshError> {
        let ports = &self.core.ports;
        let now = ports.clock.now();
        let presented = ports.secrets.hash(secret);
        let Some(found) = ports.sessions.find_by_secret(&presented).await? else {
            return Err(RefreshError::InvalidToken);
        };
        let session = found.session;
        if !found.current {
            self.revoke_reused(&session, now, client).await?;
            return Err(RefreshError::Reused);
        }
        if session.revoked_at.is_some() {
            return Err(RefreshError::Revoked);
        }
        // The second test ends sessions that reached their absolute end, whatever expiry they
        // were stored with.
        let expires_at = self.core.settings.session_expiry(session.created_at, now);
        if session.expires_at <= now || expires_at <= now {
            return Err(RefreshError::Expired);
        }
        if !found.user.is_active() {
            return Err(RefreshError::UserInactive);
        }

        let replacement = ports.secrets.generate();
        let rotated = ports
            .sessions
            .rotate(
                session.id,
                &presented,
                &ports.secrets.hash(&replacement),
                now,
                expires_at,
            )
            .await?;
        if !rotated {
            // Another request rotated this very secret first: it was presented twice.
            self.revoke_reused(&session, now, client).await?;
            return Err(RefreshError::Reused);
        }
        let session = crate::Session {
            last_used_at: now,
            expires_at,
            ..session
        };
        Ok(self
            .core
            .token_pair(&found.user, &session, replacement, now)?)
    }

    async fn revoke_reused(
        &self,
        session: &crate::Session,
        now: time::OffsetDateTime,
        client: &ClientInfo,
    ) -> Result<(), UnexpectedError> {
        let event = AuditEvent::new(AuditAction::RefreshReused, now, client)
            .on(session.user_id)
            .with("session", session.id.to_string());
        self.core
            .ports
            .sessions
            .revoke(session.id, now, &event)
            .await?;
        Ok(())
    }

    /// Ends the session a refresh secret belongs to: its refresh secret and every access
    /// token issued for it stop working at once. Ending an already ended session succeeds.
    ///
    /// # Errors
    /// See [`LogOutError`].
    pub async fn log_out(
        &self,
        secret: &RefreshSecret,
        client: &ClientInfo,
    ) -> Result<(), LogOutError> {
        let ports = &self.core.ports;
        let now = ports.clock.now();
        let hash = ports.secrets.hash(secret);
        let Some(found) = ports.sessions.find_by_secret(&hash).await? else {
            return Err(LogOutError::InvalidToken);
        };
        if found.session.revoked_at.is_none() {
            let event = AuditEvent::new(AuditAction::LoggedOut, now, client)
                .by(found.user.id())
                .on(found.user.id())
                .with("session", found.session.id.to_string());
            ports.sessions.revoke(found.session.id, now, &event).await?;
        }
        Ok(())
    }

    /// Ends every session of the caller, on every device. Returns how many were ended.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    pub async fn log_out_everywhere(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<u64, UnexpectedError> {
        let ports = &self.core.ports;
        let now = ports.clock.now();
        let event = AuditEvent::new(AuditAction::LoggedOutEverywhere, now, client)
            .by(principal.user_id())
            .on(principal.user_id());
        ports
            .sessions
            .revoke_all(principal.user_id(), now, &event)
            .await
    }

    /// Turns a bearer access token into the [`Principal`] it speaks for: a verified token, a
    /// live session, an active user. Checked live on every request, so revocation and
    /// deactivation take effect at once.
    ///
    /// # Errors
    /// See [`AuthenticateError`].
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, AuthenticateError> {
        let ports = &self.core.ports;
        let claims = ports.tokens.verify(access_token)?;
        let Some((session, user)) = ports.sessions.find_with_user(claims.session_id).await? else {
            return Err(AuthenticateError::SessionRevoked);
        };
        if session.user_id != claims.user_id
            || user.id() != claims.user_id
            || session.revoked_at.is_some()
        {
            return Err(AuthenticateError::SessionRevoked);
        }
        if session.expires_at <= ports.clock.now() {
            return Err(AuthenticateError::SessionExpired);
        }
        if !user.is_active() {
            return Err(AuthenticateError::UserInactive);
        }
        Ok(Principal { user, session })
    }

    /// Forgets the password checks of every email and address that has had none for
    /// [`LockoutPolicy::forget_after`](crate::LockoutPolicy::forget_after), and returns how
    /// many it forgot. Meant to run now and then (the server does every hour): nothing else
    /// frees what failed logins with made-up emails leave behind.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    pub async fn forget_idle_login_checks(&self) -> Result<u64, UnexpectedError> {
        let ports = &self.core.ports;
        let idle_since = ports.clock.now() - self.core.settings.lockout.forget_after;
        ports.throttle.forget_idle(idle_since).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockLoginThrottle;
    use crate::services::testing::{Mocks, STRONG, client, now, session_of, storage_down, user};
    use crate::{
        AccessClaims, AuditAction, FailedLogins, PasswordHash, SecretHash, SecretMatch, Session,
    };
    use mockall::predicate::eq;
    use pollster::block_on;
    use time::Duration;

    fn service(mocks: Mocks) -> AuthService {
        AuthService::new(mocks.ports(), Settings::default())
    }

    fn sign_up_input(email: &str, password: &str, name: &str) -> SignUp {
        SignUp {
            email: email.into(),
            password: PlaintextPassword::new(password),
            full_name: name.into(),
        }
    }

    fn log_in_input(email: &str, password: &str) -> LogIn {
        LogIn {
            email: email.into(),
            password: PlaintextPassword::new(password),
        }
    }

    // ---- sign up ----

    #[test]
    fn sign_up_stores_the_user_with_a_session_and_returns_tokens() {
        let mut mocks = Mocks::new();
        mocks
            .hasher
            .expect_hash()
            .times(1)
            .returning(|_| Ok(PasswordHash::new("new-hash")));
        mocks
            .users
            .expect_insert()
            .withf(|user, session, event| {
                let session = session.as_ref().expect("sign-up opens a session");
                user.email().as_str() == "ada@example.com"
                    && user.role() == Role::User
                    && user.is_active()
                    && user.password_hash().as_str() == "new-hash"
                    && session.user_id == user.id()
                    && session.secret_hash.as_str() == "h:secret-0"
                    && session.expires_at == now() + Duration::days(7)
                    && event.action == AuditAction::SignedUp
                    && event.target == Some(user.id())
                    && event.ip == client().ip
            })
            .times(1)
            .returning(|_, _, _| Ok(()));

        let signed_in = block_on(service(mocks).sign_up(
            sign_up_input(" Ada@Example.com ", STRONG, " Ada Lovelace "),
            &client(),
        ))
        .unwrap();

        assert_eq!(signed_in.user.full_name().as_str(), "Ada Lovelace");
        assert_eq!(signed_in.tokens.refresh.expose(), "secret-0");
        assert!(signed_in.tokens.access.expose().starts_with("at:"));
        assert_eq!(
            signed_in.tokens.access_expires_at,
            now() + Duration::minutes(15)
        );
    }

    #[test]
    fn sign_up_reports_every_invalid_field_without_hashing() {
        let mocks = Mocks::new();
        let error = block_on(service(mocks).sign_up(sign_up_input("nope", "123", "  "), &client()))
            .unwrap_err();
        let SignUpError::Invalid(errors) = error else {
            panic!("expected Invalid, got {error:?}");
        };
        assert_eq!(errors.get("email"), ["Enter a valid email address."]);
        assert_eq!(errors.get("full_name"), ["This field may not be blank."]);
        assert!(errors.get("password").len() >= 2, "{errors}");
    }

    #[test]
    fn sign_up_refuses_a_password_like_the_email() {
        let mocks = Mocks::new();
        let error = block_on(service(mocks).sign_up(
            sign_up_input("ada.lovelace@example.com", "ada.lovelace1", "Grace Hopper"),
            &client(),
        ))
        .unwrap_err();
        assert!(
            matches!(&error, SignUpError::Invalid(errors) if errors.get("password").contains(&"The password is too similar to the email.".to_owned())),
            "{error:?}"
        );
    }

    #[test]
    fn sign_up_reports_a_taken_email() {
        let mut mocks = Mocks::new();
        mocks
            .hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("h")));
        mocks
            .users
            .expect_insert()
            .returning(|_, _, _| Err(SaveUserError::EmailTaken));
        let error = block_on(
            service(mocks).sign_up(sign_up_input("ada@example.com", STRONG, "Ada"), &client()),
        )
        .unwrap_err();
        assert!(matches!(error, SignUpError::EmailTaken));
    }

    #[test]
    fn sign_up_reports_infrastructure_failures() {
        let mut mocks = Mocks::new();
        mocks
            .hasher
            .expect_hash()
            .returning(|_| Err(storage_down()));
        let error = block_on(
            service(mocks).sign_up(sign_up_input("ada@example.com", STRONG, "Ada"), &client()),
        )
        .unwrap_err();
        assert!(matches!(error, SignUpError::Unexpected(_)));
    }

    // ---- log in ----

    #[test]
    fn log_in_with_an_unknown_email_still_verifies_one_hash() {
        let mut mocks = Mocks::new();
        mocks.users.expect_find_by_email().returning(|_| Ok(None));
        mocks
            .hasher
            .expect_verify_dummy()
            .times(1)
            .returning(|_| Ok(()));
        mocks.hasher.expect_verify().never();
        mocks
            .audit
            .expect_record()
            .withf(|event| {
                event.action == AuditAction::LoginFailed
                    && event.details["reason"] == "unknown_email"
                    && event.details["email"] == "ghost@example.com"
            })
            .times(1)
            .returning(|_| Ok(()));
        let error =
            block_on(service(mocks).log_in(log_in_input("ghost@example.com", STRONG), &client()))
                .unwrap_err();
        assert!(matches!(error, LogInError::InvalidCredentials));
    }

    #[test]
    fn log_in_with_a_malformed_email_still_verifies_one_hash() {
        let mut mocks = Mocks::new();
        mocks.users.expect_find_by_email().never();
        mocks
            .hasher
            .expect_verify_dummy()
            .times(1)
            .returning(|_| Ok(()));
        mocks
            .audit
            .expect_record()
            .withf(|event| {
                event.action == AuditAction::LoginFailed
                    && event.details["reason"] == "invalid_email"
                    && !event.details.contains_key("email")
            })
            .times(1)
            .returning(|_| Ok(()));
        let error = block_on(
            service(mocks).log_in(log_in_input("correct horse\0battery", STRONG), &client()),
        )
        .unwrap_err();
        assert!(matches!(error, LogInError::InvalidCredentials));
    }

    fn stored(user: &User, is_active: bool) -> User {
        User::restore(crate::UserRecord {
            is_active,
            last_login: None,
            ..user.to_record()
        })
    }

    /// Mocks whose throttle refuses every check: `failures` counted, locked until `until`.
    fn locked(failures: u32, locked_until: Option<time::OffsetDateTime>) -> Mocks {
        let mut mocks = Mocks::new();
        mocks.throttle = MockLoginThrottle::new();
        mocks.throttle.expect_admit().returning(|_, _, _| Ok(None));
        mocks.throttle.expect_get().returning(move |_| {
            Ok(FailedLogins {
                failures,
                locked_until,
            })
        });
        mocks
    }

    /// Mocks whose throttle admits every check as the `checks`-th.
    fn admitted(checks: u32) -> Mocks {
        let mut mocks = Mocks::new();
        mocks.throttle = MockLoginThrottle::new();
        mocks
            .throttle
            .expect_admit()
            .returning(move |_, _, _| Ok(Some(checks)));
        mocks
    }

    fn with_hash(user: &User, hash: &str) -> User {
        User::restore(crate::UserRecord {
            password_hash: PasswordHash::new(hash),
            ..user.to_record()
        })
    }

    #[test]
    fn a_locked_email_and_address_are_refused_without_lookup_or_hashing() {
        let mut mocks = locked(5, Some(now() + Duration::seconds(42)));
        mocks.users.expect_find_by_email().never();
        mocks.hasher.expect_verify().never();
        mocks.hasher.expect_verify_dummy().never();
        let error =
            block_on(service(mocks).log_in(log_in_input("ada@example.com", STRONG), &client()))
                .unwrap_err();
        assert!(
            matches!(error, LogInError::Locked { retry_after } if retry_after == Duration::seconds(42))
        );
    }

    #[test]
    fn a_lock_whose_outcome_is_pending_is_answered_with_the_lock_to_come() {
        // Five checks counted, the fifth still hashing: no lock written yet.
        let mut mocks = locked(5, None);
        mocks.hasher.expect_verify().never();
        let error =
            block_on(service(mocks).log_in(log_in_input("ada@example.com", STRONG), &client()))
                .unwrap_err();
        assert!(
            matches!(error, LogInError::Locked { retry_after } if retry_after == Duration::minutes(1))
        );
    }

    #[test]
    fn checks_are_admitted_per_email_and_address_before_anything_else() {
        let mut mocks = Mocks::new();
        let account = user("ada@example.com", Role::User);
        let id = account.id();
        mocks
            .users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(account.clone())));
        mocks.hasher.expect_verify().returning(|_, _| Ok(false));
        mocks.throttle = MockLoginThrottle::new();
        mocks
            .throttle
            .expect_admit()
            .withf(|key, at, allowed| {
                key.email().as_str() == "ada@example.com"
                    && key.address() == "203.0.113.9"
                    && *at == now()
                    && *allowed == 5
            })
            .times(1)
            .returning(|_, _, _| Ok(Some(1)));
        mocks
            .audit
            .expect_record()
            .withf(move |event| {
                event.target == Some(id)
                    && event.action == AuditAction::LoginFailed
                    && event.details["reason"] == "wrong_password"
            })
            .times(1)
            .returning(|_| Ok(()));
        mocks.throttle.expect_lock().never();
        mocks.throttle.expect_clear().never();
        let error =
            block_on(service(mocks).log_in(log_in_input("ada@example.com", "wrong"), &client()))
                .unwrap_err();
        assert!(matches!(error, LogInError::InvalidCredentials));
    }

    fn failing_login_reaching(email: &str, failures: u32, expected_lock: Duration) {
        let mut mocks = admitted(failures);
        let account = user("ada@example.com", Role::User);
        mocks
            .users
            .expect_find_by_email()
            .returning(move |email| Ok((email == account.email()).then(|| account.clone())));
        mocks.hasher.expect_verify().returning(|_, _| Ok(false));
        mocks.hasher.expect_verify_dummy().returning(|_| Ok(()));
        mocks.audit.expect_record().returning(|_| Ok(()));
        mocks
            .throttle
            .expect_lock()
            .withf(move |_, until, event| {
                *until == now() + expected_lock && event.action == AuditAction::LockedOut
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        let error =
            block_on(service(mocks).log_in(log_in_input(email, "wrong"), &client())).unwrap_err();
        assert!(
            matches!(error, LogInError::Locked { retry_after } if retry_after == expected_lock),
            "{error:?}"
        );
    }

    #[test]
    fn the_fifth_consecutive_failure_locks_for_one_minute() {
        failing_login_reaching("ada@example.com", 5, Duration::minutes(1));
    }

    #[test]
    fn each_further_failure_doubles_the_lock_up_to_fifteen_minutes() {
        failing_login_reaching("ada@example.com", 6, Duration::minutes(2));
        failing_login_reaching("ada@example.com", 8, Duration::minutes(8));
        failing_login_reaching("ada@example.com", 9, Duration::minutes(15));
        failing_login_reaching("ada@example.com", 40, Duration::minutes(15));
    }

    #[test]
    fn login_checks_idle_for_a_day_are_forgotten() {
        let mut mocks = Mocks::new();
        mocks.throttle = MockLoginThrottle::new();
        mocks
            .throttle
            .expect_forget_idle()
            .with(eq(now() - Duration::days(1)))
            .times(1)
            .returning(|_| Ok(3));
        assert_eq!(
            block_on(service(mocks).forget_idle_login_checks()).unwrap(),
            3
        );
    }

    #[test]
    fn an_unknown_email_is_locked_exactly_as_a_real_one() {
        failing_login_reaching("ghost@example.com", 5, Duration::minutes(1));
        failing_login_reaching("ghost@example.com", 9, Duration::minutes(15));
    }

    #[test]
    fn a_deactivated_account_is_reported_only_after_a_correct_password() {
        let account = stored(&user("ada@example.com", Role::User), false);

        let mut mocks = Mocks::new();
        let inactive = account.clone();
        mocks
            .users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(inactive.clone())));
        mocks.hasher.expect_verify().returning(|_, _| Ok(true));
        mocks
            .audit
            .expect_record()
            .withf(|event| event.details["reason"] == "inactive")
            .times(1)
            .returning(|_| Ok(()));
        mocks.users.expect_record_login().never();
        let error =
            block_on(service(mocks).log_in(log_in_input("ada@example.com", STRONG), &client()))
                .unwrap_err();
        assert!(matches!(error, LogInError::Deactivated));

        let mut mocks = Mocks::new();
        mocks
            .users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(account.clone())));
        mocks.hasher.expect_verify().returning(|_, _| Ok(false));
        mocks.audit.expect_record().returning(|_| Ok(()));
        let error =
            block_on(service(mocks).log_in(log_in_input("ada@example.com", "wrong"), &client()))
                .unwrap_err();
        assert!(matches!(error, LogInError::InvalidCredentials));
    }

    #[test]
    fn a_successful_log_in_resets_the_counter_and_opens_a_session() {
        let mut mocks = admitted(4);
        mocks
            .throttle
            .expect_clear()
            .withf(|key| key.email().as_str() == "ada@example.com")
            .times(1)
            .returning(|_| Ok(()));
        let account = user("ada@example.com", Role::Admin);
        let id = account.id();
        mocks
            .users
            .expect_find_by_email()
            .with(eq(Email::parse("ada@example.com").unwrap()))
            .returning(move |_| Ok(Some(account.clone())));
        mocks.hasher.expect_verify().returning(|_, _| Ok(true));
        mocks.hasher.expect_needs_rehash().returning(|_| false);
        mocks.hasher.expect_hash().never();
        mocks
            .users
            .expect_record_login()
            .withf(move |user_id, verified, at, rehashed, session, event| {
                *user_id == id
                    && verified.as_str() == "stored-hash"
                    && *at == now()
                    && rehashed.is_none()
                    && session.user_id == id
                    && session.client == client()
                    && event.action == AuditAction::LoggedIn
            })
            .times(1)
            .returning(|_, _, _, _, _, _| Ok(true));
        let signed_in =
            block_on(service(mocks).log_in(log_in_input("ADA@example.com", STRONG), &client()))
                .unwrap();
        assert_eq!(signed_in.user.last_login(), Some(now()));
        assert_eq!(signed_in.tokens.refresh.expose(), "secret-0");
    }

    #[test]
    fn a_successful_log_in_rehashes_when_the_parameters_changed() {
        let mut mocks = Mocks::new();
        let account = user("ada@example.com", Role::User);
        mocks
            .users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(account.clone())));
        mocks.hasher.expect_verify().returning(|_, _| Ok(true));
        mocks.hasher.expect_needs_rehash().returning(|_| true);
        mocks
            .hasher
            .expect_hash()
            .times(1)
            .returning(|_| Ok(PasswordHash::new("rehashed")));
        mocks
            .users
            .expect_record_login()
            .withf(|_, verified, _, rehashed, _, _| {
                verified.as_str() == "stored-hash"
                    && rehashed
                        .as_ref()
                        .is_some_and(|hash| hash.as_str() == "rehashed")
            })
            .times(1)
            .returning(|_, _, _, _, _, _| Ok(true));
        let signed_in =
            block_on(service(mocks).log_in(log_in_input("ada@example.com", STRONG), &client()))
                .unwrap();
        assert_eq!(signed_in.user.password_hash().as_str(), "rehashed");
    }

    #[test]
    fn a_log_in_whose_password_changed_while_checked_opens_nothing() {
        let mut mocks = Mocks::new();
        let account = user("ada@example.com", Role::User);
        let id = account.id();
        let changed = with_hash(&account, "changed-hash");
        mocks
            .users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(account.clone())));
        mocks
            .hasher
            .expect_verify()
            .returning(|_, hash| Ok(hash.as_str() == "stored-hash"));
        mocks.hasher.expect_needs_rehash().returning(|_| false);
        mocks
            .users
            .expect_record_login()
            .withf(|_, verified, _, _, _, _| verified.as_str() == "stored-hash")
            .times(1)
            .returning(|_, _, _, _, _, _| Ok(false));
        mocks
            .users
            .expect_find_by_id()
            .with(eq(id))
            .times(1)
            .returning(move |_| Ok(Some(changed.clone())));
        mocks
            .audit
            .expect_record()
            .withf(|event| {
                event.action == AuditAction::LoginFailed
                    && event.details["reason"] == "changed_during_login"
            })
            .times(1)
            .returning(|_| Ok(()));
        let error =
            block_on(service(mocks).log_in(log_in_input("ada@example.com", STRONG), &client()))
                .unwrap_err();
        assert!(matches!(error, LogInError::InvalidCredentials));
    }

    #[test]
    fn a_log_in_that_raced_a_rehash_of_the_same_password_succeeds() {
        let mut mocks = Mocks::new();
        let account = user("ada@example.com", Role::User);
        let rehashed_by_the_other_login = with_hash(&account, "rehashed-hash");
        mocks
            .users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(account.clone())));
        mocks.hasher.expect_verify().returning(|_, _| Ok(true));
        mocks
            .hasher
            .expect_needs_rehash()
            .returning(|hash| hash.as_str() == "stored-hash");
        mocks
            .hasher
            .expect_hash()
            .times(1)
            .returning(|_| Ok(PasswordHash::new("my-rehash")));
        // First against the hash read, which the other login has just replaced; then against
        // the replacement, which needs no rehash.
        mocks
            .users
            .expect_record_login()
            .withf(|_, verified, _, rehashed, _, _| {
                verified.as_str() == "stored-hash" && rehashed.is_some()
            })
            .times(1)
            .returning(|_, _, _, _, _, _| Ok(false));
        mocks
            .users
            .expect_find_by_id()
            .times(1)
            .returning(move |_| Ok(Some(rehashed_by_the_other_login.clone())));
        mocks
            .users
            .expect_record_login()
            .withf(|_, verified, _, rehashed, _, _| {
                verified.as_str() == "rehashed-hash" && rehashed.is_none()
            })
            .times(1)
            .returning(|_, _, _, _, _, _| Ok(true));
        let signed_in =
            block_on(service(mocks).log_in(log_in_input("ada@example.com", STRONG), &client()))
                .unwrap();
        assert_eq!(signed_in.user.password_hash().as_str(), "rehashed-hash");
    }

    #[test]
    fn a_log_in_whose_account_was_deactivated_while_checked_says_so() {
        let mut mocks = Mocks::new();
        let account = user("ada@example.com", Role::User);
        let deactivated = stored(&account, false);
        mocks
            .users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(account.clone())));
        mocks.hasher.expect_verify().returning(|_, _| Ok(true));
        mocks.hasher.expect_needs_rehash().returning(|_| false);
        mocks
            .users
            .expect_record_login()
            .times(1)
            .returning(|_, _, _, _, _, _| Ok(false));
        mocks
            .users
            .expect_find_by_id()
            .times(1)
            .returning(move |_| Ok(Some(deactivated.clone())));
        mocks
            .audit
            .expect_record()
            .withf(|event| event.details["reason"] == "inactive")
            .times(1)
            .returning(|_| Ok(()));
        let error =
            block_on(service(mocks).log_in(log_in_input("ada@example.com", STRONG), &client()))
                .unwrap_err();
        assert!(matches!(error, LogInError::Deactivated));
    }

    #[test]
    fn log_in_reports_infrastructure_failures() {
        let mut mocks = Mocks::new();
        mocks
            .users
            .expect_find_by_email()
            .returning(|_| Err(storage_down()));
        let error =
            block_on(service(mocks).log_in(log_in_input("ada@example.com", STRONG), &client()))
                .unwrap_err();
        assert!(matches!(error, LogInError::Unexpected(e) if e.is_unavailable()));
    }

    // ---- refresh ----

    fn found(current: bool, tweak: impl FnOnce(&mut Session), active: bool) -> SecretMatch {
        let account = stored(&user("ada@example.com", Role::User), active);
        let mut session = session_of(&account);
        session.secret_hash = SecretHash::new("h:presented");
        tweak(&mut session);
        SecretMatch {
            session,
            user: account,
            current,
        }
    }

    fn refresh_with(
        found: Option<SecretMatch>,
        configure: impl FnOnce(&mut Mocks),
    ) -> Result<TokenPair, RefreshError> {
        let mut mocks = Mocks::new();
        mocks
            .sessions
            .expect_find_by_secret()
            .with(eq(SecretHash::new("h:presented")))
            .returning(move |_| Ok(found.clone()));
        configure(&mut mocks);
        block_on(service(mocks).refresh(&RefreshSecret::new("presented"), &client()))
    }

    #[test]
    fn refresh_with_an_unknown_secret_fails() {
        let error = refresh_with(None, |_| {}).unwrap_err();
        assert!(matches!(error, RefreshError::InvalidToken));
    }

    #[test]
    fn refresh_with_a_rotated_secret_revokes_the_whole_session() {
        let reused = found(false, |_| {}, true);
        let session_id = reused.session.id;
        let error = refresh_with(Some(reused), |mocks| {
            mocks
                .sessions
                .expect_revoke()
                .withf(move |id, at, event| {
                    *id == session_id && *at == now() && event.action == AuditAction::RefreshReused
                })
                .times(1)
                .returning(|_, _, _| Ok(true));
            mocks.sessions.expect_rotate().never();
        })
        .unwrap_err();
        assert!(matches!(error, RefreshError::Reused));
    }

    #[test]
    fn refresh_of_a_revoked_session_fails() {
        let revoked = found(
            true,
            |session| session.revoked_at = Some(now() - Duration::minutes(1)),
            true,
        );
        let error = refresh_with(Some(revoked), |mocks| {
            mocks.sessions.expect_rotate().never();
        })
        .unwrap_err();
        assert!(matches!(error, RefreshError::Revoked));
    }

    #[test]
    fn refresh_of_an_expired_session_fails() {
        let expired = found(true, |session| session.expires_at = now(), true);
        let error = refresh_with(Some(expired), |_| {}).unwrap_err();
        assert!(matches!(error, RefreshError::Expired));
    }

    #[test]
    fn refresh_never_extends_a_session_past_its_absolute_end() {
        // Opened 29 days ago: the renewed secret ends with the session, in a day, not in seven.
        let old = found(
            true,
            |session| session.created_at = now() - Duration::days(29),
            true,
        );
        let session_id = old.session.id;
        let pair = refresh_with(Some(old), |mocks| {
            mocks
                .sessions
                .expect_rotate()
                .withf(move |id, _, _, _, expires_at| {
                    *id == session_id && *expires_at == now() + Duration::days(1)
                })
                .times(1)
                .returning(|_, _, _, _, _| Ok(true));
        })
        .unwrap();
        assert_eq!(pair.refresh_expires_at, now() + Duration::days(1));
    }

    #[test]
    fn refresh_of_a_session_at_its_absolute_end_fails_whatever_its_secret_expiry() {
        // Its stored expiry is still ahead (as for a session stored before the limit existed).
        let ended = found(
            true,
            |session| session.created_at = now() - Duration::days(30),
            true,
        );
        let error = refresh_with(Some(ended), |mocks| {
            mocks.sessions.expect_rotate().never();
        })
        .unwrap_err();
        assert!(matches!(error, RefreshError::Expired));
    }

    #[test]
    fn refresh_for_a_deactivated_user_fails() {
        let error = refresh_with(Some(found(true, |_| {}, false)), |mocks| {
            mocks.sessions.expect_rotate().never();
        })
        .unwrap_err();
        assert!(matches!(error, RefreshError::UserInactive));
    }

    #[test]
    fn refresh_rotates_the_secret_and_returns_a_new_pair() {
        let live = found(true, |_| {}, true);
        let session_id = live.session.id;
        let pair = refresh_with(Some(live), |mocks| {
            mocks
                .sessions
                .expect_rotate()
                .withf(move |id, presented, replacement, at, expires_at| {
                    *id == session_id
                        && presented.as_str() == "h:presented"
                        && replacement.as_str() == "h:secret-0"
                        && *at == now()
                        && *expires_at == now() + Duration::days(7)
                })
                .times(1)
                .returning(|_, _, _, _, _| Ok(true));
        })
        .unwrap();
        assert_eq!(pair.refresh.expose(), "secret-0");
        assert_eq!(pair.access.expose(), format!("at:{session_id}"));
        assert_eq!(pair.refresh_expires_at, now() + Duration::days(7));
    }

    #[test]
    fn losing_a_concurrent_rotation_is_treated_as_reuse() {
        let error = refresh_with(Some(found(true, |_| {}, true)), |mocks| {
            mocks
                .sessions
                .expect_rotate()
                .returning(|_, _, _, _, _| Ok(false));
            mocks
                .sessions
                .expect_revoke()
                .times(1)
                .returning(|_, _, _| Ok(true));
        })
        .unwrap_err();
        assert!(matches!(error, RefreshError::Reused));
    }

    // ---- log out ----

    #[test]
    fn log_out_revokes_the_session_of_the_secret() {
        let live = found(true, |_| {}, true);
        let session_id = live.session.id;
        let mut mocks = Mocks::new();
        mocks
            .sessions
            .expect_find_by_secret()
            .returning(move |_| Ok(Some(live.clone())));
        mocks
            .sessions
            .expect_revoke()
            .withf(move |id, _, event| *id == session_id && event.action == AuditAction::LoggedOut)
            .times(1)
            .returning(|_, _, _| Ok(true));
        block_on(service(mocks).log_out(&RefreshSecret::new("presented"), &client())).unwrap();
    }

    #[test]
    fn log_out_of_an_ended_session_succeeds_without_writing() {
        let ended = found(false, |session| session.revoked_at = Some(now()), true);
        let mut mocks = Mocks::new();
        mocks
            .sessions
            .expect_find_by_secret()
            .returning(move |_| Ok(Some(ended.clone())));
        mocks.sessions.expect_revoke().never();
        block_on(service(mocks).log_out(&RefreshSecret::new("presented"), &client())).unwrap();
    }

    #[test]
    fn log_out_with_an_unknown_secret_fails() {
        let mut mocks = Mocks::new();
        mocks
            .sessions
            .expect_find_by_secret()
            .returning(|_| Ok(None));
        let error =
            block_on(service(mocks).log_out(&RefreshSecret::new("x"), &client())).unwrap_err();
        assert!(matches!(error, LogOutError::InvalidToken));
    }

    #[test]
    fn log_out_everywhere_revokes_every_session_of_the_caller() {
        let caller = crate::services::testing::principal(Role::User);
        let id = caller.user_id();
        let mut mocks = Mocks::new();
        mocks
            .sessions
            .expect_revoke_all()
            .withf(move |user_id, _, event| {
                *user_id == id && event.action == AuditAction::LoggedOutEverywhere
            })
            .times(1)
            .returning(|_, _, _| Ok(3));
        assert_eq!(
            block_on(service(mocks).log_out_everywhere(&caller, &client())).unwrap(),
            3
        );
    }

    // ---- authenticate ----

    fn claims_for(session: &Session) -> AccessClaims {
        AccessClaims {
            user_id: session.user_id,
            session_id: session.id,
            role: Role::User,
            issued_at: now(),
            expires_at: now() + Duration::minutes(15),
            token_id: uuid::Uuid::new_v4(),
        }
    }

    fn authenticate_with(
        claims: Result<AccessClaims, TokenError>,
        stored: Option<(Session, User)>,
    ) -> Result<Principal, AuthenticateError> {
        let mut mocks = Mocks::new();
        mocks
            .tokens
            .expect_verify()
            .returning(move |_| claims.clone());
        mocks
            .sessions
            .expect_find_with_user()
            .returning(move |_| Ok(stored.clone()));
        block_on(service(mocks).authenticate("token"))
    }

    #[test]
    fn authenticate_refuses_an_invalid_token() {
        let error = authenticate_with(Err(TokenError::Expired), None).unwrap_err();
        assert!(matches!(
            error,
            AuthenticateError::InvalidToken(TokenError::Expired)
        ));
    }

    #[test]
    fn authenticate_refuses_a_token_whose_session_is_gone_or_revoked() {
        let account = user("ada@example.com", Role::User);
        let session = session_of(&account);
        let error = authenticate_with(Ok(claims_for(&session)), None).unwrap_err();
        assert!(matches!(error, AuthenticateError::SessionRevoked));

        let mut revoked = session.clone();
        revoked.revoked_at = Some(now());
        let error = authenticate_with(Ok(claims_for(&session)), Some((revoked, account.clone())))
            .unwrap_err();
        assert!(matches!(error, AuthenticateError::SessionRevoked));

        let mut claims = claims_for(&session);
        claims.user_id = UserId::new();
        let error = authenticate_with(Ok(claims), Some((session, account))).unwrap_err();
        assert!(matches!(error, AuthenticateError::SessionRevoked));
    }

    #[test]
    fn authenticate_refuses_an_expired_session() {
        let account = user("ada@example.com", Role::User);
        let mut session = session_of(&account);
        session.expires_at = now() - Duration::seconds(1);
        let error =
            authenticate_with(Ok(claims_for(&session)), Some((session, account))).unwrap_err();
        assert!(matches!(error, AuthenticateError::SessionExpired));
    }

    #[test]
    fn authenticate_refuses_a_deactivated_user() {
        let account = stored(&user("ada@example.com", Role::User), false);
        let session = session_of(&account);
        let error =
            authenticate_with(Ok(claims_for(&session)), Some((session, account))).unwrap_err();
        assert!(matches!(error, AuthenticateError::UserInactive));
    }

    #[test]
    fn authenticate_returns_the_live_principal() {
        let account = user("ada@example.com", Role::Admin);
        let session = session_of(&account);
        let principal = authenticate_with(
            Ok(claims_for(&session)),
            Some((session.clone(), account.clone())),
        )
        .unwrap();
        assert_eq!(principal.user, account);
        assert_eq!(principal.session_id(), session.id);
        // The live role counts, not the one the token was issued with.
        assert!(principal.can_administer());
    }

    #[test]
    fn authenticate_reports_infrastructure_failures() {
        let account = user("ada@example.com", Role::User);
        let session = session_of(&account);
        let claims = claims_for(&session);
        let mut mocks = Mocks::new();
        mocks
            .tokens
            .expect_verify()
            .returning(move |_| Ok(claims.clone()));
        mocks
            .sessions
            .expect_find_with_user()
            .returning(|_| Err(storage_down()));
        let error = block_on(service(mocks).authenticate("token")).unwrap_err();
        assert!(matches!(error, AuthenticateError::Unexpected(_)));
    }
}
