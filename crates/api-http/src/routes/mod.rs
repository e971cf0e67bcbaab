//! The endpoints, one module per area. Each module holds its DTOs, its handlers with their
//! `#[utoipa::path]` annotations, and the `OpenApiRouter` that registers them, so a route and
//! its entry in the OpenAPI document come from one place.

pub(crate) mod admin;
pub(crate) mod auth;
pub(crate) mod me;
pub(crate) mod meta;
pub(crate) mod outbox;
mod query;
pub(crate) mod recovery;

use crate::problem::Problem;
use domain::{Role, TokenPair, User, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A role, as sent over the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "user")]
pub(crate) enum RoleDto {
    /// Manages other users.
    Admin,
    /// Manages only their own account.
    User,
}

impl RoleDto {
    /// Reads the wire name (`admin`, `user`), exactly as serde does.
    pub(crate) fn from_wire(raw: &str) -> Option<Self> {
        match raw {
            "admin" => Some(Self::Admin),
            "user" => Some(Self::User),
            _ => None,
        }
    }
}

impl From<RoleDto> for Role {
    fn from(role: RoleDto) -> Self {
        match role {
            RoleDto::Admin => Self::Admin,
            RoleDto::User => Self::User,
        }
    }
}

impl From<Role> for RoleDto {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => Self::Admin,
            Role::User => Self::User,
        }
    }
}

/// A user account. The password hash never leaves the server.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0192f6c4-8a3e-7b1c-9d2e-3f4a5b6c7d8e",
    "email": "ada@example.com",
    "full_name": "Ada Lovelace",
    "role": "user",
    "is_active": true,
    "date_joined": "2026-11-26T12:00:00Z",
    "last_login": null
}))]
pub(crate) struct UserResponse {
    /// The user's id (UUID v7).
    pub id: Uuid,
    /// The normalised (trimmed, lower-cased) email.
    pub email: String,
    /// The display name.
    pub full_name: String,
    /// `admin` or `user`.
    pub role: RoleDto,
    /// Whether the account may sign in.
    pub is_active: bool,
    /// When the account was created (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub date_joined: OffsetDateTime,
    /// The last successful login, or null.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(required = true)]
    pub last_login: Option<OffsetDateTime>,
}

impl From<&User> for UserResponse {
    fn from(user: &User) -> Self {
        Self {
            id: user.id().as_uuid(),
            email: user.email().as_str().to_owned(),
            full_name: user.full_name().as_str().to_owned(),
            role: user.role().into(),
            is_active: user.is_active(),
            date_joined: user.date_joined(),
            last_login: user.last_login(),
        }
    }
}

/// A fresh pair of tokens.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"access": "eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.sig", "refresh": "3q2-7wQ8a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXy"}))]
pub(crate) struct TokenPairResponse {
    /// The access token (a JWT) for `Authorization: Bearer`; short-lived.
    pub access: String,
    /// The refresh token; single use: each refresh returns a new one.
    pub refresh: String,
}

impl From<&TokenPair> for TokenPairResponse {
    fn from(pair: &TokenPair) -> Self {
        Self {
            access: pair.access.expose().to_owned(),
            refresh: pair.refresh.expose().to_owned(),
        }
    }
}

/// Reads a user id from the path; anything that is not one names no user (404).
pub(crate) fn user_id(raw: &str) -> Result<UserId, Problem> {
    UserId::parse(raw).ok_or_else(|| Problem::not_found("No such user."))
}

/// The `utoipa` tag names.
pub(crate) mod tags {
    pub(crate) const AUTH: &str = "auth";
    pub(crate) const ME: &str = "me";
    pub(crate) const ADMIN: &str = "admin";
    pub(crate) const META: &str = "meta";
}
