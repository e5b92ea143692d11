//! The component's stderr, as `tracing` events: one warning per line, target
//! `entra_identity_core::component`.
//!
//! Lines are deduplicated per `Identity` (or `Validator`): every pooled or fresh
//! instance says "shared cache off, because …" when it starts, and the operator needs
//! to read that once, not once per request. A guest panic's message arrives here too,
//! before the trap.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// The `tracing` target of the component's lines.
pub(crate) const TARGET: &str = "entra_identity_core::component";
/// Longest line kept whole; a longer one is logged in pieces.
const MAX_LINE: usize = 8 << 10;
/// Distinct lines remembered per `Identity`; beyond that, lines are logged undeduplicated
/// rather than growing the set without bound.
const MAX_REMEMBERED: usize = 256;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The lines one `Identity`'s instances have logged.
#[derive(Clone, Default)]
pub(crate) struct GuestLog {
    seen: Arc<Mutex<HashSet<String>>>,
}

impl GuestLog {
    /// The stderr of one new instance.
    pub(crate) fn stderr(&self) -> GuestStderr {
        GuestStderr(Arc::new(Mutex::new(Lines {
            log: self.clone(),
            pending: Vec::new(),
        })))
    }

    fn emit(&self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let line = text.trim_end();
        if line.is_empty() {
            return;
        }
        {
            let mut seen = lock(&self.seen);
            if seen.contains(line) {
                return;
            }
            if seen.len() < MAX_REMEMBERED {
                seen.insert(line.to_string());
            }
        }
        tracing::warn!(target: TARGET, "{line}");
    }
}

/// One instance's partial line; whatever is left when the instance goes is logged.
struct Lines {
    log: GuestLog,
    pending: Vec<u8>,
}

impl Lines {
    fn write(&mut self, mut bytes: &[u8]) {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            self.pending.extend_from_slice(&bytes[..end]);
            self.flush_line();
            bytes = &bytes[end + 1..];
        }
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= MAX_LINE {
            self.flush_line();
        }
    }

    fn flush_line(&mut self) {
        self.log.emit(&self.pending);
        self.pending.clear();
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        self.flush_line();
    }
}

/// The stderr given to one instance's WASI context. Every stream the guest opens on
/// it shares one line buffer, so a line written in pieces stays one line.
#[derive(Clone)]
pub(crate) struct GuestStderr(Arc<Mutex<Lines>>);

impl GuestStderr {
    fn write(&self, bytes: &[u8]) {
        lock(&self.0).write(bytes);
    }
}

impl IsTerminal for GuestStderr {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestStderr {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for GuestStderr {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        GuestStderr::write(self, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(MAX_LINE)
    }
}

#[async_trait::async_trait]
impl Pollable for GuestStderr {
    async fn ready(&mut self) {}
}

impl AsyncWrite for GuestStderr {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        GuestStderr::write(&self, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_in_pieces_are_one_event_and_repeats_across_instances_are_dropped() {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let log = GuestLog::default();
            for _ in 0..3 {
                let stderr = log.stderr();
                let mut stream = stderr.p2_stream();
                stream.write("shared cache off: no ".into()).unwrap();
                stream.write("key\nsecond line\npartial".into()).unwrap();
                drop(stream);
                drop(stderr);
            }
            GuestLog::default()
                .stderr()
                .write(b"shared cache off: no key\n");
        });
        let text = String::from_utf8(lock(&logs.0).clone()).unwrap();
        assert_eq!(
            text.matches("shared cache off: no key").count(),
            2,
            "{text}"
        );
        assert_eq!(text.matches("second line").count(), 1, "{text}");
        assert_eq!(text.matches("partial").count(), 1, "{text}");
        assert!(text.contains(TARGET) && text.contains("WARN"), "{text}");
    }
}
