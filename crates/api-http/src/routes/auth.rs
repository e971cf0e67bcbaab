//! `/api/auth/`: sign up, log in, refresh, log out, log out everywhere.

use super::{TokenPairResponse, UserResponse, tags};
use crate::extract::{AppJson, Authenticated, Client};
use crate::problem::{Problem, ProblemDetails};
use crate::rate_limit::{AddressLimit, limit_by_address};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::IntoResponse;
use domain::{LogIn, PlaintextPassword, RefreshSecret, SignUp, SignedIn};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A new account.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"email": "ada@example.com", "password": "vivid-otter-cabinet-91", "full_name": "Ada Lovelace"}))]
pub(crate) struct SignUpRequest {
    /// The email; stored trimmed and lower-cased; at most 254 characters, 64 of them before
    /// the `@`.
    #[schema(
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63}|xn--[A-Za-z0-9]([A-Za-z0-9-]{0,57}[A-Za-z0-9])?)$",
        max_length = 254
    )]
    email: String,
    /// 8 to 128 characters, not entirely numeric, not common, not like the email or name
    /// (zxcvbn score at least `PASSWORD_MIN_SCORE`, 3 by default): rules a schema cannot state.
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    /// 1 to 150 characters, not all spaces, no control characters.
    #[schema(
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        max_length = 150
    )]
    full_name: String,
}

/// Credentials.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"email": "ada@example.com", "password": "vivid-otter-cabinet-91"}))]
pub(crate) struct LoginRequest {
    /// The email (case and surrounding spaces do not matter).
    email: String,
    /// The password.
    password: String,
}

/// A refresh token.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"refresh": "3q2-7wQ8a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXy"}))]
pub(crate) struct RefreshRequest {
    /// The refresh token of the session.
    refresh: String,
}

/// A signed-in user and the tokens of the new session.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "user": {"id": "0192f6c4-8a3e-7b1c-9d2e-3f4a5b6c7d8e", "email": "ada@example.com", "full_name": "Ada Lovelace", "role": "user", "is_active": true, "date_joined": "2026-11-26T12:00:00Z", "last_login": null},
    "access": "eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.sig",
    "refresh": "3q2-7wQ8a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXy"
}))]
pub(crate) struct SignedInResponse {
    /// The account.
    user: UserResponse,
    /// The access token.
    access: String,
    /// The refresh token.
    refresh: String,
}

impl From<&SignedIn> for SignedInResponse {
    fn from(signed_in: &SignedIn) -> Self {
        Self {
            user: (&signed_in.user).into(),
            access: signed_in.tokens.access.expose().to_owned(),
            refresh: signed_in.tokens.refresh.expose().to_owned(),
        }
    }
}

/// The routes, with `limit` (when on) guarding those that verify or hash a password or a
/// refresh secret: one address must not monopolise the hashing pool.
pub(crate) fn router(limit: Option<AddressLimit>) -> OpenApiRouter<AppState> {
    let hashing = OpenApiRouter::new()
        .routes(routes!(sign_up))
        .routes(routes!(log_in))
        .routes(routes!(refresh))
        .routes(routes!(log_out));
    let hashing = match limit {
        Some(limit) => hashing.route_layer(middleware::from_fn_with_state(limit, limit_by_address)),
        None => hashing,
    };
    // Logging out everywhere needs a valid access token and hashes nothing.
    hashing.routes(routes!(log_out_everywhere))
}

/// Create an account and sign it in.
#[utoipa::path(post, path = "/api/auth/signup/", tag = tags::AUTH, request_body = SignUpRequest,
    responses(
        (status = 201, description = "The account and the tokens of its first session.", body = SignedInResponse),
        (status = 400, description = "Invalid email, weak password or empty name; `errors` lists every problem per field.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The email is already taken.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 64 KiB.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON, or carries a Content-Encoding.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn sign_up(
    State(state): State<AppState>,
    Client(client): Client,
    AppJson(body): AppJson<SignUpRequest>,
) -> Result<impl IntoResponse, Problem> {
    let input = SignUp {
        email: body.email,
        password: PlaintextPassword::new(body.password),
        full_name: body.full_name,
    };
    let signed_in = state.auth.sign_up(input, &client).await?;
    Ok((
        StatusCode::CREATED,
        Json(SignedInResponse::from(&signed_in)),
    ))
}

/// Log in with an email and a password.
#[utoipa::path(post, path = "/api/auth/login/", tag = tags::AUTH, request_body = LoginRequest,
    responses(
        (status = 200, description = "The tokens of a new session, and the account.", body = SignedInResponse),
        (status = 400, description = "A field is missing.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Wrong email or password (one answer for both).", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The account is deactivated (said only after a correct password).", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON, or carries a Content-Encoding.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for this email from this address (locked alike whether the account exists), or too many requests from this address; see `Retry-After`.", body = ProblemDetails, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn log_in(
    State(state): State<AppState>,
    Client(client): Client,
    AppJson(body): AppJson<LoginRequest>,
) -> Result<Json<SignedInResponse>, Problem> {
    let input = LogIn {
        email: body.email,
        password: PlaintextPassword::new(body.password),
    };
    let signed_in = state.auth.log_in(input, &client).await?;
    Ok(Json(SignedInResponse::from(&signed_in)))
}

/// Exchange a refresh token for a new pair. The presented token stops working; presenting it
/// again revokes its whole session.
#[utoipa::path(post, path = "/api/auth/token/refresh/", tag = tags::AUTH, request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new access token and a new refresh token.", body = TokenPairResponse),
        (status = 400, description = "The `refresh` field is missing.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "The refresh token is unknown, expired, revoked, already used, or its account is deactivated.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON, or carries a Content-Encoding.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn refresh(
    State(state): State<AppState>,
    Client(client): Client,
    AppJson(body): AppJson<RefreshRequest>,
) -> Result<Json<TokenPairResponse>, Problem> {
    let pair = state
        .auth
        .refresh(&RefreshSecret::new(body.refresh), &client)
        .await?;
    Ok(Json(TokenPairResponse::from(&pair)))
}

/// End the session of a refresh token: it and every access token issued for it stop working.
#[utoipa::path(post, path = "/api/auth/logout/", tag = tags::AUTH, request_body = RefreshRequest,
    responses(
        (status = 204, description = "The session is ended (or already was)."),
        (status = 400, description = "The `refresh` field is missing.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "The refresh token is unknown.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON, or carries a Content-Encoding.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn log_out(
    State(state): State<AppState>,
    Client(client): Client,
    AppJson(body): AppJson<RefreshRequest>,
) -> Result<StatusCode, Problem> {
    state
        .auth
        .log_out(&RefreshSecret::new(body.refresh), &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of the caller, on every device.
#[utoipa::path(post, path = "/api/auth/logout-all/", tag = tags::AUTH, security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session is ended."),
        (status = 401, description = "Missing, invalid, expired or revoked access token.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn log_out_everywhere(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Client(client): Client,
) -> Result<StatusCode, Problem> {
    state.auth.log_out_everywhere(&principal, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
