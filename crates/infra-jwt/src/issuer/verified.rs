//! A memo of the access tokens that passed verification. A client presents the same token on
//! every request for the token's lifetime, and checking it again (an HMAC or Ed25519
//! signature, base64, JSON parses of the header, by our code and again by jsonwebtoken's, and
//! of the claims) was the largest single cost of `GET /api/users/me/` in the server after the
//! network itself: 12 % of its CPU in a profile. A remembered token costs one SHA-256 digest
//! and a map lookup instead.
//!
//! What is remembered is the outcome of the checks that depend on nothing but the token's
//! bytes and the issuer's fixed configuration: signature, key, algorithm, type, issuer,
//! audience and the claims' formats. The checks that depend on the time are made again on
//! every use, more strictly than the full path (no leeway): a token outside
//! `[nbf, exp)` is not served from here but verified again in full, which then accepts it
//! within the leeway or refuses it exactly as it would have without the memo. Nothing the
//! session or the user could change is kept here; those are still read live.
//!
//! The memo is keyed by the tokens' SHA-256 digests, so it holds no bearer token, and it is
//! bounded by [`MAX_REMEMBERED`]. The keys it was filled under never change: the issuer's
//! keys are fixed once it is built, and its builder methods start a new memo.

use domain::AccessClaims;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Most tokens remembered at once: with the map's spare capacity, about 2 MiB when full. A
/// deployment with more tokens in use than this still works, with more of them verified in
/// full.
pub(super) const MAX_REMEMBERED: usize = 8192;

/// A token's identity in the memo.
pub(super) type TokenDigest = [u8; 32];

#[derive(Default)]
pub(super) struct Verified {
    entries: Mutex<HashMap<TokenDigest, Entry>>,
}

struct Entry {
    claims: AccessClaims,
    /// Unix seconds: the token's `nbf` (its `iat` when it has none) and its `exp`.
    not_before: i64,
    expires: i64,
}

impl Verified {
    pub(super) fn digest(token: &str) -> TokenDigest {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The claims of a remembered token, if `now` (Unix seconds) is inside its validity.
    pub(super) fn get(&self, digest: &TokenDigest, now: i64) -> Option<AccessClaims> {
        let entries = self.lock();
        let entry = entries.get(digest)?;
        (entry.not_before <= now && now < entry.expires).then(|| entry.claims.clone())
    }

    /// Remembers a token that has just passed full verification.
    pub(super) fn remember(
        &self,
        digest: TokenDigest,
        claims: &AccessClaims,
        not_before: i64,
        now: i64,
    ) {
        let mut entries = self.lock();
        if entries.len() >= MAX_REMEMBERED && !entries.contains_key(&digest) {
            // Expired tokens are dropped first. If live ones still fill most of the memo, it
            // starts over rather than tracking recency on every hit: stopping just under the
            // bound would rescan the whole map at nearly every new token.
            entries.retain(|_, entry| now < entry.expires);
            if entries.len() > MAX_REMEMBERED / 4 * 3 {
                entries.clear();
            }
        }
        entries.insert(
            digest,
            Entry {
                claims: claims.clone(),
                not_before,
                expires: claims.expires_at.unix_timestamp(),
            },
        );
    }

    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TokenDigest, Entry>> {
        // A map of values each inserted whole: a panic while it was held leaves no entry
        // half-written.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
