//! A signed-in user's own account: profile, password, sessions.

use super::Core;
use crate::{
    AuditAction, AuditEvent, ClientInfo, Email, FieldErrors, FullName, PlaintextPassword, Ports,
    Principal, SaveUserError, Session, SessionId, Settings, ThrottleKey, TokenPair,
    UnexpectedError, User,
};
use time::Duration;

/// Input of [`AccountService::update_profile`]: the fields to change, each already valid.
///
/// ```
/// use domain::{Email, ProfileUpdate};
///
/// let update = ProfileUpdate {
///     email: Some(Email::parse("ada.king@example.com").unwrap()),
///     ..ProfileUpdate::default()
/// };
/// assert!(update.full_name.is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    /// A new email, if it changes.
    pub email: Option<Email>,
    /// A new display name, if it changes.
    pub full_name: Option<FullName>,
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
    /// Another account has this email.
    #[error("the email is already taken")]
    EmailTaken,
    /// Other changes to the account kept landing between reading and writing it.
    #[error("the account kept changing; try again")]
    Changed,
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
    /// Too many wrong passwords (at login or here) locked the account: try again after
    /// `retry_after`. Nothing was checked.
    #[error("too many wrong passwords; retry after {retry_after}")]
    Locked {
        /// How long until the password is checked again.
        retry_after: Duration,
    },
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
        let mut current = principal.user.clone();
        // The update sets values, so when another change (an admin's, another device's) lands
        // between the read and the write, it is applied again to the account as it now is.
        for _ in 0..super::CHANGE_ATTEMPTS {
            let email = update
                .email
                .clone()
                .filter(|email| email != current.email());
            let full_name = (update.full_name.clone()).filter(|name| name != current.full_name());
            if email.is_none() && full_name.is_none() {
                return Ok(current);
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
            let read_as_of = current.updated_at();
            let updated = current.clone().with_profile(email, full_name, now);
            let users = &self.core.ports.users;
            match users.update(&updated, read_as_of, false, &event).await {
                Ok(()) => return Ok(updated),
                Err(SaveUserError::EmailTaken) => return Err(UpdateProfileError::EmailTaken),
                Err(SaveUserError::Changed) => {
                    current = users.find_by_id(current.id()).await?.ok_or_else(|| {
                        UnexpectedError::internal("updating a profile", "the account is gone")
                    })?;
                }
                Err(SaveUserError::Unexpected(error)) => return Err(error.into()),
            }
        }
        Err(UpdateProfileError::Changed)
    }

    /// Changes the caller's password. Every token issued before the change stops working:
    /// every session of the user is revoked, and the caller's continues under a new id with
    /// the fresh pair returned here. A wrong old password counts toward the account's lockout
    /// as a failed login does, and a locked account's old password is not checked at all.
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
        let now = ports.clock.now();
        let key = ThrottleKey::new(user.email().clone(), client);
        let checks = match self.core.admit_check(&key, now).await? {
            Ok(checks) => checks,
            Err(retry_after) => return Err(ChangePasswordError::Locked { retry_after }),
        };
        let mut errors = FieldErrors::default();
        let right = ports
            .hasher
            .verify(&input.old_password, user.password_hash())
            .await?;
        if right {
            ports.throttle.clear(&key).await?;
        } else {
            let failed = AuditEvent::new(AuditAction::LoginFailed, now, client)
                .by(user.id())
                .on(user.id())
                .with("reason", "wrong_old_password");
            let locked = (self.core)
                .count_wrong_password(&key, checks, &failed, now, client)
                .await?;
            if let Some(retry_after) = locked {
                return Err(ChangePasswordError::Locked { retry_after });
            }
            errors.add("old_password", "Your old password was entered incorrectly.");
        }
        if input.new_password.expose() == input.old_password.expose() {
            errors.add(
                "new_password",
                "The new password must differ from the old one.",
            );
        }
        self.core
            .check_new_password(user, &input.new_password, &mut errors);
        errors.into_result().map_err(ChangePasswordError::Invalid)?;

        let hash = ports.hasher.hash(&input.new_password).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockLoginThrottle;
    use crate::services::testing::{
        Mocks, STRONG, client, now, principal, session_of, storage_down, user,
    };
    use crate::{AuditAction, FailedLogins, PasswordHash, Role};
    use pollster::block_on;
    use time::Duration;

    fn service(mocks: Mocks) -> AccountService {
        AccountService::new(mocks.ports(), Settings::default())
    }

    #[test]
    fn profile_is_the_callers_own_account() {
        let caller = principal(Role::User);
        assert_eq!(service(Mocks::new()).profile(&caller), caller.user);
    }

    #[test]
    fn update_profile_without_a_change_writes_nothing() {
        let caller = principal(Role::User);
        let mut mocks = Mocks::new();
        mocks.users.expect_update().never();
        let update = ProfileUpdate {
            email: Some(Email::parse(" CALLER@example.com").unwrap()),
            full_name: Some(FullName::parse("Ada Lovelace ").unwrap()),
        };
        let user = block_on(service(mocks).update_profile(&caller, update, &client())).unwrap();
        assert_eq!(user, caller.user);
    }

    #[test]
    fn update_profile_saves_the_changed_fields_with_an_audit_event() {
        let caller = principal(Role::User);
        let id = caller.user_id();
        let mut mocks = Mocks::new();
        mocks
            .users
            .expect_update()
            .withf(move |user, _, revoke_sessions, event| {
                user.id() == id
                    && user.email().as_str() == "new@example.com"
                    && user.full_name().as_str() == "Ada Lovelace"
                    && user.updated_at() == now()
                    && !revoke_sessions
                    && event.action == AuditAction::ProfileUpdated
                    && event.details.contains_key("email")
                    && !event.details.contains_key("full_name")
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let update = ProfileUpdate {
            email: Some(Email::parse("new@example.com").unwrap()),
            full_name: None,
        };
        let user = block_on(service(mocks).update_profile(&caller, update, &client())).unwrap();
        assert_eq!(user.email().as_str(), "new@example.com");
    }

    #[test]
    fn a_profile_update_meeting_another_change_is_applied_to_the_account_as_it_now_is() {
        let caller = principal(Role::User);
        let promoted = User::restore(crate::UserRecord {
            role: Role::Admin,
            updated_at: now() - Duration::seconds(1),
            ..caller.user.to_record()
        });
        let (stale, fresh) = (caller.user.updated_at(), promoted.updated_at());
        let mut mocks = Mocks::new();
        mocks
            .users
            .expect_update()
            .withf(move |_, read, _, _| *read == stale)
            .times(1)
            .returning(|_, _, _, _| Err(crate::SaveUserError::Changed));
        mocks
            .users
            .expect_find_by_id()
            .times(1)
            .returning(move |_| Ok(Some(promoted.clone())));
        mocks
            .users
            .expect_update()
            .withf(move |user, read, _, _| *read == fresh && user.role() == Role::Admin)
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let update = ProfileUpdate {
            email: None,
            full_name: Some(FullName::parse("Ada King").unwrap()),
        };
        let user = block_on(service(mocks).update_profile(&caller, update, &client())).unwrap();
        assert_eq!(
            (user.role(), user.full_name().as_str()),
            (Role::Admin, "Ada King")
        );
    }

    #[test]
    fn update_profile_reports_a_taken_email() {
        let mut mocks = Mocks::new();
        mocks
            .users
            .expect_update()
            .returning(|_, _, _, _| Err(crate::SaveUserError::EmailTaken));
        let update = ProfileUpdate {
            email: Some(Email::parse("taken@example.com").unwrap()),
            full_name: None,
        };
        let error =
            block_on(service(mocks).update_profile(&principal(Role::User), update, &client()))
                .unwrap_err();
        assert!(matches!(error, UpdateProfileError::EmailTaken));
    }

    fn change(old: &str, new: &str) -> ChangePassword {
        ChangePassword {
            old_password: PlaintextPassword::new(old),
            new_password: PlaintextPassword::new(new),
        }
    }

    #[test]
    fn change_password_refuses_a_wrong_old_password() {
        let mut mocks = Mocks::new();
        mocks.hasher.expect_verify().returning(|_, _| Ok(false));
        mocks.hasher.expect_hash().never();
        mocks.throttle = MockLoginThrottle::new();
        mocks
            .throttle
            .expect_admit()
            .withf(|key, _, allowed| {
                key.email().as_str() == "caller@example.com"
                    && key.address() == "203.0.113.9"
                    && *allowed == 5
            })
            .times(1)
            .returning(|_, _, _| Ok(Some(1)));
        mocks
            .audit
            .expect_record()
            .withf(|event| {
                event.action == AuditAction::LoginFailed
                    && event.details.get("reason").map(String::as_str) == Some("wrong_old_password")
            })
            .times(1)
            .returning(|_| Ok(()));
        mocks.throttle.expect_lock().never();
        mocks.throttle.expect_clear().never();
        let error = block_on(service(mocks).change_password(
            &principal(Role::User),
            change("wrong", STRONG),
            &client(),
        ))
        .unwrap_err();
        assert!(matches!(&error, ChangePasswordError::Invalid(errors)
            if errors.get("old_password") == ["Your old password was entered incorrectly."] && errors.get("new_password").is_empty()));
    }

    #[test]
    fn wrong_old_passwords_lock_as_failed_logins_do() {
        let caller = principal(Role::User);
        let id = caller.user.id();
        let mut mocks = Mocks::new();
        mocks.hasher.expect_verify().returning(|_, _| Ok(false));
        mocks.throttle = MockLoginThrottle::new();
        mocks
            .throttle
            .expect_admit()
            .returning(|_, _, _| Ok(Some(5)));
        mocks.audit.expect_record().returning(|_| Ok(()));
        mocks
            .throttle
            .expect_lock()
            .withf(move |key, until, event| {
                key.email().as_str() == "caller@example.com"
                    && *until == now() + Duration::minutes(1)
                    && event.action == AuditAction::LockedOut
                    && event.target == Some(id)
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        let error = block_on(service(mocks).change_password(
            &caller,
            change("fifth-wrong-guess", STRONG),
            &client(),
        ))
        .unwrap_err();
        assert!(
            matches!(error, ChangePasswordError::Locked { retry_after } if retry_after == Duration::minutes(1))
        );
    }

    #[test]
    fn a_locked_caller_cannot_change_the_password_nor_have_it_checked() {
        let mut mocks = Mocks::new();
        mocks.throttle = MockLoginThrottle::new();
        mocks.throttle.expect_admit().returning(|_, _, _| Ok(None));
        mocks.throttle.expect_get().returning(|_| {
            Ok(FailedLogins {
                failures: 5,
                locked_until: Some(now() + Duration::seconds(30)),
            })
        });
        mocks.hasher.expect_verify().never();
        mocks.users.expect_change_password().never();
        let error = block_on(service(mocks).change_password(
            &principal(Role::User),
            change(STRONG, "another-vivid-otter-cabinet-92"),
            &client(),
        ))
        .unwrap_err();
        assert!(
            matches!(error, ChangePasswordError::Locked { retry_after } if retry_after == Duration::seconds(30))
        );
    }

    #[test]
    fn a_right_old_password_forgets_earlier_wrong_ones() {
        let mut mocks = Mocks::new();
        mocks.throttle = MockLoginThrottle::new();
        mocks
            .throttle
            .expect_admit()
            .returning(|_, _, _| Ok(Some(4)));
        mocks.throttle.expect_clear().times(1).returning(|_| Ok(()));
        mocks.hasher.expect_verify().returning(|_, _| Ok(true));
        mocks
            .hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("new-hash")));
        mocks
            .users
            .expect_change_password()
            .returning(|_, _, _, _, _| Ok(()));
        block_on(service(mocks).change_password(
            &principal(Role::User),
            change(STRONG, "another-vivid-otter-cabinet-92"),
            &client(),
        ))
        .unwrap();
    }

    #[test]
    fn change_password_refuses_the_same_password() {
        let mut mocks = Mocks::new();
        mocks.hasher.expect_verify().returning(|_, _| Ok(true));
        let error = block_on(service(mocks).change_password(
            &principal(Role::User),
            change(STRONG, STRONG),
            &client(),
        ))
        .unwrap_err();
        assert!(matches!(&error, ChangePasswordError::Invalid(errors)
            if errors.get("new_password") == ["The new password must differ from the old one."]));
    }

    #[test]
    fn change_password_applies_the_policy_to_the_new_password() {
        let mut mocks = Mocks::new();
        mocks.hasher.expect_verify().returning(|_, _| Ok(true));
        let error = block_on(service(mocks).change_password(
            &principal(Role::User),
            change(STRONG, "password"),
            &client(),
        ))
        .unwrap_err();
        assert!(matches!(&error, ChangePasswordError::Invalid(errors)
            if errors.get("new_password").contains(&"This password is too common.".to_owned())));
    }

    #[test]
    fn change_password_revokes_every_session_and_continues_the_callers_under_a_new_id() {
        let caller = principal(Role::User);
        let (id, old_session, old_client) = (
            caller.user_id(),
            caller.session_id(),
            caller.session.client.clone(),
        );
        let mut mocks = Mocks::new();
        mocks.hasher.expect_verify().returning(|_, _| Ok(true));
        mocks
            .hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("new-hash")));
        mocks
            .users
            .expect_change_password()
            .withf(move |user_id, hash, at, replacement, event| {
                *user_id == id
                    && hash.as_str() == "new-hash"
                    && *at == now()
                    && replacement.id != old_session
                    && replacement.user_id == id
                    && replacement.client == old_client
                    && replacement.secret_hash.as_str() == "h:secret-0"
                    && event.action == AuditAction::PasswordChanged
            })
            .times(1)
            .returning(|_, _, _, _, _| Ok(()));
        let pair = block_on(service(mocks).change_password(
            &caller,
            change(STRONG, "quiet-walrus-ledger-47"),
            &client(),
        ))
        .unwrap();
        assert_eq!(pair.refresh.expose(), "secret-0");
        assert_eq!(pair.refresh_expires_at, now() + Duration::days(7));
    }

    #[test]
    fn change_password_reports_infrastructure_failures() {
        let mut mocks = Mocks::new();
        mocks
            .hasher
            .expect_verify()
            .returning(|_, _| Err(storage_down()));
        let error = block_on(service(mocks).change_password(
            &principal(Role::User),
            change(STRONG, "quiet-walrus-ledger-47"),
            &client(),
        ))
        .unwrap_err();
        assert!(matches!(error, ChangePasswordError::Unexpected(_)));
    }

    #[test]
    fn list_sessions_flags_the_current_one() {
        let caller = principal(Role::User);
        let other = session_of(&caller.user);
        let sessions = vec![caller.session.clone(), other.clone()];
        let id = caller.user_id();
        let mut mocks = Mocks::new();
        mocks
            .sessions
            .expect_list_live()
            .withf(move |user_id, at| *user_id == id && *at == now())
            .returning(move |_, _| Ok(sessions.clone()));
        let views = block_on(service(mocks).list_sessions(&caller)).unwrap();
        assert_eq!(views.len(), 2);
        assert!(views[0].current);
        assert!(!views[1].current);
        assert_eq!(views[1].session, other);
    }

    fn revoke(
        found: Option<(Session, crate::User)>,
        revoked: bool,
    ) -> (Result<(), RevokeSessionError>, crate::SessionId) {
        let caller = principal(Role::User);
        let target = found
            .as_ref()
            .map_or_else(crate::SessionId::new, |(session, _)| session.id);
        let mut mocks = Mocks::new();
        mocks
            .sessions
            .expect_find_with_user()
            .returning(move |_| Ok(found.clone()));
        mocks
            .sessions
            .expect_revoke()
            .withf(move |id, _, event| *id == target && event.action == AuditAction::SessionRevoked)
            .returning(move |_, _, _| Ok(revoked));
        (
            block_on(service(mocks).revoke_session(&caller, target, &client())),
            target,
        )
    }

    #[test]
    fn revoke_session_ends_one_of_the_callers_sessions() {
        let owner = principal(Role::User);
        let mut mocks = Mocks::new();
        let session = session_of(&owner.user);
        let (stored_session, stored_user) = (session.clone(), owner.user.clone());
        mocks
            .sessions
            .expect_find_with_user()
            .returning(move |_| Ok(Some((stored_session.clone(), stored_user.clone()))));
        mocks
            .sessions
            .expect_revoke()
            .times(1)
            .returning(|_, _, _| Ok(true));
        block_on(service(mocks).revoke_session(&owner, session.id, &client())).unwrap();
    }

    #[test]
    fn revoke_session_hides_sessions_that_are_not_the_callers() {
        let stranger = user("stranger@example.com", Role::User);
        let (result, _) = revoke(Some((session_of(&stranger), stranger)), true);
        assert!(matches!(result, Err(RevokeSessionError::NotFound)));
        let (result, _) = revoke(None, true);
        assert!(matches!(result, Err(RevokeSessionError::NotFound)));
    }

    #[test]
    fn revoke_session_refuses_an_ended_session() {
        let owner = principal(Role::User);
        for tweak in [
            (|session: &mut Session| session.revoked_at = Some(now())) as fn(&mut Session),
            |session: &mut Session| session.expires_at = now(),
        ] {
            let mut session = session_of(&owner.user);
            tweak(&mut session);
            let stored = (session.clone(), owner.user.clone());
            let mut mocks = Mocks::new();
            mocks
                .sessions
                .expect_find_with_user()
                .returning(move |_| Ok(Some(stored.clone())));
            mocks.sessions.expect_revoke().never();
            let result = block_on(service(mocks).revoke_session(&owner, session.id, &client()));
            assert!(matches!(result, Err(RevokeSessionError::NotFound)));
        }
    }

    #[test]
    fn revoke_session_lost_to_a_concurrent_revocation_is_not_found() {
        let owner = principal(Role::User);
        let session = session_of(&owner.user);
        let stored = (session.clone(), owner.user.clone());
        let mut mocks = Mocks::new();
        mocks
            .sessions
            .expect_find_with_user()
            .returning(move |_| Ok(Some(stored.clone())));
        mocks
            .sessions
            .expect_revoke()
            .returning(|_, _, _| Ok(false));
        let result = block_on(service(mocks).revoke_session(&owner, session.id, &client()));
        assert!(matches!(result, Err(RevokeSessionError::NotFound)));
    }
}
