//! From a [`Mail`] to its subject, plain-text body, HTML body and link. Each kind of message
//! has its templates in `templates/` (compiled in) and its subject here; no I/O happens here.

use domain::{Mail, MailKind};
use minijinja::{Environment, UndefinedBehavior, context};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::fmt;

/// A message ready to be sent: what [`render`] makes of a [`Mail`].
///
/// Its `Debug` shows the subject only: the bodies and the link carry the mail's token.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The `Subject` header.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, with every value written into it escaped.
    pub html: String,
    /// The link the message asks its reader to open, with its token, if the kind has one.
    pub link: Option<String>,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Rendered")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Why a message could not be rendered. Either way it never will be, so a mailer rejects it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The kind's link needs a token and the mail carries none.
    #[error("a {0} message needs a token for its link, and this one has none")]
    MissingToken(MailKind),
    /// A template failed to parse or to render (a bug in the template).
    #[error("the {kind} template failed: {reason}")]
    Template {
        /// The kind whose template failed.
        kind: MailKind,
        /// What minijinja reported (without the context's values: its `debug` feature is off).
        reason: String,
    },
}

/// Where a kind's link points.
struct LinkSpec {
    path: &'static str,
}

/// What one kind of message is made of.
struct KindSpec {
    subject: &'static str,
    text: &'static str,
    html: &'static str,
    link: Option<LinkSpec>,
}

/// The exhaustive match makes a new [`MailKind`] fail to compile here until it has its
/// subject and templates.
fn spec(kind: MailKind) -> KindSpec {
    match kind {
        MailKind::PasswordReset => KindSpec {
            subject: "Reset your password",
            text: include_str!("../templates/password_reset.txt"),
            html: include_str!("../templates/password_reset.html"),
            link: Some(LinkSpec {
                path: "/reset-password",
            }),
        },
    }
}

