//! JWT access tokens and refresh secrets: the `infra-jwt` adapter of the domain's
//! [`TokenIssuer`](domain::TokenIssuer) and [`SecretGenerator`](domain::SecretGenerator) ports.
//!
//! - [`JwtTokenIssuer`] signs access tokens with HS256 (a shared secret, the default) or `EdDSA`
//!   (an Ed25519 private key, with a JWKS for other services), and verifies them with the
//!   algorithm pinned for the key their `kid` names.
//! - [`RandomSecretGenerator`] makes 256-bit refresh secrets and their SHA-256 digests.
//!
//! Keys and settings are passed in by the caller (the server reads them from its
//! configuration); nothing here reads the environment or keeps global state.

mod issuer;
mod keys;
mod secrets;

pub use issuer::{ACCESS_TOKEN_TYPE, DEFAULT_LEEWAY, DEFAULT_MAX_LIFETIME, JwtTokenIssuer};
pub use keys::{JwtKeyError, MIN_HS256_SECRET_LEN, VerificationKey};
pub use secrets::RandomSecretGenerator;
