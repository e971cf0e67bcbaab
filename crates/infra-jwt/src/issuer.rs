//! [`JwtTokenIssuer`]: the domain's [`TokenIssuer`] as JWT access tokens (RFC 9068 style:
//! `typ: at+jwt`, a `kid` in every header), signed with one key and verified with any key
//! it lists.
//!
//! Verification never lets the token choose how it is checked: the header's `kid` selects a
//! configured key, and the token's `alg` must be the algorithm pinned for that key. That rules
//! out `alg: none` and the classic key confusion (an HS256 token "signed" with a public key).

use crate::keys::{JwtKeyError, SigningMaterial, VerificationKey, algorithm_name, non_empty};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::{
    AccessClaims, AccessToken, Clock, Role, SessionId, TokenError, TokenIssuer, UnexpectedError,
    UserId,
};
use jsonwebtoken::{EncodingKey, Header};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// The `typ` header of every access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// How far past `exp` (or before `nbf`) a token is still accepted, for clock skew between the
/// instances that issue and verify it.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The longest life (`exp` − `iat`) of a token accepted unless
/// [`with_max_lifetime`](JwtTokenIssuer::with_max_lifetime) says otherwise. A token signed with
/// one of our keys that claims a longer life was not issued under our settings (a leaked key,
/// or a setting since shortened), and refusing it bounds what such a token is worth.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_hours(1);

/// Longer tokens are refused before any parsing: ours are under 500 bytes, so this is a wide
/// margin, and it bounds the work an attacker can make a single verification do.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Issues and verifies access tokens as JWTs.
///
/// HS256 with a shared secret by default ([`hs256`](Self::hs256)); `EdDSA` (Ed25519) with a
/// private key ([`ed25519_from_pem`](Self::ed25519_from_pem)), whose public half other
/// services can fetch from [`jwks`](Self::jwks). Key rotation: sign with the new key and list
/// the old one with [`with_verification_key`](Self::with_verification_key) until the last
/// token it signed has expired, then remove it.
///
/// The issuer and audience come from configuration; the lifetime of each token from the
/// domain ([`AccessClaims::expires_at`]); the time a token is checked at from the domain's
/// [`Clock`].
///
/// ```
/// use domain::{AccessClaims, Clock, Role, SessionId, TokenIssuer, UserId};
/// use infra_jwt::JwtTokenIssuer;
/// use std::sync::Arc;
/// use time::{Duration, OffsetDateTime};
///
/// struct SystemClock;
///
/// impl Clock for SystemClock {
///     fn now(&self) -> OffsetDateTime {
///         OffsetDateTime::now_utc()
///     }
/// }
///
/// let issuer = JwtTokenIssuer::hs256(
///     b"a secret of at least thirty-two random bytes",
///     "https://auth.example.com",
///     "example-api",
///     Arc::new(SystemClock),
/// )?;
/// let now = OffsetDateTime::now_utc().replace_nanosecond(0)?;
/// let claims = AccessClaims {
///     user_id: UserId::new(),
///     session_id: SessionId::new(),
///     role: Role::User,
///     issued_at: now,
///     expires_at: now + Duration::minutes(15),
///     token_id: uuid::Uuid::new_v4(),
/// };
/// let token = issuer.issue(&claims)?;
/// assert_eq!(issuer.verify(token.expose()), Ok(claims));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct JwtTokenIssuer {
    signing_key: EncodingKey,
    /// The verifying half of `signing_key`: its `kid` and algorithm.
    signing: VerificationKey,
    /// Every key a token may name, the signing key's own included, by `kid`; each pinned to
    /// its algorithm. Ordered so the JWKS is stable.
    keys: BTreeMap<String, VerificationKey>,
    issuer: String,
    audience: String,
    leeway: Duration,
    max_lifetime: Duration,
    clock: Arc<dyn Clock>,
}

