//! [`Argon2Config`]: the cost parameters and the concurrency bound of an
//! [`Argon2Hasher`](crate::Argon2Hasher), and why a configuration can be refused.

use std::num::NonZeroUsize;

/// Settings of an [`Argon2Hasher`](crate::Argon2Hasher). The defaults are OWASP's argon2id
/// recommendation (m = 19 MiB, t = 2, p = 1; about 35 ms per hash on one core here) and one
/// hashing slot per CPU.
///
/// ```
/// use infra_argon2::Argon2Config;
///
/// let config = Argon2Config::default();
/// assert_eq!((config.memory_kib, config.iterations, config.parallelism), (19_456, 2, 1));
/// assert!(config.max_concurrent >= 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Config {
    /// Memory per hash in KiB (argon2's `m`); at least 8 × `parallelism`.
    pub memory_kib: u32,
    /// Passes over that memory (argon2's `t`); at least 1.
    pub iterations: u32,
    /// Lanes (argon2's `p`); at least 1. This crate computes them on one thread, so more
    /// lanes cost time, not extra cores.
    pub parallelism: u32,
    /// How many hashes or verifications may run at once; callers beyond that wait their turn
    /// without holding a thread. With the default memory cost, each running one holds 19 MiB.
    pub max_concurrent: usize,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory_kib: argon2::Params::DEFAULT_M_COST,
            iterations: argon2::Params::DEFAULT_T_COST,
            parallelism: argon2::Params::DEFAULT_P_COST,
            // More concurrent hashes than cores only adds latency and memory: each is one
            // thread's worth of CPU-bound work.
            max_concurrent: std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        }
    }
}

/// Why an [`Argon2Hasher`](crate::Argon2Hasher) could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Argon2ConfigError {
    /// argon2 refuses the cost parameters.
    #[error(
        "invalid argon2 parameters (m = {memory_kib} KiB, t = {iterations}, p = {parallelism}): \
         {source}"
    )]
    InvalidParams {
        /// The configured `m`.
        memory_kib: u32,
        /// The configured `t`.
        iterations: u32,
        /// The configured `p`.
        parallelism: u32,
        /// argon2's reason.
        source: argon2::Error,
    },
    /// `max_concurrent` is zero: nothing could ever be hashed.
    #[error("the number of concurrent password hashes must be at least 1")]
    NoConcurrency,
    /// Computing the dummy hash at construction failed (the OS random source, most likely).
    #[error("computing the dummy password hash failed: {0}")]
    DummyHash(argon2::password_hash::Error),
}
