//! `/api/users/`: the signed-in user's own profile, password and sessions.

use super::{TokenPairResponse, UserResponse, tags};
use crate::extract::{AppJson, Authenticated, Client};
use crate::problem::{Problem, ProblemDetails};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use domain::{
    ChangePassword, Email, FieldErrors, FullName, PlaintextPassword, ProfileUpdate, SessionId,
    SessionView,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// Both profile fields (PUT).
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"full_name": "Ada King", "email": "ada.king@example.com"}))]
pub(crate) struct ReplaceProfileRequest {
    /// 1 to 150 characters, not all spaces, no control characters.
    #[schema(
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        max_length = 150
    )]
    full_name: String,
    /// Must not belong to another account.
    #[schema(
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63}|xn--[A-Za-z0-9]([A-Za-z0-9-]{0,57}[A-Za-z0-9])?)$",
        max_length = 254
    )]
    email: String,
}

/// Either profile field (PATCH). Other fields (`role`, `is_active`…) are ignored.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"full_name": "Ada King"}))]
pub(crate) struct PatchProfileRequest {
    /// 1 to 150 characters, not all spaces, no control characters.
    #[schema(
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        max_length = 150
    )]
    full_name: Option<String>,
    /// Must not belong to another account.
    #[schema(
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63}|xn--[A-Za-z0-9]([A-Za-z0-9-]{0,57}[A-Za-z0-9])?)$",
        max_length = 254
    )]
    email: Option<String>,
}

/// The current and the new password.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"old_password": "vivid-otter-cabinet-91", "new_password": "quiet-walrus-ledger-47"}))]
pub(crate) struct ChangePasswordRequest {
    /// The current password.
    old_password: String,
    /// The new password; the same rules as at sign-up, and not the old one.
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
}

/// One signed-in device.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0192f6c4-8a3e-7b1c-9d2e-3f4a5b6c7d8f", "created_at": "2026-11-26T12:00:00Z",
    "last_used_at": "2026-11-26T12:30:00Z", "expires_at": "2026-12-03T12:30:00Z",
    "user_agent": "Mozilla/5.0", "ip": "203.0.113.9", "current": true
}))]
pub(crate) struct SessionResponse {
    /// The session's id.
    id: Uuid,
    /// When it began.
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    /// When its refresh token was last used.
    #[serde(with = "time::serde::rfc3339")]
    last_used_at: OffsetDateTime,
    /// When its refresh token expires unless used.
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    /// The device's `User-Agent`.
    #[schema(required = true)]
    user_agent: Option<String>,
    /// The device's address.
    #[schema(required = true)]
    ip: Option<String>,
    /// Whether this request came from this session.
    current: bool,
}

impl From<SessionView> for SessionResponse {
    fn from(view: SessionView) -> Self {
        let session = view.session;
        Self {
            id: session.id.as_uuid(),
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            expires_at: session.expires_at,
            user_agent: session.client.user_agent,
            ip: session.client.ip.map(|ip| ip.to_string()),
            current: view.current,
        }
    }
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, replace_me, patch_me))
        .routes(routes!(change_password))
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
}

/// Reads the profile fields that were sent, reporting every invalid one at once.
fn profile_update(email: Option<&str>, full_name: Option<&str>) -> Result<ProfileUpdate, Problem> {
    let mut errors = FieldErrors::default();
    let email = email.and_then(|raw| {
        Email::parse(raw)
            .map_err(|error| errors.add("email", error.to_string()))
            .ok()
    });
    let full_name = full_name.and_then(|raw| {
        FullName::parse(raw)
            .map_err(|error| errors.add("full_name", error.to_string()))
            .ok()
    });
    errors
        .into_result()
        .map_err(|errors| Problem::validation(&errors))?;
    Ok(ProfileUpdate { email, full_name })
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/users/me/", tag = tags::ME, security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account.", body = UserResponse),
        (status = 401, description = "Missing, invalid, expired or revoked access token.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn get_me(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> Json<UserResponse> {
    Json(UserResponse::from(&state.account.profile(&principal)))
}

