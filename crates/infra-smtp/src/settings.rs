//! The SMTP adapter's settings and the URL that names the mail server.
//!
//! The URL is this crate's documented contract, read here rather than by lettre's `from_url`
//! because lettre spells STARTTLS `tls=required`. Nothing here may write the URL's password
//! into an error, a log line or a `Debug` output.

use percent_encoding::percent_decode_str;
use std::fmt;
use std::time::Duration;
use url::Url;

/// How to reach the mail server, and what every message says about its origin.
#[derive(Clone)]
pub struct SmtpSettings {
    /// The mail server, in one of three forms:
    /// `smtp://host:25` (no TLS and no credentials, for local relays and tests),
    /// `smtp://user:password@host:587?tls=starttls` (STARTTLS required), or
    /// `smtps://user:password@host:465` (TLS from the first byte).
    /// The user name and password are percent-decoded; the port defaults to 25, 587 and 465.
    pub url: String,
    /// The `From` header, with or without a name: `Accounts <no-reply@example.com>`.
    pub from: String,
    /// The web app's address, which links in messages start with (`https://accounts.example.com`).
    pub public_url: String,
    /// The longest one delivery may take, from looking up the server to its last answer;
    /// a delivery cut short is a transient failure.
    pub timeout: Duration,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SmtpSettings")
            .field("url", &redacted_url(&self.url))
            .field("from", &self.from)
            .field("public_url", &self.public_url)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The URL with its password replaced, for `Debug`; an unreadable URL is not shown at all,
/// since where its password starts cannot be known.
fn redacted_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // Setting a password fails only on URLs that cannot have one, which this has.
                let _ = parsed.set_password(Some("REDACTED"));
            }
            parsed.to_string()
        }
        Err(_) => "<unreadable>".to_owned(),
    }
}

/// Why [`SmtpSettings`] cannot make a mailer. No variant holds the URL's password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpSettingsError {
    /// The SMTP URL does not parse as a URL.
    #[error(
        "the SMTP URL is not a valid URL ({0}); expected smtp://host:25, \
         smtp://user:password@host:587?tls=starttls or smtps://user:password@host:465"
    )]
    InvalidUrl(String),
    /// The scheme is neither `smtp` nor `smtps`.
    #[error("the SMTP URL's scheme must be smtp or smtps, not {0:?}")]
    UnsupportedScheme(String),
    /// The URL names no host.
    #[error("the SMTP URL names no host")]
    MissingHost,
    /// A query parameter other than `tls=starttls` on `smtp://`.
    #[error(
        "the SMTP URL's parameter {0:?} is not understood: the only one is tls=starttls, on smtp://"
    )]
    UnsupportedParameter(String),
    /// The user name or password is not valid percent-encoded UTF-8, or a password has no user.
    #[error(
        "the SMTP URL's user name or password is not valid (percent-encoded UTF-8, user required)"
    )]
    InvalidCredentials,
    /// Credentials on a connection without TLS.
    #[error(
        "the SMTP URL has credentials but no TLS, so they would cross the network in clear: \
         add ?tls=starttls, or use smtps://"
    )]
    CredentialsWithoutTls,
    /// lettre could not set up TLS for the host.
    #[error("TLS cannot be set up for the mail server {host}: {reason}")]
    Tls {
        /// The server's host name.
        host: String,
        /// lettre's reason.
        reason: String,
    },
    /// The `From` setting is not a mailbox.
    #[error("the From address {from:?} is not valid: {reason}")]
    InvalidFrom {
        /// The setting as given.
        from: String,
        /// lettre's reason.
        reason: String,
    },
    /// The public URL is not an absolute `http` or `https` URL without query or fragment.
    #[error("the public URL {0:?} must be an absolute http or https URL without query or fragment")]
    InvalidPublicUrl(String),
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Security {
    /// No TLS at all.
    Plain,
    /// Plain first, then STARTTLS, which the server must offer.
    StartTls,
    /// TLS from the first byte.
    Implicit,
}

/// A mail server read from an SMTP URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) security: Security,
    /// User name and password, decoded.
    pub(crate) credentials: Option<(String, String)>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Endpoint")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Reads an SMTP URL (see [`SmtpSettings::url`]).
    pub(crate) fn parse(raw: &str) -> Result<Self, SmtpSettingsError> {
        // url's messages describe the fault, never the input, so they are safe to show.
        let url = Url::parse(raw.trim())
            .map_err(|error| SmtpSettingsError::InvalidUrl(error.to_string()))?;
        let host = match url.host() {
            // Brackets are URL syntax; a socket address takes the bare IPv6 address.
            Some(url::Host::Ipv6(address)) => address.to_string(),
            Some(host) => host.to_string(),
            None => return Err(SmtpSettingsError::MissingHost),
        };
        if host.is_empty() {
            return Err(SmtpSettingsError::MissingHost);
        }

        let mut starttls = false;
        for (key, value) in url.query_pairs() {
            if key == "tls" && value == "starttls" {
                starttls = true;
            } else {
                // Only the key is shown: a value could be anything, a secret included.
                return Err(SmtpSettingsError::UnsupportedParameter(key.into_owned()));
            }
        }
        let (security, default_port) = match (url.scheme(), starttls) {
            ("smtp", false) => (Security::Plain, 25),
            ("smtp", true) => (Security::StartTls, 587),
            ("smtps", false) => (Security::Implicit, 465),
            ("smtps", true) => {
                return Err(SmtpSettingsError::UnsupportedParameter("tls".to_owned()));
            }
            (scheme, _) => return Err(SmtpSettingsError::UnsupportedScheme(scheme.to_owned())),
        };

        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            ("", Some(_)) => return Err(SmtpSettingsError::InvalidCredentials),
            (user, password) => {
                let decode = |raw: &str| {
                    percent_decode_str(raw)
                        .decode_utf8()
                        .map(std::borrow::Cow::into_owned)
                        .map_err(|_| SmtpSettingsError::InvalidCredentials)
                };
                Some((decode(user)?, decode(password.unwrap_or(""))?))
            }
        };
        if credentials.is_some() && security == Security::Plain {
            return Err(SmtpSettingsError::CredentialsWithoutTls);
        }

        Ok(Self {
            host,
            port: url.port().unwrap_or(default_port),
            security,
            credentials,
        })
    }
}

