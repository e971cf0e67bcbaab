//! Everything around the routes: trailing-slash normalisation, request ids, tracing, timeout,
//! body limit, CORS, security headers, `ALLOWED_HOSTS`, problem bodies for bare error
//! statuses, Swagger UI, and the SPA. The per-address rate limit is not here: it is a route
//! layer on the routes it guards (`routes::auth`).

use crate::problem::{PROBLEM_JSON, Problem};
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::Layer as _;
use tower::ServiceExt as _;
use tower::util::MapRequestLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::Level;
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa_swagger_ui::{Config, SwaggerUi};

/// The largest request body accepted: every body of this API is a few hundred bytes.
const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// The SPA's policy: only our own scripts, styles, images and API; no framing, no plugins.
const SPA_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
/// Swagger UI sets inline styles from its scripts.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";
/// JSON responses need nothing at all.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Adds Swagger UI at `/api/docs/` and the document at `/api/openapi.json`, from the binary.
pub(crate) fn with_docs(router: Router<AppState>, document: OpenApiDocument) -> Router<AppState> {
    // Without `validator_url("none")` Swagger UI sends the document to an outside validator.
    let config = Config::new(["/api/openapi.json"]).validator_url("none");
    router.merge(
        SwaggerUi::new("/api/docs")
            .url("/api/openapi.json", document)
            .config(config),
    )
}

/// Applies every layer and the SPA fallback, and returns the finished service.
pub(crate) fn wrap(
    router: Router<AppState>,
    state: AppState,
) -> impl tower::Service<
    Request,
    Response = Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    let http = state.http.clone();
    let mut router = router
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn(problem_bodies))
        .layer(middleware::from_fn_with_state(state.clone(), allowed_hosts))
        .layer(middleware::from_fn(security_headers));
    if !http.cors_allowed_origins.is_empty() {
        let origins: Vec<HeaderValue> = http
            .cors_allowed_origins
            .iter()
            .filter_map(|origin| HeaderValue::from_str(origin).ok())
            .collect();
        // Tokens travel in the Authorization header, never in cookies: no credentials mode.
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                .expose_headers([header::RETRY_AFTER, X_REQUEST_ID.clone()])
                .max_age(std::time::Duration::from_mins(10)),
        );
    }
    let router = router
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, http.request_timeout))
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let request_id = request
                        .headers()
                        .get(&X_REQUEST_ID)
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or_default();
                    // The path only: headers (Authorization) and bodies (passwords) are never logged.
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %request_id)
                })
                .on_response(tower_http::trace::DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(X_REQUEST_ID.clone(), MakeRequestUuid))
        .with_state(state);
    MapRequestLayer::new(add_trailing_slash).layer(router)
}

/// `/api/users/me` is served as `/api/users/me/`: clients should not have to follow a
/// redirect, least of all for a POST. The documents and Swagger UI keep their own paths.
fn add_trailing_slash(mut request: Request) -> Request {
    let path = request.uri().path();
    if path.starts_with("/api/")
        && !path.ends_with('/')
        && path != "/api/openapi.json"
        && !path.starts_with("/api/docs")
    {
        let rebuilt = match request.uri().query() {
            Some(query) => format!("{path}/?{query}"),
            None => format!("{path}/"),
        };
        if let Ok(uri) = rebuilt.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// Unknown `/api/` paths are 404 problems; anything else is the SPA (with `index.html` for
/// client-side routes) when it is built, else a 404.
async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        return Problem::from_status(StatusCode::NOT_FOUND).into_response();
    }
    let Some(dist) = state
        .http
        .web_dist
        .as_ref()
        .filter(|dist| dist.join("index.html").is_file())
    else {
        return Problem::not_found("The web app is not built; run `npm run build` in web/.")
            .into_response();
    };
    // Vite names built assets by content hash, so they never change; index.html must always
    // be revalidated, or a deploy would leave clients on old asset names.
    let cache = if request.uri().path().starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let spa = ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html")));
    let mut response = match spa.oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(infallible) => match infallible {},
    };
    if response.status().is_success() {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    }
    response
}

/// Rejects a `Host` outside `ALLOWED_HOSTS`, malformed or sent twice with a 400, as Django and
/// RFC 9112 do: links the API builds (pagination) echo the host, so it must be one we own.
async fn allowed_hosts(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let single = request
        .headers()
        .get_all(header::HOST)
        .iter()
        .nth(1)
        .is_none();
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| {
            request
                .uri()
                .authority()
                .map(axum::http::uri::Authority::as_str)
        });
    match host {
        Some(host) if single && state.http.allowed_hosts.allows(host) => next.run(request).await,
        _ => Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-host",
            "Invalid host",
            "The Host header is missing, repeated, malformed or names a host this service does not serve.",
        )
        .into_response(),
    }
}

/// Gives bare error statuses from the framework (405, 408, 413, 415…) a problem body, so every
/// `/api/` error has the one documented shape.
async fn problem_bodies(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes() == PROBLEM_JSON.as_bytes());
    if is_api && (status.is_client_error() || status.is_server_error()) && !is_problem {
        let mut replacement = Problem::from_status(status).into_response();
        if let Some(allow) = response.headers().get(header::ALLOW) {
            replacement
                .headers_mut()
                .insert(header::ALLOW, allow.clone());
        }
        return replacement;
    }
    response
}

async fn security_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let csp = if path.starts_with("/api/docs") {
        DOCS_CSP
    } else if path.starts_with("/api/") || path.starts_with("/.well-known/") {
        API_CSP
    } else {
        SPA_CSP
    };
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if path.starts_with("/api/") && !path.starts_with("/api/docs") {
        // Responses carry tokens and personal data: no shared or browser cache may keep them.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_gain_a_trailing_slash_and_keep_their_query() {
        let request = Request::builder()
            .uri("/api/admin/users?page=2")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            add_trailing_slash(request).uri(),
            "/api/admin/users/?page=2"
        );
        for untouched in [
            "/api/users/me/",
            "/api/openapi.json",
            "/api/docs",
            "/profile",
        ] {
            let request = Request::builder()
                .uri(untouched)
                .body(Body::empty())
                .unwrap();
            assert_eq!(add_trailing_slash(request).uri(), untouched);
        }
    }
}
