//! The ports: what the domain needs from the world, as traits named by role. Adapters
//! (`infra-*`, or an embedding service's own) implement them; the services hold them as
//! `Arc<dyn …>`.
//!
//! Mutating methods take the [`AuditEvent`] that describes the change, and must persist it in
//! the same transaction as the change, so the audit trail can never disagree with the data.

use crate::{
    AccessClaims, AccessToken, AuditEvent, AuditQuery, AuditSlice, Email, FailedLogins, IssueLimit,
    Mail, MailError, MailId, OneTimeToken, OutboxQuery, OutboxSlice, PasswordHash,
    PlaintextPassword, QueuedMail, RefreshSecret, SecretHash, Session, SessionId, ThrottleKey,
    TokenError, UnexpectedError, User, UserId, UserQuery, UserSlice,
};
use async_trait::async_trait;
use time::OffsetDateTime;

/// Why a user could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveUserError {
    /// Another account already has this (normalised) email. Adapters must detect this from
    /// the database's unique constraint, not only from a prior lookup, which races.
    #[error("the email is already taken")]
    EmailTaken,
    /// The account changed after the caller read it: nothing was written (see
    /// [`UserRepository::update`]).
    #[error("the account changed meanwhile")]
    Changed,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

/// Password checks, counted per [`ThrottleKey`] (see the `throttle` module's reasons), and
/// the locks that wrong ones bring.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// What is counted against `key`: nothing (the default) when no check is.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn get(&self, key: &ThrottleKey) -> Result<FailedLogins, UnexpectedError>;

    /// Counts one password check against `key` at `at`, in one atomic step, and returns the
    /// count, if the check may go ahead: while fewer than `allowed` checks are counted, or
    /// once the key's lock has ended (that check alone then: the lock's end is cleared until
    /// its outcome is known). `None`, counting nothing, otherwise. A check counts before its
    /// outcome is known, so that checks sent all at once cannot slip past the lock.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn admit(
        &self,
        key: &ThrottleKey,
        at: OffsetDateTime,
        allowed: u32,
    ) -> Result<Option<u32>, UnexpectedError>;

    /// Refuses to check passwords for `key` until `until`, and records `event`.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn lock(
        &self,
        key: &ThrottleKey,
        until: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<(), UnexpectedError>;

    /// Forgets the checks counted against `key`: its password was right.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn clear(&self, key: &ThrottleKey) -> Result<(), UnexpectedError>;

    /// Forgets every key with no check counted since `idle_since` and no lock running past
    /// it, and returns how many it forgot.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn forget_idle(&self, idle_since: OffsetDateTime) -> Result<u64, UnexpectedError>;
}

/// Where accounts are kept.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new `user`, with its `first_session` when it signs in at once (sign-up), and
    /// `event`, all in one transaction.
    ///
    /// # Errors
    /// [`SaveUserError::EmailTaken`] when the email is taken; `Unexpected` otherwise.
    async fn insert(
        &self,
        user: &User,
        first_session: Option<Session>,
        event: &AuditEvent,
    ) -> Result<(), SaveUserError>;

    /// The user with this id, if any.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, UnexpectedError>;

    /// The user with this (normalised) email, if any.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, UnexpectedError>;

    /// Saves the email, full name, role, activation and `updated_at` of `user`, but only if
    /// the stored account still has the `updated_at` it was read with, `read_as_of` (so that
    /// two concurrent changes cannot both read one state and the later undo the earlier);
    /// when `revoke_sessions` is set, revokes every live session of the user at
    /// `user.updated_at()`; sets aside the user's unused password-reset links (see
    /// [`OneTimeTokens`]: a link mailed before a change of address or activation must not
    /// outlive it); records `event`. One transaction.
    ///
    /// # Errors
    /// [`SaveUserError::EmailTaken`] when the new email is taken; [`SaveUserError::Changed`]
    /// when the account changed since `read_as_of` (nothing is written); `Unexpected`
    /// otherwise, including when no such user exists.
    async fn update(
        &self,
        user: &User,
        read_as_of: OffsetDateTime,
        revoke_sessions: bool,
        event: &AuditEvent,
    ) -> Result<(), SaveUserError>;

    /// After a successful login: sets `last_login` to `at`, stores `rehashed` when the hasher
    /// asked for new parameters, inserts `session`, and
    /// records `event`. One transaction, and only if the account still exists, is still
    /// active and still has `verified`, the hash the password was checked against: returns
    /// `false`, having written nothing, when the password was changed or the account
    /// deactivated or deleted while the login was being checked (a session opened after a
    /// password change revoked every session would otherwise outlive it).
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn record_login(
        &self,
        id: UserId,
        verified: &PasswordHash,
        at: OffsetDateTime,
        rehashed: Option<PasswordHash>,
        session: &Session,
        event: &AuditEvent,
    ) -> Result<bool, UnexpectedError>;

    /// Stores the new password `hash`, revokes every session of the user at `at`, sets aside
    /// the user's unused password-reset links, inserts `replacement` (the caller's session
    /// continues under a new id), and records `event`. One transaction: no token or link
    /// issued before the change survives it.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn change_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        at: OffsetDateTime,
        replacement: &Session,
        event: &AuditEvent,
    ) -> Result<(), UnexpectedError>;

    /// The users matching `query`: at most `query.page.size()` of them in order, the exact
    /// count of all matches, and whether more follow. Ties in the ordering are broken by id
    /// (in the ordering's direction), so pages never overlap or skip.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn list(&self, query: &UserQuery) -> Result<UserSlice, UnexpectedError>;
}

