//! Mail: the messages the service sends people, the outbox that keeps each one until it is
//! delivered, and the one-time tokens that the links in them carry.
//!
//! A message is written to the outbox in the same transaction as the change it belongs to
//! (see [`crate::OneTimeTokens::issue`]), and [`crate::MailDelivery`] sends it later, with
//! retries: a crash between the two loses nothing, and a change that rolls back sends nothing.

use crate::{Email, FullName, MailId, OneTimeTokenId, RefreshSecret, SecretHash, UserId};
use std::fmt;
use time::{Duration, OffsetDateTime};

/// What a message says. The mailer picks its template, and the path of its link, from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// A link to choose a new password (`/reset-password?token=…`).
    PasswordReset,
}

/// The string names no kind of message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind of message")]
pub struct MailKindError;

impl MailKind {
    /// Every kind, in a stable order.
    pub const ALL: [MailKind; 1] = [Self::PasswordReset];

    /// The stable snake-case name, as stored.
    ///
    /// ```
    /// use domain::MailKind;
    ///
    /// assert_eq!(MailKind::PasswordReset.as_str(), "password_reset");
    /// assert_eq!(MailKind::parse("password_reset"), Ok(MailKind::PasswordReset));
    /// assert!(MailKind::parse("newsletter").is_err());
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
        }
    }

    /// Reads a name written by [`MailKind::as_str`].
    ///
    /// # Errors
    /// [`MailKindError`] for any other string.
    pub fn parse(raw: &str) -> Result<Self, MailKindError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == raw)
            .ok_or(MailKindError)
    }
}

impl fmt::Display for MailKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One message to one person, as the outbox keeps it.
///
/// ```
/// use domain::{Email, FullName, Mail, MailKind, RefreshSecret};
/// use time::{Duration, OffsetDateTime};
///
/// let sent = OffsetDateTime::UNIX_EPOCH;
/// let mail = Mail::new(
///     Email::parse("ada@example.com").unwrap(),
///     FullName::parse("Ada Lovelace").unwrap(),
///     MailKind::PasswordReset,
///     sent,
/// )
/// .with_link(RefreshSecret::new("link-secret"), sent + Duration::minutes(30));
/// assert_eq!(mail.to.as_str(), "ada@example.com");
/// assert!(!format!("{mail:?}").contains("link-secret"));
/// ```
#[derive(Debug, Clone)]
pub struct Mail {
    /// The message's identifier.
    pub id: MailId,
    /// The address it goes to.
    pub to: Email,
    /// The name it greets.
    pub name: FullName,
    /// What it says.
    pub kind: MailKind,
    /// The one-time link it carries, if any.
    pub link: Option<MailLink>,
    /// When it was queued.
    pub created_at: OffsetDateTime,
}

/// The one-time link a message carries.
#[derive(Debug, Clone)]
pub struct MailLink {
    /// The link's secret. The outbox keeps it only until the message is delivered or given
    /// up; the token's own store keeps only its hash.
    pub token: RefreshSecret,
    /// When the link stops working, for the message to say.
    pub expires_at: OffsetDateTime,
}

impl Mail {
    /// A new message without a link, with a new id.
    pub fn new(to: Email, name: FullName, kind: MailKind, created_at: OffsetDateTime) -> Self {
        Self {
            id: MailId::new(),
            to,
            name,
            kind,
            link: None,
            created_at,
        }
    }

    /// The message with a one-time link whose secret is `token`, working until `expires_at`.
    #[must_use]
    pub fn with_link(mut self, token: RefreshSecret, expires_at: OffsetDateTime) -> Self {
        self.link = Some(MailLink { token, expires_at });
        self
    }
}

/// A message taken from the outbox for one delivery attempt.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    /// The message.
    pub mail: Mail,
    /// Delivery attempts so far, this one included.
    pub attempt: u32,
}

/// Why a message was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// It may go through later: the server did not answer, or answered "try again" (4xx).
    #[error("delivery failed for now: {0}")]
    Transient(String),
    /// It never will: the server refused it for good (5xx), or it cannot be written.
    #[error("the message was refused: {0}")]
    Rejected(String),
}

/// How often, and how long apart, a message that fails for now is tried again.
///
/// ```
/// use domain::RetryPolicy;
/// use time::Duration;
///
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.retry_after(1), Some(Duration::seconds(30)));
/// assert_eq!(policy.retry_after(2), Some(Duration::minutes(1)));
/// assert_eq!(policy.retry_after(9), Some(Duration::hours(1)));
/// assert_eq!(policy.retry_after(10), None, "the tenth failure gives up");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before a message is marked failed (default 10).
    pub max_attempts: u32,
    /// The wait after the first failure (default 30 seconds); each further one doubles it.
    pub first_delay: Duration,
    /// The longest wait (default 1 hour).
    pub max_delay: Duration,
    /// How long a claimed message stays away from other workers (default 10 minutes): longer
    /// than a delivery can take, so two workers never send it at once; a worker that dies
    /// mid-delivery leaves it to be taken again after that.
    pub lease: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            first_delay: Duration::seconds(30),
            max_delay: Duration::hours(1),
            lease: Duration::minutes(10),
        }
    }
}

