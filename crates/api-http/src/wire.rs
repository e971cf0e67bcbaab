//! One client connection's bytes, as hyper reads and writes them, with the two things hyper
//! leaves to its caller:
//!
//! - A client that stops taking in its answers (a slow or stalled reader) would hold its
//!   connection, and the answer's buffers, for good: a write that makes no progress for
//!   `send_timeout` fails, and hyper closes the connection.
//! - When a request head cannot be parsed (not HTTP, more than 100 headers, a head over
//!   hyper's buffer), hyper answers 400, 414 or 431 itself, before any service runs, with an
//!   empty body. Those answers are sent as problem details instead, like every other error of
//!   the API. hyper writes such an answer alone, as a head with only `connection: close`,
//!   `content-length: 0` and `date`, which no answer of ours is: every one carries the security
//!   headers.

use crate::problem::{PROBLEM_JSON, Problem};
use axum::http::StatusCode;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// A connection whose writes time out when stalled and whose parse-error answers are problems.
pub(crate) struct Wire<I> {
    io: I,
    send_timeout: Duration,
    /// The stall timer, made at the first stall and reset at each later one.
    timer: Option<Pin<Box<Sleep>>>,
    /// Whether a write is stalled: set when one could not proceed, cleared by any progress.
    stalled: bool,
    /// A replaced answer still to be written, and how much of it is.
    replacement: Option<(Vec<u8>, usize)>,
}

impl<I> Wire<I> {
    pub(crate) fn new(io: I, send_timeout: Duration) -> Self {
        Self {
            io,
            send_timeout,
            timer: None,
            stalled: false,
            replacement: None,
        }
    }
}

impl<I: AsyncWrite + Unpin> Wire<I> {
    /// Waits for the client to take in bytes, failing once it has taken none for
    /// `send_timeout`.
    fn progress<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = false;
            return poll;
        }
        let deadline = tokio::time::Instant::now() + self.send_timeout;
        let timer = match &mut self.timer {
            Some(timer) => {
                if !self.stalled {
                    timer.as_mut().reset(deadline);
                }
                timer
            }
            None => self
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        self.stalled = true;
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client took in nothing of its answer",
        )))
    }

    /// Writes what is left of a replaced answer.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, sent)) = &mut self.replacement {
            if *sent == bytes.len() {
                self.replacement = None;
                break;
            }
            let poll = Pin::new(&mut self.io).poll_write(cx, &bytes[*sent..]);
            let written = ready!(self.progress(cx, poll))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            if let Some((_, sent)) = &mut self.replacement {
                *sent += written;
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `bytes` as written when they are hyper's own answer to a malformed request,
    /// queueing the problem that replaces it.
    fn replaced(&mut self, bytes: &[u8]) -> bool {
        let Some(answer) = problem_for_parse_error(bytes) else {
            return false;
        };
        self.replacement = Some((answer, 0));
        true
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Wire<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Wire<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_replacement(cx))?;
        if this.replaced(buf) {
            return Poll::Ready(Ok(buf.len()));
        }
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.progress(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_replacement(cx))?;
        let mut filled = bufs.iter().filter(|buf| !buf.is_empty());
        if let (Some(only), None) = (filled.next(), filled.next())
            && this.replaced(only)
        {
            return Poll::Ready(Ok(only.len()));
        }
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.progress(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_replacement(cx))?;
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.progress(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_replacement(cx))?;
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.progress(cx, poll)
    }
}

/// The problem answer that replaces `written`, when `written` is exactly hyper's bare answer
/// to a request it could not parse: one head, status 400, 414 or 431, with `content-length: 0`,
/// `date` and `connection` only. The last two are kept.
fn problem_for_parse_error(written: &[u8]) -> Option<Vec<u8>> {
    // Cheap tests first: this runs on every write.
    if written.len() > 256 || !written.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let head = std::str::from_utf8(written)
        .ok()?
        .strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let code = status_line.strip_prefix("HTTP/1.1 ")?.get(..3)?;
    let status = match code {
        "400" => StatusCode::BAD_REQUEST,
        "414" => StatusCode::URI_TOO_LONG,
        "431" => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        _ => return None,
    };
    let mut kept = Vec::new();
    let mut empty_body = false;
    for line in lines {
        // hyper writes these three and nothing else; any other header is an answer of ours.
        let (name, value) = line.split_once(':')?;
        if name.eq_ignore_ascii_case("content-length") {
            empty_body = value.trim() == "0";
        } else if name.eq_ignore_ascii_case("date") || name.eq_ignore_ascii_case("connection") {
            kept.push(line);
        } else {
            return None;
        }
    }
    if !empty_body {
        return None;
    }
    let body = serde_json::to_vec(&Problem::from_status(status).details()).ok()?;
    let mut answer = format!(
        "{status_line}\r\ncontent-type: {PROBLEM_JSON}\r\ncontent-length: {}\r\n\
         x-content-type-options: nosniff\r\ncache-control: no-store\r\n",
        body.len()
    );
    for line in kept {
        answer.push_str(line);
        answer.push_str("\r\n");
    }
    answer.push_str("\r\n");
    let mut answer = answer.into_bytes();
    answer.extend_from_slice(&body);
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_parse_error_answers_are_replaced() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\n\
                     content-length: 0\r\ndate: Sat, 05 Dec 2026 21:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(problem_for_parse_error(bare).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains("\r\ncontent-type: application/problem+json\r\n"));
        assert!(head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())));
        assert!(head.ends_with("\r\nconnection: close\r\ndate: Sat, 05 Dec 2026 21:00:00 GMT"));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["status"], 431);
        assert_eq!(body["type"], "/problems/header-fields-too-large");

        for ours in [
            // Our own problems have a body and a type.
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 97\r\n\r\n",
            // A bodyless answer of ours still carries headers hyper never writes.
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-content-type-options: nosniff\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n{}",
            b"{\"status\": 400}",
            b"",
        ] {
            assert!(problem_for_parse_error(ours).is_none(), "{ours:?}");
        }
    }
}
