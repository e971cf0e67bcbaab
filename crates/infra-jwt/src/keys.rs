//! Keys: reading them from configuration, naming them (`kid`), and publishing the public ones
//! as JWKs. Nothing here signs or verifies; [`crate::JwtTokenIssuer`] does.
//!
//! Every key carries the one algorithm it may be used with, fixed when it is read: a token's
//! header never chooses the algorithm, it only names a key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::spki::DecodePublicKey as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::{Digest as _, Sha256};
use std::fmt;

/// The shortest HS256 secret accepted, in bytes: RFC 7518 §3.2 asks for a key at least as long
/// as the hash output (256 bits), and anything shorter can be brute-forced from one token.
pub const MIN_HS256_SECRET_LEN: usize = 32;

/// Why a key or the issuer's configuration was refused at construction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtKeyError {
    /// The HS256 secret is too short to resist brute force.
    #[error(
        "the HS256 secret is {length} bytes long; at least {MIN_HS256_SECRET_LEN} random bytes \
         are required (for example the output of `openssl rand -base64 48`)"
    )]
    SecretTooShort {
        /// The length of the secret that was given.
        length: usize,
    },
    /// The PEM text is not an Ed25519 key in the expected form.
    #[error("the Ed25519 key is not a valid {expected} PEM: {reason}")]
    InvalidKey {
        /// What was expected (`PKCS#8 private key`, `private or public key`).
        expected: &'static str,
        /// What the parser said (never the key itself).
        reason: String,
    },
    /// Two different keys were given the same `kid`.
    #[error("two different keys share the key id {0:?}")]
    DuplicateKeyId(String),
    /// A setting that must not be empty is empty.
    #[error("the {0} must not be empty")]
    Empty(&'static str),
}

/// A key tokens may be verified with: its `kid`, the algorithm pinned for it, and the key.
///
/// Listed on a [`crate::JwtTokenIssuer`] with
/// [`with_verification_key`](crate::JwtTokenIssuer::with_verification_key), so tokens signed
/// by a retired key stay valid until they expire. Its `kid` is derived from the key material
/// (the same derivation the issuer uses for its signing key) unless one is configured with
/// [`with_key_id`](Self::with_key_id).
///
/// ```
/// use infra_jwt::VerificationKey;
///
/// let old = VerificationKey::hs256(b"an old secret of at least thirty-two bytes")?;
/// assert_eq!(old.algorithm(), "HS256");
/// assert_eq!(old.key_id().len(), 16);
/// # Ok::<(), infra_jwt::JwtKeyError>(())
/// ```
#[derive(Clone)]
pub struct VerificationKey {
    pub(crate) kid: String,
    pub(crate) algorithm: Algorithm,
    pub(crate) decoding: DecodingKey,
    /// The raw Ed25519 public key, for the JWKS; `None` for HMAC secrets, which are never
    /// published.
    pub(crate) public: Option<[u8; 32]>,
    /// A digest of the key material, to tell whether two keys with one `kid` are the same key
    /// without keeping a second copy of a secret around.
    pub(crate) fingerprint: [u8; 32],
}

impl VerificationKey {
    /// An HS256 secret (shared with whoever signed the tokens).
    ///
    /// # Errors
    /// [`JwtKeyError::SecretTooShort`] when `secret` is shorter than
    /// [`MIN_HS256_SECRET_LEN`] bytes.
    pub fn hs256(secret: &[u8]) -> Result<Self, JwtKeyError> {
        if secret.len() < MIN_HS256_SECRET_LEN {
            return Err(JwtKeyError::SecretTooShort {
                length: secret.len(),
            });
        }
        let fingerprint = hmac_fingerprint(secret);
        Ok(Self {
            kid: hmac_key_id(&fingerprint),
            algorithm: Algorithm::HS256,
            decoding: DecodingKey::from_secret(secret),
            public: None,
            fingerprint,
        })
    }

