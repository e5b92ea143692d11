//! The shared token cache (L2): tokens kept outside the instance, in a key-value store
//! every instance (and, through Redis, every host) can read.
//!
//! | File | Holds |
//! |---|---|
//! | `store.rs` | [`KeyValue`]: the four operations the cache needs from a store |
//! | `keyring.rs` | [`Keyring`]: AEAD keys from configuration, the first one encrypting |
//! | `entry.rs` | the stored bytes: a clear header (magic, expiry, kind, key id), then ciphertext |
//! | `record.rs` | what entries hold: a token, a remembered failure, a lease owner |
//! | `layer.rs` | [`SharedCache`]: read and write tokens, leases, failures and blobs (an authority's signing keys) |
//! | `config.rs` | [`SharedCacheConfig`]: what the environment asks for, and why L2 may be off |
//!
//! The coordination (who fetches, who waits) lives with the credential, in
//! `credential/shared.rs`, because it drives the fetch.
//!
//! Entries are sealed with XChaCha20-Poly1305. The associated data binds the clear
//! header and the storage key, so an entry moved to another key, a header edited to
//! extend its life, or bytes flipped anywhere fail to open; such entries are ignored
//! and replaced, never served.

mod config;
crate::parses_untrusted_input!(
    mod entry;
);
mod keyring;
mod layer;
crate::parses_untrusted_input!(
    mod record;
);
mod store;

pub use config::{SharedCacheConfig, cache_config};
pub use entry::{EntryError, Protection, value_expiry, value_in_clear};
pub use keyring::Keyring;
pub use layer::{Blob, Held, Lease, SharedCache, StoredKind};
pub use record::Remembered;
pub use store::{KeyValue, StoreError};

#[cfg(test)]
pub(crate) use store::MemoryKeyValue;

#[cfg(test)]
mod tests;