/// RFC 3986's unreserved characters stay as they are; everything else is percent-encoded.
/// Base64url tokens need no encoding today; this keeps a link valid if the alphabet changes.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Renders `mail`: its subject, its plain-text and HTML bodies, and its link, which starts
/// with `public_url` (the web app's address; a trailing slash is ignored).
///
/// ```
/// use domain::{Email, FullName, Mail, MailKind, RefreshSecret};
/// use time::{Duration, OffsetDateTime};
///
/// let sent = OffsetDateTime::UNIX_EPOCH;
/// let mail = Mail::new(
///     Email::parse("ada@example.com").unwrap(),
///     FullName::parse("Ada Lovelace").unwrap(),
///     MailKind::PasswordReset,
///     sent,
/// )
/// .with_link(RefreshSecret::new("abc-123_x"), sent + Duration::minutes(30));
/// let rendered = infra_smtp::render(&mail, "https://accounts.example.com/").unwrap();
/// assert_eq!(
///     rendered.link.as_deref(),
///     Some("https://accounts.example.com/reset-password?token=abc-123_x")
/// );
/// assert!(rendered.text.contains("Hello Ada Lovelace,"));
/// ```
///
/// # Errors
/// [`RenderError::MissingToken`] when the kind has a link and the mail no token;
/// [`RenderError::Template`] when a template is broken.
pub fn render(mail: &Mail, public_url: &str) -> Result<Rendered, RenderError> {
    let spec = spec(mail.kind);
    let (link, valid_minutes) = match &spec.link {
        Some(link_spec) => {
            let link = mail
                .link
                .as_ref()
                .ok_or(RenderError::MissingToken(mail.kind))?;
            let url = format!(
                "{}{}?token={}",
                public_url.trim_end_matches('/'),
                link_spec.path,
                utf8_percent_encode(link.token.expose(), QUERY_VALUE)
            );
            // Whole minutes, rounded up: a link that works for 90 seconds says 2, not 1.
            let seconds = (link.expires_at - mail.created_at).whole_seconds();
            (Some(url), Some(((seconds + 59) / 60).max(1)))
        }
        None => (None, None),
    };
    let template_error = |error: minijinja::Error| RenderError::Template {
        kind: mail.kind,
        reason: error.to_string(),
    };

    let mut environment = Environment::new();
    // A misspelt variable must fail the tests, not render as an empty string in people's mail.
    environment.set_undefined_behavior(UndefinedBehavior::Strict);
    // The names pick the escaping: minijinja escapes HTML in templates named `*.html` only.
    environment
        .add_template("body.txt", spec.text)
        .map_err(template_error)?;
    environment
        .add_template("body.html", spec.html)
        .map_err(template_error)?;
    let values = context! {
        name => mail.name.as_str(),
        link => link.as_deref(),
        valid_minutes => valid_minutes,
    };
    let render_one = |name: &str| {
        environment
            .get_template(name)
            .and_then(|template| template.render(values.clone()))
            .map_err(template_error)
    };
    Ok(Rendered {
        subject: spec.subject.to_owned(),
        text: render_one("body.txt")?,
        html: render_one("body.html")?,
        link,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Email, FullName, RefreshSecret};
    use time::{Duration, OffsetDateTime};

    fn mail(kind: MailKind, name: &str, token: Option<&str>) -> Mail {
        let sent = OffsetDateTime::UNIX_EPOCH;
        let mail = Mail::new(
            Email::parse("ada@example.com").unwrap(),
            FullName::parse(name).unwrap(),
            kind,
            sent,
        );
        match token {
            Some(token) => mail.with_link(RefreshSecret::new(token), sent + Duration::minutes(30)),
            None => mail,
        }
    }

    #[test]
    fn the_text_says_how_long_the_link_works_as_it_was_issued() {
        let sent = OffsetDateTime::UNIX_EPOCH;
        let mail = Mail::new(
            Email::parse("ada@example.com").unwrap(),
            FullName::parse("Ada").unwrap(),
            MailKind::PasswordReset,
            sent,
        );
        for (lifetime, said) in [
            (Duration::hours(1), "for 60 minutes"),
            (Duration::seconds(90), "for 2 minutes"),
            (Duration::seconds(1), "for 1 minutes"),
        ] {
            let mail = mail
                .clone()
                .with_link(RefreshSecret::new("tok"), sent + lifetime);
            let rendered = render(&mail, "https://x.example").unwrap();
            assert!(
                rendered.text.contains(said),
                "{lifetime}: {}",
                rendered.text
            );
            assert!(
                rendered.html.contains(said),
                "{lifetime}: {}",
                rendered.html
            );
        }
    }

    #[test]
    fn every_kind_renders_with_a_token() {
        for kind in MailKind::ALL {
            let rendered = render(&mail(kind, "Ada", Some("tok")), "https://x.example").unwrap();
            assert!(!rendered.subject.is_empty(), "{kind}");
            assert!(rendered.text.contains("Ada"), "{kind}");
            assert!(rendered.html.contains("Ada"), "{kind}");
        }
    }

    #[test]
    fn password_reset_links_to_the_reset_page_with_the_token() {
        let rendered = render(
            &mail(MailKind::PasswordReset, "Ada", Some("AbC-_9")),
            "https://accounts.example.com",
        )
        .unwrap();
        let link = "https://accounts.example.com/reset-password?token=AbC-_9";
        assert_eq!(rendered.link.as_deref(), Some(link));
        assert_eq!(rendered.subject, "Reset your password");
        assert!(rendered.text.contains(link), "{}", rendered.text);
    }

    #[test]
    fn password_reset_says_once_thirty_minutes_and_ignore() {
        let rendered = render(
            &mail(MailKind::PasswordReset, "Ada", Some("t")),
            "https://x.example",
        )
        .unwrap();
        for body in [&rendered.text, &rendered.html] {
            assert!(body.contains("works once, for 30 minutes"), "{body}");
            assert!(body.contains("you can ignore this message"), "{body}");
        }
    }

    #[test]
    fn a_trailing_slash_on_the_public_url_is_ignored() {
        let rendered = render(
            &mail(MailKind::PasswordReset, "Ada", Some("t")),
            "https://x.example/app//",
        )
        .unwrap();
        assert_eq!(
            rendered.link.as_deref(),
            Some("https://x.example/app/reset-password?token=t")
        );
    }

    #[test]
    fn the_token_is_percent_encoded_in_the_link() {
        let rendered = render(
            &mail(MailKind::PasswordReset, "Ada", Some("a+b/c=&d e")),
            "https://x.example",
        )
        .unwrap();
        assert_eq!(
            rendered.link.as_deref(),
            Some("https://x.example/reset-password?token=a%2Bb%2Fc%3D%26d%20e")
        );
    }

    #[test]
    fn the_html_body_escapes_the_name_and_the_text_body_does_not() {
        let rendered = render(
            &mail(
                MailKind::PasswordReset,
                "<script>alert(\"x\")</script> & co",
                Some("t"),
            ),
            "https://x.example",
        )
        .unwrap();
        assert!(!rendered.html.contains("<script>"), "{}", rendered.html);
        assert!(
            rendered.html.contains("&lt;script&gt;alert(&quot;x&quot;)"),
            "{}",
            rendered.html
        );
        assert!(rendered.html.contains("&amp; co"), "{}", rendered.html);
        assert!(
            rendered
                .text
                .contains("Hello <script>alert(\"x\")</script> & co,")
        );
    }

    #[test]
    fn a_reset_mail_without_a_token_is_an_error() {
        let error = render(
            &mail(MailKind::PasswordReset, "Ada", None),
            "https://x.example",
        )
        .unwrap_err();
        assert_eq!(error, RenderError::MissingToken(MailKind::PasswordReset));
    }

    #[test]
    fn debug_does_not_show_the_token() {
        let rendered = render(
            &mail(MailKind::PasswordReset, "Ada", Some("sekrit-token")),
            "https://x.example",
        )
        .unwrap();
        let debug = format!("{rendered:?}");
        assert!(!debug.contains("sekrit-token"), "{debug}");
        assert!(debug.contains("Reset your password"), "{debug}");
    }
}
