//! The host's `wasi:keyvalue@0.2.0-draft2` (store, atomics, batch): the shared token
//! cache's storage, outside every instance.
//!
//! The [`Backend`] trait has one implementation per store (process memory, and behind
//! features a redb file and Redis); what each file holds is in ARCHITECTURE.md.
//!
//! Use: put a [`KeyValueCtx`] (cheap to clone; all clones share one backend) in the
//! store's data next to its `ResourceTable`, then
//! `keyvalue::add_to_linker(&mut linker, |s| KeyValueView::new(&s.kv, &mut s.table))`.
//!
//! **Expiry.** Draft2 has no TTL. The guest encodes its own expiry in each value and
//! treats an expired value as absent (overwriting it with `set` or a `cas` swap). Every
//! backend also stores an optional host-side TTL ([`Backend::set`]'s `ttl`): expired
//! entries read as absent and are purged. [`KeyValueCtx::with_entry_ttl`] applies one
//! TTL to everything the guest writes, so abandoned keys cannot pile up forever; it
//! should exceed the longest life the guest gives a value.
//!
//! **Failures.** A backend error reaches the guest as `error::other(message)` and is
//! logged as a warning; the guest treats it as a cache miss. Opening a configured
//! backend that fails falls back to process memory, with a warning
//! ([`KeyValueCtx::from_config`]).

mod backend;
#[allow(missing_docs)]
pub mod bindings;
#[cfg(feature = "disk")]
mod disk;
mod host;
mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_cluster;
mod redis_config;
#[cfg(feature = "redis")]
mod redis_direct;
#[cfg(feature = "redis")]
mod redis_entra;

pub use backend::{Backend, KeyPage, PAGE_SIZE, StoreError, StoreResult};
#[cfg(feature = "disk")]
pub use disk::DiskBackend;
pub(crate) use host::valid_bucket;
pub use memory::MemoryBackend;
#[cfg(feature = "redis")]
pub use redis::RedisBackend;
pub use redis_config::{
    REDIS_SCOPE, RedisAuth, RedisConfig, RedisMode, RedisToken, RedisTokenProvider,
};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{HasData, Linker, ResourceTable};

/// Which backend the host's key-value store uses.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum KeyValueConfig {
    /// Process memory, private to the one `Identity` (or `Validator`) configured with
    /// it, and to its instances (the default). To share memory between identities on
    /// purpose, use [`KeyValueConfig::Shared`].
    #[default]
    Memory,
    /// A store the embedder opened once and hands to several identities on purpose
    /// (e.g. [`SharedStore::memory`]). Cache keys still bind each credential, so
    /// sharing a store never shares a token between different credentials.
    Shared(SharedStore),
    /// A redb file that survives restarts (one process at a time). Feature `disk`;
    /// without it, opening one is an error.
    Disk {
        /// The database file; created with its directory if missing.
        path: PathBuf,
    },
    /// A Redis server shared by several hosts: URL, TLS trust, password or Entra
    /// authentication ([`RedisConfig`]). Feature `redis`; without it, opening one is an
    /// error.
    Redis(RedisConfig),
}

impl KeyValueConfig {
    /// Redis at `url`, with the defaults of [`RedisConfig::new`].
    pub fn redis(url: impl Into<String>) -> Self {
        Self::Redis(RedisConfig::new(url))
    }

    /// Open the configured backend. Redis connects lazily, so this does not fail
    /// because the server is down; call inside a tokio runtime.
    pub fn open(&self) -> StoreResult<Arc<dyn Backend>> {
        Ok(match self {
            Self::Memory => Arc::new(MemoryBackend::new()),
            Self::Shared(shared) => shared.backend.clone(),
            #[cfg(feature = "disk")]
            Self::Disk { path } => DiskBackend::open(path)?,
            #[cfg(not(feature = "disk"))]
            Self::Disk { .. } => {
                return Err(StoreError::new("disk", "built without feature `disk`"));
            }
            #[cfg(feature = "redis")]
            Self::Redis(config) => Arc::new(RedisBackend::from_config(config)?),
            #[cfg(not(feature = "redis"))]
            Self::Redis(_) => {
                return Err(StoreError::new("redis", "built without feature `redis`"));
            }
        })
    }
}

impl std::fmt::Debug for KeyValueConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory => f.write_str("Memory"),
            Self::Shared(shared) => f.debug_tuple("Shared").field(shared).finish(),
            Self::Disk { path } => f.debug_struct("Disk").field("path", path).finish(),
            // A Redis URL can carry a password; RedisConfig's Debug hides it.
            Self::Redis(config) => f.debug_tuple("Redis").field(config).finish(),
        }
    }
}

/// A store opened once and shared on purpose by the identities configured with it
/// ([`KeyValueConfig::Shared`]). Clones share the store.
#[derive(Clone)]
pub struct SharedStore {
    backend: Arc<dyn Backend>,
    /// Memory stores never leave the process, so they carry their own random AEAD key
    /// and need none configured; other stores need `ENTRA_IDENTITY_CACHE_KEY`.
    pub(crate) memory_key: Option<crate::shared_cache::CacheKey>,
}

