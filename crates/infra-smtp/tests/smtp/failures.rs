//! Messages that do not go through, and which of the domain's two failures each is.

use crate::support::{Sink, free_port, reset_mail, settings};
use domain::{MailError, Mailer};
use infra_smtp::SmtpMailer;
use std::net::TcpListener;
use std::time::{Duration, Instant};

const TOKEN: &str = "Zx9-secret_TOKEN-value";

fn assert_token_absent(error: &MailError) {
    let message = error.to_string();
    assert!(!message.contains(TOKEN), "{message}");
}

/// What sending a reset mail to `to` through a fresh sink fails with; the sink must have kept
/// nothing.
async fn refusal_for(to: &str) -> MailError {
    let sink = Sink::start();
    let error = sink
        .mailer()
        .send(&reset_mail(to, "Ada", TOKEN))
        .await
        .unwrap_err();
    assert_token_absent(&error);
    assert!(sink.messages().is_empty());
    error
}

#[tokio::test]
async fn a_deferred_recipient_is_a_transient_failure() {
    let error = refusal_for("deferred.ada@example.com").await;
    assert!(
        matches!(&error, MailError::Transient(reason) if reason.contains("451")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_rejected_recipient_is_a_rejected_failure() {
    let error = refusal_for("rejectme@example.com").await;
    assert!(
        matches!(&error, MailError::Rejected(reason) if reason.contains("550")),
        "{error:?}"
    );
}

#[tokio::test]
async fn no_server_listening_is_a_transient_failure_at_once() {
    let url = format!("smtp://127.0.0.1:{}", free_port());
    let mailer = SmtpMailer::new(&settings(&url, Duration::from_secs(2))).unwrap();
    let started = Instant::now();

    let error = mailer
        .send(&reset_mail("ada@example.com", "Ada", TOKEN))
        .await
        .unwrap_err();

    assert!(matches!(error, MailError::Transient(_)), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_token_absent(&error);
}

#[tokio::test]
async fn a_server_that_never_greets_is_a_transient_failure_after_the_timeout() {
    // The kernel completes the connection; nobody ever answers on it.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://127.0.0.1:{}", silent.local_addr().unwrap().port());
    let mailer = SmtpMailer::new(&settings(&url, Duration::from_millis(500))).unwrap();
    let started = Instant::now();

    let error = mailer
        .send(&reset_mail("ada@example.com", "Ada", TOKEN))
        .await
        .unwrap_err();

    let elapsed = started.elapsed();
    assert!(matches!(error, MailError::Transient(_)), "{error:?}");
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn implicit_tls_to_a_plain_server_is_a_transient_failure() {
    let sink = Sink::start();
    let url = format!("smtps://user:hunter2@127.0.0.1:{}", sink.port);
    let mailer = SmtpMailer::new(&settings(&url, Duration::from_secs(5))).unwrap();

    let error = mailer
        .send(&reset_mail("ada@example.com", "Ada", TOKEN))
        .await
        .unwrap_err();

    assert!(matches!(error, MailError::Transient(_)), "{error:?}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn required_starttls_from_a_server_without_it_is_a_transient_failure() {
    let sink = Sink::start();
    let url = format!("smtp://user:hunter2@127.0.0.1:{}?tls=starttls", sink.port);
    let mailer = SmtpMailer::new(&settings(&url, Duration::from_secs(5))).unwrap();

    let error = mailer
        .send(&reset_mail("ada@example.com", "Ada", TOKEN))
        .await
        .unwrap_err();

    assert!(matches!(error, MailError::Transient(_)), "{error:?}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_reset_mail_without_a_token_is_rejected_before_connecting() {
    // No server: a rejection here cannot come from the network.
    let url = format!("smtp://127.0.0.1:{}", free_port());
    let mailer = SmtpMailer::new(&settings(&url, Duration::from_secs(2))).unwrap();
    let mut mail = reset_mail("ada@example.com", "Ada", TOKEN);
    mail.link = None;

    let error = mailer.send(&mail).await.unwrap_err();

    assert!(
        matches!(&error, MailError::Rejected(reason) if reason.contains("token")),
        "{error:?}"
    );
}
