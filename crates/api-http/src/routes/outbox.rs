//! `/api/admin/mail/`: the outbox as administrators see it, so that mail that keeps failing
//! is seen, not lost.

use super::admin::{filter_values, page_url};
use super::query::{RawOutboxQuery, outbox_query};
use super::tags;
use crate::extract::{AppQuery, Authenticated};
use crate::problem::{Problem, ProblemDetails};
use crate::state::AppState;
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use domain::{MailStatus, OutboxEntry};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// The values `?status=` takes.
enum MailStatusDto {}

impl PartialSchema for MailStatusDto {
    fn schema() -> RefOr<Schema> {
        filter_values(MailStatus::ALL.map(MailStatus::as_str))
    }
}

impl ToSchema for MailStatusDto {}

/// Filter and page of the outbox. An empty value (`?status=`) is no filter.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OutboxListParams {
    /// 1-based page number (default 1). A malformed page, or one past the end, is a 404.
    #[param(pattern = r"^([1-9][0-9]*)?$")]
    page: Option<String>,
    /// Messages per page, 1 to 100 (default 10).
    #[param(pattern = r"^([1-9][0-9]?|100)?$")]
    page_size: Option<String>,
    /// Only messages that are `pending`, `sent` or `failed`.
    #[param(value_type = Option<MailStatusDto>, inline)]
    status: Option<String>,
}

/// One message in the outbox. Its link is never shown.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0192f6c4-8a3e-7b1c-9d2e-3f4a5b6c7d91", "to": "ada@example.com", "kind": "password_reset",
    "status": "failed", "attempts": 10, "created_at": "2026-11-26T12:00:00Z",
    "next_attempt_at": "2026-11-26T16:30:00Z", "finished_at": "2026-11-26T16:30:02Z",
    "last_error": "smtp.example.com:587 (starttls): 550 5.1.1 no such mailbox"
}))]
pub(crate) struct OutboxEntryResponse {
    /// The message's id.
    id: Uuid,
    /// The address it goes to.
    to: String,
    /// What it says: `password_reset`.
    kind: String,
    /// `pending` (due, or waiting for its next attempt), `sent`, or `failed` (refused for
    /// good, or out of attempts).
    status: String,
    /// Delivery attempts so far.
    attempts: u32,
    /// When it was queued.
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    /// When it is next due, while pending.
    #[serde(with = "time::serde::rfc3339")]
    next_attempt_at: OffsetDateTime,
    /// When it was delivered or given up on.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(required = true)]
    finished_at: Option<OffsetDateTime>,
    /// Why the last attempt failed, if it did.
    #[schema(required = true)]
    last_error: Option<String>,
}

impl From<OutboxEntry> for OutboxEntryResponse {
    fn from(entry: OutboxEntry) -> Self {
        Self {
            id: entry.id.as_uuid(),
            to: entry.to.as_str().to_owned(),
            kind: entry.kind.as_str().to_owned(),
            status: entry.status.as_str().to_owned(),
            attempts: entry.attempts,
            created_at: entry.created_at,
            next_attempt_at: entry.next_attempt_at,
            finished_at: entry.finished_at,
            last_error: entry.last_error,
        }
    }
}

/// One page of the outbox, newest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct OutboxListResponse {
    /// How many messages match the filter.
    count: u64,
    /// The absolute URL of the next page, or null.
    #[schema(required = true)]
    next: Option<String>,
    /// The absolute URL of the previous page, or null.
    #[schema(required = true)]
    previous: Option<String>,
    /// The messages.
    results: Vec<OutboxEntryResponse>,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_mail))
}

/// The outbox, newest first: every message the service queued, where it stands, and why its
/// last attempt failed.
#[utoipa::path(get, path = "/api/admin/mail/", tag = tags::ADMIN, security(("bearer" = [])), params(OutboxListParams),
    responses(
        (status = 200, description = "One page of messages.", body = OutboxListResponse),
        (status = 400, description = "A malformed filter or page size.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid, expired or revoked access token.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "A malformed page, or a page past the end.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn list_mail(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    AppQuery(params): AppQuery<OutboxListParams>,
) -> Result<Json<OutboxListResponse>, Problem> {
    let query = outbox_query(RawOutboxQuery {
        page: params.page.as_deref(),
        page_size: params.page_size.as_deref(),
        status: params.status.as_deref(),
    })?;
    let page = state.mail.list(&principal, &query).await?;
    let link = |number: u32| page_url(&state, &headers, &uri, number);
    Ok(Json(OutboxListResponse {
        count: page.total,
        next: page.has_next.then(|| link(page.number + 1)),
        previous: page.has_previous.then(|| link(page.number - 1)),
        results: page
            .entries
            .into_iter()
            .map(OutboxEntryResponse::from)
            .collect(),
    }))
}
