//! Getting back into an account without its password, by mail; and the delivery of that mail.

use super::{Core, SignedIn};
use crate::{
    AuditAction, AuditEvent, ClientInfo, Clock, DEFAULT_PAGE_SIZE, Email, FieldErrors, IssueLimit,
    Mail, MailError, MailKind, MailStatus, Mailer, OneTimeToken, OneTimeTokens, Outbox,
    OutboxEntry, OutboxQuery, PlaintextPassword, Ports, Principal, RefreshSecret, RetryPolicy,
    Settings, TokenPurpose, UnexpectedError, UserId,
};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// How long finished messages stay in the outbox for administrators to see (30 days).
const KEEP_FINISHED_MAIL: Duration = Duration::days(30);

/// How long expired links stay stored (a day): longer than the window that counts a person's
/// recent links, so forgetting them never lets one more through.
const KEEP_EXPIRED_LINKS: Duration = Duration::days(1);

/// How password-reset links are issued.
///
/// ```
/// use domain::RecoveryPolicy;
/// use time::Duration;
///
/// let policy = RecoveryPolicy::default();
/// assert_eq!(policy.reset_lifetime, Duration::minutes(30));
/// assert_eq!((policy.mails_per_window, policy.window), (3, Duration::hours(1)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryPolicy {
    /// How long a reset link works (default 30 minutes).
    pub reset_lifetime: Duration,
    /// Reset mails one account receives per `window`, at most (default 3); further requests
    /// send nothing, and are answered as any other, so a stranger cannot flood an inbox.
    pub mails_per_window: u64,
    /// See `mails_per_window` (default 1 hour).
    pub window: Duration,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        Self {
            reset_lifetime: Duration::minutes(30),
            mails_per_window: 3,
            window: Duration::hours(1),
        }
    }
}

/// A new password chosen with a reset link's secret.
#[derive(Debug, Clone)]
pub struct ConfirmReset {
    /// The secret from the link.
    pub token: RefreshSecret,
    /// The new password.
    pub new_password: PlaintextPassword,
}

/// Why choosing a new password with a reset link failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmResetError {
    /// The link is unknown, used, expired, or was set aside by a later reset.
    #[error("the reset link is invalid or expired")]
    InvalidToken,
    /// The new password breaks the policy; each rule it breaks has its message
    /// (`new_password`).
    #[error("the new password is invalid: {0}")]
    Invalid(FieldErrors),
    /// The account is deactivated: a reset must not reopen it.
    #[error("the account is deactivated")]
    Deactivated,
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

/// Why an administrator's reset link was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendResetError {
    /// The caller is not an administrator.
    #[error("only administrators may send reset links")]
    Forbidden,
    /// No user has this id.
    #[error("no such user")]
    NotFound,
    /// The account is deactivated: the link could not be used.
    #[error("the account is deactivated")]
    Deactivated,
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

/// Password reset by mail: asked for by the person or sent by an administrator, confirmed
/// with the link's secret.
#[derive(Clone)]
pub struct RecoveryService {
    core: Core,
    tokens: Arc<dyn OneTimeTokens>,
    policy: RecoveryPolicy,
}

impl RecoveryService {
    /// A service over `ports`, with `tokens` for the links.
    pub fn new(
        ports: Ports,
        settings: Settings,
        tokens: Arc<dyn OneTimeTokens>,
        policy: RecoveryPolicy,
    ) -> Self {
        Self {
            core: Core::new(ports, settings),
            tokens,
            policy,
        }
    }

    /// Mails a reset link to the account with `email`, if there is an active one that has
    /// not had [`RecoveryPolicy::mails_per_window`] already. Succeeds alike whether a link
    /// was sent or not: the answer must not tell who has an account. (Its timing would; the
    /// HTTP layer answers before the work is done.)
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    pub async fn request_password_reset(
        &self,
        email: &Email,
        client: &ClientInfo,
    ) -> Result<(), UnexpectedError> {
        let ports = &self.core.ports;
        let Some(user) = ports.users.find_by_email(email).await? else {
            return Ok(());
        };
        if !user.is_active() {
            return Ok(());
        }
        let now = ports.clock.now();
        let event = AuditEvent::new(AuditAction::PasswordResetRequested, now, client)
            .on(user.id())
            .with("by", "self");
        let limit = IssueLimit {
            since: now - self.policy.window,
            at_most: self.policy.mails_per_window,
        };
        // Past the limit nothing is sent, and the answer is the same.
        self.issue_reset(&user, now, &event, Some(limit)).await?;
        Ok(())
    }

