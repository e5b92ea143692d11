//! What clients may hold of a server: requests in flight, connections, time, bytes.

use crate::error::{Error, Result};
use std::time::Duration;

/// Backpressure for serve mode. Start from [`ServeLimits::default`] and change fields;
/// [`serve`](super::serve) checks them with [`ServeLimits::validate`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeLimits {
    /// Requests inside the app at once. One more is answered `503 Service Unavailable`
    /// with `Retry-After` at once rather than queued, so memory stays bounded.
    pub max_concurrent_requests: usize,
    /// Open connections. At the cap the server stops accepting: new connections wait
    /// in the kernel's listen backlog until one closes.
    pub max_connections: usize,
    /// How long a client may take to send a request's head once its first byte came.
    pub header_timeout: Duration,
    /// How long a connection may go without a request: before its first byte, and
    /// between keep-alive requests. Then it is closed.
    pub idle_timeout: Duration,
    /// How long a response may wait on a client that takes none of its bytes (nginx's
    /// `send_timeout`): once the socket has accepted nothing of what there is to send
    /// for this long, the connection is closed and its request's slot freed. Without
    /// it, a client that stops reading a response larger than the socket's and hyper's
    /// buffers holds a slot for good.
    pub send_timeout: Duration,
    /// The largest request body. A longer `Content-Length` is answered `413` before
    /// the app runs; a chunked body that grows past it fails the app's read, and is
    /// answered `413` if the app had not answered yet.
    pub max_body_bytes: u64,
}

impl ServeLimits {
    /// The largest count [`validate`](Self::validate) accepts: far past what one
    /// process has descriptors or memory for, so anything above is a typo.
    pub const MAX_COUNT: usize = 1 << 20;
    /// The longest timeout [`validate`](Self::validate) accepts (a day); anything
    /// longer is a typo, and would overflow deadline arithmetic if absurd.
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

    /// Whether every limit is usable; the error names the field.
    pub fn validate(&self) -> Result<()> {
        count("max_concurrent_requests", self.max_concurrent_requests)?;
        count("max_connections", self.max_connections)?;
        timeout("header_timeout", self.header_timeout)?;
        timeout("idle_timeout", self.idle_timeout)?;
        timeout("send_timeout", self.send_timeout)
    }
}

/// 256 requests: a WASIp2 request is an instance of its own (up to the memory limit,
/// typically a few MiB in use), so a few hundred fit a small VM's memory. 4096
/// connections: idle ones cost a socket and hyper's buffers, and this stays under
/// common descriptor limits once raised from 1024. 10 s for a head: one packet or a
/// few, even on slow links (hyper's own default is 30 s). 75 s idle: longer than the
/// 60 s idle timeout common to load balancers, so the proxy closes first and never
/// sends on a connection this side just closed (nginx's keep-alive default). 60 s for
/// a client to take any byte of a response: nginx's `send_timeout`; a reader that is
/// slow but moving never meets it, since every byte taken starts it again. 16 MiB
/// of body: far under the 256 MiB instance limit, for an app that buffers it.
impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            max_concurrent_requests: 256,
            max_connections: 4096,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            send_timeout: Duration::from_secs(60),
            max_body_bytes: 16 << 20,
        }
    }
}

fn count(name: &str, value: usize) -> Result<()> {
    if (1..=ServeLimits::MAX_COUNT).contains(&value) {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "serve limit {name} must be from 1 to {}, got {value}",
            ServeLimits::MAX_COUNT
        )))
    }
}

fn timeout(name: &str, value: Duration) -> Result<()> {
    if !value.is_zero() && value <= ServeLimits::MAX_TIMEOUT {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "serve limit {name} must be more than 0 and at most {} s, got {value:?}",
            ServeLimits::MAX_TIMEOUT.as_secs()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        ServeLimits::default().validate().unwrap();
    }

    #[test]
    fn each_bad_limit_is_named() {
        type Spoil = fn(&mut ServeLimits);
        let cases: [(&str, Spoil); 7] = [
            ("max_concurrent_requests", |l| l.max_concurrent_requests = 0),
            ("max_concurrent_requests", |l| {
                l.max_concurrent_requests = ServeLimits::MAX_COUNT + 1
            }),
            ("max_connections", |l| l.max_connections = 0),
            ("header_timeout", |l| l.header_timeout = Duration::ZERO),
            ("idle_timeout", |l| l.idle_timeout = Duration::MAX),
            ("idle_timeout", |l| l.idle_timeout = Duration::ZERO),
            ("send_timeout", |l| l.send_timeout = Duration::ZERO),
        ];
        for (name, spoil) in cases {
            let mut limits = ServeLimits::default();
            spoil(&mut limits);
            let err = limits.validate().unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn a_zero_body_limit_is_allowed_for_body_less_apis() {
        let limits = ServeLimits {
            max_body_bytes: 0,
            ..ServeLimits::default()
        };
        limits.validate().unwrap();
    }
}