/// The public URL without its trailing slashes, once checked.
pub(crate) fn public_url(raw: &str) -> Result<(String, url::Host<String>), SmtpSettingsError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let invalid = || SmtpSettingsError::InvalidPublicUrl(raw.to_owned());
    let parsed = Url::parse(trimmed).map_err(|_| invalid())?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(invalid());
    }
    let host = parsed.host().ok_or_else(invalid)?.to_owned();
    Ok((trimmed.to_owned(), host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(raw: &str) -> Endpoint {
        Endpoint::parse(raw).unwrap()
    }

    #[test]
    fn plain_smtp_defaults_to_port_25() {
        assert_eq!(
            endpoint("smtp://relay.internal"),
            Endpoint {
                host: "relay.internal".to_owned(),
                port: 25,
                security: Security::Plain,
                credentials: None,
            }
        );
        assert_eq!(endpoint("smtp://127.0.0.1:2525").port, 2525);
    }

    #[test]
    fn starttls_takes_percent_decoded_credentials_and_defaults_to_587() {
        let parsed =
            endpoint("smtp://me%40example.com:p%40ss%3Aw%2Frd@mail.example.com?tls=starttls");
        assert_eq!(parsed.security, Security::StartTls);
        assert_eq!(parsed.port, 587);
        assert_eq!(
            parsed.credentials,
            Some(("me@example.com".to_owned(), "p@ss:w/rd".to_owned()))
        );
    }

    #[test]
    fn smtps_is_implicit_tls_and_defaults_to_465() {
        let parsed = endpoint("smtps://user:pass@mail.example.com");
        assert_eq!((parsed.security, parsed.port), (Security::Implicit, 465));
        assert_eq!(
            endpoint("smtps://user:pass@mail.example.com:2465").port,
            2465
        );
    }

    #[test]
    fn an_ipv6_host_loses_its_brackets() {
        assert_eq!(endpoint("smtp://[::1]:25").host, "::1");
    }

    #[test]
    fn bad_urls_are_refused_without_their_password() {
        let cases = [
            ("not a url hunter2", "not a valid URL"),
            ("http://user:hunter2@mail.example.com", "scheme"),
            (
                "smtp://user:hunter2@mail.example.com?tls=required",
                "\"tls\"",
            ),
            (
                "smtp://user:hunter2@mail.example.com?password=hunter2",
                "\"password\"",
            ),
            (
                "smtps://user:hunter2@mail.example.com?tls=starttls",
                "\"tls\"",
            ),
            ("smtp://user:hunter2@mail.example.com", "no TLS"),
            (
                "smtp://:hunter2@mail.example.com?tls=starttls",
                "user name or password",
            ),
            (
                "smtp://user:hunter2%FF@mail.example.com?tls=starttls",
                "user name or password",
            ),
            ("smtp://user:hunter2@:25?tls=starttls", "not a valid URL"),
        ];
        for (raw, expected) in cases {
            let message = Endpoint::parse(raw).unwrap_err().to_string();
            assert!(message.contains(expected), "{raw}: {message}");
            assert!(!message.contains("hunter2"), "{raw}: {message}");
        }
    }

    #[test]
    fn debug_redacts_the_password() {
        let settings = SmtpSettings {
            url: "smtps://user:hunter2@mail.example.com".to_owned(),
            from: "no-reply@example.com".to_owned(),
            public_url: "https://x.example".to_owned(),
            timeout: Duration::from_secs(10),
        };
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("user:REDACTED@mail.example.com"), "{debug}");
        let endpoint_debug = format!("{:?}", endpoint(&settings.url));
        assert!(!endpoint_debug.contains("hunter2"), "{endpoint_debug}");
    }

    #[test]
    fn the_public_url_loses_its_trailing_slash_and_must_be_http() {
        assert_eq!(
            public_url("https://accounts.example.com/").unwrap().0,
            "https://accounts.example.com"
        );
        for bad in [
            "accounts.example.com",
            "ftp://x.example",
            "https://x.example/?a=b",
            "https://x.example/#top",
        ] {
            assert!(public_url(bad).is_err(), "{bad}");
        }
    }
}
