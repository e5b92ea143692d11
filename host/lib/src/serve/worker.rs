//! How long a served instance lives: `wasmtime-wasi-http`'s handler asks these.
//!
//! A WASIp2 handler gets a fresh instance per request (as Spin runs it), a WASIp3 one
//! takes up to 16 requests at once and 128 in all, and is dropped after a second idle
//! (as `wasmtime serve` and Spin do).

use crate::runtime::state::HostState;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use wasmtime::component::GuestTaskId;
use wasmtime::{Store, StoreContextMut};
use wasmtime_wasi_http::handler::{ShouldAccept, WorkerExpiration, WorkerState, WorkerStatus};

pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(1);

/// How many requests an instance takes.
#[derive(Clone, Copy)]
pub(crate) struct Reuse {
    pub(crate) concurrent: usize,
    pub(crate) total: usize,
}

impl Reuse {
    /// One request per instance.
    pub(crate) const FRESH: Reuse = Reuse {
        concurrent: 1,
        total: 1,
    };
    pub(crate) const P2: Reuse = Reuse::FRESH;
    pub(crate) const P3: Reuse = Reuse {
        concurrent: 16,
        total: 128,
    };
}

pub(crate) struct Worker {
    pub(crate) reuse: Reuse,
    pub(crate) request_timeout: Duration,
}

impl WorkerState for Worker {
    type StoreData = HostState;
    type RequestData = ();

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.reuse.total {
            ShouldAccept::Never
        } else if concurrent >= self.reuse.concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        _store: StoreContextMut<'_, HostState>,
        _data: (),
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync + 'static>> {
        Box::pin(tokio::time::sleep(self.request_timeout))
    }

    fn drop(&self, _store: Store<HostState>, result: wasmtime::Result<()>) {
        if let Err(e) = result {
            tracing::warn!(error = %e, "served instance failed; it is dropped");
        }
    }
}

/// Ends an instance idle for [`IDLE_TIMEOUT`] or busy past the request timeout (the
/// handler's second line of defence when a guest never yields).
pub(crate) struct Expiry {
    pub(crate) request_timeout: Duration,
    pub(crate) timer: Pin<Box<tokio::time::Sleep>>,
    pub(crate) armed: Option<Instant>,
}

impl Expiry {
    pub(crate) fn new(request_timeout: Duration) -> Self {
        Expiry {
            request_timeout,
            timer: Box::pin(tokio::time::sleep(IDLE_TIMEOUT)),
            armed: None,
        }
    }
}

impl WorkerExpiration for Expiry {
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        state: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        let this = self.get_mut();
        let limit = match state {
            WorkerStatus::Idle => IDLE_TIMEOUT,
            WorkerStatus::Requests | WorkerStatus::PostReturn => this.request_timeout,
        };
        let deadline = start + limit;
        if this.armed != Some(deadline) {
            this.timer.as_mut().reset(deadline.into());
            this.armed = Some(deadline);
        }
        this.timer.as_mut().poll(cx)
    }
}
