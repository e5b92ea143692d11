//! Failures a test can make an endpoint produce, and the order they are used in.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A misbehaviour to inject into one response. Faults that shape a success (`MalformedJson`, `WrongTypes`,
/// `OversizedBody`, `ExpiredToken`, `ExpiresOn`, `StallBody`,
/// `DropConnection`) only act when the request itself was valid; an
/// invalid request still gets its ordinary error, and the fault is spent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// That status, with the body the real service sends for it (see each endpoint's module), no `Retry-After`.
    Status(u16),
    /// That status with exactly this body and `Content-Type`.
    StatusWithBody {
        /// HTTP status.
        status: u16,
        /// Body, sent verbatim.
        body: String,
        /// `Content-Type` header value.
        content_type: String,
    },
    /// 429 with the endpoint's throttling body and, when given, this `Retry-After` value verbatim.
    TooManyRequests {
        /// The `Retry-After` header value, e.g. `"5"` or an HTTP date; `None` sends no header.
        retry_after: Option<String>,
    },
    /// Waits this long (or until shutdown), then answers normally.
    Delay(Duration),
    /// Waits until the test calls [`Hold::release`] (or until shutdown), then answers normally. For ordering
    /// assertions: "B was answered while A was still held" needs no clock.
    Hold(Hold),
    /// 200 whose JSON body is cut off half-way.
    MalformedJson,
    /// 200 whose fields have the wrong JSON types, e.g. `"access_token": 42`.
    WrongTypes,
    /// 200 with the normal body plus a `padding` string field that brings it to about this many bytes.
    OversizedBody(usize),
    /// 200 with a token that has already expired: `exp`/`expires_on` five minutes ago.
    ExpiredToken,
    /// 200 whose expiry field (`expires_on` for managed identity, `expires_in` for the token endpoint) is this
    /// raw text, spliced in unquoted, e.g. `"\"1999\""`, `"4102444800"` or `"null"`.
    ExpiresOn(String),
    /// 200 headers announcing the whole body's `Content-Length`, then half the body, then nothing until 60 s
    /// have passed or the emulator shuts down, when the connection is dropped.
    StallBody,
    /// 200 headers announcing the whole body's `Content-Length`, then half the body, then the connection is
    /// dropped at once: a connection lost mid-response (a restarting node, a load balancer's reset).
    DropConnection,
    /// Azure Arc only: the challenge names this realm verbatim (`WWW-Authenticate: Basic realm=<this>`) and no key
    /// file is written, so a client can be shown a path outside the agent's directory, a wrong extension, or a
    /// file the test wrote itself (e.g. one over 4096 bytes). Other endpoints ignore it.
    ArcRealm(String),
}

/// A gate for [`Fault::Hold`]: the test learns when a request reached it and decides when it goes on. Clones
/// are the same gate.
#[derive(Clone)]
pub struct Hold(Arc<Gate>);

struct Gate {
    arrived: watch::Sender<usize>,
    released: watch::Sender<bool>,
}

impl Hold {
    /// A closed gate that no request has reached yet.
    pub fn new() -> Self {
        Hold(Arc::new(Gate {
            arrived: watch::Sender::new(0),
            released: watch::Sender::new(false),
        }))
    }

    /// Resolves once a request is waiting at (or has passed) this gate.
    pub async fn arrived(&self) {
        let mut arrived = self.0.arrived.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = arrived.wait_for(|&n| n > 0).await;
    }

    /// How many requests have reached this gate.
    pub fn arrivals(&self) -> usize {
        *self.0.arrived.borrow()
    }

    /// Opens the gate: held requests are answered, later ones pass at once.
    pub fn release(&self) {
        self.0.released.send_replace(true);
    }

    /// Called by the server: counts the arrival, then waits for [`Hold::release`].
    pub(crate) async fn pass(&self) {
        self.0.arrived.send_modify(|n| *n += 1);
        let mut released = self.0.released.subscribe();
        let _ = released.wait_for(|&open| open).await;
    }
}

impl Default for Hold {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for Hold {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Hold {}

impl fmt::Debug for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hold")
            .field("arrivals", &self.arrivals())
            .field("released", &*self.0.released.borrow())
            .finish()
    }
}

/// The faults waiting for one endpoint.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    queue: VecDeque<Fault>,
    persistent: Option<Fault>,
}

impl FaultPlan {
    pub(crate) fn push(&mut self, faults: impl IntoIterator<Item = Fault>) {
        self.queue.extend(faults);
    }

    pub(crate) fn set_persistent(&mut self, fault: Option<Fault>) {
        self.persistent = fault;
    }

    /// The fault for the next request: queued ones first, one each, then the persistent one.
    pub(crate) fn next(&mut self) -> Option<Fault> {
        self.queue.pop_front().or_else(|| self.persistent.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_drains_before_persistent_fault_applies() {
        let mut plan = FaultPlan::default();
        plan.set_persistent(Some(Fault::Status(503)));
        plan.push([Fault::Status(410), Fault::MalformedJson]);
        assert_eq!(plan.next(), Some(Fault::Status(410)));
        assert_eq!(plan.next(), Some(Fault::MalformedJson));
        assert_eq!(plan.next(), Some(Fault::Status(503)));
        assert_eq!(plan.next(), Some(Fault::Status(503)));
        plan.set_persistent(None);
        assert_eq!(plan.next(), None);
    }

    #[tokio::test]
    async fn a_hold_reports_arrival_and_lets_go_on_release() {
        let hold = Hold::new();
        let held = tokio::spawn({
            let hold = hold.clone();
            async move { hold.pass().await }
        });
        hold.arrived().await;
        assert_eq!(hold.arrivals(), 1);
        assert!(!held.is_finished());
        hold.release();
        held.await.unwrap();
        // An open gate lets later requests straight through.
        hold.pass().await;
        assert_eq!(hold.arrivals(), 2);
    }
}
