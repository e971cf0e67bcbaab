//! Settings that cannot make a mailer, and what the error says (never the password).

use crate::support::settings;
use infra_smtp::{SmtpMailer, SmtpSettings, SmtpSettingsError};
use std::time::Duration;

fn error_for(url: &str, from: &str) -> SmtpSettingsError {
    let candidate = SmtpSettings {
        from: from.to_owned(),
        ..settings(url, Duration::from_secs(5))
    };
    SmtpMailer::new(&candidate).unwrap_err()
}

#[test]
fn a_bad_url_is_an_error_that_does_not_show_the_password() {
    let from = "no-reply@example.com";
    let cases = [
        "smtp//user:hunter2@mail.example.com",
        "imap://user:hunter2@mail.example.com",
        "smtp://user:hunter2@mail.example.com:99999?tls=starttls",
        "smtp://user:hunter2@mail.example.com?tls=yes",
        "smtp://user:hunter2@mail.example.com:25",
    ];
    for url in cases {
        let message = error_for(url, from).to_string();
        assert!(message.contains("SMTP URL"), "{url}: {message}");
        assert!(!message.contains("hunter2"), "{url}: {message}");
    }
}

#[test]
fn a_bad_from_address_is_an_error_that_names_it() {
    for from in ["", "no-reply", "Accounts <no-reply@>", "a@b@c"] {
        let error = error_for("smtps://user:hunter2@mail.example.com", from);
        assert!(
            matches!(&error, SmtpSettingsError::InvalidFrom { from: given, .. } if given == from),
            "{from:?}: {error:?}"
        );
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}
