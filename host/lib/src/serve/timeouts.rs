//! A connection's header and idle deadlines, Go's `ReadHeaderTimeout`/`IdleTimeout`
//! split: the idle clock runs while no request is open and no byte of the next one
//! has come; the header clock from that first byte until the request reaches the app.
//!
//! Not hyper's `header_read_timeout`: its clock starts as soon as the connection
//! waits for a head, idle time included, so it cannot tell a slow head from an idle
//! keep-alive connection, and hyper has no idle timeout for HTTP/1 at all.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

/// What a connection is doing, as its deadlines see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// No request open and no byte of the next one, since then.
    Idle(Instant),
    /// Part of a request head came, first at this time.
    Head(Instant),
    /// This many requests reached the app and their responses are not done; the
    /// app's request timeout bounds them.
    Busy(usize),
}

impl Phase {
    /// When the connection is closed if nothing changes; `None` while busy.
    pub(super) fn deadline(self, header: Duration, idle: Duration) -> Option<Instant> {
        match self {
            Phase::Idle(since) => since.checked_add(idle),
            Phase::Head(since) => since.checked_add(header),
            Phase::Busy(_) => None,
        }
    }
}

/// A connection's phase, moved by its socket's reads and its requests.
#[derive(Clone)]
pub(super) struct Activity(watch::Sender<Phase>);

impl Activity {
    pub(super) fn new() -> (Activity, watch::Receiver<Phase>) {
        let (tx, rx) = watch::channel(Phase::Idle(Instant::now()));
        (Activity(tx), rx)
    }

    fn bytes_arrived(&self) {
        self.0.send_if_modified(|phase| match *phase {
            Phase::Idle(_) => {
                *phase = Phase::Head(Instant::now());
                true
            }
            Phase::Head(_) | Phase::Busy(_) => false,
        });
    }

    /// A request reached the service; the connection is busy until the returned
    /// guard (held by the response body) is dropped.
    pub(super) fn begin(&self) -> Busy {
        self.0.send_modify(|phase| {
            *phase = match *phase {
                Phase::Busy(n) => Phase::Busy(n + 1),
                Phase::Idle(_) | Phase::Head(_) => Phase::Busy(1),
            }
        });
        Busy(self.clone())
    }
}

/// One open request on a connection.
pub(super) struct Busy(Activity);

impl Drop for Busy {
    fn drop(&mut self) {
        // A pipelined request already in hyper's buffer counts as idle until it reaches
        // the service, which happens without waiting on the client.
        self.0.0.send_modify(|phase| {
            *phase = match *phase {
                Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
                _ => Phase::Idle(Instant::now()),
            }
        });
    }
}

/// A socket that reports the first byte of each request head to its [`Activity`].
pub(super) struct Watched<S> {
    socket: S,
    activity: Activity,
}

impl<S> Watched<S> {
    pub(super) fn new(socket: S, activity: Activity) -> Self {
        Watched { socket, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.socket).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.bytes_arrived();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().socket).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().socket).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().socket).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().socket).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const HEADER: Duration = Duration::from_millis(500);
    const IDLE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn the_first_byte_starts_the_header_clock_and_requests_stop_both() {
        let (activity, phase) = Activity::new();
        let start = Instant::now();
        assert_eq!(phase.borrow().deadline(HEADER, IDLE), Some(start + IDLE));

        let (client, server) = tokio::io::duplex(64);
        let mut watched = Watched::new(server, activity.clone());
        let mut client = client;
        tokio::time::advance(Duration::from_secs(1)).await;
        client.write_all(b"GET / HT").await.unwrap();
        let mut buf = [0u8; 64];
        let _ = watched.read(&mut buf).await.unwrap();
        let head = Instant::now();
        assert_eq!(phase.borrow().deadline(HEADER, IDLE), Some(head + HEADER));

        // More bytes of the same head keep the clock where it started.
        tokio::time::advance(Duration::from_millis(100)).await;
        client.write_all(b"TP/1.1\r\n").await.unwrap();
        let _ = watched.read(&mut buf).await.unwrap();
        assert_eq!(phase.borrow().deadline(HEADER, IDLE), Some(head + HEADER));

        let first = activity.begin();
        let second = activity.begin();
        assert_eq!(*phase.borrow(), Phase::Busy(2));
        drop(first);
        assert_eq!(phase.borrow().deadline(HEADER, IDLE), None);
        tokio::time::advance(Duration::from_secs(5)).await;
        drop(second);
        let done = Instant::now();
        assert_eq!(phase.borrow().deadline(HEADER, IDLE), Some(done + IDLE));
    }
}
