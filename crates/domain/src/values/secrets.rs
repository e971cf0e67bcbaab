//! Secrets and their stored forms. None of these implements `Display`, and their `Debug`
//! prints a placeholder, so a stray `{:?}` in a log line cannot leak one.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;

macro_rules! redacted_debug {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

/// A password as the person typed it. Zeroed on drop.
///
/// ```
/// use domain::PlaintextPassword;
///
/// let password = PlaintextPassword::new("correct horse battery staple");
/// assert_eq!(format!("{password:?}"), "PlaintextPassword(<redacted>)");
/// assert_eq!(password.expose(), "correct horse battery staple");
/// ```
#[derive(Clone)]
pub struct PlaintextPassword(SecretString);
redacted_debug!(PlaintextPassword);

impl PlaintextPassword {
    /// Wraps a password; nothing is checked here (see [`crate::PasswordPolicy`]).
    pub fn new(raw: impl Into<String>) -> Self {
        Self(SecretString::from(raw.into()))
    }

    /// The password itself, for a hasher or the policy. Do not log it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// A stored password hash (a PHC string such as `$argon2id$v=19$…`), opaque to the domain.
///
/// ```
/// use domain::PasswordHash;
///
/// let hash = PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
/// assert_eq!(format!("{hash:?}"), "PasswordHash(<redacted>)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);
redacted_debug!(PasswordHash);

impl PasswordHash {
    /// Wraps a hash produced by a [`crate::PasswordHasher`] or read back from storage.
    pub fn new(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The encoded hash, for storage and verification.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The opaque secret of a refresh token, as handed to the client. Never stored: only its
/// [`SecretHash`] is.
///
/// ```
/// use domain::RefreshSecret;
///
/// let secret = RefreshSecret::new("b64url-random-bytes");
/// assert_eq!(format!("{secret:?}"), "RefreshSecret(<redacted>)");
/// ```
#[derive(Clone)]
pub struct RefreshSecret(SecretString);
redacted_debug!(RefreshSecret);

impl RefreshSecret {
    /// Wraps a secret made by a [`crate::SecretGenerator`] or presented by a client.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(SecretString::from(raw.into()))
    }

    /// The secret itself, for the response body or for hashing. Do not log it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// The stored digest of a [`RefreshSecret`] (for example hex SHA-256). Sessions are found by
/// it, so a leaked database does not yield usable refresh tokens.
///
/// ```
/// use domain::SecretHash;
///
/// let hash = SecretHash::new("9f86d081884c7d65");
/// assert_eq!(hash.as_str(), "9f86d081884c7d65");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretHash(String);
redacted_debug!(SecretHash);

impl SecretHash {
    /// Wraps a digest.
    pub fn new(digest: impl Into<String>) -> Self {
        Self(digest.into())
    }

    /// The digest, for storage and lookup.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A signed access token (a JWT with the default adapter), as handed to the client.
///
/// ```
/// use domain::AccessToken;
///
/// let token = AccessToken::new("eyJ...");
/// assert_eq!(format!("{token:?}"), "AccessToken(<redacted>)");
/// ```
#[derive(Clone)]
pub struct AccessToken(SecretString);
redacted_debug!(AccessToken);

impl AccessToken {
    /// Wraps an encoded token.
    pub fn new(encoded: impl Into<String>) -> Self {
        Self(SecretString::from(encoded.into()))
    }

    /// The encoded token, for the response body. Do not log it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let rendered = format!(
            "{:?} {:?} {:?} {:?} {:?}",
            PlaintextPassword::new("hunter2"),
            PasswordHash::new("$argon2id$hunter2"),
            RefreshSecret::new("hunter2"),
            SecretHash::new("hunter2"),
            AccessToken::new("hunter2"),
        );
        assert!(!rendered.contains("hunter2"), "{rendered}");
    }

    #[test]
    fn values_are_kept_as_given() {
        assert_eq!(PlaintextPassword::new(" pw ").expose(), " pw ");
        assert_eq!(PasswordHash::new("h").as_str(), "h");
        assert_eq!(RefreshSecret::new("s").expose(), "s");
        assert_eq!(AccessToken::new("t").expose(), "t");
    }
}
