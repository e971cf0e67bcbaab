//! A signed-in user's own account: profile, password, sessions.

use super::Core;
use crate::{
    AuditAction, AuditEvent, ClientInfo, Email, FieldErrors, FullName, PlaintextPassword,
    PolicyContext, Ports, Principal, SaveUserError, Session, SessionId, Settings, TokenPair,
    UnexpectedError, User,
};

/// Input of [`AccountService::update_profile`]: the fields to change.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    /// A new email, if it changes.
    pub email: Option<String>,
    /// A new display name, if it changes.
    pub full_name: Option<String>,
}

/// Input of [`AccountService::change_password`].
#[derive(Debug, Clone)]
pub struct ChangePassword {
    /// The current password, as proof of presence.
    pub old_password: PlaintextPassword,
    /// The new password, checked against the policy.
    pub new_password: PlaintextPassword,
}

/// One of the caller's sessions, flagged when it is the one making the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// The session.
    pub session: Session,
    /// Whether the request came from this session.
    pub current: bool,
}

/// Why a profile update failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateProfileError {
    /// Some fields are invalid.
    #[error("the profile input is invalid: {0}")]
    Invalid(FieldErrors),
    /// Another account has this email.
    #[error("the email is already taken")]
    EmailTaken,
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

/// Why a password change failed.
#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// The old password is wrong, or the new one is weak or unchanged; each field has its
    /// messages (`old_password`, `new_password`).
    #[error("the password change is invalid: {0}")]
    Invalid(FieldErrors),
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

/// Why revoking a session failed.
#[derive(Debug, thiserror::Error)]
pub enum RevokeSessionError {
    /// The caller has no live session with this id (another user's is not theirs to see).
    #[error("no such session")]
    NotFound,
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

/// Use cases of a signed-in user on their own account.
#[derive(Clone)]
pub struct AccountService {
    core: Core,
}

impl AccountService {
    /// A service over `ports` applying `settings`.
    pub fn new(ports: Ports, settings: Settings) -> Self {
        Self {
            core: Core::new(ports, settings),
        }
    }

    /// The caller's own account, as read when the request was authenticated.
    pub fn profile(&self, principal: &Principal) -> User {
        principal.user.clone()
    }

    /// Changes the caller's name and/or email. The email stays unique.
    ///
    /// # Errors
    /// See [`UpdateProfileError`].
    pub async fn update_profile(
        &self,
        principal: &Principal,
        update: ProfileUpdate,
        client: &ClientInfo,
    ) -> Result<User, UpdateProfileError> {
        let mut errors = FieldErrors::default();
        let email = update.email.as_deref().and_then(|raw| {
            Email::parse(raw)
                .map_err(|error| errors.add("email", error.to_string()))
                .ok()
        });
        let full_name = update.full_name.as_deref().and_then(|raw| {
            FullName::parse(raw)
                .map_err(|error| errors.add("full_name", error.to_string()))
                .ok()
        });
        errors.into_result().map_err(UpdateProfileError::Invalid)?;

        let current = &principal.user;
        let email = email.filter(|email| email != current.email());
        let full_name = full_name.filter(|name| name != current.full_name());
        if email.is_none() && full_name.is_none() {
            return Ok(current.clone());
        }
        let now = self.core.ports.clock.now();
        let mut event = AuditEvent::new(AuditAction::ProfileUpdated, now, client)
            .by(current.id())
            .on(current.id());
        if email.is_some() {
            event = event.with("email", "changed");
        }
        if full_name.is_some() {
            event = event.with("full_name", "changed");
        }
        let updated = current.clone().with_profile(email, full_name, now);
        self.core
            .ports
            .users
            .update(&updated, false, &event)
            .await
            .map_err(|error| match error {
                SaveUserError::EmailTaken => UpdateProfileError::EmailTaken,
                SaveUserError::Unexpected(error) => UpdateProfileError::Unexpected(error),
            })?;
        Ok(updated)
    }

    /// Changes the caller's password. Every token issued before the change stops working:
    /// every session of the user is revoked, and the caller's continues under a new id with
    /// the fresh pair returned here.
    ///
    /// # Errors
    /// See [`ChangePasswordError`].
    pub async fn change_password(
        &self,
        principal: &Principal,
        input: ChangePassword,
        client: &ClientInfo,
    ) -> Result<TokenPair, ChangePasswordError> {
        let ports = &self.core.ports;
        let user = &principal.user;
        let mut errors = FieldErrors::default();
        if !ports
            .hasher
            .verify(&input.old_password, user.password_hash())
            .await?
        {
            errors.add("old_password", "Your old password was entered incorrectly.");
        }
        if input.new_password.expose() == input.old_password.expose() {
            errors.add(
                "new_password",
                "The new password must differ from the old one.",
            );
        }
        let context = PolicyContext {
            email: Some(user.email()),
            full_name: Some(user.full_name()),
        };
        if let Err(violations) = self
            .core
            .settings
            .password_policy
            .check(&input.new_password, &context)
        {
            for message in violations.messages() {
                errors.add("new_password", message);
            }
        }
        errors.into_result().map_err(ChangePasswordError::Invalid)?;

        let hash = ports.hasher.hash(&input.new_password).await?;
        let now = ports.clock.now();
        let (replacement, refresh) =
            self.core
                .open_session(user, now, principal.session.client.clone());
        let event = AuditEvent::new(AuditAction::PasswordChanged, now, client)
            .by(user.id())
            .on(user.id())
            .with("session", replacement.id.to_string());
        ports
            .users
            .change_password(user.id(), &hash, now, &replacement, &event)
            .await?;
        Ok(self.core.token_pair(user, &replacement, refresh, now)?)
    }

    /// The caller's live sessions (devices), the current one flagged.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    pub async fn list_sessions(
        &self,
        principal: &Principal,
    ) -> Result<Vec<SessionView>, UnexpectedError> {
        let now = self.core.ports.clock.now();
        let sessions = self
            .core
            .ports
            .sessions
            .list_live(principal.user_id(), now)
            .await?;
        Ok(sessions
            .into_iter()
            .map(|session| SessionView {
                current: session.id == principal.session_id(),
                session,
            })
            .collect())
    }

    /// Revokes one of the caller's own live sessions (possibly the current one).
    ///
    /// # Errors
    /// [`RevokeSessionError::NotFound`] when the id names no live session of the caller.
    pub async fn revoke_session(
        &self,
        principal: &Principal,
        id: SessionId,
        client: &ClientInfo,
    ) -> Result<(), RevokeSessionError> {
        let ports = &self.core.ports;
        let now = ports.clock.now();
        let owned_and_live = match ports.sessions.find_with_user(id).await? {
            Some((session, _)) => session.user_id == principal.user_id() && session.is_live(now),
            None => false,
        };
        if !owned_and_live {
            return Err(RevokeSessionError::NotFound);
        }
        let event = AuditEvent::new(AuditAction::SessionRevoked, now, client)
            .by(principal.user_id())
            .on(principal.user_id())
            .with("session", id.to_string());
        if ports.sessions.revoke(id, now, &event).await? {
            Ok(())
        } else {
            // Revoked concurrently between the check and now: it is gone either way.
            Err(RevokeSessionError::NotFound)
        }
    }
}