impl JwtTokenIssuer {
    /// Signs with HS256 and `secret`, which every verifier must share; checks tokens at the
    /// time `clock` tells.
    ///
    /// # Errors
    /// [`JwtKeyError::SecretTooShort`] when `secret` is shorter than
    /// [`MIN_HS256_SECRET_LEN`](crate::MIN_HS256_SECRET_LEN) (32) bytes;
    /// [`JwtKeyError::Empty`] when `issuer` or `audience` is empty.
    pub fn hs256(
        secret: &[u8],
        issuer: impl Into<String>,
        audience: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, JwtKeyError> {
        Self::new(SigningMaterial::hs256(secret)?, issuer, audience, clock)
    }

    /// Signs with `EdDSA` and the Ed25519 private key in `private_key_pem` (PKCS#8, `BEGIN
    /// PRIVATE KEY`, as written by `openssl genpkey -algorithm ed25519`); checks tokens at the
    /// time `clock` tells. Verifiers need only the public key, published by
    /// [`jwks`](Self::jwks).
    ///
    /// # Errors
    /// [`JwtKeyError::InvalidKey`] when the PEM is not such a key; [`JwtKeyError::Empty`] when
    /// `issuer` or `audience` is empty.
    pub fn ed25519_from_pem(
        private_key_pem: &str,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, JwtKeyError> {
        Self::new(
            SigningMaterial::ed25519_from_pem(private_key_pem)?,
            issuer,
            audience,
            clock,
        )
    }

    fn new(
        material: SigningMaterial,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, JwtKeyError> {
        let mut issuer = Self {
            signing_key: material.encoding,
            signing: material.verification.clone(),
            keys: BTreeMap::new(),
            issuer: non_empty(issuer.into(), "issuer")?,
            audience: non_empty(audience.into(), "audience")?,
            leeway: DEFAULT_LEEWAY,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            clock,
        };
        issuer.insert(material.verification)?;
        Ok(issuer)
    }

    /// Names the signing key `kid` instead of the derived name (for operators who label keys
    /// by date, say).
    ///
    /// # Errors
    /// [`JwtKeyError::Empty`] when `kid` is empty; [`JwtKeyError::DuplicateKeyId`] when a
    /// listed verification key already has that name.
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Result<Self, JwtKeyError> {
        let renamed = self.signing.clone().with_key_id(kid)?;
        self.keys.remove(&self.signing.kid);
        self.insert(renamed.clone())?;
        self.signing = renamed;
        Ok(self)
    }

    /// Also accepts tokens signed with `key` (a retired signing key, typically), under its
    /// own `kid` and algorithm. Listing the same key twice is harmless.
    ///
    /// # Errors
    /// [`JwtKeyError::DuplicateKeyId`] when a different key already has the same `kid`.
    pub fn with_verification_key(mut self, key: VerificationKey) -> Result<Self, JwtKeyError> {
        self.insert(key)?;
        Ok(self)
    }

    /// Replaces the clock-skew allowance of [`DEFAULT_LEEWAY`] (whole seconds; a fraction is
    /// dropped).
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Refuses tokens that claim to live (`exp` − `iat`) longer than `max_lifetime` instead of
    /// [`DEFAULT_MAX_LIFETIME`]; give it the lifetime the tokens are issued with. Tokens
    /// issued under a longer setting are refused once it is shortened.
    #[must_use]
    pub fn with_max_lifetime(mut self, max_lifetime: Duration) -> Self {
        self.max_lifetime = max_lifetime;
        self
    }

    /// The `kid` of the signing key, as written in every token's header.
    pub fn key_id(&self) -> &str {
        &self.signing.kid
    }

    /// The signing algorithm: `"HS256"` or `"EdDSA"`.
    pub fn algorithm(&self) -> &'static str {
        self.signing.algorithm()
    }

    /// The JSON Web Key Set to serve at `/.well-known/jwks.json`: every Ed25519 key, the
    /// signing key first, as `{"keys": [{"kty": "OKP", "crv": "Ed25519", "x", "kid", "alg":
    /// "EdDSA", "use": "sig"}]}`. `None` when there is no public key to publish (HS256
    /// only); HMAC secrets are never part of it.
    pub fn jwks(&self) -> Option<serde_json::Value> {
        let signing = self.signing.jwk();
        let retired = self
            .keys
            .iter()
            .filter(|(kid, _)| **kid != self.signing.kid)
            .filter_map(|(_, key)| key.jwk());
        let keys: Vec<_> = signing.into_iter().chain(retired).collect();
        if keys.is_empty() {
            None
        } else {
            Some(serde_json::json!({ "keys": keys }))
        }
    }

    fn insert(&mut self, key: VerificationKey) -> Result<(), JwtKeyError> {
        if let Some(existing) = self.keys.get(&key.kid) {
            return if existing.same_key_as(&key) {
                Ok(())
            } else {
                Err(JwtKeyError::DuplicateKeyId(key.kid))
            };
        }
        self.keys.insert(key.kid.clone(), key);
        Ok(())
    }

    /// Whether any listed key is pinned to the algorithm named `alg`.
    fn accepts_algorithm(&self, alg: &str) -> bool {
        self.keys
            .values()
            .any(|key| algorithm_name(key.algorithm) == alg)
    }
}

impl fmt::Debug for JwtTokenIssuer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("JwtTokenIssuer")
            .field("kid", &self.signing.kid)
            .field("algorithm", &self.signing.algorithm)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("verification_kids", &self.keys.keys().collect::<Vec<_>>())
            .field("leeway", &self.leeway)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer for JwtTokenIssuer {
    fn issue(&self, claims: &AccessClaims) -> Result<AccessToken, UnexpectedError> {
        let mut header = Header::new(self.signing.algorithm);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(self.signing.kid.clone());
        let issued_at = claims.issued_at.unix_timestamp();
        let body = EncodedClaims {
            iss: &self.issuer,
            aud: &self.audience,
            sub: claims.user_id.to_string(),
            sid: claims.session_id.to_string(),
            role: claims.role.as_str(),
            iat: issued_at,
            nbf: issued_at,
            exp: claims.expires_at.unix_timestamp(),
            jti: claims.token_id.to_string(),
        };
        jsonwebtoken::encode(&header, &body, &self.signing_key)
            .map(AccessToken::new)
            .map_err(|error| UnexpectedError::internal("signing an access token", error))
    }

    fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        self.verify_token(token)
    }
}

impl JwtTokenIssuer {
    /// Every check, at the time the clock tells.
    ///
    /// The header is read here, once, rather than by jsonwebtoken's `decode`: its `Header`
    /// cannot represent `alg: none`, which must be refused as a wrong algorithm rather than as
    /// a malformed token, and its time checks read the system clock instead of ours. The
    /// signature is still checked by jsonwebtoken's crypto provider.
    fn verify_token(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let (message, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header, payload) = message.split_once('.').ok_or(TokenError::Malformed)?;
        if payload.contains('.') {
            return Err(TokenError::Malformed);
        }
        let header: JoseHeader = decode_part(header)?;
        // RFC 7515 §4.1.11: a verifier must refuse extensions it does not understand, and we
        // understand none.
        if header.crit.is_some() {
            return Err(TokenError::Malformed);
        }
        // Checked before the key lookup so that `none` (or any algorithm no key of ours uses)
        // is refused as such, with or without a `kid`.
        if !self.accepts_algorithm(&header.alg) {
            return Err(TokenError::WrongAlgorithm);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        if header.alg != algorithm_name(key.algorithm) {
            return Err(TokenError::WrongAlgorithm);
        }
        let genuine = jsonwebtoken::crypto::verify(
            signature,
            message.as_bytes(),
            &key.decoding,
            key.algorithm,
        )
        .map_err(|_| TokenError::Malformed)?;
        if !genuine {
            return Err(TokenError::InvalidSignature);
        }
        let claims: DecodedClaims = decode_part(payload)?;
        claims.check_time(
            self.clock.now().unix_timestamp(),
            self.leeway,
            self.max_lifetime,
        )?;
        if claims.iss != self.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if !claims.aud.names(&self.audience) {
            return Err(TokenError::WrongAudience);
        }
        if !is_access_token_type(header.typ.as_deref()) {
            return Err(TokenError::WrongType);
        }
        claims.into_access_claims()
    }
}

/// The members of a JOSE header that decide how a token is checked.
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
    crit: Option<serde_json::Value>,
}

/// One base64url part of a compact JWT, as JSON.
fn decode_part<T: DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let json = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)
}

