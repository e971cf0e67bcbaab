//! Sessions (one per signed-in device), the claims of access tokens, and token pairs.

use crate::{AccessToken, RefreshSecret, Role, SecretHash, SessionId, UserId};
use std::net::IpAddr;
use time::OffsetDateTime;
use uuid::Uuid;

/// Where a request came from, as far as the transport can tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The `User-Agent` the client sent, if any (truncated by the adapter).
    pub user_agent: Option<String>,
    /// The client's address.
    pub ip: Option<IpAddr>,
}

/// A refresh-token session. Its refresh secret rotates on every use; the session id stays, and
/// access tokens name it, so revoking the session stops them at once.
///
/// ```
/// use domain::{ClientInfo, SecretHash, Session, SessionId, UserId};
/// use time::{Duration, OffsetDateTime};
///
/// let now = OffsetDateTime::now_utc();
/// let session = Session::start(UserId::new(), SecretHash::new("h"), now, Duration::days(7), ClientInfo::default());
/// assert!(session.is_live(now));
/// assert!(!session.is_live(now + Duration::days(8)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session's identifier (the `sid` claim of its access tokens).
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// The hash of the current refresh secret.
    pub secret_hash: SecretHash,
    /// When the session began (sign-up or login).
    pub created_at: OffsetDateTime,
    /// When its refresh secret was last used (or issued).
    pub last_used_at: OffsetDateTime,
    /// When its current refresh secret stops working.
    pub expires_at: OffsetDateTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// The device that opened it.
    pub client: ClientInfo,
}

impl Session {
    /// A new session for `user_id`, whose first secret hashes to `secret_hash`.
    pub fn start(
        user_id: UserId,
        secret_hash: SecretHash,
        now: OffsetDateTime,
        lifetime: time::Duration,
        client: ClientInfo,
    ) -> Self {
        Self {
            id: SessionId::new(),
            user_id,
            secret_hash,
            created_at: now,
            last_used_at: now,
            expires_at: now + lifetime,
            revoked_at: None,
            client,
        }
    }

    /// Neither revoked nor expired at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// What an access token asserts. The adapter adds issuer, audience and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// `sub`: the user.
    pub user_id: UserId,
    /// `sid`: the session the token belongs to.
    pub session_id: SessionId,
    /// `role`, for clients' convenience; the server re-reads the live role on every request.
    pub role: Role,
    /// `iat`.
    pub issued_at: OffsetDateTime,
    /// `exp`.
    pub expires_at: OffsetDateTime,
    /// `jti`: unique per token.
    pub token_id: Uuid,
}

/// An access token and the refresh secret that renews it.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// The short-lived bearer token.
    pub access: AccessToken,
    /// The session's new refresh secret.
    pub refresh: RefreshSecret,
    /// When `access` expires.
    pub access_expires_at: OffsetDateTime,
    /// When `refresh` expires.
    pub refresh_expires_at: OffsetDateTime,
}

/// Why an access token was refused. All of these mean "not authenticated".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token of the expected shape (bad base64, bad JSON, missing claims).
    #[error("the token is malformed")]
    Malformed,
    /// The signature does not match.
    #[error("the token's signature is invalid")]
    InvalidSignature,
    /// Signed with another algorithm than the one pinned for its key (including `none`).
    #[error("the token's algorithm is not accepted")]
    WrongAlgorithm,
    /// Its `kid` names no known key.
    #[error("the token names an unknown key")]
    UnknownKey,
    /// Its `typ` is not that of an access token.
    #[error("the token is not an access token")]
    WrongType,
    /// Another issuer made it.
    #[error("the token's issuer is not accepted")]
    WrongIssuer,
    /// It was made for another audience.
    #[error("the token's audience is not accepted")]
    WrongAudience,
    /// Past its `exp`.
    #[error("the token has expired")]
    Expired,
    /// Before its `nbf`, or issued (`iat`) in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// It claims a longer life (`exp` − `iat`) than the verifier accepts.
    #[error("the token's lifetime is longer than accepted")]
    TooLongLived,
}
