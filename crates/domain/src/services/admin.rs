//! Administrators over other accounts: list, view, update, toggle activation, read the audit
//! log; and creating an admin from the command line.

use super::Core;
use super::auth::{AuthService, SignUp, SignUpError};
use crate::listing::{QueryProblem, parse_page_number, parse_page_size};
use crate::{
    AuditAction, AuditEvent, AuditQuery, ClientInfo, FieldErrors, FullName, ListUsersRequest,
    PageRequest, Ports, Principal, Role, SaveUserError, Settings, UnexpectedError, User,
    UserCursor, UserId, UserPage,
};

/// Input of [`AdminService::update_user`]: the fields to change.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// A new role (`admin` or `user`), if it changes.
    pub role: Option<String>,
    /// A new activation, if it changes. Deactivation revokes every session of the user.
    pub is_active: Option<bool>,
    /// A new display name, if it changes.
    pub full_name: Option<String>,
}

/// The raw query parameters of an audit listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditListRequest {
    /// `page`: 1-based.
    pub page: Option<String>,
    /// `page_size`: 1 to 100.
    pub page_size: Option<String>,
    /// `actor`: a user id.
    pub actor: Option<String>,
    /// `target`: a user id.
    pub target: Option<String>,
    /// `action`: see [`AuditAction::as_str`].
    pub action: Option<String>,
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
    /// A filter, ordering or page size is malformed.
    #[error("the listing query is invalid: {0}")]
    InvalidQuery(FieldErrors),
    /// The page number or cursor is malformed, or the page lies past the end.
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
    /// Some fields are invalid.
    #[error("the update is invalid: {0}")]
    Invalid(FieldErrors),
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
    /// A filter or page size is malformed.
    #[error("the audit query is invalid: {0}")]
    InvalidQuery(FieldErrors),
    /// The page number is malformed or lies past the end.
    #[error("no such page")]
    PageNotFound,
    /// Infrastructure failed.
    #[error(transparent)]
    Unexpected(#[from] UnexpectedError),
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
        request: &ListUsersRequest,
    ) -> Result<UserPage, ListUsersError> {
        if !actor.can_administer() {
            return Err(ListUsersError::Forbidden);
        }
        let query = request.parse().map_err(|problem| match problem {
            QueryProblem::Invalid(errors) => ListUsersError::InvalidQuery(errors),
            QueryProblem::NoSuchPage => ListUsersError::PageNotFound,
        })?;
        let slice = self.core.ports.users.list(&query).await?;
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
        let mut errors = FieldErrors::default();
        let role = update.role.as_deref().and_then(|raw| {
            Role::parse(raw)
                .map_err(|error| errors.add("role", error.to_string()))
                .ok()
        });
        let full_name = update.full_name.as_deref().and_then(|raw| {
            FullName::parse(raw)
                .map_err(|error| errors.add("full_name", error.to_string()))
                .ok()
        });
        errors.into_result().map_err(UpdateUserError::Invalid)?;

        let target = self
            .core
            .ports
            .users
            .find_by_id(id)
            .await?
            .ok_or(UpdateUserError::NotFound)?;
        let demotes = role.is_some_and(|role| !role.can_administer());
        let deactivates = update.is_active == Some(false);
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
        if let Some(is_active) = update.is_active {
            event = event.with("is_active", is_active.to_string());
        }
        if full_name.is_some() {
            event = event.with("full_name", "changed");
        }
        self.save(target, role, update.is_active, full_name, event)
            .await
            .map_err(UpdateUserError::Unexpected)
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
        let is_active = !target.is_active();
        let event = AuditEvent::new(
            AuditAction::ActivationToggled,
            self.core.ports.clock.now(),
            client,
        )
        .by(actor.user_id())
        .on(target.id())
        .with("is_active", is_active.to_string());
        self.save(target, None, Some(is_active), None, event)
            .await
            .map_err(ToggleActivationError::Unexpected)
    }

    async fn save(
        &self,
        target: User,
        role: Option<Role>,
        is_active: Option<bool>,
        full_name: Option<FullName>,
        event: AuditEvent,
    ) -> Result<User, UnexpectedError> {
        let deactivates = target.is_active() && is_active == Some(false);
        let updated = target.with_administration(role, is_active, full_name, event.at);
        match self
            .core
            .ports
            .users
            .update(&updated, deactivates, &event)
            .await
        {
            Ok(()) => Ok(updated),
            // Only the email is unique, and an administrative update never changes it.
            Err(SaveUserError::EmailTaken) => Err(UnexpectedError::internal(
                "updating a user without changing the email",
                "the store reported the email as taken",
            )),
            Err(SaveUserError::Unexpected(error)) => Err(error),
        }
    }

    /// Creates an active admin account, for bootstrapping from the command line. The same
    /// validation and password policy as sign-up apply; no session is opened.
    ///
    /// # Errors
    /// See [`SignUpError`].
    pub async fn create_admin(
        &self,
        input: SignUp,
        client: &ClientInfo,
    ) -> Result<User, SignUpError> {
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
        request: &AuditListRequest,
    ) -> Result<AuditPage, ListAuditError> {
        if !actor.can_administer() {
            return Err(ListAuditError::Forbidden);
        }
        let mut errors = FieldErrors::default();
        let size = parse_page_size(request.page_size.as_deref(), &mut errors);
        let mut parse_id = |field: &'static str, raw: Option<&str>| {
            raw.and_then(|raw| {
                let id = UserId::parse(raw.trim());
                if id.is_none() {
                    errors.add(field, "Enter a valid user id.");
                }
                id
            })
        };
        let actor_filter = parse_id("actor", request.actor.as_deref());
        let target_filter = parse_id("target", request.target.as_deref());
        let action = request.action.as_deref().and_then(|raw| {
            AuditAction::parse(raw.trim())
                .map_err(|_| errors.add("action", "Select a valid audit action."))
                .ok()
        });
        errors.into_result().map_err(ListAuditError::InvalidQuery)?;
        let number =
            parse_page_number(request.page.as_deref()).map_err(|_| ListAuditError::PageNotFound)?;

        let query = AuditQuery {
            actor: actor_filter,
            target: target_filter,
            action,
            offset: u64::from(number - 1) * u64::from(size),
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
