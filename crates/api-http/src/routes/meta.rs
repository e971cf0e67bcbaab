//! Service endpoints: liveness, readiness and the public keys.

use super::tags;
use crate::problem::{Problem, ProblemDetails};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The service's state.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub(crate) struct HealthResponse {
    /// `ok`.
    status: &'static str,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(jwks))
}

/// Liveness: 200 while the process serves requests.
#[utoipa::path(get, path = "/api/health/", tag = tags::META,
    responses((status = 200, description = "The process is serving.", body = HealthResponse)))]
async fn health() -> Json<HealthResponse> {
    Json(HealthResponse { status: "ok" })
}

/// Readiness: 200 when the database answers, else 503.
#[utoipa::path(get, path = "/api/ready/", tag = tags::META,
    responses(
        (status = 200, description = "Every dependency answers.", body = HealthResponse),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn ready(State(state): State<AppState>) -> Result<Json<HealthResponse>, Problem> {
    match state.readiness.check().await {
        Ok(()) => Ok(Json(HealthResponse { status: "ok" })),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            Err(Problem::from_status(StatusCode::SERVICE_UNAVAILABLE))
        }
    }
}

/// The public keys that verify our access tokens (JWKS, RFC 7517), when they are signed with
/// an asymmetric key; 404 when tokens use a shared secret.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = tags::META,
    responses(
        (status = 200, description = "The JSON Web Key Set.", body = Object, example = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "k1", "alg": "EdDSA", "use": "sig"}]})),
        (status = 404, description = "Tokens are signed with a shared secret; there is no public key.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn jwks(State(state): State<AppState>) -> Result<Json<serde_json::Value>, Problem> {
    state
        .jwks
        .clone()
        .map(Json)
        .ok_or_else(|| Problem::not_found("Tokens are signed with a shared secret."))
}
