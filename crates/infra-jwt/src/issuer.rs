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
    AccessClaims, AccessToken, Role, SessionId, TokenError, TokenIssuer, UnexpectedError, UserId,
};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;
use verified::Verified;

/// The `typ` header of every access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// How far past `exp` (or before `nbf`) a token is still accepted, for clock skew between the
/// instances that issue and verify it.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

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
/// domain ([`AccessClaims::expires_at`]).
///
/// ```
/// use domain::{AccessClaims, Role, SessionId, TokenIssuer, UserId};
/// use infra_jwt::JwtTokenIssuer;
/// use time::{Duration, OffsetDateTime};
///
/// let issuer = JwtTokenIssuer::hs256(
///     b"a secret of at least thirty-two random bytes",
///     "https://auth.example.com",
///     "example-api",
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
    /// Every key a token may name, the signing key's own included, by `kid`; each with the
    /// validation rules pinned to its algorithm. Ordered so the JWKS is stable.
    keys: BTreeMap<String, KnownKey>,
    issuer: String,
    audience: String,
    leeway: Duration,
    /// Tokens that passed [`TokenIssuer::verify`], so that presenting one again is cheap.
    verified: Verified,
}

struct KnownKey {
    key: VerificationKey,
    validation: Validation,
}

impl JwtTokenIssuer {
    /// Signs with HS256 and `secret`, which every verifier must share.
    ///
    /// # Errors
    /// [`JwtKeyError::SecretTooShort`] when `secret` is shorter than
    /// [`MIN_HS256_SECRET_LEN`](crate::MIN_HS256_SECRET_LEN) (32) bytes;
    /// [`JwtKeyError::Empty`] when `issuer` or `audience` is empty.
    pub fn hs256(
        secret: &[u8],
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, JwtKeyError> {
        Self::new(SigningMaterial::hs256(secret)?, issuer, audience)
    }

    /// Signs with `EdDSA` and the Ed25519 private key in `private_key_pem` (PKCS#8, `BEGIN
    /// PRIVATE KEY`, as written by `openssl genpkey -algorithm ed25519`). Verifiers need only
    /// the public key, published by [`jwks`](Self::jwks).
    ///
    /// # Errors
    /// [`JwtKeyError::InvalidKey`] when the PEM is not such a key; [`JwtKeyError::Empty`] when
    /// `issuer` or `audience` is empty.
    pub fn ed25519_from_pem(
        private_key_pem: &str,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, JwtKeyError> {
        Self::new(
            SigningMaterial::ed25519_from_pem(private_key_pem)?,
            issuer,
            audience,
        )
    }

    fn new(
        material: SigningMaterial,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, JwtKeyError> {
        let mut issuer = Self {
            signing_key: material.encoding,
            signing: material.verification.clone(),
            keys: BTreeMap::new(),
            issuer: non_empty(issuer.into(), "issuer")?,
            audience: non_empty(audience.into(), "audience")?,
            leeway: DEFAULT_LEEWAY,
            verified: Verified::default(),
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
        // Tokens naming the old `kid` no longer verify.
        self.verified = Verified::default();
        Ok(self)
    }

    /// Also accepts tokens signed with `key` (a retired signing key, typically), under its
    /// own `kid` and algorithm. Listing the same key twice is harmless.
    ///
    /// # Errors
    /// [`JwtKeyError::DuplicateKeyId`] when a different key already has the same `kid`.
    pub fn with_verification_key(mut self, key: VerificationKey) -> Result<Self, JwtKeyError> {
        self.insert(key)?;
        self.verified = Verified::default();
        Ok(self)
    }

    /// Replaces the clock-skew allowance of [`DEFAULT_LEEWAY`] (whole seconds; a fraction is
    /// dropped).
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        for known in self.keys.values_mut() {
            known.validation.leeway = leeway.as_secs();
        }
        self.verified = Verified::default();
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
            .filter_map(|(_, known)| known.key.jwk());
        let keys: Vec<_> = signing.into_iter().chain(retired).collect();
        if keys.is_empty() {
            None
        } else {
            Some(serde_json::json!({ "keys": keys }))
        }
    }

    fn insert(&mut self, key: VerificationKey) -> Result<(), JwtKeyError> {
        if let Some(existing) = self.keys.get(&key.kid) {
            return if existing.key.same_key_as(&key) {
                Ok(())
            } else {
                Err(JwtKeyError::DuplicateKeyId(key.kid))
            };
        }
        let validation = self.validation(key.algorithm);
        self.keys
            .insert(key.kid.clone(), KnownKey { key, validation });
        Ok(())
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation
    }

    /// Whether any listed key is pinned to the algorithm named `alg`.
    fn accepts_algorithm(&self, alg: &str) -> bool {
        self.keys
            .values()
            .any(|known| algorithm_name(known.key.algorithm) == alg)
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
            .field("remembered_tokens", &self.verified.len())
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
        let digest = Verified::digest(token);
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if let Some(claims) = self.verified.get(&digest, now) {
            return Ok(claims);
        }
        let (claims, not_before) = self.verify_in_full(token)?;
        self.verified.remember(digest, &claims, not_before, now);
        Ok(claims)
    }
}

impl JwtTokenIssuer {
    /// Every check, and the token's `nbf` (or `iat`) in Unix seconds.
    fn verify_in_full(&self, token: &str) -> Result<(AccessClaims, i64), TokenError> {
        let header = JoseHeader::parse(token)?;
        // Checked before the key lookup so that `none` (or any algorithm no key of ours uses)
        // is refused as such, with or without a `kid`.
        if !self.accepts_algorithm(&header.alg) {
            return Err(TokenError::WrongAlgorithm);
        }
        let known = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        if header.alg != algorithm_name(known.key.algorithm) {
            return Err(TokenError::WrongAlgorithm);
        }
        let decoded =
            jsonwebtoken::decode::<DecodedClaims>(token, &known.key.decoding, &known.validation)
                .map_err(|error| refusal(&error))?;
        if !is_access_token_type(header.typ.as_deref()) {
            return Err(TokenError::WrongType);
        }
        let not_before = decoded.claims.nbf.unwrap_or(decoded.claims.iat);
        let claims = decoded.claims.into_access_claims(self.leeway)?;
        Ok((claims, not_before))
    }
}

/// The members of a JOSE header that decide how a token is checked, read before jsonwebtoken
/// sees the token: its own `Header` cannot represent `alg: none`, which must be refused as a
/// wrong algorithm rather than as a malformed token.
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
    /// RFC 7515 §4.1.11: a verifier must refuse extensions it does not understand, and we
    /// understand none.
    crit: Option<serde_json::Value>,
}

impl JoseHeader {
    fn parse(token: &str) -> Result<Self, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(_payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let json = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| TokenError::Malformed)?;
        let header: Self = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if header.crit.is_some() {
            return Err(TokenError::Malformed);
        }
        Ok(header)
    }
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

/// The domain's reason for jsonwebtoken's refusal.
fn refusal(error: &jsonwebtoken::errors::Error) -> TokenError {
    match error.kind() {
        ErrorKind::InvalidSignature => TokenError::InvalidSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => TokenError::WrongAlgorithm,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        // Bad base64 or JSON, missing or mistyped claims, and whatever jsonwebtoken adds
        // later: none of them is a token we made.
        _ => TokenError::Malformed,
    }
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

/// The claims the domain needs; `iss`, `aud`, `exp` and `nbf` are checked by jsonwebtoken.
#[derive(Deserialize)]
struct DecodedClaims {
    sub: String,
    sid: String,
    role: String,
    iat: i64,
    exp: i64,
    nbf: Option<i64>,
    jti: String,
}

impl DecodedClaims {
    fn into_access_claims(self, leeway: Duration) -> Result<AccessClaims, TokenError> {
        // jsonwebtoken checks `nbf` only when present; a token without one is not valid
        // before it was issued.
        if self.nbf.is_none() {
            let leeway = i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX);
            if self.iat
                > OffsetDateTime::now_utc()
                    .unix_timestamp()
                    .saturating_add(leeway)
            {
                return Err(TokenError::NotYetValid);
            }
        }
        let timestamp = |seconds| {
            OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| TokenError::Malformed)
        };
        Ok(AccessClaims {
            user_id: UserId::parse(&self.sub).ok_or(TokenError::Malformed)?,
            session_id: SessionId::parse(&self.sid).ok_or(TokenError::Malformed)?,
            role: Role::parse(&self.role).map_err(|_| TokenError::Malformed)?,
            issued_at: timestamp(self.iat)?,
            expires_at: timestamp(self.exp)?,
            token_id: Uuid::try_parse(&self.jti).map_err(|_| TokenError::Malformed)?,
        })
    }
}

mod verified;

#[cfg(test)]
mod tests;
