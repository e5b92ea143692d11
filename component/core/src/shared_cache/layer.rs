//! The shared cache's operations over a [`KeyValue`] store: tokens, remembered
//! failures, and the lease that lets one instance fetch while the others wait.

use super::entry::{self, EntryError, Opened, Protection};
use super::keyring::hex;
use super::record::{self, Remembered};
use super::store::{KeyValue, StoreError};
use crate::binding::{BindingKey, Proof};
use crate::cache::CacheKey;
use crate::platform::{Platform, random_bytes};
use crate::token::AccessToken;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::fmt;

const TOKEN: u8 = b't';
const FAILURE: u8 = b'f';
const LEASE: u8 = b'l';
const BLOB: u8 = b'k';

/// L2: tokens, failures and leases in a store shared by instances.
pub struct SharedCache {
    store: Box<dyn KeyValue>,
    protection: Protection,
    owner: [u8; 8],
    /// Set while the store is failing, so a dead store is reported once, not per call.
    failing: Cell<bool>,
}

impl fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedCache")
            .field("protection", &self.protection)
            .finish_non_exhaustive()
    }
}

/// The outcome of asking for the lease on a key.
#[derive(Debug)]
pub enum Lease {
    /// This instance fetches; release the lease afterwards.
    Acquired(Held),
    /// Another instance holds it. `observed` are the lease's bytes as read, so a
    /// waiter can tell a lease that never changes (its holder died) from a new one.
    Busy {
        /// The lease's stored bytes.
        observed: Vec<u8>,
    },
    /// The lease could not be opened and could not be replaced, and what is there
    /// after the attempt cannot be opened either: no instance of ours holds it, and
    /// the store will not let anyone take it (something else writes there, or the
    /// store is broken). Waiting would never end; the caller fetches alone.
    Unusable,
}

/// A lease this instance holds.
#[derive(Debug)]
pub struct Held {
    key: String,
    bytes: Vec<u8>,
}

/// What every storage key starts with; `v2` since the hash became a hash tag (entries
/// under `v1/` are misses, fetched again once).
const KEY_PREFIX: &str = "entra-identity/v2/";

/// The storage key of `name` for records of `kind`: `entra-identity/v2/{<sha256 of
/// name>}/<kind>`. A hash, so scopes and client ids are not readable in the store; in
/// braces, so that on a Redis Cluster a token's entry, lease and remembered failure
/// hash to one slot (the braces are Redis's hash tag) and move, fail and answer together.
fn storage_key(kind: u8, name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    format!("{KEY_PREFIX}{{{}}}/{}", hex(&digest), kind as char)
}

/// What a storage key holds, told from the key alone (the host counts reads by it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredKind {
    /// A token.
    Token,
    /// A remembered failure.
    Failure,
    /// A fetch lease.
    Lease,
    /// A blob (an authority's signing keys).
    Blob,
}

impl StoredKind {
    /// The kind of `key`, if it is one of this cache's storage keys.
    pub fn of_key(key: &str) -> Option<Self> {
        let rest = key.strip_prefix(KEY_PREFIX)?;
        let kind = match rest.strip_prefix('{')?.split_once("}/")?.1.as_bytes() {
            [TOKEN] => StoredKind::Token,
            [FAILURE] => StoredKind::Failure,
            [LEASE] => StoredKind::Lease,
            [BLOB] => StoredKind::Blob,
            _ => return None,
        };
        Some(kind)
    }
}

impl SharedCache {
    /// A cache over `store`, sealing entries as `protection` says.
    pub fn new(store: Box<dyn KeyValue>, protection: Protection, platform: &dyn Platform) -> Self {
        SharedCache {
            store,
            protection,
            owner: platform.random_u64().to_le_bytes(),
            failing: Cell::new(false),
        }
    }

    /// The key of credential fingerprints in this cache's keys: derived from the
    /// sealing key, or the local one for the plaintext memory store.
    pub fn binding_key(&self) -> BindingKey {
        match &self.protection {
            Protection::Encrypted(keyring) => keyring.binding_key(),
            Protection::Plaintext => BindingKey::local(),
        }
    }

    /// Binding keys of the keyring's decrypt-only keys (see [`Keyring::older_binding_keys`]).
    ///
    /// [`Keyring::older_binding_keys`]: super::Keyring::older_binding_keys
    pub fn older_binding_keys(&self) -> Vec<BindingKey> {
        match &self.protection {
            Protection::Encrypted(keyring) => keyring.older_binding_keys(),
            Protection::Plaintext => Vec::new(),
        }
    }

