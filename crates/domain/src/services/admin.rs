//! Administrators over other accounts: list, view, update, toggle activation, read the audit
//! log; and creating an admin from the command line.

use super::Core;
use super::auth::{AuthService, SignUp, SignUpError};
use crate::{
    AuditAction, AuditEvent, AuditQuery, ClientInfo, DEFAULT_PAGE_SIZE, Email, FullName,
    PageRequest, Ports, Principal, Role, SaveUserError, Settings, UnexpectedError, User,
    UserCursor, UserId, UserPage, UserQuery, is_valid_page_size,
};

/// Input of [`AdminService::update_user`]: the fields to change, each already valid.
///
/// ```
/// use domain::{FullName, Role, UserUpdate};
///
/// let update = UserUpdate {
///     role: Some(Role::Admin),
///     full_name: Some(FullName::parse("Ada King").unwrap()),
///     ..UserUpdate::default()
/// };
/// assert_eq!(update.is_active, None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// A new role, if it changes.
    pub role: Option<Role>,
    /// A new activation, if it changes. Deactivation revokes every session of the user.
    pub is_active: Option<bool>,
    /// A new display name, if it changes.
    pub full_name: Option<FullName>,
}

/// Input of [`AdminService::list_audit`]: filters and a numbered page, newest events first.
///
/// ```
/// use domain::{AuditAction, AuditListQuery, DEFAULT_PAGE_SIZE};
///
/// let query = AuditListQuery {
///     action: Some(AuditAction::LoginFailed),
///     ..AuditListQuery::default()
/// };
/// assert_eq!((query.number, query.size), (1, DEFAULT_PAGE_SIZE));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditListQuery {
    /// Only events by this user.
    pub actor: Option<UserId>,
    /// Only events concerning this user.
    pub target: Option<UserId>,
    /// Only events of this kind.
    pub action: Option<AuditAction>,
    /// The 1-based page number; 0 names no page.
    pub number: u32,
    /// Events per page, 1 to [`crate::MAX_PAGE_SIZE`].
    pub size: u32,
}

