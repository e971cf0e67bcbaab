//! [`Argon2Config`]: the cost parameters and the concurrency bound of an
//! [`Argon2Hasher`](crate::Argon2Hasher), and why a configuration can be refused.

use std::num::NonZeroUsize;

/// Settings of an [`Argon2Hasher`](crate::Argon2Hasher). The defaults are one of OWASP's
/// argon2id configurations (m = 7 MiB, t = 5, p = 1, Keycloak's default too) and one hashing
/// slot per CPU.
///
/// OWASP's password storage cheat sheet lists five argon2id settings that "provide an equal
/// level of defense" and differ only in trading memory for passes: m = 46 MiB with t = 1,
/// 19 MiB with t = 2 (the argon2 crate's default), 12 MiB with t = 3, 9 MiB with t = 4, 7 MiB
/// with t = 5. Argon2 is bound by memory traffic, and the hashing slots run side by side on
/// cores that share one last-level cache: with 7 MiB matrices two hashes at once each run
/// nearly as fast as one alone, and one hash alone is faster too, so a server verifies more
/// passwords per second for the same rated strength.
/// Each running hash also holds a smaller matrix: 7 MiB a slot, against 12 or 19. Hashes
/// stored with other parameters still verify, and are replaced at the next successful login.
///
/// ```
/// use infra_argon2::Argon2Config;
///
/// let config = Argon2Config::default();
/// assert_eq!((config.memory_kib, config.iterations, config.parallelism), (7_168, 5, 1));
/// assert!(config.max_concurrent >= 1);
/// assert_eq!(config.thread_nice, 10);
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
    /// without holding a thread. With the default memory cost, each running one holds 7 MiB.
    pub max_concurrent: usize,
    /// How much higher than the process's the hashing threads' nice value is (Linux; 0 to
    /// 19, higher is lower priority; ignored elsewhere). With the default 10, a request on
    /// the async runtime gets the CPU ahead of a running hash whenever both want it, so a
    /// login flood no longer adds scheduler slices of argon2 to every cheap request's
    /// latency; hashing still gets about a tenth of a contended core, and all of an idle one.
    /// 0 runs them at the process's priority.
    pub thread_nice: u8,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory_kib: OWASP_MEMORY_KIB,
            iterations: OWASP_ITERATIONS,
            parallelism: 1,
            // More concurrent hashes than cores only adds latency and memory: each is one
            // thread's worth of CPU-bound work.
            max_concurrent: std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
            thread_nice: DEFAULT_THREAD_NICE,
        }
    }
}

/// The default [`Argon2Config::thread_nice`]: hashing yields to everything else the process
/// does, without being starved by it.
pub const DEFAULT_THREAD_NICE: u8 = 10;

/// The default memory cost: OWASP's m = 7 MiB (see [`Argon2Config`]).
pub const OWASP_MEMORY_KIB: u32 = 7_168;

/// The default number of passes: OWASP's t = 5 for m = 7 MiB (see [`Argon2Config`]).
pub const OWASP_ITERATIONS: u32 = 5;

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
    /// The OS refused to start a hashing thread.
    #[error("starting the password-hashing threads failed: {0}")]
    Threads(std::io::Error),
}