    /// An Ed25519 key from PEM text: a public key (`BEGIN PUBLIC KEY`, SPKI) or a private key
    /// (`BEGIN PRIVATE KEY`, PKCS#8), of which only the public half is kept.
    ///
    /// # Errors
    /// [`JwtKeyError::InvalidKey`] when `pem` is neither.
    pub fn ed25519_from_pem(pem: &str) -> Result<Self, JwtKeyError> {
        let public = match SigningKey::from_pkcs8_pem(pem) {
            Ok(signing_key) => signing_key.verifying_key(),
            Err(private_error) => {
                VerifyingKey::from_public_key_pem(pem).map_err(|public_error| {
                    JwtKeyError::InvalidKey {
                        expected: "private (PKCS#8) or public (SPKI) key",
                        reason: format!(
                            "as a private key: {private_error}; as a public key: {public_error}"
                        ),
                    }
                })?
            }
        };
        Ok(Self::ed25519(&public))
    }

    /// An Ed25519 public key from its 32 raw bytes (the decoded `x` of a JWK).
    ///
    /// # Errors
    /// [`JwtKeyError::InvalidKey`] when the bytes are not a point of the curve.
    pub fn ed25519_from_bytes(public: &[u8; 32]) -> Result<Self, JwtKeyError> {
        let public = VerifyingKey::from_bytes(public).map_err(|error| JwtKeyError::InvalidKey {
            expected: "raw public key",
            reason: error.to_string(),
        })?;
        Ok(Self::ed25519(&public))
    }

    /// The same key under a configured `kid` instead of the derived one.
    ///
    /// # Errors
    /// [`JwtKeyError::Empty`] when `kid` is empty.
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Result<Self, JwtKeyError> {
        self.kid = non_empty(kid.into(), "key id")?;
        Ok(self)
    }

    /// The `kid` tokens signed with this key carry.
    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// The algorithm pinned for this key: `"HS256"` or `"EdDSA"`.
    pub fn algorithm(&self) -> &'static str {
        algorithm_name(self.algorithm)
    }

    pub(crate) fn ed25519(public: &VerifyingKey) -> Self {
        let public = public.to_bytes();
        Self {
            kid: ed25519_key_id(&public),
            algorithm: Algorithm::EdDSA,
            // jsonwebtoken's EdDSA verifier takes the 32 raw public-key bytes, whatever the
            // constructor's name says.
            decoding: DecodingKey::from_ed_der(&public),
            public: Some(public),
            fingerprint: Sha256::digest(public).into(),
        }
    }

    /// The public JWK of this key, if it is a public key.
    pub(crate) fn jwk(&self) -> Option<serde_json::Value> {
        self.public.map(|public| {
            serde_json::json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(public),
                "kid": self.kid,
                "alg": "EdDSA",
                "use": "sig",
            })
        })
    }

    /// Whether `other` is the same key under the same name and algorithm.
    pub(crate) fn same_key_as(&self, other: &Self) -> bool {
        self.kid == other.kid
            && self.algorithm == other.algorithm
            && self.fingerprint == other.fingerprint
    }
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The key the issuer signs with, and the verification key that checks its tokens.
pub(crate) struct SigningMaterial {
    pub(crate) encoding: EncodingKey,
    pub(crate) verification: VerificationKey,
}

impl SigningMaterial {
    pub(crate) fn hs256(secret: &[u8]) -> Result<Self, JwtKeyError> {
        Ok(Self {
            verification: VerificationKey::hs256(secret)?,
            encoding: EncodingKey::from_secret(secret),
        })
    }

