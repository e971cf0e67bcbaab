//! Storage adapters of the domain's ports, on sea-orm: [`SqlUserRepository`],
//! [`SqlSessionRepository`], [`SqlLoginThrottle`], [`SqlAuditLog`], and for mail
//! [`SqlOneTimeTokens`] and [`SqlOutbox`]. One code path serves PostgreSQL, the
//! production database, and SQLite (a file, or memory), so the service runs with no setup and
//! the tests exercise both. Every statement is built with sea-orm or sea-query from one
//! definition for both backends.
//!
//! Every adapter runs on the one pool that [`connect`] opens. Only
//! [`sea_orm::DatabaseConnection`] appears in the public API: entities are private, rows
//! become domain values through the domain's constructors, and every failure is a
//! [`domain::UnexpectedError`] (`unavailable` when the database cannot be reached, `internal`
//! otherwise) or the port's own error. The schema belongs to the `migrations` crate; this
//! crate never creates a table.
//!
//! Every mutating method writes its [`domain::AuditEvent`] in the same transaction as its
//! change, and begins and ends that transaction itself.
//!
//! [`SqlSessionRepository::find_with_user`](domain::ports::SessionRepository::find_with_user),
//! the read behind every authenticated request, coalesces concurrent calls: those that arrive
//! while one query runs share the next (`docs/decisions/` says why). Each answer still comes
//! from a query that started after its call, so a revocation committed before a request is
//! always seen; nothing is cached. Keep one repository per process (clones share the
//! coalescing).
//!
//! ```no_run
//! # async fn run() -> Result<(), domain::UnexpectedError> {
//! use domain::ports::UserRepository;
//! use infra_postgres::{PoolOptions, SqlUserRepository, connect};
//!
//! let db = connect("sqlite::memory:", &PoolOptions::default()).await?;
//! // Apply the `migrations` crate's migrations to `db` first.
//! let users = SqlUserRepository::new(db);
//! assert!(users.find_by_id(domain::UserId::new()).await?.is_none());
//! # Ok(()) }
//! ```

mod audit;
mod batch;
mod connect;
mod entities;
mod mail;
mod rows;
mod seed;
mod sessions;
mod throttle;
mod transaction;
mod users;

pub use audit::SqlAuditLog;
pub use connect::{PoolOptions, connect, ping};
pub use mail::{SqlOneTimeTokens, SqlOutbox};
/// The pool every adapter here shares; the one sea-orm type in this crate's API.
pub use sea_orm::DatabaseConnection;
pub use seed::seed_users;
pub use sessions::SqlSessionRepository;
pub use throttle::SqlLoginThrottle;
pub use users::SqlUserRepository;
