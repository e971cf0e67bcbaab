//! [`LogMailer`]: the development mailer, which writes each message's link to the log instead
//! of sending it, so a reset can be tried without a mail server.

use crate::render::render;
use async_trait::async_trait;
use domain::{Mail, MailError, Mailer};

/// Writes one log line per message (recipient, kind, subject and link) and sends nothing.
///
/// The link carries the message's token: this mailer is for development, where reading the
/// link from the log is the point. Where the log is shared, [`LogMailer::withholding_links`]
/// writes everything but the link.
#[derive(Debug, Clone)]
pub struct LogMailer {
    public_url: String,
    show_links: bool,
}

impl LogMailer {
    /// A mailer whose links start with `public_url` (the web app's address).
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into(),
            show_links: true,
        }
    }

    /// The same mailer, but its lines say a link was withheld instead of showing it: whoever
    /// reads a production log must not be able to take over the accounts that asked for one.
    #[must_use]
    pub fn withholding_links(mut self) -> Self {
        self.show_links = false;
        self
    }
}

#[async_trait]
impl Mailer for LogMailer {
    /// Always succeeds: a message that cannot be rendered is logged as a warning instead, since
    /// retrying would not help and there is no recipient to lose.
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        match render(mail, &self.public_url) {
            Ok(rendered) => tracing::info!(
                mail_id = %mail.id,
                to = %mail.to,
                kind = %mail.kind,
                subject = %rendered.subject,
                link = match (&rendered.link, self.show_links) {
                    (None, _) => "none",
                    (Some(link), true) => link.as_str(),
                    (Some(_), false) => "<withheld: set EMAIL_BACKEND=smtp, or DEBUG=true to log links>",
                },
                "mail written to the log, not sent"
            ),
            Err(error) => tracing::warn!(
                mail_id = %mail.id,
                to = %mail.to,
                kind = %mail.kind,
                %error,
                "mail could not be rendered"
            ),
        }
        Ok(())
    }
}