/// Replace the caller's name and email.
#[utoipa::path(put, path = "/api/users/me/", tag = tags::ME, security(("bearer" = [])), request_body = ReplaceProfileRequest,
    responses(
        (status = 200, description = "The updated account.", body = UserResponse),
        (status = 400, description = "Invalid or missing fields.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid, expired or revoked access token.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The email belongs to another account (`/problems/email-taken`), or other changes to the account kept landing meanwhile (`/problems/changed-meanwhile`).", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON, or carries a Content-Encoding.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn replace_me(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Client(client): Client,
    AppJson(body): AppJson<ReplaceProfileRequest>,
) -> Result<Json<UserResponse>, Problem> {
    let update = profile_update(Some(&body.email), Some(&body.full_name))?;
    let user = state
        .account
        .update_profile(&principal, update, &client)
        .await?;
    Ok(Json(UserResponse::from(&user)))
}

/// Change the caller's name and/or email.
#[utoipa::path(patch, path = "/api/users/me/", tag = tags::ME, security(("bearer" = [])), request_body = PatchProfileRequest,
    responses(
        (status = 200, description = "The updated account.", body = UserResponse),
        (status = 400, description = "Invalid fields.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid, expired or revoked access token.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The email belongs to another account (`/problems/email-taken`), or other changes to the account kept landing meanwhile (`/problems/changed-meanwhile`).", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON, or carries a Content-Encoding.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn patch_me(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Client(client): Client,
    AppJson(body): AppJson<PatchProfileRequest>,
) -> Result<Json<UserResponse>, Problem> {
    let update = profile_update(body.email.as_deref(), body.full_name.as_deref())?;
    let user = state
        .account
        .update_profile(&principal, update, &client)
        .await?;
    Ok(Json(UserResponse::from(&user)))
}

/// Change the caller's password. Every token issued before stops working: the other sessions
/// are revoked and this one continues with the pair returned here. A wrong old password
/// counts toward the account's lockout as a failed login does.
#[utoipa::path(put, path = "/api/users/change-password/", tag = tags::ME, security(("bearer" = [])), request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "The caller's fresh token pair.", body = TokenPairResponse),
        (status = 400, description = "Wrong old password, or a weak or unchanged new one.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid, expired or revoked access token.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON, or carries a Content-Encoding.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for this account from this address, here or at login; see `Retry-After`.", body = ProblemDetails, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the password is checked again."))),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn change_password(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Client(client): Client,
    AppJson(body): AppJson<ChangePasswordRequest>,
) -> Result<Json<TokenPairResponse>, Problem> {
    let input = ChangePassword {
        old_password: PlaintextPassword::new(body.old_password),
        new_password: PlaintextPassword::new(body.new_password),
    };
    let pair = state
        .account
        .change_password(&principal, input, &client)
        .await?;
    Ok(Json(TokenPairResponse::from(&pair)))
}

/// The caller's live sessions (devices), most recently used first.
#[utoipa::path(get, path = "/api/users/me/sessions/", tag = tags::ME, security(("bearer" = [])),
    responses(
        (status = 200, description = "The live sessions; `current` marks the caller's.", body = [SessionResponse]),
        (status = 401, description = "Missing, invalid, expired or revoked access token.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn list_sessions(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<Json<Vec<SessionResponse>>, Problem> {
    let sessions = state.account.list_sessions(&principal).await?;
    Ok(Json(
        sessions.into_iter().map(SessionResponse::from).collect(),
    ))
}

/// Revoke one of the caller's sessions.
#[utoipa::path(delete, path = "/api/users/me/sessions/{id}/", tag = tags::ME, security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id.")),
    responses(
        (status = 204, description = "The session is revoked; its tokens stop working at once."),
        (status = 401, description = "Missing, invalid, expired or revoked access token.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "The caller has no live session with this id.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn revoke_session(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id = SessionId::parse(&id).ok_or_else(|| Problem::not_found("No such session."))?;
    state
        .account
        .revoke_session(&principal, id, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