impl Default for AuditListQuery {
    fn default() -> Self {
        Self {
            actor: None,
            target: None,
            action: None,
            number: 1,
            size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// One page of audit events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The events, newest first.
    pub events: Vec<AuditEvent>,
    /// How many events match in all.
    pub total: u64,
    /// The page number.
    pub number: u32,
    /// Events per page.
    pub size: u32,
    /// Whether a next page exists.
    pub has_next: bool,
    /// Whether a previous page exists.
    pub has_previous: bool,
}

/// Why listing users failed.
#[derive(Debug, thiserror::Error)]
pub enum ListUsersError {
    /// The caller is not an administrator.
    #[error("only administrators may list users")]
    Forbidden,
    /// The page size is outside 1 to [`crate::MAX_PAGE_SIZE`].
    #[error("the page size is out of range")]
    PageSizeOutOfRange,
    /// The cursor belongs to another ordering than the one asked for.
    #[error("the cursor belongs to another ordering")]
    CursorOrderingMismatch,
    /// The page number is 0, or the page lies past the end.
    #[error("no such page")]
    PageNotFound,
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

/// Why reading one user failed.
#[derive(Debug, thiserror::Error)]
pub enum GetUserError {
    /// The caller is not an administrator.
    #[error("only administrators may view other users")]
    Forbidden,
    /// No user has this id.
    #[error("no such user")]
    NotFound,
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

/// Why an administrative update failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateUserError {
    /// The caller is not an administrator.
    #[error("only administrators may update users")]
    Forbidden,
    /// No user has this id.
    #[error("no such user")]
    NotFound,
    /// It would demote or deactivate the caller's own account.
    #[error("administrators cannot demote or deactivate their own account")]
    OwnAccount,
    /// Other changes to the account kept landing between reading and writing it.
    #[error("the account kept changing; try again")]
    Changed,
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

/// Why toggling activation failed.
#[derive(Debug, thiserror::Error)]
pub enum ToggleActivationError {
    /// The caller is not an administrator.
    #[error("only administrators may activate or deactivate users")]
    Forbidden,
    /// No user has this id.
    #[error("no such user")]
    NotFound,
    /// The target is the caller's own account.
    #[error("administrators cannot deactivate their own account")]
    OwnAccount,
    /// The account changed after it was read (another toggle, say): nothing was done, since
    /// flipping the new state might undo what the caller meant.
    #[error("the account changed meanwhile")]
    Changed,
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
}

/// Why listing audit events failed.
#[derive(Debug, thiserror::Error)]
pub enum ListAuditError {
    /// The caller is not an administrator.
    #[error("only administrators may read the audit log")]
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

impl From<super::PageError> for ListAuditError {
    fn from(error: super::PageError) -> Self {
        match error {
            super::PageError::SizeOutOfRange => Self::PageSizeOutOfRange,
            super::PageError::NotFound => Self::PageNotFound,
        }
    }
}

/// An administrative save's failure other than [`SaveUserError::Changed`], which callers
/// handle themselves.
fn unexpected(error: SaveUserError) -> UnexpectedError {
    match error {
        // Only the email is unique, and an administrative update never changes it.
        SaveUserError::EmailTaken => UnexpectedError::internal(
            "updating a user without changing the email",
            "the store reported the email as taken",
        ),
        SaveUserError::Changed => {
            UnexpectedError::internal("updating a user", "the account changed meanwhile")
        }
        SaveUserError::Unexpected(error) => error,
    }
}

/// Administrative use cases. Each checks the caller's role itself.
#[derive(Clone)]
pub struct AdminService {
    core: Core,
    auth: AuthService,
}

impl AdminService {
    /// A service over `ports` applying `settings`.
    pub fn new(ports: Ports, settings: Settings) -> Self {
        Self {
            auth: AuthService::new(ports.clone(), settings.clone()),
            core: Core::new(ports, settings),
        }
    }

    /// A page of users, filtered and ordered, by page number or by keyset cursor.
    ///
    /// # Errors
    /// See [`ListUsersError`].
    pub async fn list_users(
        &self,
        actor: &Principal,
        query: &UserQuery,
    ) -> Result<UserPage, ListUsersError> {
        if !actor.can_administer() {
            return Err(ListUsersError::Forbidden);
        }
        if !is_valid_page_size(query.page.size()) {
            return Err(ListUsersError::PageSizeOutOfRange);
        }
        match &query.page {
            PageRequest::Number { number: 0, .. } => return Err(ListUsersError::PageNotFound),
            PageRequest::After { cursor, .. } if cursor.ordering != query.ordering => {
                return Err(ListUsersError::CursorOrderingMismatch);
            }
            PageRequest::Number { .. } | PageRequest::After { .. } => {}
        }
        let slice = self.core.ports.users.list(query).await?;
        let number = match query.page {
            PageRequest::Number { number, .. } => Some(number),
            PageRequest::After { .. } => None,
        };
        // Page 1 of an empty listing exists (it is empty); any other page must hold users.
        if slice.users.is_empty() && number.is_some_and(|number| number > 1) {
            return Err(ListUsersError::PageNotFound);
        }
        let next_cursor = slice
            .users
            .last()
            .filter(|_| slice.has_more)
            .map(|last| UserCursor::after(last, query.ordering));
        Ok(UserPage {
            total: slice.total,
            number,
            size: query.page.size(),
            has_next: slice.has_more,
            has_previous: number.is_some_and(|number| number > 1),
            next_cursor,
            users: slice.users,
        })
    }

    /// One user.
    ///
    /// # Errors
    /// See [`GetUserError`].
    pub async fn get_user(&self, actor: &Principal, id: UserId) -> Result<User, GetUserError> {
        if !actor.can_administer() {
            return Err(GetUserError::Forbidden);
        }
        self.core
            .ports
            .users
            .find_by_id(id)
            .await?
            .ok_or(GetUserError::NotFound)
    }

    /// Changes a user's role, activation and/or name. Deactivation revokes every session of
    /// the user in the same transaction.
    ///
    /// # Errors
    /// See [`UpdateUserError`].
    pub async fn update_user(
        &self,
        actor: &Principal,
        id: UserId,
        update: UserUpdate,
        client: &ClientInfo,
    ) -> Result<User, UpdateUserError> {
        if !actor.can_administer() {
            return Err(UpdateUserError::Forbidden);
        }
        let UserUpdate {
            role,
            is_active,
            full_name,
        } = update;
        // The update sets values rather than flipping them, so when another change lands
        // between the read and the write, applying it again to the account as it now is
        // loses nothing.
        for _ in 0..super::CHANGE_ATTEMPTS {
            let target = self
                .core
                .ports
                .users
                .find_by_id(id)
                .await?
                .ok_or(UpdateUserError::NotFound)?;
            let demotes = role.is_some_and(|role| !role.can_administer());
            let deactivates = is_active == Some(false);
            if target.id() == actor.user_id() && (demotes || deactivates) {
                return Err(UpdateUserError::OwnAccount);
            }
            let mut event = AuditEvent::new(
                AuditAction::UserUpdated,
                self.core.ports.clock.now(),
                client,
            )
            .by(actor.user_id())
            .on(target.id());
            if let Some(role) = role {
                event = event.with("role", role.as_str());
            }
            if let Some(is_active) = is_active {
                event = event.with("is_active", is_active.to_string());
            }
            if full_name.is_some() {
                event = event.with("full_name", "changed");
            }
            match self
                .save(target, role, is_active, full_name.clone(), event)
                .await
            {
                Err(SaveUserError::Changed) => {}
                saved => {
                    return saved.map_err(|error| UpdateUserError::Unexpected(unexpected(error)));
                }
            }
        }
        Err(UpdateUserError::Changed)
    }

    /// Flips a user's activation. Deactivation revokes every session of the user at once.
    /// Never on the caller's own account.
    ///
    /// # Errors
    /// See [`ToggleActivationError`].
    pub async fn toggle_activation(
        &self,
        actor: &Principal,
        id: UserId,
        client: &ClientInfo,
    ) -> Result<User, ToggleActivationError> {
        if !actor.can_administer() {
            return Err(ToggleActivationError::Forbidden);
        }
        let mut seen: Option<bool> = None;
        for _ in 0..super::CHANGE_ATTEMPTS {
            let target = self
                .core
                .ports
                .users
                .find_by_id(id)
                .await?
                .ok_or(ToggleActivationError::NotFound)?;
            if !actor.can_toggle(&target) {
                return Err(ToggleActivationError::OwnAccount);
            }
            // Another change landed since the first read: flipping again is what the caller
            // meant only if it left the activation as the caller saw it (a login, a rename);
            // if it flipped it (another toggle), flipping again would undo it.
            if seen.is_some_and(|seen| seen != target.is_active()) {
                return Err(ToggleActivationError::Changed);
            }
            seen = Some(target.is_active());
            let is_active = !target.is_active();
            let event = AuditEvent::new(
                AuditAction::ActivationToggled,
                self.core.ports.clock.now(),
                client,
            )
            .by(actor.user_id())
            .on(target.id())
            .with("is_active", is_active.to_string());
            match self.save(target, None, Some(is_active), None, event).await {
                Err(SaveUserError::Changed) => {}
                saved => {
                    return saved
                        .map_err(|error| ToggleActivationError::Unexpected(unexpected(error)));
                }
            }
        }
        Err(ToggleActivationError::Changed)
    }

    async fn save(
        &self,
        target: User,
        role: Option<Role>,
        is_active: Option<bool>,
        full_name: Option<FullName>,
        event: AuditEvent,
    ) -> Result<User, SaveUserError> {
        let deactivates = target.is_active() && is_active == Some(false);
        let read_as_of = target.updated_at();
        let updated = target.with_administration(role, is_active, full_name, event.at);
        let users = &self.core.ports.users;
        users
            .update(&updated, read_as_of, deactivates, &event)
            .await?;
        Ok(updated)
    }

    /// Creates an active admin account, for bootstrapping from the command line. The same
    /// validation and password policy as sign-up apply; no session is opened. An email that
    /// already has an account is reported before the password is hashed: a server that
    /// bootstraps its admin at every start would otherwise spend a hash (tens of
    /// milliseconds) on each start to learn what one lookup tells.
    ///
    /// # Errors
    /// See [`SignUpError`].
    pub async fn create_admin(
        &self,
        input: SignUp,
        client: &ClientInfo,
    ) -> Result<User, SignUpError> {
        if let Ok(email) = Email::parse(&input.email)
            && self.core.ports.users.find_by_email(&email).await?.is_some()
        {
            return Err(SignUpError::EmailTaken);
        }
        // The insert still settles a race with a concurrent creation of the same email.
        let user = self.auth.new_user(input, Role::Admin).await?;
        let event =
            AuditEvent::new(AuditAction::AdminCreated, user.date_joined(), client).on(user.id());
        self.core
            .ports
            .users
            .insert(&user, None, &event)
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
        Ok(user)
    }

    /// A page of audit events, newest first, filtered by actor, target and action.
    ///
    /// # Errors
    /// See [`ListAuditError`].
    pub async fn list_audit(
        &self,
        actor: &Principal,
        query: &AuditListQuery,
    ) -> Result<AuditPage, ListAuditError> {
        if !actor.can_administer() {
            return Err(ListAuditError::Forbidden);
        }
        let (number, size) = (query.number, query.size);
        let query = AuditQuery {
            actor: query.actor,
            target: query.target,
            action: query.action,
            offset: super::page_offset(number, size)?,
            limit: size,
        };
        let slice = self.core.ports.audit.list(&query).await?;
        if slice.events.is_empty() && number > 1 {
            return Err(ListAuditError::PageNotFound);
        }
        Ok(AuditPage {
            has_next: query.offset + (slice.events.len() as u64) < slice.total,
            has_previous: number > 1,
            number,
            size,
            total: slice.total,
            events: slice.events,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::testing::{Mocks, STRONG, client, now, principal, storage_down, user};
    use crate::{
        AuditSlice, CursorKey, MAX_PAGE_SIZE, PasswordHash, PlaintextPassword, SearchTerm,
        UserFilter, UserOrdering, UserSlice,
    };
    use pollster::block_on;
    use time::Duration;

    fn service(mocks: Mocks) -> AdminService {
        AdminService::new(mocks.ports(), Settings::default())
    }

    fn users(count: usize) -> Vec<User> {
        (0..count)
            .map(|n| user(&format!("user{n}@example.com"), Role::User))
            .collect()
    }

    // ---- list users ----

    #[test]
    fn plain_users_may_not_list_users() {
        let mut mocks = Mocks::new();
        mocks.users.expect_list().never();
        let error =
            block_on(service(mocks).list_users(&principal(Role::User), &UserQuery::default()))
                .unwrap_err();
        assert!(matches!(error, ListUsersError::Forbidden));
    }

    #[test]
    fn list_users_refuses_a_page_size_out_of_range_without_asking_storage() {
        for size in [0, MAX_PAGE_SIZE + 1] {
            let mut mocks = Mocks::new();
            mocks.users.expect_list().never();
            let query = UserQuery {
                page: PageRequest::Number { number: 1, size },
                ..UserQuery::default()
            };
            let error =
                block_on(service(mocks).list_users(&principal(Role::Admin), &query)).unwrap_err();
            assert!(
                matches!(error, ListUsersError::PageSizeOutOfRange),
                "{size}"
            );
        }
    }

    #[test]
    fn list_users_reports_page_zero_as_no_such_page() {
        let mut mocks = Mocks::new();
        mocks.users.expect_list().never();
        let query = UserQuery {
            page: PageRequest::Number {
                number: 0,
                size: 10,
            },
            ..UserQuery::default()
        };
        let error =
            block_on(service(mocks).list_users(&principal(Role::Admin), &query)).unwrap_err();
        assert!(matches!(error, ListUsersError::PageNotFound));
    }

    #[test]
    fn list_users_refuses_a_cursor_of_another_ordering() {
        let mut mocks = Mocks::new();
        mocks.users.expect_list().never();
        let cursor = UserCursor {
            ordering: UserOrdering::EmailDesc,
            key: CursorKey::Email("m@example.com".into()),
            id: UserId::new(),
        };
        let query = UserQuery {
            ordering: UserOrdering::Email,
            page: PageRequest::After { cursor, size: 10 },
            ..UserQuery::default()
        };
        let error =
            block_on(service(mocks).list_users(&principal(Role::Admin), &query)).unwrap_err();
        assert!(matches!(error, ListUsersError::CursorOrderingMismatch));
    }

    #[test]
    fn list_users_reports_a_page_past_the_end() {
        let mut mocks = Mocks::new();
        mocks.users.expect_list().returning(|_| {
            Ok(UserSlice {
                users: Vec::new(),
                total: 12,
                has_more: false,
            })
        });
        let query = UserQuery {
            page: PageRequest::Number {
                number: 3,
                size: 10,
            },
            ..UserQuery::default()
        };
        let error =
            block_on(service(mocks).list_users(&principal(Role::Admin), &query)).unwrap_err();
        assert!(matches!(error, ListUsersError::PageNotFound));
    }

    #[test]
    fn an_empty_first_page_exists() {
        let mut mocks = Mocks::new();
        mocks.users.expect_list().returning(|_| {
            Ok(UserSlice {
                users: Vec::new(),
                total: 0,
                has_more: false,
            })
        });
        let page =
            block_on(service(mocks).list_users(&principal(Role::Admin), &UserQuery::default()))
                .unwrap();
        assert_eq!(page.total, 0);
        assert_eq!(page.number, Some(1));
        assert!(!page.has_next && !page.has_previous);
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn list_users_returns_the_page_with_its_neighbours_and_next_cursor() {
        let listed = users(10);
        let last = listed[9].clone();
        let mut mocks = Mocks::new();
        mocks
            .users
            .expect_list()
            .withf(|query| {
                query.page
                    == PageRequest::Number {
                        number: 2,
                        size: 10,
                    }
                    && query.ordering == UserOrdering::Email
                    && query.filter.search.as_ref().map(SearchTerm::as_str) == Some("ada")
            })
            .returning(move |_| {
                Ok(UserSlice {
                    users: listed.clone(),
                    total: 35,
                    has_more: true,
                })
            });
        let query = UserQuery {
            filter: UserFilter {
                search: Some(SearchTerm::parse("ADA").unwrap()),
                ..UserFilter::default()
            },
            ordering: UserOrdering::Email,
            page: PageRequest::Number {
                number: 2,
                size: 10,
            },
        };
        let page = block_on(service(mocks).list_users(&principal(Role::Admin), &query)).unwrap();
        assert_eq!(page.users.len(), 10);
        assert_eq!(page.total, 35);
        assert_eq!((page.number, page.size), (Some(2), 10));
        assert!(page.has_next && page.has_previous);
        assert_eq!(
            page.next_cursor,
            Some(UserCursor::after(&last, UserOrdering::Email))
        );
    }

    #[test]
    fn list_users_by_cursor_continues_after_it() {
        let cursor = UserCursor::after(&users(1)[0], UserOrdering::DateJoinedDesc);
        let expected = cursor.clone();
        let mut mocks = Mocks::new();
        mocks
            .users
            .expect_list()
            .withf(move |query| {
                query.page
                    == PageRequest::After {
                        cursor: expected.clone(),
                        size: 10,
                    }
            })
            .returning(|_| {
                Ok(UserSlice {
                    users: users(3),
                    total: 13,
                    has_more: false,
                })
            });
        let query = UserQuery {
            ordering: UserOrdering::DateJoinedDesc,
            page: PageRequest::After { cursor, size: 10 },
            ..UserQuery::default()
        };
        let page = block_on(service(mocks).list_users(&principal(Role::Admin), &query)).unwrap();
        assert_eq!(page.number, None);
        assert!(!page.has_next && !page.has_previous);
        assert_eq!(page.next_cursor, None);
    }

    // ---- get user ----

    #[test]
    fn get_user_is_for_admins_and_reports_unknown_ids() {
        let error = block_on(service(Mocks::new()).get_user(&principal(Role::User), UserId::new()))
            .unwrap_err();
        assert!(matches!(error, GetUserError::Forbidden));

        let mut mocks = Mocks::new();
        mocks.users.expect_find_by_id().returning(|_| Ok(None));
        let error =
            block_on(service(mocks).get_user(&principal(Role::Admin), UserId::new())).unwrap_err();
        assert!(matches!(error, GetUserError::NotFound));

        let target = user("target@example.com", Role::User);
        let found = target.clone();
        let mut mocks = Mocks::new();
        mocks
            .users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(found.clone())));
        assert_eq!(
            block_on(service(mocks).get_user(&principal(Role::Admin), target.id())).unwrap(),
            target
        );
    }

    // ---- update user ----

    /// A `find_by_id` that finds `first` on its first call and `then` afterwards (another
    /// change landed in between), counting its calls in `reads`.
    fn read_then(
        reads: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
        first: User,
        then: User,
    ) -> impl FnMut(UserId) -> Result<Option<User>, UnexpectedError> + Send + 'static {
        let reads = std::sync::Arc::clone(reads);
        move |_| {
            let read = reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Some(if read == 0 {
                first.clone()
            } else {
                then.clone()
            }))
        }
    }

    fn update(role: Option<Role>, is_active: Option<bool>, full_name: Option<&str>) -> UserUpdate {
        UserUpdate {
            role,
            is_active,
            full_name: full_name.map(|name| FullName::parse(name).unwrap()),
        }
    }

    #[test]
    fn update_user_is_for_admins() {
        let error = block_on(service(Mocks::new()).update_user(
            &principal(Role::User),
            UserId::new(),
            update(Some(Role::Admin), None, None),
            &client(),
        ))
        .unwrap_err();
        assert!(matches!(error, UpdateUserError::Forbidden));
    }

    #[test]
    fn update_user_reports_unknown_ids() {
        let mut mocks = Mocks::new();
        mocks.users.expect_find_by_id().returning(|_| Ok(None));
        let error = block_on(service(mocks).update_user(
            &principal(Role::Admin),
            UserId::new(),
            update(None, Some(true), None),
            &client(),
        ))
        .unwrap_err();
        assert!(matches!(error, UpdateUserError::NotFound));
    }

    #[test]
    fn admins_may_not_demote_or_deactivate_themselves() {
        let caller = principal(Role::Admin);
        for change in [
            update(Some(Role::User), None, None),
            update(None, Some(false), None),
        ] {
            let myself = caller.user.clone();
            let mut mocks = Mocks::new();
            mocks
                .users
                .expect_find_by_id()
                .returning(move |_| Ok(Some(myself.clone())));
            mocks.users.expect_update().never();
            let error =
                block_on(service(mocks).update_user(&caller, caller.user_id(), change, &client()))
                    .unwrap_err();
            assert!(matches!(error, UpdateUserError::OwnAccount));
        }
    }

    #[test]
    fn admins_may_rename_themselves() {
        let caller = principal(Role::Admin);
        let myself = caller.user.clone();
        let mut mocks = Mocks::new();
        mocks
            .users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(myself.clone())));
        mocks
            .users
            .expect_update()
            .withf(|user, _, revoke, _| user.full_name().as_str() == "Countess" && !revoke)
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let updated = block_on(service(mocks).update_user(
            &caller,
            caller.user_id(),
            update(Some(Role::Admin), Some(true), Some("Countess")),
            &client(),
        ))
        .unwrap();
        assert_eq!(updated.role(), Role::Admin);
    }

    #[test]
    fn deactivating_through_update_revokes_every_session() {
        let caller = principal(Role::Admin);
        let target = user("target@example.com", Role::User);
        let (found, target_id, actor) = (target.clone(), target.id(), caller.user_id());
        let mut mocks = Mocks::new();
        mocks
            .users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(found.clone())));
        mocks
            .users
            .expect_update()
            .withf(move |user, _, revoke_sessions, event| {
                user.id() == target_id
                    && !user.is_active()
                    && user.role() == Role::Admin
                    && user.updated_at() == now()
                    && *revoke_sessions
                    && event.action == AuditAction::UserUpdated
                    && event.actor == Some(actor)
                    && event.target == Some(target_id)
                    && event.details["role"] == "admin"
                    && event.details["is_active"] == "false"
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let updated = block_on(service(mocks).update_user(
            &caller,
            target_id,
            update(Some(Role::Admin), Some(false), None),
            &client(),
        ))
        .unwrap();
        assert!(!updated.is_active());
    }

    #[test]
    fn update_user_reports_infrastructure_failures() {
        let mut mocks = Mocks::new();
        mocks
            .users
            .expect_find_by_id()
            .returning(|_| Err(storage_down()));
        let error = block_on(service(mocks).update_user(
            &principal(Role::Admin),
            UserId::new(),
            update(None, Some(true), None),
            &client(),
        ))
        .unwrap_err();
        assert!(matches!(error, UpdateUserError::Unexpected(_)));
    }

    // ---- toggle activation ----

    #[test]
    fn toggle_activation_is_for_admins_and_reports_unknown_ids() {
        let error = block_on(service(Mocks::new()).toggle_activation(
            &principal(Role::User),
            UserId::new(),
            &client(),
        ))
        .unwrap_err();
        assert!(matches!(error, ToggleActivationError::Forbidden));

        let mut mocks = Mocks::new();
        mocks.users.expect_find_by_id().returning(|_| Ok(None));
        let error = block_on(service(mocks).toggle_activation(
            &principal(Role::Admin),
            UserId::new(),
            &client(),
        ))
        .unwrap_err();
        assert!(matches!(error, ToggleActivationError::NotFound));
    }

    #[test]
    fn toggle_activation_never_touches_the_admins_own_account() {
        let caller = principal(Role::Admin);
        let myself = caller.user.clone();
        let mut mocks = Mocks::new();
        mocks
            .users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(myself.clone())));
        mocks.users.expect_update().never();
        let error =
            block_on(service(mocks).toggle_activation(&caller, caller.user_id(), &client()))
                .unwrap_err();
        assert!(matches!(error, ToggleActivationError::OwnAccount));
    }

    #[test]
    fn toggle_activation_flips_and_revokes_sessions_only_on_deactivation() {
        for was_active in [true, false] {
            let base = user("target@example.com", Role::User);
            let target = if was_active {
                base
            } else {
                base.with_administration(None, Some(false), None, now())
            };
            let mut mocks = Mocks::new();
            mocks
                .users
                .expect_find_by_id()
                .returning(move |_| Ok(Some(target.clone())));
            mocks
                .users
                .expect_update()
                .withf(move |user, _, revoke_sessions, event| {
                    user.is_active() != was_active
                        && *revoke_sessions == was_active
                        && event.action == AuditAction::ActivationToggled
                })
                .times(1)
                .returning(|_, _, _, _| Ok(()));
            let toggled = block_on(service(mocks).toggle_activation(
                &principal(Role::Admin),
                UserId::new(),
                &client(),
            ))
            .unwrap();
            assert_eq!(toggled.is_active(), !was_active);
        }
    }

    #[test]
    fn a_toggle_that_met_another_toggle_does_nothing() {
        let target = user("target@example.com", Role::User);
        let flipped = target
            .clone()
            .with_administration(None, Some(false), None, now());
        let mut mocks = Mocks::new();
        let reads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        mocks
            .users
            .expect_find_by_id()
            .returning(read_then(&reads, target, flipped));
        mocks
            .users
            .expect_update()
            .times(1)
            .returning(|_, _, _, _| Err(SaveUserError::Changed));
        let error = block_on(service(mocks).toggle_activation(
            &principal(Role::Admin),
            UserId::new(),
            &client(),
        ))
        .unwrap_err();
        assert!(matches!(error, ToggleActivationError::Changed), "{error:?}");
    }

    #[test]
    fn a_toggle_that_met_a_login_flips_the_fresh_state() {
        let target = user("target@example.com", Role::User);
        let logged_in = target.clone().with_login(now(), None);
        let (stale, fresh) = (target.updated_at(), logged_in.updated_at());
        let mut mocks = Mocks::new();
        let reads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        mocks
            .users
            .expect_find_by_id()
            .returning(read_then(&reads, target, logged_in));
        mocks
            .users
            .expect_update()
            .withf(move |_, read, _, _| *read == stale)
            .times(1)
            .returning(|_, _, _, _| Err(SaveUserError::Changed));
        mocks
            .users
            .expect_update()
            .withf(move |user, read, revoke, _| *read == fresh && !user.is_active() && *revoke)
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let toggled = block_on(service(mocks).toggle_activation(
            &principal(Role::Admin),
            UserId::new(),
            &client(),
        ))
        .unwrap();
        assert!(!toggled.is_active());
    }

    #[test]
    fn an_update_meeting_another_change_is_applied_again_to_the_new_state() {
        let first = user("target@example.com", Role::User);
        let renamed = first.clone().with_profile(
            None,
            Some(FullName::parse("Renamed meanwhile").unwrap()),
            now() - Duration::seconds(1),
        );
        let mut mocks = Mocks::new();
        let (before, after) = (first.clone(), renamed.clone());
        let reads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        mocks
            .users
            .expect_find_by_id()
            .returning(read_then(&reads, before, after));
        let (stale, fresh) = (first.updated_at(), renamed.updated_at());
        mocks
            .users
            .expect_update()
            .withf(move |_, read, _, _| *read == stale)
            .times(1)
            .returning(|_, _, _, _| Err(SaveUserError::Changed));
        mocks
            .users
            .expect_update()
            .withf(move |user, read, _, _| {
                *read == fresh
                    && user.role() == Role::Admin
                    && user.full_name().as_str() == "Renamed meanwhile"
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let updated = block_on(service(mocks).update_user(
            &principal(Role::Admin),
            UserId::new(),
            update(Some(Role::Admin), None, None),
            &client(),
        ))
        .unwrap();
        assert_eq!(
            updated.full_name().as_str(),
            "Renamed meanwhile",
            "nothing was lost"
        );
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn an_update_that_keeps_meeting_changes_gives_up() {
        let target = user("target@example.com", Role::User);
        let mut mocks = Mocks::new();
        mocks
            .users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(target.clone())));
        mocks
            .users
            .expect_update()
            .times(5)
            .returning(|_, _, _, _| Err(SaveUserError::Changed));
        let error = block_on(service(mocks).update_user(
            &principal(Role::Admin),
            UserId::new(),
            update(Some(Role::Admin), None, None),
            &client(),
        ))
        .unwrap_err();
        assert!(matches!(error, UpdateUserError::Changed), "{error:?}");
    }

    // ---- create admin ----

    #[test]
    fn create_admin_stores_an_admin_without_a_session() {
        let mut mocks = Mocks::new();
        mocks
            .users
            .expect_find_by_email()
            .times(1)
            .returning(|_| Ok(None));
        mocks
            .hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("h")));
        mocks
            .users
            .expect_insert()
            .withf(|user, session, event| {
                user.role() == Role::Admin
                    && session.is_none()
                    && event.action == AuditAction::AdminCreated
                    && event.actor.is_none()
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        let input = SignUp {
            email: "root@example.com".into(),
            password: PlaintextPassword::new(STRONG),
            full_name: "Root".into(),
        };
        let admin = block_on(service(mocks).create_admin(input, &client())).unwrap();
        assert!(admin.role().can_administer());
    }

    #[test]
    fn create_admin_reports_a_taken_email_and_weak_passwords() {
        let mut mocks = Mocks::new();
        mocks.users.expect_find_by_email().returning(|_| Ok(None));
        mocks
            .hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("h")));
        // A race lost to a concurrent creation: the lookup found nothing, the insert did.
        mocks
            .users
            .expect_insert()
            .returning(|_, _, _| Err(SaveUserError::EmailTaken));
        let input = |password: &str| SignUp {
            email: "root@example.com".into(),
            password: PlaintextPassword::new(password),
            full_name: "Root".into(),
        };
        let admin = service(mocks);
        assert!(matches!(
            block_on(admin.create_admin(input(STRONG), &client())),
            Err(SignUpError::EmailTaken)
        ));
        assert!(matches!(
            block_on(admin.create_admin(input("admin"), &client())),
            Err(SignUpError::Invalid(_))
        ));
    }