    /// Reports a store failure once until the store works again. The caller carries
    /// on with L1 and the token service: a dead store never fails a token request.
    pub fn store_failed(&self, platform: &dyn Platform, error: &StoreError) {
        if !self.failing.replace(true) {
            platform.warn(&format!(
                "shared cache: the key-value store failed ({error}); using this instance's \
                 cache and the token service until it answers again"
            ));
        }
    }

    /// The store answered: a later failure is worth reporting again.
    pub fn store_ok(&self, platform: &dyn Platform) {
        if self.failing.replace(false) {
            platform.warn("shared cache: the key-value store answers again");
        }
    }

    fn read(
        &self,
        kind: u8,
        name: &str,
        now: u64,
        platform: &dyn Platform,
    ) -> Result<Option<Opened>, StoreError> {
        let key = storage_key(kind, name);
        let Some(bytes) = self.store.get(&key)? else {
            return Ok(None);
        };
        Ok(self.open_live(kind, &key, &bytes, now, platform))
    }

    /// `bytes` stored under `key` opened, unless expired or not acceptable.
    fn open_live(
        &self,
        kind: u8,
        key: &str,
        bytes: &[u8],
        now: u64,
        platform: &dyn Platform,
    ) -> Option<Opened> {
        match entry::open(&self.protection, kind, key, bytes) {
            Ok(opened) if opened.expiry > now => Some(opened),
            Ok(_) => None,
            Err(why) => {
                ignored(platform, kind, why);
                None
            }
        }
    }

    fn seal(
        &self,
        kind: u8,
        key: &str,
        expiry: u64,
        payload: &[u8],
        platform: &dyn Platform,
    ) -> Vec<u8> {
        entry::seal(
            &self.protection,
            kind,
            key,
            expiry,
            payload,
            random_bytes::<24>(platform),
        )
    }

    fn write(
        &self,
        kind: u8,
        name: &str,
        expiry: u64,
        payload: &[u8],
        platform: &dyn Platform,
    ) -> Result<(), StoreError> {
        let key = storage_key(kind, name);
        self.store
            .set(&key, &self.seal(kind, &key, expiry, payload, platform))
    }

    /// The token stored for `key`, unless absent, expired or not acceptable.
    pub fn token(
        &self,
        key: &CacheKey,
        now: u64,
        platform: &dyn Platform,
    ) -> Result<Option<AccessToken>, StoreError> {
        let opened = self.read(TOKEN, key.as_str(), now, platform)?;
        Ok(opened.and_then(|o| record::token_from(&o.payload, o.expiry)))
    }

    /// Stores `token` for `key` until it expires.
    pub fn put_token(
        &self,
        key: &CacheKey,
        token: &AccessToken,
        platform: &dyn Platform,
    ) -> Result<(), StoreError> {
        let payload = record::token_payload(token);
        self.write(TOKEN, key.as_str(), token.expires_on(), &payload, platform)
    }

    /// The failure remembered for `key`, while it stands.
    pub fn failure(
        &self,
        key: &CacheKey,
        now: u64,
        platform: &dyn Platform,
    ) -> Result<Option<Remembered>, StoreError> {
        let opened = self.read(FAILURE, key.as_str(), now, platform)?;
        Ok(opened.and_then(|o| record::failure_from(&o.payload, o.expiry)))
    }

    /// Remembers `failure` for `key` until `failure.until`.
    pub fn remember(
        &self,
        key: &CacheKey,
        failure: &Remembered,
        platform: &dyn Platform,
    ) -> Result<(), StoreError> {
        let payload = record::failure_payload(failure);
        self.write(FAILURE, key.as_str(), failure.until, &payload, platform)
    }

