//! Getting, renewing and losing a session: sign up, log in, refresh, log out, log out
//! everywhere, and authenticating a request.

use super::Core;
use crate::{
    AuditAction, AuditEvent, ClientInfo, Email, FieldErrors, FullName, PlaintextPassword,
    PolicyContext, Ports, Principal, RefreshSecret, Role, SaveUserError, Settings, TokenError,
    TokenPair, UnexpectedError, User, UserId,
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
    /// Unknown email or wrong password: deliberately one answer for both.
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
            .insert(&user, Some(&session), &event)
            .await
            .map_err(|error| match error {
                SaveUserError::EmailTaken => SignUpError::EmailTaken,
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
    /// consecutive failures lock the account (see [`crate::LockoutPolicy`]).
    ///
    /// # Errors
    /// See [`LogInError`].
    pub async fn log_in(&self, input: LogIn, client: &ClientInfo) -> Result<SignedIn, LogInError> {
        let ports = &self.core.ports;
        let now = ports.clock.now();
        let user = match Email::parse(&input.email) {
            Ok(email) => ports.users.find_by_email(&email).await?,
            Err(_) => None,
        };
        let Some(user) = user else {
            ports.hasher.verify_dummy(&input.password).await?;
            let event = AuditEvent::new(AuditAction::LoginFailed, now, client)
                .with("reason", "unknown_email")
                .with(
                    "email",
                    input.email.trim().chars().take(254).collect::<String>(),
                );
            ports.audit.record(&event).await?;
            return Err(LogInError::InvalidCredentials);
        };

        // A locked account is refused before hashing: the lock exists to stop guessing, and
        // skipping the hash keeps a flood against one account from tying up the hashers.
        if let Some(retry_after) = user.lock_remaining(now) {
            return Err(LogInError::Locked { retry_after });
        }

        if !ports
            .hasher
            .verify(&input.password, user.password_hash())
            .await?
        {
            let event = AuditEvent::new(AuditAction::LoginFailed, now, client)
                .by(user.id())
                .on(user.id())
                .with("reason", "wrong_password");
            let failures = ports.users.record_failed_login(user.id(), &event).await?;
            if let Some(lock) = self.core.settings.lockout.lock_for(failures) {
                let event = AuditEvent::new(AuditAction::LockedOut, now, client)
                    .on(user.id())
                    .with("failures", failures.to_string())
                    .with("seconds", lock.whole_seconds().to_string());
                ports.users.lock(user.id(), now + lock, &event).await?;
                return Err(LogInError::Locked { retry_after: lock });
            }
            return Err(LogInError::InvalidCredentials);
        }

        if !user.is_active() {
            let event = AuditEvent::new(AuditAction::LoginFailed, now, client)
                .by(user.id())
                .on(user.id())
                .with("reason", "inactive");
            ports.audit.record(&event).await?;
            return Err(LogInError::Deactivated);
        }

        let rehashed = if ports.hasher.needs_rehash(user.password_hash()) {
            Some(ports.hasher.hash(&input.password).await?)
        } else {
            None
        };
        let (session, refresh) = self.core.open_session(&user, now, client.clone());
        let event = AuditEvent::new(AuditAction::LoggedIn, now, client)
            .by(user.id())
            .on(user.id())
            .with("session", session.id.to_string());
        ports
            .users
            .record_login(user.id(), now, rehashed.as_ref(), &session, &event)
            .await?;
        let user = user.with_login(now, rehashed);
        let tokens = self.core.token_pair(&user, &session, refresh, now)?;
        Ok(SignedIn { user, tokens })
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
        if session.expires_at <= now {
            return Err(RefreshError::Expired);
        }
        if !found.user.is_active() {
            return Err(RefreshError::UserInactive);
        }

        let replacement = ports.secrets.generate();
        let expires_at = now + self.core.settings.refresh_token_lifetime;
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
}
