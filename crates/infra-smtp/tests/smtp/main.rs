//! Integration tests of the SMTP adapter against a real SMTP server, no mocks.
//!
//! Each test that needs a server starts its own `scripts/smtp-sink.py` (Debian's
//! python3-aiosmtpd) on a free port with a fresh directory, and stops it when done; see
//! `support`. Without aiosmtpd those tests fail and say how to install it: they never skip.

// A test binary: a failed expectation panics by design, in the helpers and in the async
// test bodies the harness runs (which clippy does not see as tests) alike.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod support;

mod delivery;
mod failures;
mod log_mailer;
mod settings;
mod sink;