/// What a refresh secret's hash was found as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretMatch {
    /// The session the secret belongs (or belonged) to.
    pub session: Session,
    /// The session's user.
    pub user: User,
    /// `true` if it is the session's current secret; `false` if it is one the session already
    /// rotated away from (presenting it again is reuse).
    pub current: bool,
}

/// Where refresh-token sessions are kept. Sessions are created by the [`UserRepository`]
/// methods whose transactions they belong to.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// The session whose current or any earlier refresh secret hashes to `hash`, with its
    /// user. Earlier secrets must stay findable until their session expires, or reuse of an
    /// old token could not be detected.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn find_by_secret(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<SecretMatch>, UnexpectedError>;

    /// Replaces the session's secret `presented` with `replacement`, sets `last_used_at` to
    /// `at` and `expires_at`, and keeps `presented` as a rotated secret. Atomic compare-and-set:
    /// returns `false`, changing nothing, when `presented` is no longer current or the session
    /// is revoked (of two concurrent rotations of one secret, exactly one returns `true`).
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn rotate(
        &self,
        id: SessionId,
        presented: &SecretHash,
        replacement: &SecretHash,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, UnexpectedError>;

    /// The session with this id and its user, if it exists (live or not). One round trip:
    /// this runs on every authenticated request.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn find_with_user(
        &self,
        id: SessionId,
    ) -> Result<Option<(Session, User)>, UnexpectedError>;

    /// Revokes the session at `at` if it is not revoked yet, and records `event`. Returns
    /// whether it was revoked by this call.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn revoke(
        &self,
        id: SessionId,
        at: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, UnexpectedError>;

    /// Revokes every unrevoked session of the user at `at`, records `event`, and returns how
    /// many were revoked.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn revoke_all(
        &self,
        user_id: UserId,
        at: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<u64, UnexpectedError>;

    /// The user's sessions that are live at `now`, most recently used first.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn list_live(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, UnexpectedError>;
}

/// Hashes and verifies passwords. Implementations must keep the CPU-heavy work off any async
/// runtime's threads, and bound how much of it runs at once.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A new salted hash of `password`, with the configured parameters.
    ///
    /// # Errors
    /// `UnexpectedError` when hashing fails (it should not).
    async fn hash(&self, password: &PlaintextPassword) -> Result<PasswordHash, UnexpectedError>;

    /// Whether `password` matches `hash`, in constant time.
    ///
    /// # Errors
    /// `UnexpectedError` when `hash` is malformed or verification fails to run; a mismatch is
    /// `Ok(false)`.
    async fn verify(
        &self,
        password: &PlaintextPassword,
        hash: &PasswordHash,
    ) -> Result<bool, UnexpectedError>;

    /// Verifies `password` against a fixed dummy hash with the configured parameters and
    /// discards the result: an unknown email then costs what a known one does.
    ///
    /// # Errors
    /// `UnexpectedError` when verification fails to run.
    async fn verify_dummy(&self, password: &PlaintextPassword) -> Result<(), UnexpectedError>;

    /// Whether `hash` was made with other parameters than the configured ones (or another
    /// algorithm), so it should be replaced at the next successful login.
    fn needs_rehash(&self, hash: &PasswordHash) -> bool;
}

/// Issues and verifies access tokens. No I/O: keys are held in memory.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenIssuer: Send + Sync {
    /// Signs a token asserting `claims`.
    ///
    /// # Errors
    /// `UnexpectedError` when signing fails (it should not).
    fn issue(&self, claims: &AccessClaims) -> Result<AccessToken, UnexpectedError>;

    /// Checks a token's signature (with the algorithm pinned for its key), type, issuer,
    /// audience and validity period, and returns its claims.
    ///
    /// # Errors
    /// The [`TokenError`] that says why the token is refused.
    fn verify(&self, token: &str) -> Result<AccessClaims, TokenError>;
}

