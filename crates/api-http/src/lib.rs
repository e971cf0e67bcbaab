//! The REST API of the service: an axum router over the domain's services, with problem+json
//! errors, a bearer-token extractor, and an OpenAPI 3.1 document derived from the same route
//! list (utoipa-axum), so the two cannot drift.
//!
//! This crate knows HTTP, JSON and OpenAPI; it holds no business rule. It depends on the
//! domain only: the server crate builds the adapters and hands the services in.

mod extract;
mod layers;
mod problem;
mod rate_limit;
mod routes;
mod serve;
mod state;
mod wire;

pub use problem::{PROBLEM_JSON, Problem, ProblemDetails};
pub use serve::{ConnectionLimits, serve};
pub use state::{
    AllowedHosts, AppState, AppStateInner, HttpConfig, RateLimit, Readiness, Services,
};

use axum::Router;
use axum::extract::Request;
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Users",
        description = "User management and authentication: sign-up, login with short-lived JWT access tokens and rotating refresh tokens, profiles, sessions, and administration. Errors are RFC 9457 problem details (`application/problem+json`).",
        license(name = "MIT", identifier = "MIT"),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Getting and ending sessions."),
        (name = "me", description = "The signed-in user's own account."),
        (name = "admin", description = "Administration (role `admin` only)."),
        (name = "meta", description = "Service endpoints."),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from /api/auth/login/, /api/auth/signup/ or /api/auth/token/refresh/."))
                    .build(),
            ),
        );
    }
}

fn api_routes(
    limit: Option<rate_limit::AddressLimit>,
    mail_limit: Option<rate_limit::AddressLimit>,
) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::auth::router(limit.clone()))
        .merge(routes::recovery::router(mail_limit, limit))
        .merge(routes::me::router())
        .merge(routes::admin::router())
        .merge(routes::outbox::router())
        .merge(routes::meta::router())
}

/// The OpenAPI document, as served at `/api/openapi.json` and committed as
/// `crates/api-http/openapi.json`.
pub fn openapi() -> OpenApiDocument {
    let (_, document) = api_routes(None, None).split_for_parts();
    document
}

/// The whole application as a tower service: routes, Swagger UI, the SPA, and every layer.
/// [`serve`] serves it with the connection limits; another server must insert
/// `ConnectInfo<SocketAddr>` into each request (as axum's
/// `into_make_service_with_connect_info` does) so client addresses are known.
pub fn app(
    state: AppState,
) -> impl tower::Service<
    Request,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    let limit = rate_limit::AddressLimit::from_config(&state.http);
    let mail_limit = rate_limit::AddressLimit::for_mail(&state.http);
    let (router, document) = api_routes(limit, mail_limit).split_for_parts();
    let router: Router<AppState> = layers::with_docs(router, document);
    layers::wrap(router, state)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_document_is_the_generated_one() {
        let generated = serde_json::to_value(super::openapi()).unwrap();
        let committed: serde_json::Value =
            serde_json::from_str(include_str!("../openapi.json")).unwrap();
        assert!(
            generated == committed,
            "crates/api-http/openapi.json is stale: run `cargo run -p server -- openapi > crates/api-http/openapi.json`"
        );
    }

    #[test]
    fn every_operation_documents_its_responses_and_every_schema_an_example() {
        let document = serde_json::to_value(super::openapi()).unwrap();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let responses = operation["responses"].as_object().unwrap();
                assert!(
                    responses.keys().any(|status| status.starts_with('2')),
                    "{method} {path}"
                );
                assert!(operation["tags"].is_array(), "{method} {path}");
            }
        }
        let schemas = document["components"]["schemas"].as_object().unwrap();
        for name in [
            "UserResponse",
            "SignedInResponse",
            "TokenPairResponse",
            "ProblemDetails",
            "UserListResponse",
            "SessionResponse",
            "AuditEventResponse",
            "SignUpRequest",
            "LoginRequest",
            "RefreshRequest",
        ] {
            assert!(
                schemas[name]["example"].is_object(),
                "{name} has an example"
            );
        }
    }
}
