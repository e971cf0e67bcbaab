//! `/api/admin/`: administrators list, view, update and (de)activate users, and read the
//! audit log. Who may do this is decided by the domain; handlers only translate.

use super::query::{
    RawAuditQuery, RawUserQuery, audit_query, cursor_token, ordering_to_wire, user_query,
};
use super::{RoleDto, UserResponse, tags, user_id};
use crate::extract::{AppJson, AppQuery, Authenticated, Client};
use crate::problem::{Problem, ProblemDetails};
use crate::state::AppState;
use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Uri, header};
use domain::{
    AuditAction, AuditEvent, FieldErrors, FullName, UpdateUserError, UserOrdering, UserUpdate,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// The names `?ordering=` takes, for the document (the parser in `query` reads the same).
enum OrderingDto {}

impl PartialSchema for OrderingDto {
    fn schema() -> RefOr<Schema> {
        filter_values(UserOrdering::ALL.map(ordering_to_wire))
    }
}

impl ToSchema for OrderingDto {}

/// The names `?action=` takes: every audit action.
enum AuditActionDto {}

impl PartialSchema for AuditActionDto {
    fn schema() -> RefOr<Schema> {
        filter_values(AuditAction::ALL.map(AuditAction::as_str))
    }
}

impl ToSchema for AuditActionDto {}

/// The values `?role=` takes.
enum RoleFilterDto {}

impl PartialSchema for RoleFilterDto {
    fn schema() -> RefOr<Schema> {
        filter_values(["admin", "user"])
    }
}

impl ToSchema for RoleFilterDto {}

/// The values `?is_active=` takes, as Django's `BooleanFilter` reads them.
enum BooleanFilterDto {}

impl PartialSchema for BooleanFilterDto {
    fn schema() -> RefOr<Schema> {
        filter_values(["true", "false", "True", "False", "1", "0"])
    }
}

impl ToSchema for BooleanFilterDto {}

/// A string filter taking one of `values`, or the empty string: no filter.
pub(crate) fn filter_values<const N: usize>(values: [&'static str; N]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(std::iter::once("").chain(values)))
        .into()
}

/// Filters, ordering and page of the user list. An empty value (`?role=`) is no filter.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UserListParams {
    /// 1-based page number (default 1). A malformed page, or one past the end, is a 404.
    #[param(pattern = r"^([1-9][0-9]*)?$")]
    page: Option<String>,
    /// Users per page, 1 to 100 (default 10).
    #[param(pattern = r"^([1-9][0-9]?|100)?$")]
    page_size: Option<String>,
    /// A case-insensitive substring of the email or the full name, without control
    /// characters.
    #[param(max_length = 254, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    search: Option<String>,
    /// `admin` or `user`.
    #[param(value_type = Option<RoleFilterDto>, inline)]
    role: Option<String>,
    /// `true` or `false`.
    #[param(value_type = Option<BooleanFilterDto>, inline)]
    is_active: Option<String>,
    /// `date_joined`, `-date_joined` (default), `email` or `-email`.
    #[param(value_type = Option<OrderingDto>, inline)]
    ordering: Option<String>,
    /// A `next_cursor` from a previous page: keyset paging, the same cost at any depth.
    cursor: Option<String>,
}

/// One page of users, in Django REST Framework's shape.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "count": 23, "next": "http://localhost:8000/api/admin/users/?page=2", "previous": null,
    "results": [{"id": "0192f6c4-8a3e-7b1c-9d2e-3f4a5b6c7d8e", "email": "ada@example.com", "full_name": "Ada Lovelace", "role": "user", "is_active": true, "date_joined": "2026-11-26T12:00:00Z", "last_login": null}],
    "next_cursor": "2d646174655f6a6f696e6564"
}))]
pub(crate) struct UserListResponse {
    /// How many users match the filters.
    count: u64,
    /// The absolute URL of the next page, or null.
    #[schema(required = true)]
    next: Option<String>,
    /// The absolute URL of the previous page, or null.
    #[schema(required = true)]
    previous: Option<String>,
    /// The users on this page.
    results: Vec<UserResponse>,
    /// Pass as `?cursor=` to get the next page by keyset; null on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// Fields an administrator may change. Omitted fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"role": "admin", "is_active": true}))]
pub(crate) struct AdminUpdateRequest {
    /// `admin` or `user`.
    role: Option<RoleDto>,
    /// Deactivation revokes every session of the user at once.
    is_active: Option<bool>,
    /// 1 to 150 characters, not all spaces, no control characters.
    #[schema(
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        max_length = 150
    )]
    full_name: Option<String>,
}

