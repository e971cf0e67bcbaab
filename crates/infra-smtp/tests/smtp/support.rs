//! The harness: the SMTP sink as a child process, a temporary directory, a small reader of
//! the `.eml` files it writes, and a sample mail.

use base64::Engine;
use domain::{Email, FullName, Mail, MailKind, RefreshSecret};
use infra_smtp::{SmtpMailer, SmtpSettings};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// The link's base in every test.
pub(crate) const PUBLIC_URL: &str = "https://accounts.example.com";
/// The `From` setting in every test.
pub(crate) const FROM: &str = "Accounts <no-reply@example.com>";

/// A directory removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "infra-smtp-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port nothing listens on (a moment ago).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `scripts/smtp-sink.py`, running; stopped (SIGTERM, then SIGKILL) on drop.
pub(crate) struct Sink {
    child: Option<Child>,
    pub(crate) port: u16,
    mail_dir: PathBuf,
    stderr_path: PathBuf,
    // Last, so the directory goes after the process that writes into it.
    _dir: TempDir,
}

impl Sink {
    pub(crate) fn start() -> Self {
        let dir = TempDir::new();
        let mail_dir = dir.path().join("mail");
        let stderr_path = dir.path().join("sink.stderr");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp-sink.py");
        let port = free_port();
        let mut child = Command::new("python3")
            .arg(&script)
            .arg("--port")
            .arg(port.to_string())
            .arg("--dir")
            .arg(&mail_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot run python3 for the SMTP test sink {}: {error}",
                    script.display()
                )
            });

        // The first line is "ready" once the server listens; a read on another thread lets a
        // sink that hangs fail the test instead of blocking it.
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let mut sink = Self {
            child: Some(child),
            port,
            mail_dir,
            stderr_path,
            _dir: dir,
        };
        match receiver.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if line.trim() == "ready" => sink,
            outcome => {
                sink.stop();
                let stderr = std::fs::read_to_string(&sink.stderr_path).unwrap_or_default();
                panic!(
                    "the SMTP test sink (scripts/smtp-sink.py) did not start ({outcome:?}).\n\
                     It needs Debian's python3-aiosmtpd: apt-get install -y python3-aiosmtpd\n\
                     Its stderr:\n{stderr}"
                );
            }
        }
    }

    /// `smtp://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// A mailer for this sink.
    pub(crate) fn mailer(&self) -> SmtpMailer {
        SmtpMailer::new(&settings(&self.url(), Duration::from_secs(10))).unwrap()
    }

    /// The messages received so far, oldest first, as raw text.
    pub(crate) fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.mail_dir) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "eml"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|path| std::fs::read_to_string(path).unwrap())
            .collect()
    }

    /// The one message received; fails unless there is exactly one.
    pub(crate) fn only_message(&self) -> Eml {
        let messages = self.messages();
        assert_eq!(messages.len(), 1, "{messages:#?}");
        Eml::parse(&messages[0])
    }

    /// Sends SIGTERM and waits up to 5 seconds for the exit, then kills. `None` if it was
    /// already stopped.
    pub(crate) fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        // std can only SIGKILL; the sink's clean exit is on SIGTERM.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Settings for `url` with the tests' `From` and public URL.
pub(crate) fn settings(url: &str, timeout: Duration) -> SmtpSettings {
    SmtpSettings {
        url: url.to_owned(),
        from: FROM.to_owned(),
        public_url: PUBLIC_URL.to_owned(),
        timeout,
    }
}

/// A password-reset mail to `to`, greeting `name`, carrying `token`.
pub(crate) fn reset_mail(to: &str, name: &str, token: &str) -> Mail {
    let sent = OffsetDateTime::now_utc();
    Mail::new(
        Email::parse(to).unwrap(),
        FullName::parse(name).unwrap(),
        MailKind::PasswordReset,
        sent,
    )
    .with_link(
        RefreshSecret::new(token),
        sent + time::Duration::minutes(30),
    )
}

/// A received message: its headers, and its MIME parts decoded (just what lettre writes:
/// one level of multipart, 7bit, quoted-printable or base64).
#[derive(Debug)]
pub(crate) struct Eml {
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) parts: Vec<Part>,
}

/// One MIME part, decoded.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) content_type: String,
    pub(crate) body: String,
}

impl Eml {
    pub(crate) fn parse(raw: &str) -> Self {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap();
        let headers = parse_headers(head);
        let content_type = header_in(&headers, "Content-Type").unwrap_or_default();
        let parts = match boundary(&content_type) {
            Some(boundary) => body
                .split(&format!("--{boundary}"))
                .skip(1)
                .filter(|chunk| !chunk.starts_with("--"))
                .map(|chunk| {
                    let (part_head, part_body) =
                        chunk.trim_start_matches('\n').split_once("\n\n").unwrap();
                    let part_headers = parse_headers(part_head);
                    Part {
                        content_type: header_in(&part_headers, "Content-Type").unwrap_or_default(),
                        body: decode(
                            &header_in(&part_headers, "Content-Transfer-Encoding")
                                .unwrap_or_default(),
                            part_body,
                        ),
                    }
                })
                .collect(),
            None => vec![Part {
                content_type,
                body: decode(
                    &header_in(&headers, "Content-Transfer-Encoding").unwrap_or_default(),
                    body,
                ),
            }],
        };
        Self { headers, parts }
    }

    pub(crate) fn header(&self, name: &str) -> String {
        header_in(&self.headers, name).unwrap_or_else(|| panic!("no {name} header in {self:#?}"))
    }

    /// The body of the part whose type starts with `content_type` (`text/plain`).
    pub(crate) fn part(&self, content_type: &str) -> &str {
        &self
            .parts
            .iter()
            .find(|part| part.content_type.starts_with(content_type))
            .unwrap_or_else(|| panic!("no {content_type} part in {self:#?}"))
            .body
    }
}

fn parse_headers(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            // A folded line continues the previous header.
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    headers
}

fn header_in(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.clone())
}

fn boundary(content_type: &str) -> Option<String> {
    let (_, rest) = content_type.split_once("boundary=")?;
    Some(rest.split(';').next()?.trim().trim_matches('"').to_owned())
}

fn decode(encoding: &str, body: &str) -> String {
    let body = body.trim_end_matches('\n');
    match encoding.to_ascii_lowercase().as_str() {
        "quoted-printable" => String::from_utf8(
            quoted_printable::decode(body, quoted_printable::ParseMode::Robust).unwrap(),
        )
        .unwrap(),
        "base64" => String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(body.split_whitespace().collect::<String>())
                .unwrap(),
        )
        .unwrap(),
        _ => body.to_owned(),
    }
}

/// Undoes the HTML escaping minijinja applies to values, to compare a link with an `href`.
pub(crate) fn unescape_html(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}
