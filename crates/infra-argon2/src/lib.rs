//! Password hashing with argon2id: the `infra-argon2` adapter of the domain's
//! [`PasswordHasher`](domain::PasswordHasher) port.
//!
//! [`Argon2Hasher`] writes PHC strings (`$argon2id$v=19$m=12288,t=3,p=1$…`), verifies any
//! argon2 PHC string with the parameters it names, and says when a stored hash should be
//! replaced because the configured parameters changed. The CPU- and memory-heavy work runs in
//! `tokio::task::spawn_blocking`, at most [`Argon2Config::max_concurrent`] at a time, so a
//! flood of logins can neither starve the async runtime nor use unbounded memory: each of
//! those slots reuses one argon2 memory buffer for the life of the hasher.
//!
//! The settings are passed in by the caller ([`Argon2Config`]); nothing here reads the
//! environment.

mod config;
mod hasher;

pub use config::{Argon2Config, Argon2ConfigError, OWASP_ITERATIONS, OWASP_MEMORY_KIB};
pub use hasher::{Argon2Hasher, MAX_STORED_MEMORY_KIB};