    #[test]
    fn create_admin_for_an_existing_email_hashes_nothing() {
        let mut mocks = Mocks::new();
        let existing = user("root@example.com", Role::Admin);
        mocks
            .users
            .expect_find_by_email()
            .times(1)
            .returning(move |_| Ok(Some(existing.clone())));
        mocks.hasher.expect_hash().never();
        mocks.users.expect_insert().never();
        let input = SignUp {
            email: "root@example.com".into(),
            password: PlaintextPassword::new(STRONG),
            full_name: "Root".into(),
        };
        assert!(matches!(
            block_on(service(mocks).create_admin(input, &client())),
            Err(SignUpError::EmailTaken)
        ));
    }

    // ---- audit ----

    #[test]
    fn list_audit_is_for_admins() {
        let mut mocks = Mocks::new();
        mocks.audit.expect_list().never();
        let error =
            block_on(service(mocks).list_audit(&principal(Role::User), &AuditListQuery::default()))
                .unwrap_err();
        assert!(matches!(error, ListAuditError::Forbidden));
    }

    #[test]
    fn list_audit_refuses_a_page_size_out_of_range_and_page_zero() {
        let admin = service(Mocks::new());
        for size in [0, MAX_PAGE_SIZE + 1] {
            let query = AuditListQuery {
                size,
                ..AuditListQuery::default()
            };
            let error = block_on(admin.list_audit(&principal(Role::Admin), &query)).unwrap_err();
            assert!(
                matches!(error, ListAuditError::PageSizeOutOfRange),
                "{size}"
            );
        }
        let query = AuditListQuery {
            number: 0,
            ..AuditListQuery::default()
        };
        let error = block_on(admin.list_audit(&principal(Role::Admin), &query)).unwrap_err();
        assert!(matches!(error, ListAuditError::PageNotFound));
    }