/// Filters and page of the audit log. An empty value (`?action=`) is no filter.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditListParams {
    /// 1-based page number (default 1). A malformed page, or one past the end, is a 404.
    #[param(pattern = r"^([1-9][0-9]*)?$")]
    page: Option<String>,
    /// Events per page, 1 to 100 (default 10).
    #[param(pattern = r"^([1-9][0-9]?|100)?$")]
    page_size: Option<String>,
    /// Only events by this user id.
    #[param(
        pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$"
    )]
    actor: Option<String>,
    /// Only events about this user id.
    #[param(
        pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$"
    )]
    target: Option<String>,
    /// Only this action, e.g. `login_failed`.
    #[param(value_type = Option<AuditActionDto>, inline)]
    action: Option<String>,
}

/// One audit event.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0192f6c4-8a3e-7b1c-9d2e-3f4a5b6c7d90", "at": "2026-11-26T12:00:00Z",
    "actor_id": "0192f6c4-8a3e-7b1c-9d2e-3f4a5b6c7d8e", "action": "admin_toggle_active",
    "target_id": "0192f6c4-8a3e-7b1c-9d2e-3f4a5b6c7d8f", "ip": "203.0.113.9", "details": {"is_active": "false"}
}))]
pub(crate) struct AuditEventResponse {
    /// The event's id.
    id: Uuid,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    /// Who did it, when known.
    #[schema(required = true)]
    actor_id: Option<Uuid>,
    /// What happened: `signup`, `login`, `login_failed`, `lockout`, `refresh_reuse`, `logout`,
    /// `logout_all`, `password_change`, `profile_update`, `session_revoke`,
    /// `admin_user_update`, `admin_toggle_active`, `admin_create`, `password_reset_request`,
    /// `password_reset`.
    action: String,
    /// Whose account it concerns.
    #[schema(required = true)]
    target_id: Option<Uuid>,
    /// The client's address.
    #[schema(required = true)]
    ip: Option<String>,
    /// Extra facts.
    #[schema(value_type = std::collections::HashMap<String, String>)]
    details: serde_json::Map<String, serde_json::Value>,
}

impl From<AuditEvent> for AuditEventResponse {
    fn from(event: AuditEvent) -> Self {
        Self {
            id: event.id.as_uuid(),
            at: event.at,
            actor_id: event.actor.map(|id| id.as_uuid()),
            action: event.action.as_str().to_owned(),
            target_id: event.target.map(|id| id.as_uuid()),
            ip: event.ip.map(|ip| ip.to_string()),
            details: event
                .details
                .into_iter()
                .map(|(key, value)| (key, serde_json::Value::String(value)))
                .collect(),
        }
    }
}

/// One page of audit events, newest first.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "count": 42, "next": "http://localhost:8000/api/admin/audit/?page=2", "previous": null,
    "results": [{"id": "0192f6c4-8a3e-7b1c-9d2e-3f4a5b6c7d90", "at": "2026-11-26T12:00:00Z", "actor_id": null, "action": "login_failed", "target_id": null, "ip": "203.0.113.9", "details": {"reason": "unknown_email"}}]
}))]
pub(crate) struct AuditListResponse {
    /// How many events match the filters.
    count: u64,
    /// The absolute URL of the next page, or null.
    #[schema(required = true)]
    next: Option<String>,
    /// The absolute URL of the previous page, or null.
    #[schema(required = true)]
    previous: Option<String>,
    /// The events.
    results: Vec<AuditEventResponse>,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(get_user, update_user))
        .routes(routes!(toggle_activation))
        .routes(routes!(list_audit))
}

/// The absolute URL of another page of the current listing, as DRF builds it: the same path
/// and filters, with `page` replaced (and dropped for page 1), `cursor` removed. The `Host`
/// header is safe to echo: the allowed-hosts layer has already vetted it.
pub(crate) fn page_url(state: &AppState, headers: &HeaderMap, uri: &Uri, page: u32) -> String {
    let scheme = if state.http.trusted_proxies.is_empty() {
        "http"
    } else {
        match headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
        {
            Some("https") => "https",
            _ => "http",
        }
    };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("localhost");
    let mut pairs: Vec<String> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            !pair.is_empty() && key != "page" && key != "cursor"
        })
        .map(str::to_owned)
        .collect();
    if page > 1 {
        pairs.push(format!("page={page}"));
    }
    let query = if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    };
    format!("{scheme}://{host}{}{query}", uri.path())
}