/// Makes refresh secrets and the hashes they are stored and found by.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SecretGenerator: Send + Sync {
    /// A new secret with at least 256 bits from a cryptographically secure source.
    fn generate(&self) -> RefreshSecret;

    /// The digest of `secret` that storage holds. Deterministic: the same secret always gives
    /// the same hash.
    fn hash(&self, secret: &RefreshSecret) -> SecretHash;
}

/// Tells the time. A port so that tests control it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// The current time, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// Records audit events that no other write carries, and lists them for administrators.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends `event`.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn record(&self, event: &AuditEvent) -> Result<(), UnexpectedError>;

    /// The events matching `query`, newest first, with the total count of matches.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn list(&self, query: &AuditQuery) -> Result<AuditSlice, UnexpectedError>;
}

/// Sends one message now. Implementations render the message's template and speak to the
/// mail server (or write it to the log); [`crate::MailDelivery`] calls them with what the
/// outbox hands out.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Delivers `mail` to its recipient's mail server.
    ///
    /// # Errors
    /// [`MailError::Transient`] when it may go through later; [`MailError::Rejected`] when it
    /// never will.
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

/// The delivery side of the outbox: messages are put in by the writes they belong to (see
/// [`OneTimeTokens::issue`]) and taken out here.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Takes at most `limit` messages due at `now` (oldest first) for one delivery attempt
    /// each: counts the attempt and keeps each away from every other caller until
    /// `lease_until`, in one atomic step, so that of two instances claiming at once, each
    /// message goes to one.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn claim(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, UnexpectedError>;

    /// Marks the message delivered at `at`, and forgets the secret its link carried.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn delivered(&self, id: MailId, at: OffsetDateTime) -> Result<(), UnexpectedError>;

    /// Leaves the message due again at `retry_at`, with the reason its attempt failed.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn retry(
        &self,
        id: MailId,
        retry_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), UnexpectedError>;

    /// Marks the message failed for good at `at`, with the reason, and forgets its secret. It
    /// stays in the outbox, for administrators to see.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn give_up(
        &self,
        id: MailId,
        at: OffsetDateTime,
        error: &str,
    ) -> Result<(), UnexpectedError>;

    /// The entries matching `query`, newest first, with the count of all matches.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn list(&self, query: &OutboxQuery) -> Result<OutboxSlice, UnexpectedError>;

    /// Deletes the messages delivered or given up on before `before` (pending ones stay,
    /// however old), and returns how many.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn forget_finished(&self, before: OffsetDateTime) -> Result<u64, UnexpectedError>;
}

/// One-time tokens (password-reset links), kept only as hashes, with the writes that issue
/// and use them.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OneTimeTokens: Send + Sync {
    /// Stores `token`, puts `mail` (which carries its secret) in the outbox, and records
    /// `event`: one transaction. With a `limit`, first counts the tokens for the same purpose
    /// issued to the same user since `limit.since`, and writes nothing, returning `false`, when
    /// there are `limit.at_most` already; concurrent calls for one user count one after the
    /// other, so that no two both see room for one more.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn issue(
        &self,
        token: &OneTimeToken,
        mail: &Mail,
        event: &AuditEvent,
        limit: Option<IssueLimit>,
    ) -> Result<bool, UnexpectedError>;

    /// Deletes the tokens that expired before `before`, used or not, and returns how many.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn forget_expired(&self, before: OffsetDateTime) -> Result<u64, UnexpectedError>;

    /// The token whose secret hashes to `hash`, used or not, if any.
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn find(&self, hash: &SecretHash) -> Result<Option<OneTimeToken>, UnexpectedError>;

    /// Uses the password-reset `token` at `at`: only if it is still unused and unexpired then
    /// and its user still active, stores `hash` as the user's password, marks this and every
    /// other unused reset token of the user used, revokes every session of the user, inserts
    /// `session`, and records `event`. One transaction; returns `false`, having written
    /// nothing, when the token was used or expired or the account deactivated meanwhile (of
    /// two concurrent uses of one token, exactly one returns `true`).
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    async fn reset_password(
        &self,
        token: &OneTimeToken,
        hash: &PasswordHash,
        at: OffsetDateTime,
        session: &Session,
        event: &AuditEvent,
    ) -> Result<bool, UnexpectedError>;
}
