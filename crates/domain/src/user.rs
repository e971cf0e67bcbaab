//! `User`, the account entity, and `Principal`, the authenticated caller of a use case.

use crate::{Email, FullName, PasswordHash, Role, Session, SessionId, UserId};
use time::OffsetDateTime;

/// An account. Every field is a validated value, so a `User` is valid by construction; its
/// fields change only through the use cases.
///
/// ```
/// use domain::{Email, FullName, PasswordHash, Role, User, UserId};
/// use time::OffsetDateTime;
///
/// let now = OffsetDateTime::now_utc();
/// let user = User::new(
///     UserId::new(),
///     Email::parse("ada@example.com").unwrap(),
///     FullName::parse("Ada Lovelace").unwrap(),
///     Role::User,
///     PasswordHash::new("$argon2id$…"),
///     now,
/// );
/// assert!(user.is_active());
/// assert_eq!(user.last_login(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    id: UserId,
    email: Email,
    full_name: FullName,
    role: Role,
    is_active: bool,
    password_hash: PasswordHash,
    date_joined: OffsetDateTime,
    last_login: Option<OffsetDateTime>,
    updated_at: OffsetDateTime,
}

/// Every stored field of a [`User`], for adapters that read one back from storage.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// See [`User::id`].
    pub id: UserId,
    /// See [`User::email`].
    pub email: Email,
    /// See [`User::full_name`].
    pub full_name: FullName,
    /// See [`User::role`].
    pub role: Role,
    /// See [`User::is_active`].
    pub is_active: bool,
    /// See [`User::password_hash`].
    pub password_hash: PasswordHash,
    /// See [`User::date_joined`].
    pub date_joined: OffsetDateTime,
    /// See [`User::last_login`].
    pub last_login: Option<OffsetDateTime>,
    /// See [`User::updated_at`].
    pub updated_at: OffsetDateTime,
}

impl User {
    /// A new, active account that has never logged in.
    pub fn new(
        id: UserId,
        email: Email,
        full_name: FullName,
        role: Role,
        password_hash: PasswordHash,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            email,
            full_name,
            role,
            is_active: true,
            password_hash,
            date_joined: now,
            last_login: None,
            updated_at: now,
        }
    }

    /// Every field, as [`User::restore`] takes them back: what an adapter stores, or the
    /// start of a changed copy.
    ///
    /// ```
    /// use domain::{Email, FullName, PasswordHash, Role, User, UserId, UserRecord};
    /// use time::OffsetDateTime;
    ///
    /// let ada = User::new(
    ///     UserId::new(),
    ///     Email::parse("ada@example.com").unwrap(),
    ///     FullName::parse("Ada Lovelace").unwrap(),
    ///     Role::User,
    ///     PasswordHash::new("$argon2id$…"),
    ///     OffsetDateTime::UNIX_EPOCH,
    /// );
    /// assert_eq!(User::restore(ada.to_record()), ada);
    /// let inactive = User::restore(UserRecord { is_active: false, ..ada.to_record() });
    /// assert!(!inactive.is_active());
    /// ```
    pub fn to_record(&self) -> UserRecord {
        UserRecord {
            id: self.id,
            email: self.email.clone(),
            full_name: self.full_name.clone(),
            role: self.role,
            is_active: self.is_active,
            password_hash: self.password_hash.clone(),
            date_joined: self.date_joined,
            last_login: self.last_login,
            updated_at: self.updated_at,
        }
    }

    /// Rebuilds a user read back from storage.
    pub fn restore(record: UserRecord) -> Self {
        Self {
            id: record.id,
            email: record.email,
            full_name: record.full_name,
            role: record.role,
            is_active: record.is_active,
            password_hash: record.password_hash,
            date_joined: record.date_joined,
            last_login: record.last_login,
            updated_at: record.updated_at,
        }
    }

    /// The account's identifier.
    pub fn id(&self) -> UserId {
        self.id
    }
    /// The normalised email, unique among accounts.
    pub fn email(&self) -> &Email {
        &self.email
    }
    /// The display name.
    pub fn full_name(&self) -> &FullName {
        &self.full_name
    }
    /// What the account may do.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Whether the account may sign in; a deactivated account's sessions are all revoked.
    pub fn is_active(&self) -> bool {
        self.is_active
    }
    /// The stored password hash.
    pub fn password_hash(&self) -> &PasswordHash {
        &self.password_hash
    }
    /// When the account was created.
    pub fn date_joined(&self) -> OffsetDateTime {
        self.date_joined
    }
    /// The last successful login, if any.
    pub fn last_login(&self) -> Option<OffsetDateTime> {
        self.last_login
    }
    /// When any field last changed.
    pub fn updated_at(&self) -> OffsetDateTime {
        self.updated_at
    }

    pub(crate) fn with_profile(
        mut self,
        email: Option<Email>,
        full_name: Option<FullName>,
        now: OffsetDateTime,
    ) -> Self {
        if let Some(email) = email {
            self.email = email;
        }
        if let Some(full_name) = full_name {
            self.full_name = full_name;
        }
        self.updated_at = now;
        self
    }

    pub(crate) fn with_administration(
        mut self,
        role: Option<Role>,
        is_active: Option<bool>,
        full_name: Option<FullName>,
        now: OffsetDateTime,
    ) -> Self {
        if let Some(role) = role {
            self.role = role;
        }
        if let Some(is_active) = is_active {
            self.is_active = is_active;
        }
        if let Some(full_name) = full_name {
            self.full_name = full_name;
        }
        self.updated_at = now;
        self
    }

    pub(crate) fn with_password(mut self, hash: PasswordHash, now: OffsetDateTime) -> Self {
        self.password_hash = hash;
        self.updated_at = now;
        self
    }

    pub(crate) fn with_login(
        mut self,
        now: OffsetDateTime,
        rehashed: Option<PasswordHash>,
    ) -> Self {
        if let Some(hash) = rehashed {
            self.password_hash = hash;
        }
        self.last_login = Some(now);
        self.updated_at = now;
        self
    }
}

/// The authenticated caller of a use case: a live session of an active user.
///
/// Permission questions are methods here, so no adapter compares roles itself.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The caller's account, as read when the request was authenticated.
    pub user: User,
    /// The session the caller's access token belongs to.
    pub session: Session,
}

impl Principal {
    /// The caller's user id.
    pub fn user_id(&self) -> UserId {
        self.user.id()
    }

    /// The caller's session id.
    pub fn session_id(&self) -> SessionId {
        self.session.id
    }

    /// Whether the caller may use the administration use cases.
    pub fn can_administer(&self) -> bool {
        self.user.role().can_administer()
    }

    /// Whether the caller may activate or deactivate `target`: an admin, and never on their
    /// own account (an admin who deactivates themself could lock everyone out).
    pub fn can_toggle(&self, target: &User) -> bool {
        self.can_administer() && target.id() != self.user_id()
    }
}
