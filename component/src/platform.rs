//! What the protocol core needs from the outside world, as two small traits.
//!
//! The component implements them over `wasi:http`, `wasi:clocks` and `wasi:random`;
//! tests implement them with scripted responses and a clock that jumps instead of
//! sleeping.

use crate::http::{Request, Response};
use std::time::Duration;

/// Why a request produced no response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportError {
    /// No connection could be made (refused, unreachable, DNS).
    Connect(String),
    /// The attempt's timeout passed before the response was complete.
    Timeout,
    /// The host's outbound policy refused the request before any connection.
    Denied,
    /// The body was larger than the limit; the rest was not read.
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Anything else the transport reports.
    Other(String),
}

/// Sends one request and returns the whole response.
pub trait Transport {
    /// Sends `request`, giving up after `timeout` (connect, first byte and between
    /// bytes), and reads at most `max_body` bytes of body.
    fn send(
        &self,
        request: &Request,
        timeout: Duration,
        max_body: usize,
    ) -> Result<Response, TransportError>;
}

/// Time and randomness.
pub trait Platform {
    /// Wall-clock time, Unix seconds.
    fn now_unix(&self) -> u64;
    /// Monotonic time since an arbitrary origin.
    fn monotonic(&self) -> Duration;
    /// Blocks for `duration`.
    fn sleep(&self, duration: Duration);
    /// A uniformly random `u64`, for jitter.
    fn random_u64(&self) -> u64;
}

/// The most body a token or error response may have. Real ones are a few KiB;
/// anything larger is a misbehaving endpoint and must not exhaust the instance's memory.
pub const MAX_RESPONSE_BODY: usize = 256 * 1024;