    /// Takes the lease on `key` for `length` seconds if it is free, expired, not
    /// acceptable, or still exactly `stale` (a lease its holder abandoned).
    pub fn try_lease(
        &self,
        key: &CacheKey,
        now: u64,
        length: u64,
        stale: Option<&[u8]>,
        platform: &dyn Platform,
    ) -> Result<Lease, StoreError> {
        let key_name = storage_key(LEASE, key.as_str());
        let current = self.store.get(&key_name)?;
        let mut unreadable = false;
        let free = match &current {
            None => true,
            Some(bytes) if stale == Some(bytes.as_slice()) => true,
            Some(bytes) => match entry::open(&self.protection, LEASE, &key_name, bytes) {
                Ok(opened) => opened.expiry <= now,
                Err(why) => {
                    ignored(platform, LEASE, why);
                    unreadable = true;
                    true
                }
            },
        };
        if !free {
            return Ok(Lease::Busy {
                observed: current.unwrap_or_default(),
            });
        }
        let mut payload = self.owner.to_vec();
        payload.extend_from_slice(&platform.random_u64().to_le_bytes());
        let mine = self.seal(
            LEASE,
            &key_name,
            now.saturating_add(length),
            &payload,
            platform,
        );
        if self
            .store
            .compare_and_swap(&key_name, current.as_deref(), &mine)?
        {
            Ok(Lease::Acquired(Held {
                key: key_name,
                bytes: mine,
            }))
        } else {
            let observed = self.store.get(&key_name)?.unwrap_or_default();
            // Lost to another instance: its lease opens. Lost to bytes nobody can open:
            // nobody of ours holds it, and no one ever will.
            if unreadable && entry::open(&self.protection, LEASE, &key_name, &observed).is_err() {
                return Ok(Lease::Unusable);
            }
            Ok(Lease::Busy { observed })
        }
    }

    /// The lease's stored bytes now (empty when there is none).
    pub fn lease_bytes(&self, key: &CacheKey) -> Result<Vec<u8>, StoreError> {
        let key_name = storage_key(LEASE, key.as_str());
        Ok(self.store.get(&key_name)?.unwrap_or_default())
    }

    /// Gives the lease up, unless another instance has already taken it over.
    pub fn release(&self, held: Held, platform: &dyn Platform) -> Result<(), StoreError> {
        let released = self.seal(LEASE, &held.key, 0, &self.owner, platform);
        self.store
            .compare_and_swap(&held.key, Some(&held.bytes), &released)
            .map(|_| ())
    }

    /// Where the blob `name` is stored. Blobs belong to no credential, so they are
    /// bound to the sealing key alone (see [`crate::binding`]): deployments with
    /// different keys keep their own, instead of replacing each other's.
    fn blob_key(&self, name: &str) -> String {
        let bound = self.binding_key().fingerprint(&Proof::new("blob"));
        storage_key(BLOB, &format!("{name}|bound={bound}"))
    }

    /// The blob stored under `name` (e.g. an authority's signing keys), as read.
    pub fn blob(&self, name: &str, now: u64, platform: &dyn Platform) -> Result<Blob, StoreError> {
        let key = self.blob_key(name);
        let stored = self.store.get(&key)?;
        let payload = stored
            .as_deref()
            .and_then(|bytes| self.open_live(BLOB, &key, bytes, now, platform))
            .map(|opened| opened.payload);
        Ok(Blob { payload, stored })
    }

    /// Stores a blob under `name` until `expiry`.
    pub fn put_blob(
        &self,
        name: &str,
        expiry: u64,
        payload: &[u8],
        platform: &dyn Platform,
    ) -> Result<(), StoreError> {
        let key = self.blob_key(name);
        self.store
            .set(&key, &self.seal(BLOB, &key, expiry, payload, platform))
    }

    /// Replaces the blob `read` found under `name`, unless the store holds something
    /// else by now (`Ok(false)`: another instance wrote first).
    pub fn replace_blob(
        &self,
        name: &str,
        read: &Blob,
        expiry: u64,
        payload: &[u8],
        platform: &dyn Platform,
    ) -> Result<bool, StoreError> {
        let key = self.blob_key(name);
        let sealed = self.seal(BLOB, &key, expiry, payload, platform);
        self.store
            .compare_and_swap(&key, read.stored.as_deref(), &sealed)
    }
}

/// A blob as read: its payload, and the stored bytes [`SharedCache::replace_blob`]
/// must still find there.
#[derive(Debug)]
pub struct Blob {
    /// The payload, unless there is none, it expired, or it could not be opened.
    pub payload: Option<Vec<u8>>,
    stored: Option<Vec<u8>>,
}

fn ignored(platform: &dyn Platform, kind: u8, why: EntryError) {
    let what = match kind {
        TOKEN => "a cached token",
        FAILURE => "a remembered failure",
        LEASE => "a fetch lease",
        _ => "a cached signing-key set",
    };
    platform.warn(&format!(
        "shared cache: ignored {what} because {why}; it will be replaced"
    ));
}
