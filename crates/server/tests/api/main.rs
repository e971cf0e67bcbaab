//! Black-box tests of the whole service: the real application on a random port, on SQLite and
//! on PostgreSQL, spoken to over HTTP. Each test gets a fresh database.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod admin;
mod auth;
mod concurrency;
mod connections;
mod faults;
mod hardening;
mod me;
mod meta;
mod recovery;
mod scale_out;
