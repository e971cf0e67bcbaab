//! Integration tests of the storage adapters against real databases, no mocks.
//!
//! Every test runs twice: `…::on_postgres` in a fresh PostgreSQL database (created from
//! `TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`, and dropped
//! afterwards) and `…::on_sqlite` in a fresh SQLite file. See `support` for the harness.

// A test binary: a failed expectation panics by design, in the helpers and in the async
// test bodies the harness runs (which clippy does not see as tests) alike.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod support;

mod audit;
mod connecting;
mod listing;
mod mail;
mod schema;
mod seeding;
mod sessions;
mod throttle;
mod users;