/// `at+jwt`, or its long form `application/at+jwt`; media types compare case-insensitively
/// (RFC 9068 §2.1, RFC 7515 §4.1.9).
fn is_access_token_type(typ: Option<&str>) -> bool {
    typ.is_some_and(|typ| {
        let short = match typ.split_at_checked("application/".len()) {
            Some((prefix, rest)) if prefix.eq_ignore_ascii_case("application/") => rest,
            _ => typ,
        };
        short.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE)
    })
}

#[derive(Serialize)]
struct EncodedClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: String,
    sid: String,
    role: &'static str,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
}

/// The claims of a token: every one our tokens carry is required except `nbf`. `exp` and
/// `nbf` are unsigned, as in jsonwebtoken's checks: a negative one is malformed.
#[derive(Deserialize)]
struct DecodedClaims {
    iss: String,
    aud: Audience,
    sub: String,
    sid: String,
    role: String,
    iat: i64,
    exp: u64,
    nbf: Option<u64>,
    jti: String,
}

/// RFC 7519 §4.1.3: one audience, or several of which ours must be one.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Several(Vec<String>),
}

impl Audience {
    fn names(&self, audience: &str) -> bool {
        match self {
            Self::One(one) => one == audience,
            Self::Several(several) => several.iter().any(|one| one == audience),
        }
    }
}

