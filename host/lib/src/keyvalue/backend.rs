//! The storage trait every `wasi:keyvalue` backend implements, and the error it returns.
//!
//! Buckets are namespaces (a redb table, a Redis key prefix, a map in memory). Values are
//! opaque bytes, except for `increment`, which keeps a decimal `i64` in ASCII so that
//! Redis's `INCRBY` and the other backends agree on the representation.
//!
//! Compare-and-swap compares *contents*: the version of an entry is its value (or its
//! absence). That is what Redis can check atomically in one script, and it is enough for
//! leases, whose values carry a unique owner nonce and an expiry: equal bytes mean an
//! equal lease, so an A→B→A change cannot mislead a swapper.

use async_trait::async_trait;
use std::time::Duration;

/// A failed backend operation. Never a panic: the WASI layer turns it into
/// `wasi:keyvalue` `error::other(message)` and logs a warning.
#[derive(Debug, thiserror::Error)]
#[error("{backend} key-value store: {message}")]
pub struct StoreError {
    /// `memory`, `disk` or `redis`.
    pub backend: &'static str,
    /// What went wrong, without the value bytes.
    pub message: String,
}

impl StoreError {
    pub(crate) fn new(backend: &'static str, message: impl std::fmt::Display) -> Self {
        Self {
            backend,
            message: message.to_string(),
        }
    }
}

/// Result of a backend operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// One page of `list_keys`. `cursor` is `None` on the last page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPage {
    /// Keys in this page (without the bucket's namespace).
    pub keys: Vec<String>,
    /// Pass back to get the next page.
    pub cursor: Option<String>,
}

/// Keys returned per `list_keys` page by the memory and disk backends (Redis's `SCAN`
/// uses it as its `COUNT` hint).
pub const PAGE_SIZE: usize = 1000;

/// A key-value backend shared by every wasmtime store (and, for disk and Redis, by
/// every restart or host). Implementations must be cheap to call concurrently.
///
/// `ttl`: the entry disappears (reads as absent) once it has lived this long. WIT draft2
/// has no expiry, so the guest encodes its own in the value; the host may add one to
/// bound garbage (see `KeyValueCtx::with_entry_ttl`).
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// `memory`, `disk` or `redis`, for messages.
    fn kind(&self) -> &'static str;
    /// The value, or `None` when absent or expired.
    async fn get(&self, bucket: &str, key: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Insert or replace.
    async fn set(
        &self,
        bucket: &str,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> StoreResult<()>;
    /// Remove; absent keys are not an error.
    async fn delete(&self, bucket: &str, key: &str) -> StoreResult<()>;
    /// Whether a live entry exists.
    async fn exists(&self, bucket: &str, key: &str) -> StoreResult<bool> {
        Ok(self.get(bucket, key).await?.is_some())
    }
    /// One page of keys, in no promised order; `cursor` comes from the previous page.
    async fn list_keys(&self, bucket: &str, cursor: Option<&str>) -> StoreResult<KeyPage>;
    /// Write `value` only if the entry still holds `expected` (`None`: still absent or
    /// expired). Returns whether it wrote.
    async fn compare_and_swap(
        &self,
        bucket: &str,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> StoreResult<bool>;
    /// Add `delta` to the decimal integer at `key` (absent: 0) and return the result.
    /// An existing entry keeps its expiry.
    async fn increment(&self, bucket: &str, key: &str, delta: i64) -> StoreResult<i64>;
}

/// `increment` on a stored value, shared by the memory and disk backends.
pub(crate) fn add_to_counter(
    backend: &'static str,
    current: Option<&[u8]>,
    delta: i64,
) -> StoreResult<i64> {
    let current = match current {
        None => 0,
        Some(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| StoreError::new(backend, "value is not a decimal integer"))?,
    };
    current
        .checked_add(delta)
        .ok_or_else(|| StoreError::new(backend, "increment overflows i64"))
}
