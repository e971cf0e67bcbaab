//! Messages that the server accepts, as they arrive.

use crate::support::{FROM, PUBLIC_URL, Sink, reset_mail, unescape_html};
use domain::Mailer;

const TOKEN: &str = "q1w2E3r4-T5y6_u7i8O9p0aSdFgHjKlZxCvBnM1234";

#[tokio::test]
async fn a_password_reset_arrives_with_its_headers_both_parts_and_the_link() {
    let sink = Sink::start();
    let mail = reset_mail("ada@example.com", "Ada Lovelace", TOKEN);

    sink.mailer().send(&mail).await.unwrap();

    let eml = sink.only_message();
    let link = format!("{PUBLIC_URL}/reset-password?token={TOKEN}");
    assert_eq!(eml.header("From"), FROM);
    assert_eq!(eml.header("To"), "\"Ada Lovelace\" <ada@example.com>");
    assert_eq!(eml.header("Subject"), "Reset your password");
    assert_eq!(
        eml.header("Message-ID"),
        format!("<{}@example.com>", mail.id)
    );
    assert!(
        eml.header("Content-Type")
            .starts_with("multipart/alternative")
    );
    assert!(!eml.header("Date").is_empty());
    assert_eq!(eml.parts.len(), 2, "{eml:#?}");

    let text = eml.part("text/plain");
    assert!(text.contains("Hello Ada Lovelace,"), "{text}");
    assert!(text.contains(&link), "{text}");
    assert!(text.contains("works once, for 30 minutes"), "{text}");

    let html = eml.part("text/html");
    assert!(
        unescape_html(html).contains(&format!("<a href=\"{link}\">")),
        "{html}"
    );
}

#[tokio::test]
async fn a_hostile_name_is_escaped_in_the_html_part() {
    let sink = Sink::start();
    let name = "<script>alert('x')</script> & <b>co</b>";

    sink.mailer()
        .send(&reset_mail("mallory@example.com", name, TOKEN))
        .await
        .unwrap();

    let eml = sink.only_message();
    let html = eml.part("text/html");
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("<b>co"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt; &amp; &lt;b&gt;co"),
        "{html}"
    );
    assert!(eml.part("text/plain").contains(&format!("Hello {name},")));
    assert!(eml.header("To").contains("<mallory@example.com>"));
}

#[tokio::test]
async fn a_name_outside_ascii_arrives_intact() {
    let sink = Sink::start();

    sink.mailer()
        .send(&reset_mail("zoe@example.com", "Zoë Ñandú 李", TOKEN))
        .await
        .unwrap();

    let eml = sink.only_message();
    assert!(eml.part("text/plain").contains("Hello Zoë Ñandú 李,"));
    assert!(eml.part("text/html").contains("Hello Zoë Ñandú 李,"));
    // RFC 2047 keeps the header ASCII; only the address must be readable as it is.
    assert!(
        eml.header("To").ends_with("<zoe@example.com>"),
        "{}",
        eml.header("To")
    );
}

#[tokio::test]
async fn two_messages_make_two_files() {
    let sink = Sink::start();
    let mailer = sink.mailer();

    mailer
        .send(&reset_mail("ada@example.com", "Ada", "first-token"))
        .await
        .unwrap();
    mailer
        .send(&reset_mail("grace@example.com", "Grace", "second-token"))
        .await
        .unwrap();

    let messages = sink.messages();
    assert_eq!(messages.len(), 2);
    assert!(messages[0].contains("first-token") && messages[1].contains("second-token"));
}