impl DecodedClaims {
    /// Refuses a token expired or not yet valid at `now`, give or take `leeway`, or whose
    /// life is longer than `max_lifetime`.
    fn check_time(
        &self,
        now: i64,
        leeway: Duration,
        max_lifetime: Duration,
    ) -> Result<(), TokenError> {
        let leeway = i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX);
        let seconds = |value: u64| i64::try_from(value).map_err(|_| TokenError::Malformed);
        if seconds(self.exp)? < now.saturating_sub(leeway) {
            return Err(TokenError::Expired);
        }
        // Without an `nbf`, a token is not valid before it was issued.
        let not_before = self.nbf.map_or(Ok(self.iat), seconds)?;
        // Issued in the future is not yet valid, whatever its `nbf` says.
        if not_before.max(self.iat) > now.saturating_add(leeway) {
            return Err(TokenError::NotYetValid);
        }
        // Whole seconds, rounded up: `iat` and `exp` are whole seconds of the same instant
        // plus the lifetime.
        let max_lifetime = max_lifetime
            .as_secs()
            .saturating_add(u64::from(max_lifetime.subsec_nanos() > 0));
        let max_lifetime = i64::try_from(max_lifetime).unwrap_or(i64::MAX);
        let expires = seconds(self.exp)?;
        // A date beyond the calendar is malformed, not merely long-lived.
        OffsetDateTime::from_unix_timestamp(expires).map_err(|_| TokenError::Malformed)?;
        if expires.saturating_sub(self.iat) > max_lifetime {
            return Err(TokenError::TooLongLived);
        }
        Ok(())
    }

    fn into_access_claims(self) -> Result<AccessClaims, TokenError> {
        let timestamp = |seconds| {
            OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| TokenError::Malformed)
        };
        let expires = i64::try_from(self.exp).map_err(|_| TokenError::Malformed)?;
        Ok(AccessClaims {
            user_id: UserId::parse(&self.sub).ok_or(TokenError::Malformed)?,
            session_id: SessionId::parse(&self.sid).ok_or(TokenError::Malformed)?,
            role: Role::parse(&self.role).map_err(|_| TokenError::Malformed)?,
            issued_at: timestamp(self.iat)?,
            expires_at: timestamp(expires)?,
            token_id: Uuid::try_parse(&self.jti).map_err(|_| TokenError::Malformed)?,
        })
    }
}

#[cfg(test)]
mod tests;
