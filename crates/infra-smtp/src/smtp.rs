//! [`SmtpMailer`]: renders a message and hands it to an SMTP relay with lettre, then sorts
//! the relay's refusals into the domain's transient and rejected failures.

use crate::render::render;
use crate::settings::{Endpoint, Security, SmtpSettings, SmtpSettingsError, public_url};
use async_trait::async_trait;
use domain::{Mail, MailError, Mailer};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::fmt;
use std::time::{Duration, SystemTime};

/// Reply codes that refuse our credentials (RFC 4954): a fault of the settings that an
/// operator can fix, not of the message, so the message is kept and tried again.
const AUTHENTICATION_CODES: [u16; 4] = [530, 534, 535, 538];

/// Sends messages through an SMTP relay, one connection per message.
///
/// No connection is made until the first [`Mailer::send`].
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The `From` domain, which the `Message-ID` borrows: the one name we know is ours.
    message_id_domain: String,
    public_url: String,
    /// Bounds a whole delivery, not only the connect as lettre's own timeout does.
    timeout: Duration,
    /// `host:port (security)`, for error messages: never the credentials.
    server: String,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SmtpMailer")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Checks `settings` and prepares the transport.
    ///
    /// # Errors
    /// [`SmtpSettingsError`] when the URL, the `From` address or the public URL is invalid;
    /// its message never contains the URL's password.
    pub fn new(settings: &SmtpSettings) -> Result<Self, SmtpSettingsError> {
        let endpoint = Endpoint::parse(&settings.url)?;
        let from = settings.from.trim().parse::<Mailbox>().map_err(|error| {
            SmtpSettingsError::InvalidFrom {
                from: settings.from.clone(),
                reason: error.to_string(),
            }
        })?;
        let (public_url, public_host) = public_url(&settings.public_url)?;

        let tls_parameters = || {
            TlsParameters::new(endpoint.host.clone()).map_err(|error| SmtpSettingsError::Tls {
                host: endpoint.host.clone(),
                reason: error.to_string(),
            })
        };
        let tls = match endpoint.security {
            Security::Plain => Tls::None,
            Security::StartTls => Tls::Required(tls_parameters()?),
            Security::Implicit => Tls::Wrapper(tls_parameters()?),
        };
        // EHLO should name this client. Inside a container the host name is a random id, so
        // the public URL's host, the service's own name, is the better one.
        let hello_name = match public_host {
            url::Host::Domain(domain) => ClientId::Domain(domain),
            url::Host::Ipv4(address) => ClientId::Ipv4(address),
            url::Host::Ipv6(address) => ClientId::Ipv6(address),
        };
        // "Dangerous" only means lettre applies no TLS by default: `tls` above decides.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&endpoint.host)
            .port(endpoint.port)
            .tls(tls)
            .hello_name(hello_name)
            .timeout(Some(settings.timeout));
        if let Some((user, password)) = &endpoint.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }

        let security = match endpoint.security {
            Security::Plain => "plain",
            Security::StartTls => "STARTTLS",
            Security::Implicit => "TLS",
        };
        Ok(Self {
            transport: builder.build(),
            message_id_domain: from.email.domain().to_owned(),
            from,
            public_url,
            timeout: settings.timeout,
            server: format!("{}:{} ({security})", endpoint.host, endpoint.port),
        })
    }

    /// The message for `mail`, or why it can never be written.
    fn message(&self, mail: &Mail) -> Result<Message, MailError> {
        let rendered = render(mail, &self.public_url)
            .map_err(|error| MailError::Rejected(error.to_string()))?;
        let address: Address = mail.to.as_str().parse().map_err(|error| {
            MailError::Rejected(format!(
                "the recipient's address cannot be written: {error}"
            ))
        })?;
        Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(Some(mail.name.as_str().to_owned()), address))
            .subject(rendered.subject)
            // Both stay the same across retries: a message the server took but did not confirm
            // (a timeout after DATA) arrives twice with one Message-ID, which clients merge, and
            // the date is when the person asked, which is when the link's lifetime started.
            .message_id(Some(format!("<{}@{}>", mail.id, self.message_id_domain)))
            .date(SystemTime::from(mail.created_at))
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|error| MailError::Rejected(format!("the message cannot be built: {error}")))
    }

    /// Sorts lettre's failure into the domain's two kinds.
    fn classify(&self, error: &lettre::transport::smtp::Error, mail: &Mail) -> MailError {
        let mut reason = format!("{}: {error}", self.server);
        // Servers do not echo message bodies, but a reason is logged and stored: make sure.
        if let Some(link) = &mail.link
            && !link.token.expose().is_empty()
        {
            reason = reason.replace(link.token.expose(), "<token>");
        }
        match error.status().map(u16::from) {
            Some(code) if AUTHENTICATION_CODES.contains(&code) => MailError::Transient(reason),
            _ if error.is_permanent() => MailError::Rejected(reason),
            // 4xx replies, refused connections, timeouts, TLS failures, a server without
            // STARTTLS: the message is fine, and may go through later.
            _ => MailError::Transient(reason),
        }
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    #[tracing::instrument(skip_all, fields(mail_id = %mail.id, kind = %mail.kind))]
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = self.message(mail)?;
        // lettre's async transport bounds only the TCP connect: a server that accepts and then
        // stays silent would hold this delivery, and the worker running it, forever.
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_response)) => Ok(()),
            Ok(Err(error)) => Err(self.classify(&error, mail)),
            Err(_elapsed) => Err(MailError::Transient(format!(
                "{}: no answer within {:?}",
                self.server, self.timeout
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, from: &str) -> SmtpSettings {
        SmtpSettings {
            url: url.to_owned(),
            from: from.to_owned(),
            public_url: "https://accounts.example.com".to_owned(),
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn the_three_documented_url_forms_make_a_mailer() {
        for url in [
            "smtp://127.0.0.1:25",
            "smtp://user:pass@mail.example.com:587?tls=starttls",
            "smtps://user:pass@mail.example.com:465",
        ] {
            let mailer = SmtpMailer::new(&settings(url, "Accounts <no-reply@example.com>"));
            assert!(mailer.is_ok(), "{url}: {:?}", mailer.err());
        }
    }

    #[test]
    fn debug_shows_the_server_but_not_the_password() {
        let mailer = SmtpMailer::new(&settings(
            "smtps://user:hunter2@mail.example.com",
            "no-reply@example.com",
        ))
        .unwrap();
        let debug = format!("{mailer:?}");
        assert!(debug.contains("mail.example.com:465 (TLS)"), "{debug}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn a_bad_from_address_is_refused_by_name() {
        let error = SmtpMailer::new(&settings(
            "smtps://user:hunter2@mail.example.com",
            "Accounts <not an address>",
        ))
        .unwrap_err();
        assert!(
            matches!(error, SmtpSettingsError::InvalidFrom { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("From address"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn a_bad_public_url_is_refused() {
        let mut bad = settings("smtp://127.0.0.1:25", "no-reply@example.com");
        bad.public_url = "accounts.example.com".to_owned();
        assert!(matches!(
            SmtpMailer::new(&bad),
            Err(SmtpSettingsError::InvalidPublicUrl(_))
        ));
    }
}
