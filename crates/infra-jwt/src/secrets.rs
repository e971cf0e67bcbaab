//! [`RandomSecretGenerator`]: refresh-token secrets from the OS CSPRNG, and the SHA-256 digests
//! they are stored and looked up by. A secret is handed to the client once; only its digest
//! is ever stored or compared.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::{RefreshSecret, SecretGenerator, SecretHash};
use sha2::{Digest as _, Sha256};

/// 256 bits: out of reach of guessing however many refresh attempts are made.
const SECRET_BYTES: usize = 32;

/// Makes refresh secrets: 32 bytes from the operating system's CSPRNG, base64url without
/// padding (43 characters). Their [`SecretHash`] is the lower-case hex SHA-256 of the secret's
/// text: a fast hash is enough, since the secret has 256 bits of entropy and cannot be
/// brute-forced from a leaked digest, and it keeps lookups by digest exact.
///
/// ```
/// use domain::SecretGenerator;
/// use infra_jwt::RandomSecretGenerator;
///
/// let generator = RandomSecretGenerator;
/// let secret = generator.generate();
/// assert_eq!(secret.expose().len(), 43);
/// assert_eq!(generator.hash(&secret), generator.hash(&secret));
/// assert_eq!(generator.hash(&secret).as_str().len(), 64);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomSecretGenerator;

impl SecretGenerator for RandomSecretGenerator {
    fn generate(&self) -> RefreshSecret {
        let mut bytes = [0_u8; SECRET_BYTES];
        // The port cannot report a failure, and there is nothing safe to fall back to: a
        // secret from anything weaker than the OS CSPRNG would be forgeable. On Linux the
        // call fails only before the entropy pool is first initialised, long before a server
        // handles a request.
        #[allow(clippy::expect_used, reason = "see above: no safe fallback exists")]
        getrandom::fill(&mut bytes).expect("the operating system's CSPRNG failed");
        let secret = RefreshSecret::new(URL_SAFE_NO_PAD.encode(bytes));
        bytes.fill(0);
        secret
    }

    fn hash(&self, secret: &RefreshSecret) -> SecretHash {
        let digest = Sha256::digest(secret.expose().as_bytes());
        SecretHash::new(format!("{digest:x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn secrets_are_43_base64url_characters_of_32_random_bytes() {
        let secret = RandomSecretGenerator.generate();
        let text = secret.expose();
        assert_eq!(text.len(), 43);
        assert!(
            text.bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'),
            "{text}"
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(text).unwrap().len(), 32);
    }

    #[test]
    fn secrets_are_distinct() {
        let secrets: HashSet<String> = (0..1000)
            .map(|_| RandomSecretGenerator.generate().expose().to_owned())
            .collect();
        assert_eq!(secrets.len(), 1000);
    }

    #[test]
    fn the_hash_is_the_hex_sha256_of_the_secret_and_deterministic() {
        let generator = RandomSecretGenerator;
        // FIPS 180-2 test vector.
        assert_eq!(
            generator.hash(&RefreshSecret::new("abc")).as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let secret = generator.generate();
        let hash = generator.hash(&secret);
        assert_eq!(hash, generator.hash(&RefreshSecret::new(secret.expose())));
        assert_eq!(hash.as_str().len(), 64);
        assert!(!hash.as_str().contains(secret.expose()));
        assert_ne!(hash, generator.hash(&generator.generate()));
    }
}
