//! Extractors whose rejections are problems: JSON bodies, query strings, the authenticated
//! principal and the client's address.

use crate::problem::Problem;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use domain::{ClientInfo, Principal};
use ipnet::IpNet;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

/// Longest `User-Agent` kept with a session: enough to tell devices apart, and bounded so a
/// client cannot make us store megabytes per login.
const MAX_USER_AGENT_CHARS: usize = 256;

/// `axum::Json`, with rejections as problems: 415 for another content type, 413 for a body
/// over the limit, 400 (with the offending field when serde names one) otherwise.
pub(crate) struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers();
        if !is_json(headers) {
            return Err(Problem::from_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        // A compressed body would be read as garbage JSON; say what is wrong instead.
        let encoded = headers
            .get_all(header::CONTENT_ENCODING)
            .iter()
            .any(|coding| !coding.as_bytes().eq_ignore_ascii_case(b"identity"));
        if encoded {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-content-encoding",
                "Unsupported content encoding",
                "Request bodies are accepted uncompressed only (no Content-Encoding).",
            ));
        }
        let body =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => {
                        Problem::from_status(StatusCode::PAYLOAD_TOO_LARGE)
                    }
                    status => Problem::new(
                        status,
                        "invalid-body",
                        "Invalid body",
                        rejection.body_text(),
                    ),
                })?;
        // serde reads a struct from an array as well (`[null, null]` would be an empty update);
        // every body of this API is an object.
        if body.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-json",
                "Invalid JSON body",
                "The body must be a JSON object.",
            ));
        }
        match axum::Json::<T>::from_bytes(&body) {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_problem(&rejection)),
        }
    }
}

/// `application/json` or `application/<anything>+json`, as `axum::Json` accepts.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

/// serde words some errors with our Rust type names (`expected struct SignUpRequest`), which
/// mean nothing to a client.
fn without_type_names(message: &str) -> String {
    let mut message = message.to_owned();
    for (named, plain) in [
        ("expected struct ", "expected an object"),
        ("expected enum ", "expected one of the allowed values"),
    ] {
        while let Some(start) = message.find(named) {
            let name = start + named.len();
            let end = message[name..]
                .find(|c: char| !c.is_alphanumeric() && c != '_')
                .map_or(message.len(), |length| name + length);
            message.replace_range(start..end, plain);
        }
    }
    message
}

fn json_problem(rejection: &JsonRejection) -> Problem {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            Problem::from_status(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        }
        JsonRejection::JsonDataError(error) => {
            let message = without_type_names(&error.body_text());
            if let Some(field) = quoted_field(&message, "missing field `") {
                Problem::field(field, "This field is required.")
            } else {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid-json",
                    "Invalid JSON body",
                    message,
                )
            }
        }
        JsonRejection::JsonSyntaxError(error) => Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-json",
            "Invalid JSON body",
            error.body_text(),
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::from_status(StatusCode::PAYLOAD_TOO_LARGE)
        }
        other => Problem::new(
            other.status(),
            "invalid-body",
            "Invalid body",
            other.body_text(),
        ),
    }
}

/// Pulls `x` out of serde's "missing field `x`" message, so the client learns which field.
fn quoted_field<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let start = message.find(prefix)? + prefix.len();
    let rest = &message[start..];
    Some(&rest[..rest.find('`')?])
}

/// `axum::extract::Query`, with a malformed query string as a 400 problem.
pub(crate) struct AppQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_problem(&rejection)),
        }
    }
}

fn query_problem(rejection: &QueryRejection) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid-query",
        "Invalid query string",
        rejection.body_text(),
    )
}

/// The caller, authenticated from `Authorization: Bearer <access token>`: a verified token, a
/// live session and an active user. Anything less is a 401 with `WWW-Authenticate: Bearer`.
pub(crate) struct Authenticated(pub Principal);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(|| {
            Problem::unauthenticated(
                "not-authenticated",
                "Authentication credentials were not provided.",
            )
        })?;
        let principal = state.auth.authenticate(token).await?;
        Ok(Self(principal))
    }
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Where the request came from: its `User-Agent` and address (see [`client_ip`]).
pub(crate) struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| agent.chars().take(MAX_USER_AGENT_CHARS).collect());
        Ok(Self(ClientInfo {
            user_agent,
            ip: client_ip(parts, &state.http.trusted_proxies),
        }))
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy, in which case the
/// right-most address of `X-Forwarded-For` that is not itself a trusted proxy. Believing the
/// header from anyone else would let any client pick the address it is rate-limited by.
pub(crate) fn client_ip(parts: &Parts, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())?;
    let is_trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !is_trusted(ip))
            .unwrap_or(peer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    proptest::proptest! {
        /// The problem mapper's message rewriting takes any text serde could produce.
        #[test]
        fn rewording_any_message_never_panics(message in "\\PC{0,200}", name in "\\PC{0,20}") {
            let _ = without_type_names(&message);
            let _ = without_type_names(&format!("{message} expected struct {name}"));
            let _ = quoted_field(&message, "missing field `");
        }
    }

    #[test]
    fn errors_name_json_shapes_not_rust_types() {
        assert_eq!(
            without_type_names("invalid type: sequence, expected struct PatchMeRequest at line 1"),
            "invalid type: sequence, expected an object at line 1"
        );
        assert_eq!(
            without_type_names("role: expected enum RoleName"),
            "role: expected one of the allowed values"
        );
        assert_eq!(without_type_names("expected a string"), "expected a string");
    }

    fn parts(peer: &str, forwarded: Option<&str>) -> Parts {
        let mut builder = Request::builder().uri("/");
        if let Some(forwarded) = forwarded {
            builder = builder.header("x-forwarded-for", forwarded);
        }
        let (mut parts, ()) = builder.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        parts
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = client_ip(&parts("198.51.100.7:5000", Some("1.2.3.4")), &trusted);
        assert_eq!(ip, Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn forwarded_for_is_believed_from_trusted_proxies_right_to_left() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = client_ip(
            &parts("10.0.0.2:5000", Some("6.6.6.6, 203.0.113.5, 10.0.0.9")),
            &trusted,
        );
        assert_eq!(ip, Some("203.0.113.5".parse().unwrap()));
        let ip = client_ip(&parts("10.0.0.2:5000", None), &trusted);
        assert_eq!(ip, Some("10.0.0.2".parse().unwrap()));
    }

    #[test]
    fn serde_missing_field_messages_name_the_field() {
        assert_eq!(
            quoted_field(
                "Failed to deserialize: missing field `email` at line 1",
                "missing field `"
            ),
            Some("email")
        );
        assert_eq!(quoted_field("something else", "missing field `"), None);
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        let (parts, ()) = Request::builder()
            .header("authorization", "bearer abc.def")
            .body(())
            .unwrap()
            .into_parts();
        assert_eq!(bearer_token(&parts), Some("abc.def"));
        let (parts, ()) = Request::builder()
            .header("authorization", "Basic abc")
            .body(())
            .unwrap()
            .into_parts();
        assert_eq!(bearer_token(&parts), None);
    }
}