/// List users: filtered, ordered, paged by number or by cursor.
#[utoipa::path(get, path = "/api/admin/users/", tag = tags::ADMIN, security(("bearer" = [])), params(UserListParams),
    responses(
        (status = 200, description = "One page of users.", body = UserListResponse),
        (status = 400, description = "A malformed filter, ordering or page size.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid, expired or revoked access token.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "A malformed page or cursor, or a page past the end.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn list_users(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    AppQuery(params): AppQuery<UserListParams>,
) -> Result<Json<UserListResponse>, Problem> {
    let query = user_query(RawUserQuery {
        page: params.page.as_deref(),
        page_size: params.page_size.as_deref(),
        search: params.search.as_deref(),
        role: params.role.as_deref(),
        is_active: params.is_active.as_deref(),
        ordering: params.ordering.as_deref(),
        cursor: params.cursor.as_deref(),
    })?;
    let page = state.admin.list_users(&principal, &query).await?;
    let number = page.number.unwrap_or(1);
    let by_number = page.number.is_some();
    Ok(Json(UserListResponse {
        count: page.total,
        next: (by_number && page.has_next).then(|| page_url(&state, &headers, &uri, number + 1)),
        previous: page
            .has_previous
            .then(|| page_url(&state, &headers, &uri, number - 1)),
        results: page.users.iter().map(UserResponse::from).collect(),
        next_cursor: page.next_cursor.as_ref().map(cursor_token),
    }))
}

/// One user.
#[utoipa::path(get, path = "/api/admin/users/{id}/", tag = tags::ADMIN, security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The user.", body = UserResponse),
        (status = 401, description = "Missing, invalid, expired or revoked access token.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No user has this id.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn get_user(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<UserResponse>, Problem> {
    let user = state.admin.get_user(&principal, user_id(&id)?).await?;
    Ok(Json(UserResponse::from(&user)))
}

/// Change a user's role, activation or name.
#[utoipa::path(patch, path = "/api/admin/users/{id}/", tag = tags::ADMIN, security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user's id.")), request_body = AdminUpdateRequest,
    responses(
        (status = 200, description = "The updated user.", body = UserResponse),
        (status = 400, description = "Invalid fields.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid, expired or revoked access token.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No user has this id.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "It would demote or deactivate the caller's own account (`/problems/own-account`), or other changes to the account kept landing meanwhile (`/problems/changed-meanwhile`).", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON, or carries a Content-Encoding.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn update_user(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
    AppJson(body): AppJson<AdminUpdateRequest>,
) -> Result<Json<UserResponse>, Problem> {
    let id = user_id(&id)?;
    // Who may update users is the domain's rule; it is asked before the body is validated, so
    // that a caller who may not gets 403 whatever the body holds, as on every admin route.
    if !principal.can_administer() {
        return Err(UpdateUserError::Forbidden.into());
    }
    let full_name = match body.full_name.as_deref().map(FullName::parse) {
        None => None,
        Some(Ok(name)) => Some(name),
        Some(Err(error)) => {
            return Err(Problem::validation(&FieldErrors::single(
                "full_name",
                error.to_string(),
            )));
        }
    };
    let update = UserUpdate {
        role: body.role.map(Into::into),
        is_active: body.is_active,
        full_name,
    };
    let user = state
        .admin
        .update_user(&principal, id, update, &client)
        .await?;
    Ok(Json(UserResponse::from(&user)))
}

/// Flip a user's activation. Deactivation revokes every session of the user at once.
#[utoipa::path(patch, path = "/api/admin/users/{id}/toggle/", tag = tags::ADMIN, security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The user, with `is_active` flipped.", body = UserResponse),
        (status = 401, description = "Missing, invalid, expired or revoked access token.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No user has this id.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The id is the caller's own (`/problems/own-account`), or the account changed after it was read, say by another toggle, and nothing was done (`/problems/changed-meanwhile`).", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn toggle_activation(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Json<UserResponse>, Problem> {
    let user = state
        .admin
        .toggle_activation(&principal, user_id(&id)?, &client)
        .await?;
    Ok(Json(UserResponse::from(&user)))
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/admin/audit/", tag = tags::ADMIN, security(("bearer" = [])), params(AuditListParams),
    responses(
        (status = 200, description = "One page of audit events.", body = AuditListResponse),
        (status = 400, description = "A malformed filter or page size.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid, expired or revoked access token.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "A malformed page, or a page past the end.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn list_audit(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    AppQuery(params): AppQuery<AuditListParams>,
) -> Result<Json<AuditListResponse>, Problem> {
    let query = audit_query(RawAuditQuery {
        page: params.page.as_deref(),
        page_size: params.page_size.as_deref(),
        actor: params.actor.as_deref(),
        target: params.target.as_deref(),
        action: params.action.as_deref(),
    })?;
    let page = state.admin.list_audit(&principal, &query).await?;
    Ok(Json(AuditListResponse {
        count: page.total,
        next: page
            .has_next
            .then(|| page_url(&state, &headers, &uri, page.number + 1)),
        previous: page
            .has_previous
            .then(|| page_url(&state, &headers, &uri, page.number - 1)),
        results: page
            .events
            .into_iter()
            .map(AuditEventResponse::from)
            .collect(),
    }))
}