impl RetryPolicy {
    /// How long to wait after the `attempt`-th failed attempt, or `None` to give up.
    pub fn retry_after(&self, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let doublings = attempt.saturating_sub(1).min(30);
        Some(
            self.first_delay
                .saturating_mul(1_i32 << doublings)
                .min(self.max_delay),
        )
    }
}

/// What a one-time token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    /// Choose a new password without the old one.
    PasswordReset,
}

impl TokenPurpose {
    /// The stable snake-case name, as stored.
    ///
    /// ```
    /// use domain::TokenPurpose;
    ///
    /// assert_eq!(TokenPurpose::parse(TokenPurpose::PasswordReset.as_str()), Some(TokenPurpose::PasswordReset));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
        }
    }

    /// Reads a name written by [`TokenPurpose::as_str`].
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::PasswordReset]
            .into_iter()
            .find(|purpose| purpose.as_str() == raw)
    }
}

/// How many one-time tokens for one purpose one user may be issued in a window: at most
/// `at_most` since `since` (see [`crate::OneTimeTokens::issue`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueLimit {
    /// The window's start.
    pub since: OffsetDateTime,
    /// Tokens allowed in the window.
    pub at_most: u64,
}

/// A one-time token as stored: its secret travels only in the mail's link; the store keeps
/// its hash.
///
/// ```
/// use domain::{OneTimeToken, SecretHash, TokenPurpose, UserId};
/// use time::{Duration, OffsetDateTime};
///
/// let issued = OffsetDateTime::UNIX_EPOCH;
/// let token = OneTimeToken::issue(
///     UserId::new(),
///     TokenPurpose::PasswordReset,
///     SecretHash::new("digest"),
///     issued,
///     Duration::minutes(30),
/// );
/// assert!(token.is_usable(issued + Duration::minutes(29)));
/// assert!(!token.is_usable(issued + Duration::minutes(30)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeToken {
    /// The token's identifier.
    pub id: OneTimeTokenId,
    /// Whose account it acts on.
    pub user_id: UserId,
    /// What it allows.
    pub purpose: TokenPurpose,
    /// The digest of its secret.
    pub secret_hash: SecretHash,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// When it was used (or set aside by a later use of another), if it was.
    pub used_at: Option<OffsetDateTime>,
}

impl OneTimeToken {
    /// A new, unused token for `user_id` that works for `lifetime` from `at`.
    pub fn issue(
        user_id: UserId,
        purpose: TokenPurpose,
        secret_hash: SecretHash,
        at: OffsetDateTime,
        lifetime: Duration,
    ) -> Self {
        Self {
            id: OneTimeTokenId::new(),
            user_id,
            purpose,
            secret_hash,
            created_at: at,
            expires_at: at + lifetime,
            used_at: None,
        }
    }

    /// Whether it may still be used at `now`: unused and not expired.
    pub fn is_usable(&self, now: OffsetDateTime) -> bool {
        self.used_at.is_none() && now < self.expires_at
    }
}

/// Where a message stands in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailStatus {
    /// Not delivered yet: due now, or waiting for its next attempt.
    Pending,
    /// Delivered to the recipient's mail server.
    Sent,
    /// Given up on: refused for good, or out of attempts. Kept for administrators to see.
    Failed,
}

impl MailStatus {
    /// Every status, in a stable order.
    pub const ALL: [MailStatus; 3] = [Self::Pending, Self::Sent, Self::Failed];

    /// The stable snake-case name, as stored and as sent over the wire.
    ///
    /// ```
    /// use domain::MailStatus;
    ///
    /// assert_eq!(MailStatus::Failed.as_str(), "failed");
    /// assert_eq!(MailStatus::parse("failed"), Some(MailStatus::Failed));
    /// assert_eq!(MailStatus::parse("lost"), None);
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    /// Reads a name written by [`MailStatus::as_str`].
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == raw)
    }
}

/// A message as administrators see it in the outbox: where it stands, never its link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The message's identifier.
    pub id: MailId,
    /// The address it goes to.
    pub to: Email,
    /// What it says.
    pub kind: MailKind,
    /// Where it stands.
    pub status: MailStatus,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// When it is next due, while pending.
    pub next_attempt_at: OffsetDateTime,
    /// When it was delivered or given up on.
    pub finished_at: Option<OffsetDateTime>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
}

/// Which outbox entries to list: newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxQuery {
    /// Only entries with this status.
    pub status: Option<MailStatus>,
    /// How many entries to skip.
    pub offset: u64,
    /// How many entries to return at most.
    pub limit: u32,
}

/// One page of outbox entries, and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxSlice {
    /// The entries, newest first.
    pub entries: Vec<OutboxEntry>,
    /// How many entries match the filter.
    pub total: u64,
}
