//! Security headers on hyper's own answers.
//!
//! hyper answers a request it cannot parse (`400` bad method, URI, version or
//! header; `414` URI too long; `431` head too large) itself, before any
//! handler or middleware runs, with only `content-length: 0` and `date`. This
//! wrapper around the connection's socket recognizes exactly that answer as it
//! is written (a status line of 400, 414 or 431, no header but
//! `content-length: 0`, `date` and `connection`, nothing after the head) and
//! writes it with the broker's security headers added. Responses of the
//! broker always carry `content-security-policy`, so they never match.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Largest head hyper writes for such an answer (status line, length, date, connection).
const MAX_ERROR_HEAD: usize = 256;

/// A socket that adds `headers` (complete `name: value\r\n` lines) to hyper's own error answers.
pub struct SecureErrors<T> {
    inner: T,
    headers: &'static str,
    pending: Vec<u8>,
    written: usize,
}

impl<T> SecureErrors<T> {
    /// Wrap `inner`.
    pub fn new(inner: T, headers: &'static str) -> Self {
        Self { inner, headers, pending: Vec::new(), written: 0 }
    }
}

/// The head of hyper's own error answer, with `headers` inserted after the status line.
fn rewrite(buf: &[u8], headers: &str) -> Option<Vec<u8>> {
    if buf.len() > MAX_ERROR_HEAD || !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let text = std::str::from_utf8(buf).ok()?;
    let mut lines = text[..text.len() - 4].split("\r\n");
    let status = lines.next()?;
    let ours = ["HTTP/1.1 400 ", "HTTP/1.1 414 ", "HTTP/1.1 431 ", "HTTP/1.0 400 ", "HTTP/1.0 414 ", "HTTP/1.0 431 "];
    if !ours.iter().any(|p| status.starts_with(p)) {
        return None;
    }
    for line in lines {
        let lower = line.to_ascii_lowercase();
        let known = lower == "content-length: 0" || lower.starts_with("date: ") || lower.starts_with("connection: ");
        if !known {
            return None;
        }
    }
    let cut = status.len() + 2;
    let mut out = Vec::with_capacity(buf.len() + headers.len());
    out.extend_from_slice(&buf[..cut]);
    out.extend_from_slice(headers.as_bytes());
    out.extend_from_slice(&buf[cut..]);
    Some(out)
}

impl<T: AsyncWrite + Unpin> SecureErrors<T> {
    /// Write what is pending; `Ready(Ok)` once it is all out.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    /// Accept `buf` as hyper's error head: written rewritten, reported as `buf.len()`.
    fn write_rewritten(
        &mut self,
        cx: &mut Context<'_>,
        len: usize,
        rewritten: Option<Vec<u8>>,
    ) -> Poll<io::Result<usize>> {
        if let Some(bytes) = rewritten {
            self.pending = bytes;
            self.written = 0;
        }
        ready!(self.drain(cx))?;
        Poll::Ready(Ok(len))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for SecureErrors<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for SecureErrors<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if !this.pending.is_empty() {
            // A rewritten head is on its way: `buf` is that head again.
            return this.write_rewritten(cx, buf.len(), None);
        }
        if let Some(bytes) = rewrite(buf, this.headers) {
            return this.write_rewritten(cx, buf.len(), Some(bytes));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let mut nonempty = bufs.iter().filter(|b| !b.is_empty());
        let first = nonempty.next();
        let only_one = nonempty.next().is_none();
        if let Some(first) = first.filter(|_| only_one) {
            if !this.pending.is_empty() {
                return this.write_rewritten(cx, first.len(), None);
            }
            if let Some(bytes) = rewrite(first, this.headers) {
                return this.write_rewritten(cx, first.len(), Some(bytes));
            }
        }
        if !this.pending.is_empty() {
            ready!(this.drain(cx))?;
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_error_heads_are_rewritten() {
        let h = "x-a: 1\r\n";
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 30 Nov 2026 10:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(rewrite(head, h).unwrap()).unwrap();
        assert!(
            out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\nx-a: 1\r\ncontent-length: 0\r\n"),
            "{out}"
        );
        assert!(rewrite(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n", h).is_some());
        // Anything else passes untouched.
        assert!(rewrite(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", h).is_none());
        assert!(
            rewrite(b"HTTP/1.1 400 Bad Request\r\ncontent-security-policy: x\r\ncontent-length: 0\r\n\r\n", h)
                .is_none()
        );
        assert!(rewrite(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 5\r\n\r\nhello", h).is_none());
        assert!(rewrite(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n", h).is_none());
    }
}
