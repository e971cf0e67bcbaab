//! Audit events: who did what to whom, from where. Persisted by the adapter that makes the
//! change they describe, in the same transaction, or through [`crate::AuditLog`] when no
//! change goes with them (a failed login for an unknown email, say).

use crate::{AuditEventId, ClientInfo, UserId};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use time::OffsetDateTime;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// An account was created by sign-up.
    SignedUp,
    /// A login succeeded.
    LoggedIn,
    /// A password check failed: a login (wrong password, unknown email, deactivated account)
    /// or the old password of a password change (`reason: wrong_old_password`).
    LoginFailed,
    /// Too many failures locked an account.
    LockedOut,
    /// A rotated refresh secret was presented again; its session was revoked.
    RefreshReused,
    /// A session was ended by its refresh token.
    LoggedOut,
    /// Every session of a user was ended by that user.
    LoggedOutEverywhere,
    /// A user changed their password.
    PasswordChanged,
    /// A user changed their name or email.
    ProfileUpdated,
    /// A user revoked one of their sessions.
    SessionRevoked,
    /// An admin changed a user's role, activation or name.
    UserUpdated,
    /// An admin toggled a user's activation.
    ActivationToggled,
    /// An admin account was created from the command line.
    AdminCreated,
    /// A password-reset link was mailed, asked for by the person (`by: self`) or sent by an
    /// administrator (`by: admin`).
    PasswordResetRequested,
    /// A password was set with a reset link; every earlier session was revoked.
    PasswordReset,
}

/// The string names no audit action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit action")]
pub struct AuditActionError;

impl AuditAction {
    /// Every action, in a stable order.
    pub const ALL: [AuditAction; 15] = [
        Self::SignedUp,
        Self::LoggedIn,
        Self::LoginFailed,
        Self::LockedOut,
        Self::RefreshReused,
        Self::LoggedOut,
        Self::LoggedOutEverywhere,
        Self::PasswordChanged,
        Self::ProfileUpdated,
        Self::SessionRevoked,
        Self::UserUpdated,
        Self::ActivationToggled,
        Self::AdminCreated,
        Self::PasswordResetRequested,
        Self::PasswordReset,
    ];

    /// The stable snake-case name, as stored and as sent over the wire.
    ///
    /// ```
    /// use domain::AuditAction;
    ///
    /// assert_eq!(AuditAction::LoginFailed.as_str(), "login_failed");
    /// assert_eq!(AuditAction::parse("login_failed"), Ok(AuditAction::LoginFailed));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignedUp => "signup",
            Self::LoggedIn => "login",
            Self::LoginFailed => "login_failed",
            Self::LockedOut => "lockout",
            Self::RefreshReused => "refresh_reuse",
            Self::LoggedOut => "logout",
            Self::LoggedOutEverywhere => "logout_all",
            Self::PasswordChanged => "password_change",
            Self::ProfileUpdated => "profile_update",
            Self::SessionRevoked => "session_revoke",
            Self::UserUpdated => "admin_user_update",
            Self::ActivationToggled => "admin_toggle_active",
            Self::AdminCreated => "admin_create",
            Self::PasswordResetRequested => "password_reset_request",
            Self::PasswordReset => "password_reset",
        }
    }

    /// Reads a name written by [`AuditAction::as_str`].
    pub fn parse(raw: &str) -> Result<Self, AuditActionError> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == raw)
            .ok_or(AuditActionError)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One recorded event.
///
/// ```
/// use domain::{AuditAction, AuditEvent, ClientInfo, UserId};
/// use time::OffsetDateTime;
///
/// let user = UserId::new();
/// let event = AuditEvent::new(AuditAction::LoggedIn, OffsetDateTime::now_utc(), &ClientInfo::default())
///     .by(user)
///     .on(user)
///     .with("method", "password");
/// assert_eq!(event.details["method"], "password");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// The event's identifier.
    pub id: AuditEventId,
    /// When it happened.
    pub at: OffsetDateTime,
    /// Who did it, when known.
    pub actor: Option<UserId>,
    /// What happened.
    pub action: AuditAction,
    /// Whose account it concerns, when any.
    pub target: Option<UserId>,
    /// The address the request came from.
    pub ip: Option<IpAddr>,
    /// Extra facts (never a secret): changed fields, a reason, the session id.
    pub details: BTreeMap<String, String>,
}

impl AuditEvent {
    /// An event with no actor, target or details yet.
    pub fn new(action: AuditAction, at: OffsetDateTime, client: &ClientInfo) -> Self {
        Self {
            id: AuditEventId::new(),
            at,
            actor: None,
            action,
            target: None,
            ip: client.ip,
            details: BTreeMap::new(),
        }
    }

    /// Sets who did it.
    #[must_use]
    pub fn by(mut self, actor: UserId) -> Self {
        self.actor = Some(actor);
        self
    }

    /// Sets whose account it concerns.
    #[must_use]
    pub fn on(mut self, target: UserId) -> Self {
        self.target = Some(target);
        self
    }

    /// Adds a detail.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// Filters and page of an audit listing. Newest events come first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only events by this user.
    pub actor: Option<UserId>,
    /// Only events concerning this user.
    pub target: Option<UserId>,
    /// Only events of this kind.
    pub action: Option<AuditAction>,
    /// How many events to skip.
    pub offset: u64,
    /// How many events to return at most.
    pub limit: u32,
}

/// One page of audit events, and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSlice {
    /// The events, newest first.
    pub events: Vec<AuditEvent>,
    /// How many events match the filters.
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Ok(action));
            assert!(seen.insert(action.as_str()));
            assert_eq!(action.to_string(), action.as_str());
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in "\\PC*") {
            let _ = AuditAction::parse(&raw);
        }
    }
}