    #[test]
    fn list_audit_pages_with_filters() {
        let target = UserId::new();
        let events: Vec<AuditEvent> = (0..5)
            .map(|_| AuditEvent::new(AuditAction::LoggedIn, now(), &client()).on(target))
            .collect();
        let mut mocks = Mocks::new();
        mocks
            .audit
            .expect_list()
            .withf(move |query| {
                query.target == Some(target)
                    && query.action == Some(AuditAction::LoggedIn)
                    && query.offset == 5
                    && query.limit == 5
            })
            .returning(move |_| {
                Ok(AuditSlice {
                    events: events.clone(),
                    total: 11,
                })
            });
        let query = AuditListQuery {
            number: 2,
            size: 5,
            target: Some(target),
            action: Some(AuditAction::LoggedIn),
            ..AuditListQuery::default()
        };
        let page = block_on(service(mocks).list_audit(&principal(Role::Admin), &query)).unwrap();
        assert_eq!(page.events.len(), 5);
        assert!(page.has_next && page.has_previous);
        assert_eq!((page.number, page.size, page.total), (2, 5, 11));
    }

    #[test]
    fn list_audit_reports_a_page_past_the_end() {
        let mut mocks = Mocks::new();
        mocks.audit.expect_list().returning(|_| {
            Ok(AuditSlice {
                events: Vec::new(),
                total: 3,
            })
        });
        let query = AuditListQuery {
            number: 9,
            ..AuditListQuery::default()
        };
        let error =
            block_on(service(mocks).list_audit(&principal(Role::Admin), &query)).unwrap_err();
        assert!(matches!(error, ListAuditError::PageNotFound));
    }
}