    /// Mails a reset link to the user `id`, for an administrator: the administrator never
    /// sees or sets the password. Not counted against the person's own requests.
    ///
    /// # Errors
    /// See [`SendResetError`].
    pub async fn send_password_reset(
        &self,
        actor: &Principal,
        id: UserId,
        client: &ClientInfo,
    ) -> Result<(), SendResetError> {
        if !actor.can_administer() {
            return Err(SendResetError::Forbidden);
        }
        let ports = &self.core.ports;
        let user = ports
            .users
            .find_by_id(id)
            .await?
            .ok_or(SendResetError::NotFound)?;
        if !user.is_active() {
            return Err(SendResetError::Deactivated);
        }
        let now = ports.clock.now();
        let event = AuditEvent::new(AuditAction::PasswordResetRequested, now, client)
            .by(actor.user_id())
            .on(user.id())
            .with("by", "admin");
        self.issue_reset(&user, now, &event, None).await?;
        Ok(())
    }

    /// Mails `user` a new reset link, unless `limit` says they had enough; returns whether
    /// it did.
    async fn issue_reset(
        &self,
        user: &crate::User,
        now: OffsetDateTime,
        event: &AuditEvent,
        limit: Option<IssueLimit>,
    ) -> Result<bool, UnexpectedError> {
        let secrets = &self.core.ports.secrets;
        let secret = secrets.generate();
        let token = OneTimeToken::issue(
            user.id(),
            TokenPurpose::PasswordReset,
            secrets.hash(&secret),
            now,
            self.policy.reset_lifetime,
        );
        let mail = Mail::new(
            user.email().clone(),
            user.full_name().clone(),
            MailKind::PasswordReset,
            now,
        )
        .with_link(secret, token.expires_at);
        self.tokens.issue(&token, &mail, event, limit).await
    }

    /// Deletes the links that expired more than a day ago, and returns how many. Meant to run
    /// now and then (the server does every hour).
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    pub async fn forget_expired_links(&self) -> Result<u64, UnexpectedError> {
        let before = self.core.ports.clock.now() - KEEP_EXPIRED_LINKS;
        self.tokens.forget_expired(before).await
    }

    /// Sets a new password with a reset link's secret, ends every session of the account, and
    /// signs the person in with a new one. The link then stops working, and so does every other
    /// reset link of the account.
    ///
    /// # Errors
    /// See [`ConfirmResetError`].
    pub async fn confirm_password_reset(
        &self,
        input: ConfirmReset,
        client: &ClientInfo,
    ) -> Result<SignedIn, ConfirmResetError> {
        let ports = &self.core.ports;
        let now = ports.clock.now();
        let hash = ports.secrets.hash(&input.token);
        let token = self
            .tokens
            .find(&hash)
            .await?
            .filter(|token| token.purpose == TokenPurpose::PasswordReset && token.is_usable(now))
            .ok_or(ConfirmResetError::InvalidToken)?;
        let user = ports
            .users
            .find_by_id(token.user_id)
            .await?
            .ok_or(ConfirmResetError::InvalidToken)?;
        if !user.is_active() {
            return Err(ConfirmResetError::Deactivated);
        }
        let mut errors = FieldErrors::default();
        self.core
            .check_new_password(&user, &input.new_password, &mut errors);
        errors.into_result().map_err(ConfirmResetError::Invalid)?;
        let password_hash = ports.hasher.hash(&input.new_password).await?;
        let (session, refresh) = self.core.open_session(&user, now, client.clone());
        let event = AuditEvent::new(AuditAction::PasswordReset, now, client)
            .by(user.id())
            .on(user.id())
            .with("session", session.id.to_string());
        if !self
            .tokens
            .reset_password(&token, &password_hash, now, &session, &event)
            .await?
        {
            // Used by a concurrent request, expired, or the account deactivated meanwhile.
            return Err(ConfirmResetError::InvalidToken);
        }
        // What the write just stored; reading the account back would cost a round trip.
        let user = user.with_password(password_hash, now);
        let tokens = self.core.token_pair(&user, &session, refresh, now)?;
        Ok(SignedIn { user, tokens })
    }
}