impl SharedStore {
    /// A memory store of this process, with its own random key.
    pub fn memory() -> crate::error::Result<Self> {
        Ok(SharedStore {
            backend: Arc::new(MemoryBackend::new()),
            memory_key: Some(crate::shared_cache::CacheKey::random()?),
        })
    }

    /// Any backend; entries are only shared when a cache key is configured.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        SharedStore {
            backend,
            memory_key: None,
        }
    }

    /// The store, to inspect it (tests, tools).
    pub fn backend(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }
}

impl PartialEq for SharedStore {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.backend, &other.backend)
    }
}

impl Eq for SharedStore {}

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.memory_key.is_some() {
            "memory"
        } else {
            "backend"
        };
        f.debug_struct("SharedStore")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}

/// `url` with any `user:password@` replaced, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            let redacted = parsed.to_string();
            redacted.replacen("://", "://***@", 1)
        }
        Ok(_) => url.to_string(),
        Err(_) => "(unparsable URL)".to_string(),
    }
}

/// Longest key accepted from the guest.
pub const MAX_KEY_BYTES: usize = 1024;
/// Largest value accepted from the guest: a token cache entry is a few KiB.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// The host's key-value state: one backend, shared by every clone and every store.
#[derive(Clone)]
pub struct KeyValueCtx {
    backend: Arc<dyn Backend>,
    entry_ttl: Option<Duration>,
    value_ttl: Option<ValueTtl>,
    /// Refuse the identity component's entries stored in clear: set for stores that
    /// leave process memory, whatever the component was told.
    refuse_clear_entries: bool,
}

/// Reads a TTL out of a value the guest writes (see [`KeyValueCtx::with_value_ttl`]).
pub type ValueTtl = Arc<dyn Fn(&[u8]) -> Option<Duration> + Send + Sync>;

impl KeyValueCtx {
    /// A context over `backend`, with no host-side expiry.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self {
            backend,
            entry_ttl: None,
            value_ttl: None,
            refuse_clear_entries: false,
        }
    }

    /// The configured backend, or process memory (with a warning) if it cannot open:
    /// a broken store must not stop the host from getting tokens.
    pub fn from_config(config: &KeyValueConfig) -> Self {
        let backend = config.open().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "key-value store unavailable; using process memory");
            Arc::new(MemoryBackend::new())
        });
        Self::new(backend)
    }

    /// Expire every entry the guest writes `ttl` after its last write.
    pub fn with_entry_ttl(mut self, ttl: Duration) -> Self {
        self.entry_ttl = Some(ttl);
        self
    }

    /// Expire each value the guest writes after the TTL `ttl` reads from it; values it
    /// returns `None` for get [`Self::with_entry_ttl`]'s. A guest that states its values'
    /// lifetimes this way lets Redis and the other backends drop them on their own.
    pub fn with_value_ttl(mut self, ttl: ValueTtl) -> Self {
        self.value_ttl = Some(ttl);
        self
    }

    /// Refuse every write of an identity cache entry in clear (error `other`, and a
    /// warning): the host's last word that such a store never holds a token unencrypted.
    pub(crate) fn refusing_clear_entries(mut self) -> Self {
        self.refuse_clear_entries = true;
        self
    }

    /// The TTL a value written now gets.
    pub(crate) fn ttl_for(&self, value: &[u8]) -> Option<Duration> {
        self.value_ttl
            .as_ref()
            .and_then(|f| f(value))
            .or(self.entry_ttl)
    }

    /// The backend, for host-side use (e.g. `set` with a TTL of the host's choosing).
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }
}

/// What the WIT implementation borrows from the store's data for one call.
pub struct KeyValueView<'a> {
    ctx: &'a KeyValueCtx,
    table: &'a mut ResourceTable,
}

impl<'a> KeyValueView<'a> {
    /// Borrow a context and the store's resource table.
    pub fn new(ctx: &'a KeyValueCtx, table: &'a mut ResourceTable) -> Self {
        Self { ctx, table }
    }
}

/// The `bucket` resource: a namespace in the backend.
#[derive(Debug)]
pub struct Bucket {
    name: String,
}

/// The `cas` resource: a key and the value it held when last read, which `swap`
/// requires to be unchanged.
#[derive(Debug)]
pub struct Cas {
    bucket: String,
    key: String,
    current: Option<Vec<u8>>,
}

/// `HasData` marker: the bindings reach a [`KeyValueView`] through it.
struct HasKeyValue;

impl HasData for HasKeyValue {
    type Data<'a> = KeyValueView<'a>;
}

/// Add `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft2` to `linker`.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> KeyValueView<'_>,
) -> wasmtime::Result<()> {
    bindings::store::add_to_linker::<T, HasKeyValue>(linker, get)?;
    bindings::atomics::add_to_linker::<T, HasKeyValue>(linker, get)?;
    bindings::batch::add_to_linker::<T, HasKeyValue>(linker, get)?;
    Ok(())
}

#[cfg(test)]
mod tests;
