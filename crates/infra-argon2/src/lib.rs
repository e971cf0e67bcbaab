//! Password hashing with argon2id: the `infra-argon2` adapter of the domain's
//! [`PasswordHasher`](domain::PasswordHasher) port.
//!
//! [`Argon2Hasher`] writes PHC strings (`$argon2id$v=19$m=7168,t=5,p=1$…`), verifies any
//! argon2 PHC string with the parameters it names, and says when a stored hash should be
//! replaced because the configured parameters changed. The CPU- and memory-heavy work runs on
//! the hasher's own threads, one per slot of [`Argon2Config::max_concurrent`], at a lower
//! scheduling priority ([`Argon2Config::thread_nice`]), so a flood of logins can neither
//! starve the async runtime, nor delay its cheap requests by whole scheduler slices, nor use
//! memory beyond one argon2 matrix per slot. Hashing and verification themselves are
//! argon2's own `PasswordHasher` and `PasswordVerifier`.
//!
//! The settings are passed in by the caller ([`Argon2Config`]); nothing here reads the
//! environment.

mod config;
mod hasher;
mod workers;

pub use config::{
    Argon2Config, Argon2ConfigError, DEFAULT_THREAD_NICE, OWASP_ITERATIONS, OWASP_MEMORY_KIB,
};
pub use hasher::{Argon2Hasher, MAX_STORED_MEMORY_KIB};
