//! The pure core of the user-management service: values valid by construction, the password
//! policy, the ports the world must implement, and the use cases as services over them.
//!
//! Nothing here does I/O or knows JSON, SQL, HTTP, an async runtime or a crypto library:
//! adapters implement the traits of [`ports`], and any executor can drive the services.
//! `examples/embed.rs` wires the crate to in-memory adapters and runs sign-up, log-in and
//! refresh through it.
//!
//! ```
//! use domain::{Email, FullName, Role};
//!
//! let email = Email::parse(" Ada@Example.com ").unwrap();
//! assert_eq!(email.as_str(), "ada@example.com");
//! assert!(FullName::parse("").is_err());
//! assert!(Role::Admin.can_administer());
//! ```

mod audit;
mod errors;
mod listing;
mod mail;
mod policy;
pub mod ports;
mod services;
mod session;
mod throttle;
mod user;
mod values;

pub use audit::{AuditAction, AuditActionError, AuditEvent, AuditQuery, AuditSlice};
pub use errors::{FieldErrors, UnexpectedError, UnexpectedKind};
pub use listing::{
    CursorKey, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_SEARCH_CHARS, PageRequest, SearchTerm,
    SearchTermError, UserCursor, UserFilter, UserOrdering, UserPage, UserQuery, UserSlice,
    is_valid_page_size,
};
pub use mail::{
    IssueLimit, Mail, MailError, MailKind, MailKindError, MailLink, MailStatus, OneTimeToken,
    OutboxEntry, OutboxQuery, OutboxSlice, QueuedMail, RetryPolicy, TokenPurpose,
};
pub use policy::{
    PasswordPolicy, PasswordReport, PersonalAttribute, PolicyContext, PolicyViolation,
    PolicyViolations,
};
pub use ports::{
    AuditLog, Clock, LoginThrottle, Mailer, OneTimeTokens, Outbox, PasswordHasher, SaveUserError,
    SecretGenerator, SecretMatch, SessionRepository, TokenIssuer, UserRepository,
};
pub use services::{
    AccountService, AdminService, AuditListQuery, AuditPage, AuthService, AuthenticateError,
    ChangePassword, ChangePasswordError, ConfirmReset, ConfirmResetError, DeliveryReport,
    GetUserError, ListAuditError, ListOutboxError, ListUsersError, LockoutPolicy, LogIn,
    LogInError, LogOutError, MailDelivery, OutboxListQuery, OutboxPage, Ports, ProfileUpdate,
    RecoveryPolicy, RecoveryService, RefreshError, RevokeSessionError, SendResetError, SessionView,
    Settings, SignUp, SignUpError, SignedIn, ToggleActivationError, UpdateProfileError,
    UpdateUserError, UserUpdate,
};
pub use session::{AccessClaims, ClientInfo, Session, TokenError, TokenPair};
pub use throttle::{FailedLogins, ThrottleKey, client_network};
pub use user::{Principal, User, UserRecord};
pub use values::email::{Email, EmailError};
pub use values::full_name::{FullName, FullNameError};
pub use values::ids::{AuditEventId, MailId, OneTimeTokenId, SessionId, UserId};
pub use values::role::{Role, RoleError};
pub use values::secrets::{
    AccessToken, PasswordHash, PlaintextPassword, RefreshSecret, SecretHash,
};
