//! The development mailer: one log line per message, with the link.

use crate::support::reset_mail;
use domain::Mailer;
use infra_smtp::LogMailer;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Collects what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged_by(mailer: &LogMailer, mail: &domain::Mail) -> (Result<(), domain::MailError>, String) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let outcome =
        tracing::subscriber::with_default(subscriber, || runtime.block_on(mailer.send(mail)));
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    (outcome, text)
}

#[test]
fn a_reset_mail_is_one_info_line_with_recipient_kind_subject_and_link() {
    let mailer = LogMailer::new("http://localhost:5173/");
    let mail = reset_mail("ada@example.com", "Ada", "log-token-123");

    let (outcome, logged) = logged_by(&mailer, &mail);

    assert_eq!(outcome, Ok(()));
    assert_eq!(logged.lines().count(), 1, "{logged}");
    assert!(logged.contains("INFO"), "{logged}");
    for expected in [
        "to=ada@example.com",
        "kind=password_reset",
        "subject=Reset your password",
        "link=\"http://localhost:5173/reset-password?token=log-token-123\"",
    ] {
        assert!(logged.contains(expected), "{expected} in {logged}");
    }
}

#[test]
fn a_mail_that_cannot_be_rendered_is_still_ok() {
    let mailer = LogMailer::new("http://localhost:5173");
    let mut mail = reset_mail("ada@example.com", "Ada", "t");
    mail.link = None;

    let (outcome, logged) = logged_by(&mailer, &mail);

    assert_eq!(outcome, Ok(()));
    assert!(logged.contains("WARN"), "{logged}");
}

#[test]
fn a_mailer_withholding_links_logs_everything_but_the_link() {
    let mailer = LogMailer::new("http://localhost:5173").withholding_links();
    let mail = reset_mail("ada@example.com", "Ada", "log-token-456");

    let (outcome, logged) = logged_by(&mailer, &mail);

    assert_eq!(outcome, Ok(()));
    assert!(logged.contains("to=ada@example.com"), "{logged}");
    assert!(logged.contains("withheld"), "{logged}");
    assert!(!logged.contains("log-token-456"), "{logged}");
    assert!(!logged.contains("reset-password?token"), "{logged}");
}
