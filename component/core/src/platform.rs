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

/// Why a file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileError {
    /// No such file.
    NotFound,
    /// The file exists but may not be read by this process.
    PermissionDenied,
    /// The file is longer than the caller's limit; nothing was returned.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// This platform gives the core no file access (e.g. the host preopened no directory).
    NotAvailable,
    /// Anything else the platform reports.
    Other(String),
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::NotFound => f.write_str("no such file"),
            FileError::PermissionDenied => f.write_str("permission denied"),
            FileError::TooLarge { limit } => write!(f, "file is larger than {limit} bytes"),
            FileError::NotAvailable => f.write_str("file access not available"),
            FileError::Other(why) => f.write_str(why),
        }
    }
}

/// Fills `dest` from `platform`'s random source, eight bytes a draw.
pub fn fill_random(platform: &dyn Platform, dest: &mut [u8]) {
    for chunk in dest.chunks_mut(8) {
        chunk.copy_from_slice(&platform.random_u64().to_le_bytes()[..chunk.len()]);
    }
}

/// `N` random bytes from `platform`: nonces and keys.
pub fn random_bytes<const N: usize>(platform: &dyn Platform) -> [u8; N] {
    let mut bytes = [0u8; N];
    fill_random(platform, &mut bytes);
    bytes
}

/// Time, randomness and read-only file access.
pub trait Platform {
    /// Wall-clock time, Unix seconds.
    fn now_unix(&self) -> u64;
    /// Monotonic time since an arbitrary origin.
    fn monotonic(&self) -> Duration;
    /// Blocks for `duration`.
    fn sleep(&self, duration: Duration);
    /// A uniformly random `u64`, for jitter, nonces and lease ids.
    fn random_u64(&self) -> u64;

    /// One line for the operator's log (the component writes it to stderr). Never
    /// pass a secret.
    fn warn(&self, message: &str) {
        let _ = message;
    }

    /// The whole content of the file at `path`, or [`FileError::TooLarge`] when it is
    /// longer than `max_len` bytes (so a huge or growing file is never held in memory).
    ///
    /// The default has no file access; sources that need files then report why.
    fn read_file(&self, path: &str, max_len: usize) -> Result<Vec<u8>, FileError> {
        let _ = (path, max_len);
        Err(FileError::NotAvailable)
    }

    /// The size in bytes of the file at `path`, without reading it.
    fn file_len(&self, path: &str) -> Result<u64, FileError> {
        let _ = path;
        Err(FileError::NotAvailable)
    }

    /// Whether `path` itself is a symbolic link (not followed).
    fn is_symlink(&self, path: &str) -> Result<bool, FileError> {
        let _ = path;
        Err(FileError::NotAvailable)
    }
}

/// The most body a token or error response may have. Real ones are a few KiB;
/// anything larger is a misbehaving endpoint and must not exhaust the instance's memory.
pub const MAX_RESPONSE_BODY: usize = 256 * 1024;
