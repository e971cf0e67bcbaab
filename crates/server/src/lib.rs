//! The service binary's library half: configuration, wiring and the `Application` that
//! serves. `main.rs` only parses the command line and dispatches; tests build the same
//! `Application` on a random port.

pub mod app;
pub mod commands;
pub mod config;

pub use app::{Application, StartError, shutdown_signal};
pub use config::{Cli, Command, Config};