/// What one round of [`MailDelivery::deliver_due`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Messages delivered.
    pub sent: usize,
    /// Messages that failed for now and will be tried again.
    pub retrying: usize,
    /// Messages given up on (refused, or out of attempts).
    pub failed: usize,
}

impl DeliveryReport {
    /// How many messages the round took from the outbox.
    pub fn claimed(&self) -> usize {
        self.sent + self.retrying + self.failed
    }
}

/// Which page of the outbox an administrator asks for.
///
/// ```
/// use domain::{DEFAULT_PAGE_SIZE, OutboxListQuery};
///
/// let query = OutboxListQuery::default();
/// assert_eq!((query.status, query.number, query.size), (None, 1, DEFAULT_PAGE_SIZE));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxListQuery {
    /// Only messages with this status.
    pub status: Option<MailStatus>,
    /// The 1-based page number; 0 names no page.
    pub number: u32,
    /// Messages per page, 1 to [`crate::MAX_PAGE_SIZE`].
    pub size: u32,
}

impl Default for OutboxListQuery {
    fn default() -> Self {
        Self {
            status: None,
            number: 1,
            size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// One page of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxPage {
    /// The messages, newest first.
    pub entries: Vec<OutboxEntry>,
    /// How many messages match in all.
    pub total: u64,
    /// The page number.
    pub number: u32,
    /// Messages per page.
    pub size: u32,
    /// Whether a next page exists.
    pub has_next: bool,
    /// Whether a previous page exists.
    pub has_previous: bool,
}

/// Why listing the outbox failed.
#[derive(Debug, thiserror::Error)]
pub enum ListOutboxError {
    /// The caller is not an administrator.
    #[error("only administrators may read the outbox")]
    Forbidden,
    /// The page size is outside 1 to [`crate::MAX_PAGE_SIZE`].
    #[error("the page size is out of range")]
    PageSizeOutOfRange,
    /// The page number is 0, or the page lies past the end.
    #[error("no such page")]
    PageNotFound,
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

impl From<super::PageError> for ListOutboxError {
    fn from(error: super::PageError) -> Self {
        match error {
            super::PageError::SizeOutOfRange => Self::PageSizeOutOfRange,
            super::PageError::NotFound => Self::PageNotFound,
        }
    }
}

/// Takes due messages from the outbox and hands them to the mailer, with retries. Every
/// instance of the service may run one: the outbox gives each message to one of them.
#[derive(Clone)]
pub struct MailDelivery {
    outbox: Arc<dyn Outbox>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
}

impl MailDelivery {
    /// Delivery from `outbox` through `mailer`.
    pub fn new(
        outbox: Arc<dyn Outbox>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            outbox,
            mailer,
            clock,
            policy,
        }
    }

    /// Delivers at most `batch` messages that are due now, one after the other.
    ///
    /// # Errors
    /// `UnexpectedError` when the outbox cannot be read or written; what was sent before
    /// stays marked sent.
    pub async fn deliver_due(&self, batch: u32) -> Result<DeliveryReport, UnexpectedError> {
        let now = self.clock.now();
        let claimed = self
            .outbox
            .claim(now, now + self.policy.lease, batch)
            .await?;
        let mut report = DeliveryReport::default();
        for queued in claimed {
            let id = queued.mail.id;
            if queued
                .mail
                .link
                .as_ref()
                .is_some_and(|link| link.expires_at <= now)
            {
                // A dead link helps nobody, and its secret should not wait in the outbox.
                self.outbox
                    .give_up(id, now, "the link expired before it could be delivered")
                    .await?;
                report.failed += 1;
                continue;
            }
            match self.mailer.send(&queued.mail).await {
                Ok(()) => {
                    self.outbox.delivered(id, self.clock.now()).await?;
                    report.sent += 1;
                }
                Err(MailError::Transient(reason)) => {
                    let at = self.clock.now();
                    if let Some(delay) = self.policy.retry_after(queued.attempt) {
                        self.outbox.retry(id, at + delay, &reason).await?;
                        report.retrying += 1;
                    } else {
                        self.outbox.give_up(id, at, &reason).await?;
                        report.failed += 1;
                    }
                }
                Err(MailError::Rejected(reason)) => {
                    self.outbox.give_up(id, self.clock.now(), &reason).await?;
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// Deletes the messages delivered or given up on more than 30 days ago (the addresses they
    /// name should not stay for good), and returns how many. Meant to run now and then (the
    /// server does every hour).
    ///
    /// # Errors
    /// `UnexpectedError` when storage fails.
    pub async fn forget_finished(&self) -> Result<u64, UnexpectedError> {
        let before = self.clock.now() - KEEP_FINISHED_MAIL;
        self.outbox.forget_finished(before).await
    }

    /// A page of the outbox, newest first, for an administrator: where each message stands,
    /// and why its last attempt failed. Never a link's secret.
    ///
    /// # Errors
    /// See [`ListOutboxError`].
    pub async fn list(
        &self,
        actor: &Principal,
        query: &OutboxListQuery,
    ) -> Result<OutboxPage, ListOutboxError> {
        if !actor.can_administer() {
            return Err(ListOutboxError::Forbidden);
        }
        let (number, size) = (query.number, query.size);
        let offset = super::page_offset(number, size)?;
        let slice = self
            .outbox
            .list(&OutboxQuery {
                status: query.status,
                offset,
                limit: size,
            })
            .await?;
        if slice.entries.is_empty() && number > 1 {
            return Err(ListOutboxError::PageNotFound);
        }
        Ok(OutboxPage {
            has_next: offset + (slice.entries.len() as u64) < slice.total,
            has_previous: number > 1,
            number,
            size,
            total: slice.total,
            entries: slice.entries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockMailer, MockOneTimeTokens, MockOutbox};
    use crate::services::testing::{Mocks, STRONG, client, now, principal, user};
    use crate::{FullName, MailId, OutboxSlice, PasswordHash, QueuedMail, Role, SecretHash};
    use pollster::block_on;

    fn service(mocks: Mocks, tokens: MockOneTimeTokens) -> RecoveryService {
        RecoveryService::new(
            mocks.ports(),
            Settings::default(),
            Arc::new(tokens),
            RecoveryPolicy::default(),
        )
    }

    fn reset_token(user_id: UserId, issued: OffsetDateTime) -> OneTimeToken {
        OneTimeToken::issue(
            user_id,
            TokenPurpose::PasswordReset,
            SecretHash::new("h:link"),
            issued,
            Duration::minutes(30),
        )
    }

    #[test]
    fn a_reset_request_mails_a_link_whose_secret_is_stored_only_as_its_hash() {
        let mut mocks = Mocks::new();
        let ada = user("ada@example.com", Role::User);
        let id = ada.id();
        mocks
            .users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(ada.clone())));
        let mut tokens = MockOneTimeTokens::new();
        tokens
            .expect_issue()
            .withf(move |token, mail, event, limit| {
                let secret = mail.link.as_ref().map(|link| link.token.expose());
                token.user_id == id
                    && token.secret_hash.as_str() == format!("h:{}", secret.unwrap_or_default())
                    && token.expires_at == now() + Duration::minutes(30)
                    && mail.link.as_ref().map(|link| link.expires_at) == Some(token.expires_at)
                    && mail.to.as_str() == "ada@example.com"
                    && mail.kind == MailKind::PasswordReset
                    && event.action == AuditAction::PasswordResetRequested
                    && event.target == Some(id)
                    && *limit
                        == Some(IssueLimit {
                            since: now() - Duration::hours(1),
                            at_most: 3,
                        })
            })
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        let service = service(mocks, tokens);
        let email = Email::parse(" Ada@Example.com ").unwrap();
        block_on(service.request_password_reset(&email, &client())).unwrap();
    }

    #[test]
    fn unknown_deactivated_and_flooded_accounts_get_the_same_answer() {
        for case in ["unknown", "deactivated", "flooded"] {
            let mut mocks = Mocks::new();
            let mut ada = user("ada@example.com", Role::User);
            if case == "deactivated" {
                ada = ada.with_administration(None, Some(false), None, now());
            }
            mocks
                .users
                .expect_find_by_email()
                .returning(move |_| Ok((case != "unknown").then(|| ada.clone())));
            let mut tokens = MockOneTimeTokens::new();
            // Only the flooded account gets as far as the store, which refuses one more link.
            tokens
                .expect_issue()
                .times(usize::from(case == "flooded"))
                .returning(|_, _, _, _| Ok(false));
            let service = service(mocks, tokens);
            let email = Email::parse("ada@example.com").unwrap();
            block_on(service.request_password_reset(&email, &client()))
                .unwrap_or_else(|error| panic!("{case}: {error}"));
        }
    }

    #[test]
    fn a_valid_link_sets_the_password_revokes_everything_and_opens_one_session() {
        let mut mocks = Mocks::new();
        let ada = user("ada@example.com", Role::User);
        let id = ada.id();
        let token = reset_token(id, now() - Duration::minutes(29));
        mocks
            .users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(ada.clone())));
        mocks
            .hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("new-hash")));
        let mut tokens = MockOneTimeTokens::new();
        let found = token.clone();
        tokens
            .expect_find()
            .withf(|hash| hash.as_str() == "h:link")
            .returning(move |_| Ok(Some(found.clone())));
        tokens
            .expect_reset_password()
            .withf(move |used, hash, at, session, event| {
                used.id == token.id
                    && hash.as_str() == "new-hash"
                    && *at == now()
                    && session.user_id == id
                    && event.action == AuditAction::PasswordReset
            })
            .times(1)
            .returning(|_, _, _, _, _| Ok(true));
        let service = service(mocks, tokens);
        let signed_in = block_on(service.confirm_password_reset(
            ConfirmReset {
                token: RefreshSecret::new("link"),
                new_password: PlaintextPassword::new(STRONG),
            },
            &client(),
        ))
        .unwrap();
        assert_eq!(signed_in.user.id(), id);
    }

    #[test]
    fn expired_used_unknown_and_raced_links_are_all_just_invalid() {
        let ada = user("ada@example.com", Role::User);
        let id = ada.id();
        let expired = reset_token(id, now() - Duration::minutes(30));
        let mut used = reset_token(id, now() - Duration::minutes(5));
        used.used_at = Some(now() - Duration::minutes(1));
        let fresh = reset_token(id, now() - Duration::minutes(5));
        for (case, found, won) in [
            ("unknown", None, true),
            ("expired", Some(expired), true),
            ("used", Some(used), true),
            ("raced", Some(fresh), false),
        ] {
            let mut mocks = Mocks::new();
            let account = ada.clone();
            mocks
                .users
                .expect_find_by_id()
                .returning(move |_| Ok(Some(account.clone())));
            mocks
                .hasher
                .expect_hash()
                .returning(|_| Ok(PasswordHash::new("new-hash")));
            let mut tokens = MockOneTimeTokens::new();
            tokens.expect_find().returning(move |_| Ok(found.clone()));
            tokens
                .expect_reset_password()
                .returning(move |_, _, _, _, _| Ok(won));
            let service = service(mocks, tokens);
            let outcome = block_on(service.confirm_password_reset(
                ConfirmReset {
                    token: RefreshSecret::new("link"),
                    new_password: PlaintextPassword::new(STRONG),
                },
                &client(),
            ));
            assert!(
                matches!(outcome, Err(ConfirmResetError::InvalidToken)),
                "{case}: {outcome:?}"
            );
        }
    }

    #[test]
    fn a_weak_password_is_refused_before_anything_is_hashed_or_used() {
        let mut mocks = Mocks::new();
        let ada = user("ada@example.com", Role::User);
        let token = reset_token(ada.id(), now());
        mocks
            .users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(ada.clone())));
        mocks.hasher.expect_hash().never();
        let mut tokens = MockOneTimeTokens::new();
        tokens
            .expect_find()
            .returning(move |_| Ok(Some(token.clone())));
        tokens.expect_reset_password().never();
        let service = service(mocks, tokens);
        let outcome = block_on(service.confirm_password_reset(
            ConfirmReset {
                token: RefreshSecret::new("link"),
                new_password: PlaintextPassword::new("12345678"),
            },
            &client(),
        ));
        let Err(ConfirmResetError::Invalid(errors)) = outcome else {
            panic!("{outcome:?}");
        };
        assert!(!errors.get("new_password").is_empty());
    }