    pub(crate) fn ed25519_from_pem(pem: &str) -> Result<Self, JwtKeyError> {
        let signing_key =
            SigningKey::from_pkcs8_pem(pem).map_err(|error| JwtKeyError::InvalidKey {
                expected: "PKCS#8 private key",
                reason: error.to_string(),
            })?;
        // Re-encoding normalises PKCS#8 v1 and v2 documents to the one form jsonwebtoken's
        // signer reads; the document zeroes itself when dropped.
        let der = signing_key
            .to_pkcs8_der()
            .map_err(|error| JwtKeyError::InvalidKey {
                expected: "PKCS#8 private key",
                reason: error.to_string(),
            })?;
        Ok(Self {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            verification: VerificationKey::ed25519(&signing_key.verifying_key()),
        })
    }
}

/// The name of an algorithm as it appears in a JOSE header.
pub(crate) fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::HS256 => "HS256",
        Algorithm::EdDSA => "EdDSA",
        // Only the two above are ever pinned for a key.
        _ => "unsupported",
    }
}

pub(crate) fn non_empty(value: String, what: &'static str) -> Result<String, JwtKeyError> {
    if value.trim().is_empty() {
        Err(JwtKeyError::Empty(what))
    } else {
        Ok(value)
    }
}

/// A domain-separated digest of an HMAC secret. The derived `kid` is published in every
/// token's header, so it must not be a plain hash of the secret that could be looked up.
fn hmac_fingerprint(secret: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"infra-jwt HS256 key id\0")
        .chain_update(secret)
        .finalize()
        .into()
}

/// 96 bits of the fingerprint, base64url: unique enough among a handful of keys, short in
/// every header.
fn hmac_key_id(fingerprint: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(&fingerprint[..12])
}

/// The RFC 7638 JWK thumbprint (SHA-256, base64url) of an Ed25519 public key, so any holder of
/// the JWKS can recompute and check it.
fn ed25519_key_id(public: &[u8; 32]) -> String {
    // RFC 7638 §3.2: the required members only, in lexicographic order, with no whitespace.
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(public)
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_refused_with_their_length() {
        let error = VerificationKey::hs256(&[7; 31]).unwrap_err();
        assert_eq!(error, JwtKeyError::SecretTooShort { length: 31 });
        assert!(error.to_string().contains("at least 32"), "{error}");
        assert!(VerificationKey::hs256(&[7; 32]).is_ok());
    }

    #[test]
    fn derived_key_ids_depend_on_the_key_only() {
        let first = VerificationKey::hs256(&[1; 32]).unwrap();
        let again = VerificationKey::hs256(&[1; 32]).unwrap();
        let other = VerificationKey::hs256(&[2; 32]).unwrap();
        assert_eq!(first.key_id(), again.key_id());
        assert_ne!(first.key_id(), other.key_id());
        assert!(first.same_key_as(&again));
        assert!(!first.same_key_as(&other));
    }

    #[test]
    fn the_hmac_key_id_is_not_a_plain_hash_of_the_secret() {
        let secret = [9_u8; 32];
        let key = VerificationKey::hs256(&secret).unwrap();
        let plain = URL_SAFE_NO_PAD.encode(&Sha256::digest(secret)[..12]);
        assert_ne!(key.key_id(), plain);
    }

    #[test]
    fn configured_key_ids_must_not_be_empty() {
        let key = VerificationKey::hs256(&[1; 32]).unwrap();
        assert_eq!(
            key.clone().with_key_id(" ").unwrap_err(),
            JwtKeyError::Empty("key id")
        );
        assert_eq!(key.with_key_id("2024-01").unwrap().key_id(), "2024-01");
    }

    #[test]
    fn garbage_pem_is_refused_without_echoing_it() {
        let error = VerificationKey::ed25519_from_pem("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n")
            .unwrap_err();
        assert!(matches!(error, JwtKeyError::InvalidKey { .. }), "{error:?}");
        assert!(!error.to_string().contains("c2VjcmV0"), "{error}");
    }

    #[test]
    fn debug_shows_the_kid_but_not_the_key() {
        let key = VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap();
        let rendered = format!("{key:?}");
        assert!(rendered.contains(key.key_id()), "{rendered}");
        assert!(!rendered.contains("0123456789abcdef"), "{rendered}");
    }
}
