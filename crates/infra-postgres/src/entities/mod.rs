//! sea-orm entities: the rows of the tables that `migrations` creates, as Rust structs.
//!
//! They are `pub(crate)` and never leave the crate: rows become domain values in
//! [`crate::rows`], through the domain's own `parse` constructors.
//!
//! Timestamp columns are read through these models, but written through
//! [`crate::rows::timestamp`]: on SQLite a timestamp is text, and only a fixed-width
//! rendering sorts in time order (see there).
//!
//! They declare no relations: joins are written out where they are made, and the foreign
//! keys with their cascades belong to the migrations.

pub(crate) mod audit_events;
pub(crate) mod login_failures;
pub(crate) mod one_time_tokens;
pub(crate) mod outbox;
pub(crate) mod retired_secrets;
pub(crate) mod sessions;
pub(crate) mod users;
