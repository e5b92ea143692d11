//! Accepting connections (at most `max_connections`, backing off when the process is
//! out of descriptors or memory) and driving each one under its deadlines.

use super::admission::{Admission, held};
use super::limits::ServeLimits;
use super::timeouts::{Activity, Watched};
use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use wasmtime_wasi_http::io::TokioIo;

pub(super) async fn accept(
    listener: TcpListener,
    admission: Arc<Admission>,
    limits: ServeLimits,
    mut stopped: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut backoff = Backoff::default();
    loop {
        // At the cap nothing is accepted: the kernel's backlog holds new clients.
        let slot = tokio::select! {
            _ = &mut stopped => return,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                backoff.reset();
                tokio::spawn(connection(stream, slot, admission.clone(), limits.clone()));
            }
            Err(e) => {
                if let Some(pause) = backoff.after(&e) {
                    tokio::select! {
                        _ = &mut stopped => return,
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
    }
}

async fn connection(
    stream: TcpStream,
    slot: OwnedSemaphorePermit,
    admission: Arc<Admission>,
    limits: ServeLimits,
) {
    let _ = stream.set_nodelay(true);
    let (activity, mut state) = Activity::new();
    let io = TokioIo::new(Watched::new(stream, activity.clone()));
    let service = hyper::service::service_fn(move |request| {
        let busy = activity.begin();
        let admission = admission.clone();
        async move {
            let response = admission.respond(request).await;
            Ok::<_, Infallible>(response.map(|body| held(body, busy)))
        }
    });
    // hyper's own header timeout stays off (no timer): `timeouts.rs` says why.
    let mut conn = Box::pin(
        hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection(io, service),
    );
    loop {
        let deadline = state.borrow_and_update().deadline(&limits);
        let expired = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            _ = state.changed() => {}
            _ = expired => {
                // Dropping `conn` drops the response bodies it holds, and with them
                // their requests' slots.
                tracing::debug!(state = ?*state.borrow(), "closing a connection past its deadline");
                break;
            }
        }
    }
    // The socket closes before the slot frees, so the cap counts open sockets.
    drop(conn);
    drop(slot);
}

/// Whether to pause before the next `accept()`. Errors that belong to one connection
/// (reset or aborted before it was accepted, ...) do not; anything else, EMFILE,
/// ENFILE, ENOBUFS, ENOMEM first, would fail again at once, so the loop waits 10 ms
/// doubling to 1 s rather than spin, and logs once per burst.
#[derive(Default)]
pub(super) struct Backoff {
    pause: Option<Duration>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    pub(super) fn after(&mut self, e: &io::Error) -> Option<Duration> {
        if one_connection(e) {
            tracing::debug!(error = %e, "a connection failed before it was accepted");
            return None;
        }
        let pause = match self.pause {
            None => {
                tracing::warn!(
                    error = %e,
                    "cannot accept connections (out of file descriptors or memory?); \
                     retrying every 10 ms to 1 s until it works"
                );
                Self::FIRST
            }
            Some(pause) => (pause * 2).min(Self::MAX),
        };
        self.pause = Some(pause);
        Some(pause)
    }

    pub(super) fn reset(&mut self) {
        if self.pause.take().is_some() {
            tracing::info!("accepting connections again");
        }
    }
}

fn one_connection(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted
            | ConnectionReset
            | ConnectionRefused
            | Interrupted
            | WouldBlock
            | TimedOut
            | NetworkDown
            | NetworkUnreachable
            | HostUnreachable
            | PermissionDenied
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_descriptors_backs_off_doubling_to_a_second_and_resets() {
        // EMFILE, as accept(2) reports it on Linux and macOS.
        let emfile = io::Error::from_raw_os_error(24);
        let mut backoff = Backoff::default();
        let pauses: Vec<u64> = (0..9)
            .map(|_| backoff.after(&emfile).unwrap().as_millis() as u64)
            .collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.reset();
        assert_eq!(backoff.after(&emfile), Some(Duration::from_millis(10)));
    }

    #[test]
    fn an_error_of_one_connection_does_not_pause() {
        let mut backoff = Backoff::default();
        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert_eq!(backoff.after(&aborted), None);
        assert_eq!(backoff.pause, None);
    }
}
