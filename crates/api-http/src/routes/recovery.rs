//! Password reset by mail: `/api/auth/password-reset/` and its confirmation, and an
//! administrator's `/api/admin/users/{id}/password-reset/`.

use super::auth::SignedInResponse;
use super::{tags, user_id};
use crate::extract::{AppJson, Authenticated, Client};
use crate::problem::{Problem, ProblemDetails};
use crate::rate_limit::{AddressLimit, limit_by_address};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::middleware;
use domain::{ConfirmReset, Email, PlaintextPassword, RefreshSecret};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracing::Instrument as _;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Whose password to reset.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"email": "ada@example.com"}))]
pub(crate) struct ResetRequest {
    /// The account's email (case and surrounding spaces do not matter); at most 254
    /// characters.
    #[schema(
        pattern = r"^\s*[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63}|xn--[A-Za-z0-9]([A-Za-z0-9-]{0,57}[A-Za-z0-9])?)\s*$",
        max_length = 254
    )]
    email: String,
}

/// A new password, with the secret of a reset link.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"token": "3q2-7wQ8a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXy", "new_password": "vivid-otter-cabinet-91"}))]
pub(crate) struct ResetConfirmRequest {
    /// The `token` parameter of the link in the mail.
    token: String,
    /// The new password, under the same rules as at sign-up.
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
}

/// The request was taken.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"detail": "If an active account has this email, a link to reset its password is on its way."}))]
pub(crate) struct AcceptedResponse {
    /// What happens next.
    detail: &'static str,
}

const RESET_ACCEPTED: &str =
    "If an active account has this email, a link to reset its password is on its way.";

/// The routes. `mail_limit` (when on) bounds how many requests that send mail one address
/// may make; `hashing_limit` guards the confirmation, which hashes a password.
pub(crate) fn router(
    mail_limit: Option<AddressLimit>,
    hashing_limit: Option<AddressLimit>,
) -> OpenApiRouter<AppState> {
    let mailing = OpenApiRouter::new().routes(routes!(request_reset));
    let mailing = match mail_limit {
        Some(limit) => mailing.route_layer(middleware::from_fn_with_state(limit, limit_by_address)),
        None => mailing,
    };
    let hashing = OpenApiRouter::new().routes(routes!(confirm_reset));
    let hashing = match hashing_limit {
        Some(limit) => hashing.route_layer(middleware::from_fn_with_state(limit, limit_by_address)),
        None => hashing,
    };
    mailing.merge(hashing).routes(routes!(send_reset))
}

/// Ask for a link to choose a new password. The answer is the same, and as fast, whether or
/// not an account has this email; at most three links a hour go to one account.
#[utoipa::path(post, path = "/api/auth/password-reset/", tag = tags::AUTH, request_body = ResetRequest,
    responses(
        (status = 202, description = "Taken: if an active account has this email, a link valid for 30 minutes is mailed to it.", body = AcceptedResponse),
        (status = 400, description = "The email is missing or is not an email address.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON, or carries a Content-Encoding.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address; see `Retry-After`.", body = ProblemDetails, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ))]
async fn request_reset(
    State(state): State<AppState>,
    Client(client): Client,
    AppJson(body): AppJson<ResetRequest>,
) -> Result<(StatusCode, Json<AcceptedResponse>), Problem> {
    // Not an address is said at once: no account could have it, so it tells nothing.
    let email =
        Email::parse(&body.email).map_err(|error| Problem::field("email", error.to_string()))?;
    // The work (a lookup, and for an account a write) runs after the answer is sent: its
    // duration would otherwise tell which emails have accounts.
    if let Ok(permit) = Arc::clone(&state.reset_requests).try_acquire_owned() {
        let recovery = state.recovery.clone();
        let work = async move {
            if let Err(error) = recovery.request_password_reset(&email, &client).await {
                tracing::warn!(error = %error, "a password-reset request failed");
            }
            drop(permit);
        };
        tokio::spawn(work.in_current_span());
    } else {
        tracing::warn!("too many password-reset requests in flight: one was dropped");
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(AcceptedResponse {
            detail: RESET_ACCEPTED,
        }),
    ))
}

/// Choose a new password with a reset link. Every session of the account ends; the answer
/// signs the person in with a new one. The link then stops working, as do any others mailed
/// before it.
#[utoipa::path(post, path = "/api/auth/password-reset/confirm/", tag = tags::AUTH, request_body = ResetConfirmRequest,
    responses(
        (status = 200, description = "The new password is set: the tokens of a new session, and the account.", body = SignedInResponse),
        (status = 400, description = "The link is unknown, used or expired (`/problems/reset-token-invalid`), or the new password is weak (`/problems/validation`, with `errors.new_password`).", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The account is deactivated.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON, or carries a Content-Encoding.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn confirm_reset(
    State(state): State<AppState>,
    Client(client): Client,
    AppJson(body): AppJson<ResetConfirmRequest>,
) -> Result<Json<SignedInResponse>, Problem> {
    let input = ConfirmReset {
        token: RefreshSecret::new(body.token),
        new_password: PlaintextPassword::new(body.new_password),
    };
    let signed_in = state
        .recovery
        .confirm_password_reset(input, &client)
        .await?;
    Ok(Json(SignedInResponse::from(&signed_in)))
}

/// Mail a user a link to choose a new password. The administrator never sees or sets it.
#[utoipa::path(post, path = "/api/admin/users/{id}/password-reset/", tag = tags::ADMIN, security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user's id.")),
    responses(
        (status = 202, description = "The link is queued for delivery.", body = AcceptedResponse),
        (status = 401, description = "Missing, invalid, expired or revoked access token.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No user has this id.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The account is deactivated: activate it first.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn send_reset(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<AcceptedResponse>), Problem> {
    state
        .recovery
        .send_password_reset(&principal, user_id(&id)?, &client)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(AcceptedResponse {
            detail: "A link to choose a new password is queued for delivery.",
        }),
    ))
}
