//! RFC 9457 problem details: the one shape every error response of the API takes, and the
//! exhaustive mapping from each use case's error to a status code. Nothing else in the crate
//! chooses an error status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::{
    AuthenticateError, ChangePasswordError, ConfirmResetError, FieldErrors, GetUserError,
    ListAuditError, ListOutboxError, ListUsersError, LogInError, LogOutError, RefreshError,
    RevokeSessionError, SendResetError, SignUpError, ToggleActivationError, UnexpectedError,
    UpdateProfileError, UpdateUserError,
};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// What a malformed page number, a malformed cursor and a page past the end all answer (404).
pub(crate) const INVALID_PAGE: &str = "Invalid page.";
/// A `page_size` outside 1 to 100, or not a number.
pub(crate) const PAGE_SIZE_MESSAGE: &str = "Ensure this value is a whole number from 1 to 100.";
/// A `cursor` used with another `ordering` than its own.
pub(crate) const CURSOR_ORDERING_MESSAGE: &str =
    "This cursor belongs to another ordering; start again from page 1.";

/// The `application/problem+json` media type.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error response, as RFC 9457 describes it. `detail` is always present, so clients written
/// for Django REST Framework (which read `detail`) keep working.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation",
    "title": "Invalid input",
    "status": 400,
    "detail": "Some fields are invalid.",
    "errors": {"email": ["Enter a valid email address."]}
}))]
pub struct ProblemDetails {
    /// A stable identifier of the kind of problem, e.g. `/problems/email-taken`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short, human-readable summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// A human-readable explanation of this occurrence.
    pub detail: String,
    /// Messages per input field, for invalid input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
}

/// A problem about to be sent, with the headers some statuses require.
#[derive(Debug, Clone)]
pub struct Problem {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
    errors: Option<BTreeMap<String, Vec<String>>>,
    retry_after_seconds: Option<u64>,
}