    #[test]
    fn only_administrators_send_reset_links_and_only_to_active_accounts() {
        let service = service(Mocks::new(), MockOneTimeTokens::new());
        let plain = principal(Role::User);
        assert!(matches!(
            block_on(service.send_password_reset(&plain, UserId::new(), &client())),
            Err(SendResetError::Forbidden)
        ));

        let mut mocks = Mocks::new();
        let gone = user("gone@example.com", Role::User).with_administration(
            None,
            Some(false),
            None,
            now(),
        );
        mocks
            .users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(gone.clone())));
        let mut tokens = MockOneTimeTokens::new();
        tokens.expect_issue().never();
        let service = self::service(mocks, tokens);
        assert!(matches!(
            block_on(service.send_password_reset(
                &principal(Role::Admin),
                UserId::new(),
                &client()
            )),
            Err(SendResetError::Deactivated)
        ));
    }

    #[test]
    fn an_administrator_s_link_is_audited_as_theirs_and_skips_the_per_account_limit() {
        let mut mocks = Mocks::new();
        let ada = user("ada@example.com", Role::User);
        let id = ada.id();
        mocks
            .users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(ada.clone())));
        let admin = principal(Role::Admin);
        let admin_id = admin.user_id();
        let mut tokens = MockOneTimeTokens::new();
        tokens
            .expect_issue()
            .withf(move |_, _, event, limit| {
                event.actor == Some(admin_id) && event.target == Some(id) && limit.is_none()
            })
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        let service = service(mocks, tokens);
        block_on(service.send_password_reset(&admin, id, &client())).unwrap();
    }

    fn queued(attempt: u32) -> QueuedMail {
        QueuedMail {
            mail: Mail::new(
                Email::parse("ada@example.com").unwrap(),
                FullName::parse("Ada").unwrap(),
                MailKind::PasswordReset,
                now(),
            )
            .with_link(RefreshSecret::new("link"), now() + Duration::minutes(30)),
            attempt,
        }
    }

    fn delivery(outbox: MockOutbox, mailer: MockMailer) -> MailDelivery {
        let mut clock = crate::ports::MockClock::new();
        clock.expect_now().returning(now);
        MailDelivery::new(
            Arc::new(outbox),
            Arc::new(mailer),
            Arc::new(clock),
            RetryPolicy::default(),
        )
    }

    #[test]
    fn delivered_retried_and_refused_messages_are_each_marked_so() {
        let (sent, deferred, refused, last) = (queued(1), queued(2), queued(1), queued(10));
        let ids: [MailId; 4] = [
            sent.mail.id,
            deferred.mail.id,
            refused.mail.id,
            last.mail.id,
        ];
        let mut outbox = MockOutbox::new();
        let claimed = vec![sent, deferred, refused, last];
        outbox
            .expect_claim()
            .withf(|at, lease_until, limit| {
                *at == now() && *lease_until == now() + Duration::minutes(10) && *limit == 20
            })
            .returning(move |_, _, _| Ok(claimed.clone()));
        let mut mailer = MockMailer::new();
        mailer.expect_send().returning(move |mail| {
            if mail.id == ids[0] {
                Ok(())
            } else if mail.id == ids[2] {
                Err(MailError::Rejected("550 no such mailbox".into()))
            } else {
                Err(MailError::Transient("451 try later".into()))
            }
        });
        outbox
            .expect_delivered()
            .withf(move |id, _| *id == ids[0])
            .times(1)
            .returning(|_, _| Ok(()));
        outbox
            .expect_retry()
            .withf(move |id, at, error| {
                *id == ids[1] && *at == now() + Duration::minutes(1) && error.contains("451")
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        outbox
            .expect_give_up()
            .withf(move |id, _, _| *id == ids[2] || *id == ids[3])
            .times(2)
            .returning(|_, _, _| Ok(()));
        let report = block_on(delivery(outbox, mailer).deliver_due(20)).unwrap();
        assert_eq!(
            report,
            DeliveryReport {
                sent: 1,
                retrying: 1,
                failed: 2
            }
        );
        assert_eq!(report.claimed(), 4);
    }

    #[test]
    fn administrators_page_through_the_outbox_and_others_may_not() {
        let mut outbox = MockOutbox::new();
        outbox
            .expect_list()
            .withf(|query| {
                query.status == Some(MailStatus::Failed) && query.offset == 10 && query.limit == 10
            })
            .returning(|_| {
                Ok(OutboxSlice {
                    entries: Vec::new(),
                    total: 12,
                })
            });
        let delivery = delivery(outbox, MockMailer::new());
        let query = OutboxListQuery {
            status: Some(MailStatus::Failed),
            number: 2,
            size: 10,
        };
        assert!(matches!(
            block_on(delivery.list(&principal(Role::User), &query)),
            Err(ListOutboxError::Forbidden)
        ));
        let admin = principal(Role::Admin);
        let too_large = OutboxListQuery {
            size: 101,
            ..query.clone()
        };
        assert!(matches!(
            block_on(delivery.list(&admin, &too_large)),
            Err(ListOutboxError::PageSizeOutOfRange)
        ));
        let zero = OutboxListQuery {
            number: 0,
            ..query.clone()
        };
        assert!(matches!(
            block_on(delivery.list(&admin, &zero)),
            Err(ListOutboxError::PageNotFound)
        ));
        // A page that comes back empty is past the end (the entries went meanwhile).
        assert!(matches!(
            block_on(delivery.list(&admin, &query)),
            Err(ListOutboxError::PageNotFound)
        ));
    }

    #[test]
    fn a_message_whose_link_expired_meanwhile_is_given_up_unsent() {
        let mut late = queued(4);
        if let Some(link) = late.mail.link.as_mut() {
            link.expires_at = now();
        }
        let id = late.mail.id;
        let mut outbox = MockOutbox::new();
        outbox
            .expect_claim()
            .returning(move |_, _, _| Ok(vec![late.clone()]));
        outbox
            .expect_give_up()
            .withf(move |given_up, _, reason| *given_up == id && reason.contains("expired"))
            .times(1)
            .returning(|_, _, _| Ok(()));
        let mut mailer = MockMailer::new();
        mailer.expect_send().never();
        let report = block_on(delivery(outbox, mailer).deliver_due(1)).unwrap();
        assert_eq!(report.failed, 1);
    }

    #[test]
    fn finished_mail_is_kept_thirty_days_and_expired_links_one() {
        let mut outbox = MockOutbox::new();
        outbox
            .expect_forget_finished()
            .withf(|before| *before == now() - Duration::days(30))
            .times(1)
            .returning(|_| Ok(2));
        assert_eq!(
            block_on(delivery(outbox, MockMailer::new()).forget_finished()).unwrap(),
            2
        );
        let mut tokens = MockOneTimeTokens::new();
        tokens
            .expect_forget_expired()
            .withf(|before| *before == now() - Duration::days(1))
            .times(1)
            .returning(|_| Ok(5));
        let service = service(Mocks::new(), tokens);
        assert_eq!(block_on(service.forget_expired_links()).unwrap(), 5);
    }

    #[test]
    fn an_empty_outbox_sends_nothing() {
        let mut outbox = MockOutbox::new();
        outbox.expect_claim().returning(|_, _, _| Ok(Vec::new()));
        let mut mailer = MockMailer::new();
        mailer.expect_send().never();
        let report = block_on(delivery(outbox, mailer).deliver_due(20)).unwrap();
        assert_eq!(report.claimed(), 0);
    }
}
