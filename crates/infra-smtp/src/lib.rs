//! Mail delivery: the `infra-smtp` adapter of the domain's [`Mailer`](domain::Mailer) port.
//!
//! - [`SmtpMailer`] speaks SMTP to a relay (plain for local relays and tests, STARTTLS, or
//!   implicit TLS), and sorts its failures into the domain's transient and rejected ones.
//! - [`LogMailer`] writes each message's subject and link to the log instead: the
//!   development default, which needs no mail server.
//! - [`render`] turns a [`Mail`](domain::Mail) into its subject and bodies, from the
//!   templates in `templates/`, compiled in. Both mailers use it, and so may the server.
//!
//! Settings are passed in by the caller; nothing here reads the environment, and the only
//! I/O is the SMTP conversation itself.

mod log;
mod render;
mod settings;
mod smtp;

pub use log::LogMailer;
pub use render::{RenderError, Rendered, render};
pub use settings::{SmtpSettings, SmtpSettingsError};
pub use smtp::SmtpMailer;