impl Problem {
    /// A problem of kind `/problems/{slug}`.
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            slug,
            title,
            detail: detail.into(),
            errors: None,
            retry_after_seconds: None,
        }
    }

    /// 400 with messages per field.
    pub fn validation(errors: &FieldErrors) -> Self {
        let mut problem = Self::new(
            StatusCode::BAD_REQUEST,
            "validation",
            "Invalid input",
            errors.to_string(),
        );
        problem.errors = Some(
            errors
                .iter()
                .map(|(field, messages)| (field.to_owned(), messages.to_vec()))
                .collect(),
        );
        problem
    }

    /// 400 with one message on one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut problem = Self::new(
            StatusCode::BAD_REQUEST,
            "validation",
            "Invalid input",
            format!("{field}: {message}"),
        );
        problem.errors = Some(BTreeMap::from([(field.to_owned(), vec![message])]));
        problem
    }

    /// 401: the credentials are missing or not accepted.
    pub fn unauthenticated(slug: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, slug, "Not authenticated", detail)
    }

    /// 403: authenticated, but not allowed.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            "You do not have permission to perform this action.",
        )
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// A problem for a bare status code (405, 408, 413…), with the status's own wording.
    pub fn from_status(status: StatusCode) -> Self {
        let (slug, title, detail) = match status {
            StatusCode::NOT_FOUND => ("not-found", "Not found", "No such resource."),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method-not-allowed",
                "Method not allowed",
                "This method is not allowed on this resource.",
            ),
            StatusCode::REQUEST_TIMEOUT => {
                ("timeout", "Request timeout", "The request took too long.")
            }
            StatusCode::PAYLOAD_TOO_LARGE => (
                "body-too-large",
                "Payload too large",
                "The request body is larger than 64 KiB.",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported-media-type",
                "Unsupported media type",
                "Send the body as application/json.",
            ),
            StatusCode::BAD_REQUEST => ("bad-request", "Bad request", "The request is malformed."),
            StatusCode::URI_TOO_LONG => (
                "uri-too-long",
                "URI too long",
                "The request's URI is too long.",
            ),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
                "header-fields-too-large",
                "Request header fields too large",
                "The request has too many header fields, or too large ones.",
            ),
            StatusCode::SERVICE_UNAVAILABLE => (
                "service-unavailable",
                "Service unavailable",
                "The service is temporarily unavailable; try again later.",
            ),
            StatusCode::TOO_MANY_REQUESTS => (
                "too-many-requests",
                "Too many requests",
                "Too many requests; try again later.",
            ),
            _ if status.is_server_error() => (
                "internal",
                "Internal server error",
                "Something went wrong on our side.",
            ),
            _ => ("error", "Error", "The request could not be served."),
        };
        Self::new(status, slug, title, detail)
    }

    /// 429 with a `Retry-After` of at least one second.
    pub fn too_many(
        slug: &'static str,
        detail: impl Into<String>,
        retry_after_seconds: u64,
    ) -> Self {
        let mut problem = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            slug,
            "Too many requests",
            detail,
        );
        problem.retry_after_seconds = Some(retry_after_seconds.max(1));
        problem
    }

    /// 429 for an account locked by wrong passwords, with the lock's remaining seconds
    /// (rounded up) in `Retry-After`.
    fn account_locked(retry_after: time::Duration) -> Self {
        let seconds = u64::try_from(retry_after.whole_seconds()).unwrap_or(0)
            + u64::from(retry_after.subsec_nanoseconds() > 0);
        Self::too_many(
            "account-locked",
            format!("Too many wrong passwords. Try again in {seconds} seconds."),
            seconds,
        )
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body, as sent.
    pub fn details(&self) -> ProblemDetails {
        ProblemDetails {
            kind: format!("/problems/{}", self.slug),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.details()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Infrastructure failures: 503 when a dependency is unreachable, else 500. The cause is
/// logged here, inside the request's span (which carries the request id), and never sent.
impl From<UnexpectedError> for Problem {
    fn from(error: UnexpectedError) -> Self {
        if error.is_unavailable() {
            tracing::warn!(error = %error, "dependency unavailable");
            Self::from_status(StatusCode::SERVICE_UNAVAILABLE)
        } else {
            tracing::error!(error = %error, "unexpected error");
            Self::from_status(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// 409 for a change that met another one to the same account.
fn changed_meanwhile() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "changed-meanwhile",
        "Changed meanwhile",
        "The account changed while this request was being applied; reload it and try again.",
    )
}

fn email_taken() -> Problem {
    let mut problem = Problem::new(
        StatusCode::CONFLICT,
        "email-taken",
        "Email already taken",
        "A user with this email already exists.",
    );
    problem.errors = Some(BTreeMap::from([(
        "email".to_owned(),
        vec!["A user with this email already exists.".to_owned()],
    )]));
    problem
}

fn invalid_token(slug: &'static str, detail: &str) -> Problem {
    Problem::unauthenticated(slug, detail)
}

impl From<SignUpError> for Problem {
    fn from(error: SignUpError) -> Self {
        match error {
            SignUpError::Invalid(errors) => Self::validation(&errors),
            SignUpError::EmailTaken => email_taken(),
            SignUpError::Unexpected(error) => error.into(),
        }
    }
}

impl From<LogInError> for Problem {
    fn from(error: LogInError) -> Self {
        match error {
            LogInError::InvalidCredentials => Self::unauthenticated(
                "invalid-credentials",
                "No active account found with the given credentials.",
            ),
            LogInError::Locked { retry_after } => Self::account_locked(retry_after),
            LogInError::Deactivated => Self::new(
                StatusCode::FORBIDDEN,
                "account-disabled",
                "Account disabled",
                "This account has been deactivated.",
            ),
            LogInError::Unexpected(error) => error.into(),
        }
    }
}

impl From<RefreshError> for Problem {
    fn from(error: RefreshError) -> Self {
        match error {
            RefreshError::InvalidToken => {
                invalid_token("token-invalid", "Token is invalid or expired.")
            }
            RefreshError::Reused => invalid_token(
                "token-reused",
                "This refresh token was already used; its session has been revoked. Log in again.",
            ),
            RefreshError::Revoked => {
                invalid_token("session-revoked", "This session has been revoked.")
            }
            RefreshError::Expired => invalid_token("token-expired", "Token is invalid or expired."),
            RefreshError::UserInactive => {
                invalid_token("account-disabled", "This account has been deactivated.")
            }
            RefreshError::Unexpected(error) => error.into(),
        }
    }
}

impl From<LogOutError> for Problem {
    fn from(error: LogOutError) -> Self {
        match error {
            LogOutError::InvalidToken => {
                invalid_token("token-invalid", "Token is invalid or expired.")
            }
            LogOutError::Unexpected(error) => error.into(),
        }
    }
}

impl From<AuthenticateError> for Problem {
    fn from(error: AuthenticateError) -> Self {
        match error {
            AuthenticateError::InvalidToken(reason) => invalid_token(
                "token-invalid",
                format!("Given token not valid: {reason}.").as_str(),
            ),
            AuthenticateError::SessionRevoked => {
                invalid_token("session-revoked", "This session has been revoked.")
            }
            AuthenticateError::SessionExpired => {
                invalid_token("session-expired", "This session has expired.")
            }
            AuthenticateError::UserInactive => {
                invalid_token("account-disabled", "This account has been deactivated.")
            }
            AuthenticateError::Unexpected(error) => error.into(),
        }
    }
}

impl From<UpdateProfileError> for Problem {
    fn from(error: UpdateProfileError) -> Self {
        match error {
            UpdateProfileError::EmailTaken => email_taken(),
            UpdateProfileError::Changed => changed_meanwhile(),
            UpdateProfileError::Unexpected(error) => error.into(),
        }
    }
}

impl From<ChangePasswordError> for Problem {
    fn from(error: ChangePasswordError) -> Self {
        match error {
            ChangePasswordError::Invalid(errors) => Self::validation(&errors),
            ChangePasswordError::Locked { retry_after } => Self::account_locked(retry_after),
            ChangePasswordError::Unexpected(error) => error.into(),
        }
    }
}

impl From<RevokeSessionError> for Problem {
    fn from(error: RevokeSessionError) -> Self {
        match error {
            RevokeSessionError::NotFound => Self::not_found("No such session."),
            RevokeSessionError::Unexpected(error) => error.into(),
        }
    }
}

impl From<ListUsersError> for Problem {
    fn from(error: ListUsersError) -> Self {
        match error {
            ListUsersError::Forbidden => Self::forbidden(),
            ListUsersError::PageSizeOutOfRange => Self::field("page_size", PAGE_SIZE_MESSAGE),
            ListUsersError::CursorOrderingMismatch => {
                Self::field("cursor", CURSOR_ORDERING_MESSAGE)
            }
            ListUsersError::PageNotFound => Self::not_found(INVALID_PAGE),
            ListUsersError::Unexpected(error) => error.into(),
        }
    }
}

impl From<GetUserError> for Problem {
    fn from(error: GetUserError) -> Self {
        match error {
            GetUserError::Forbidden => Self::forbidden(),
            GetUserError::NotFound => Self::not_found("No such user."),
            GetUserError::Unexpected(error) => error.into(),
        }
    }
}

fn own_account(detail: &str) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "own-account",
        "Not on your own account",
        detail,
    )
}

impl From<UpdateUserError> for Problem {
    fn from(error: UpdateUserError) -> Self {
        match error {
            UpdateUserError::Forbidden => Self::forbidden(),
            UpdateUserError::NotFound => Self::not_found("No such user."),
            UpdateUserError::OwnAccount => {
                own_account("You cannot demote or deactivate your own account.")
            }
            UpdateUserError::Changed => changed_meanwhile(),
            UpdateUserError::Unexpected(error) => error.into(),
        }
    }
}

impl From<ToggleActivationError> for Problem {
    fn from(error: ToggleActivationError) -> Self {
        match error {
            ToggleActivationError::Forbidden => Self::forbidden(),
            ToggleActivationError::NotFound => Self::not_found("No such user."),
            ToggleActivationError::OwnAccount => {
                own_account("You cannot deactivate your own account.")
            }
            ToggleActivationError::Changed => changed_meanwhile(),
            ToggleActivationError::Unexpected(error) => error.into(),
        }
    }
}

impl From<ListAuditError> for Problem {
    fn from(error: ListAuditError) -> Self {
        match error {
            ListAuditError::Forbidden => Self::forbidden(),
            ListAuditError::PageSizeOutOfRange => Self::field("page_size", PAGE_SIZE_MESSAGE),
            ListAuditError::PageNotFound => Self::not_found(INVALID_PAGE),
            ListAuditError::Unexpected(error) => error.into(),
        }
    }
}

impl From<ListOutboxError> for Problem {
    fn from(error: ListOutboxError) -> Self {
        match error {
            ListOutboxError::Forbidden => Self::forbidden(),
            ListOutboxError::PageSizeOutOfRange => Self::field("page_size", PAGE_SIZE_MESSAGE),
            ListOutboxError::PageNotFound => Self::not_found(INVALID_PAGE),
            ListOutboxError::Unexpected(error) => error.into(),
        }
    }
}

impl From<ConfirmResetError> for Problem {
    fn from(error: ConfirmResetError) -> Self {
        match error {
            ConfirmResetError::InvalidToken => Self::new(
                StatusCode::BAD_REQUEST,
                "reset-token-invalid",
                "Invalid reset link",
                "This reset link is invalid, expired or already used. Ask for a new one.",
            ),
            ConfirmResetError::Invalid(errors) => Self::validation(&errors),
            ConfirmResetError::Deactivated => Self::new(
                StatusCode::FORBIDDEN,
                "account-disabled",
                "Account disabled",
                "This account has been deactivated.",
            ),
            ConfirmResetError::Unexpected(error) => error.into(),
        }
    }
}

impl From<SendResetError> for Problem {
    fn from(error: SendResetError) -> Self {
        match error {
            SendResetError::Forbidden => Self::forbidden(),
            SendResetError::NotFound => Self::not_found("No such user."),
            SendResetError::Deactivated => Self::new(
                StatusCode::CONFLICT,
                "account-disabled",
                "Account disabled",
                "This account is deactivated; activate it before sending a reset link.",
            ),
            SendResetError::Unexpected(error) => error.into(),
        }
    }
}
