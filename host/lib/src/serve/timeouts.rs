//! A connection's deadlines. Header and idle are Go's `ReadHeaderTimeout`/`IdleTimeout`
//! split: the idle clock runs while no request is open and no byte of the next one
//! has come; the header clock from that first byte until the request reaches the app.
//! The send clock (nginx's `send_timeout`) runs in any phase while the socket takes
//! none of the bytes hyper has for it: a busy connection is otherwise bounded only by
//! the app, and a client that never reads would hold its request's slot for good.
//!
//! Not hyper's `header_read_timeout`: its clock starts as soon as the connection
//! waits for a head, idle time included, so it cannot tell a slow head from an idle
//! keep-alive connection, and hyper has no idle timeout for HTTP/1 at all.

use super::limits::ServeLimits;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
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
    /// app's request timeout bounds them, and the send clock their responses.
    Busy(usize),
}

/// A connection's phase, and since when its socket has refused what there is to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct State {
    pub(super) phase: Phase,
    /// The first write the socket refused (would block) since it last took a byte.
    pub(super) send_stalled: Option<Instant>,
}

impl State {
    /// When the connection is closed if nothing changes; `None` while busy and
    /// sending.
    pub(super) fn deadline(self, limits: &ServeLimits) -> Option<Instant> {
        let phase = match self.phase {
            Phase::Idle(since) => since.checked_add(limits.idle_timeout),
            Phase::Head(since) => since.checked_add(limits.header_timeout),
            Phase::Busy(_) => None,
        };
        let send = (self.send_stalled).and_then(|since| since.checked_add(limits.send_timeout));
        phase.into_iter().chain(send).min()
    }
}

/// A connection's state, moved by its socket's reads and writes and its requests.
#[derive(Clone)]
pub(super) struct Activity(watch::Sender<State>);

impl Activity {
    pub(super) fn new() -> (Activity, watch::Receiver<State>) {
        let (tx, rx) = watch::channel(State {
            phase: Phase::Idle(Instant::now()),
            send_stalled: None,
        });
        (Activity(tx), rx)
    }

    fn bytes_arrived(&self) {
        self.0.send_if_modified(|state| match state.phase {
            Phase::Idle(_) => {
                state.phase = Phase::Head(Instant::now());
                true
            }
            Phase::Head(_) | Phase::Busy(_) => false,
        });
    }

    /// The socket refused a write (`true`) or took bytes (`false`).
    fn send_stalled(&self, stalled: bool) {
        self.0.send_if_modified(|state| {
            let was = state.send_stalled.is_some();
            if was != stalled {
                state.send_stalled = stalled.then(Instant::now);
            }
            was != stalled
        });
    }

    /// A request reached the service; the connection is busy until the returned
    /// guard (held by the response body) is dropped.
    pub(super) fn begin(&self) -> Busy {
        self.0.send_modify(|state| {
            state.phase = match state.phase {
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
        self.0.0.send_modify(|state| {
            state.phase = match state.phase {
                Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
                _ => Phase::Idle(Instant::now()),
            }
        });
    }
}

/// A socket that reports the first byte of each request head, and writes it refuses
/// or takes, to its [`Activity`].
pub(super) struct Watched<S> {
    socket: S,
    activity: Activity,
    /// What was last reported of writes, so a socket that keeps taking bytes costs no
    /// update per write.
    stalled: bool,
}

impl<S> Watched<S> {
    pub(super) fn new(socket: S, activity: Activity) -> Self {
        Watched {
            socket,
            activity,
            stalled: false,
        }
    }

    fn wrote(&mut self, polled: &Poll<io::Result<usize>>) {
        let stalled = match polled {
            Poll::Pending => true,
            Poll::Ready(Ok(n)) if *n > 0 => false,
            // An error ends the connection anyway; zero bytes is not progress.
            Poll::Ready(_) => return,
        };
        if stalled != self.stalled {
            self.stalled = stalled;
            self.activity.send_stalled(stalled);
        }
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
        let this = self.get_mut();
        let polled = Pin::new(&mut this.socket).poll_write(cx, buf);
        this.wrote(&polled);
        polled
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
        let this = self.get_mut();
        let polled = Pin::new(&mut this.socket).poll_write_vectored(cx, bufs);
        this.wrote(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const HEADER: Duration = Duration::from_millis(500);
    const IDLE: Duration = Duration::from_secs(60);
    const SEND: Duration = Duration::from_secs(2);

    fn limits() -> ServeLimits {
        ServeLimits {
            header_timeout: HEADER,
            idle_timeout: IDLE,
            send_timeout: SEND,
            ..ServeLimits::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_byte_starts_the_header_clock_and_requests_stop_both() {
        let limits = limits();
        let (activity, state) = Activity::new();
        let start = Instant::now();
        assert_eq!(state.borrow().deadline(&limits), Some(start + IDLE));

        let (client, server) = tokio::io::duplex(64);
        let mut watched = Watched::new(server, activity.clone());
        let mut client = client;
        tokio::time::advance(Duration::from_secs(1)).await;
        client.write_all(b"GET / HT").await.unwrap();
        let mut buf = [0u8; 64];
        let _ = watched.read(&mut buf).await.unwrap();
        let head = Instant::now();
        assert_eq!(state.borrow().deadline(&limits), Some(head + HEADER));

        // More bytes of the same head keep the clock where it started.
        tokio::time::advance(Duration::from_millis(100)).await;
        client.write_all(b"TP/1.1\r\n").await.unwrap();
        let _ = watched.read(&mut buf).await.unwrap();
        assert_eq!(state.borrow().deadline(&limits), Some(head + HEADER));

        let first = activity.begin();
        let second = activity.begin();
        assert_eq!(state.borrow().phase, Phase::Busy(2));
        drop(first);
        assert_eq!(state.borrow().deadline(&limits), None);
        tokio::time::advance(Duration::from_secs(5)).await;
        drop(second);
        let done = Instant::now();
        assert_eq!(state.borrow().deadline(&limits), Some(done + IDLE));
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_connection_whose_client_takes_nothing_gets_the_send_deadline() {
        let limits = limits();
        let (activity, state) = Activity::new();
        let (mut client, server) = tokio::io::duplex(64);
        let mut watched = Watched::new(server, activity.clone());
        let _busy = activity.begin();
        let response = [b'x'; 100];

        // The socket takes what fits; no deadline while it does.
        assert_eq!(
            watched.write(&response).now_or_never().unwrap().unwrap(),
            64
        );
        assert_eq!(state.borrow().deadline(&limits), None);

        // Full: the refused write starts the send clock, and more refusals keep it.
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(watched.write(&response[64..]).now_or_never().is_none());
        let stalled = Instant::now();
        assert_eq!(state.borrow().deadline(&limits), Some(stalled + SEND));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(watched.write(&response[64..]).now_or_never().is_none());
        assert_eq!(state.borrow().deadline(&limits), Some(stalled + SEND));

        // The client reads a little: the socket takes bytes again, the clock stops.
        let mut buf = [0u8; 16];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(
            watched
                .write(&response[64..])
                .now_or_never()
                .unwrap()
                .unwrap(),
            16
        );
        assert_eq!(state.borrow().deadline(&limits), None);
    }
}
