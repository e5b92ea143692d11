//! In-memory backend: one map per bucket behind a `std` mutex, held only for the
//! duration of a map operation (never across an `.await`). The default backend: one
//! per `Identity` unless the embedder shares one on purpose (`SharedStore::memory`).

use super::backend::{Backend, KeyPage, PAGE_SIZE, StoreResult, add_to_counter};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

struct Entry {
    value: Vec<u8>,
    expires: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| now < at)
    }
}

/// Expired entries are dropped when read, and all of them every this many writes, so
/// keys nobody reads again cannot pile up.
const SWEEP_EVERY: u64 = 1024;

#[derive(Default)]
struct Maps {
    // BTreeMap: `list_keys` pages resume after the last key returned.
    buckets: HashMap<String, BTreeMap<String, Entry>>,
    writes: u64,
}

/// The in-memory backend.
#[derive(Default)]
pub struct MemoryBackend {
    maps: Mutex<Maps>,
}

impl MemoryBackend {
    /// A new, empty, private store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Maps> {
        // A panic elsewhere cannot leave a map half-updated (each operation is one
        // insert/remove), so a poisoned lock is still safe to use.
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, bucket: &str, f: impl FnOnce(&mut BTreeMap<String, Entry>, Instant)) {
        let now = Instant::now();
        let mut maps = self.lock();
        maps.writes += 1;
        if maps.writes.is_multiple_of(SWEEP_EVERY) {
            for map in maps.buckets.values_mut() {
                map.retain(|_, e| e.live(now));
            }
        }
        f(maps.buckets.entry(bucket.to_owned()).or_default(), now);
    }
}

fn expiry(now: Instant, ttl: Option<Duration>) -> Option<Instant> {
    ttl.and_then(|ttl| now.checked_add(ttl))
}

#[async_trait]
impl Backend for MemoryBackend {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, bucket: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let now = Instant::now();
        let mut maps = self.lock();
        let Some(map) = maps.buckets.get_mut(bucket) else {
            return Ok(None);
        };
        match map.get(key) {
            Some(e) if e.live(now) => Ok(Some(e.value.clone())),
            Some(_) => {
                map.remove(key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn set(
        &self,
        bucket: &str,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> StoreResult<()> {
        self.write(bucket, |map, now| {
            let entry = Entry {
                value: value.to_vec(),
                expires: expiry(now, ttl),
            };
            map.insert(key.to_owned(), entry);
        });
        Ok(())
    }

    async fn delete(&self, bucket: &str, key: &str) -> StoreResult<()> {
        if let Some(map) = self.lock().buckets.get_mut(bucket) {
            map.remove(key);
        }
        Ok(())
    }

    async fn list_keys(&self, bucket: &str, cursor: Option<&str>) -> StoreResult<KeyPage> {
        let now = Instant::now();
        let maps = self.lock();
        let Some(map) = maps.buckets.get(bucket) else {
            return Ok(KeyPage::default());
        };
        let start = cursor.map_or(Bound::Unbounded, Bound::Excluded);
        let mut keys: Vec<String> = map
            .range::<str, _>((start, Bound::Unbounded))
            .filter(|(_, e)| e.live(now))
            .take(PAGE_SIZE + 1)
            .map(|(k, _)| k.clone())
            .collect();
        // One extra key fetched tells whether another page exists.
        let cursor = if keys.len() > PAGE_SIZE {
            keys.truncate(PAGE_SIZE);
            keys.last().cloned()
        } else {
            None
        };
        Ok(KeyPage { keys, cursor })
    }

    async fn compare_and_swap(
        &self,
        bucket: &str,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> StoreResult<bool> {
        let mut swapped = false;
        self.write(bucket, |map, now| {
            let current = map.get(key).filter(|e| e.live(now)).map(|e| &e.value[..]);
            if current == expected {
                let entry = Entry {
                    value: value.to_vec(),
                    expires: expiry(now, ttl),
                };
                map.insert(key.to_owned(), entry);
                swapped = true;
            }
        });
        Ok(swapped)
    }

    async fn increment(&self, bucket: &str, key: &str, delta: i64) -> StoreResult<i64> {
        let mut result = Ok(0);
        self.write(bucket, |map, now| {
            let live = map.get(key).filter(|e| e.live(now));
            let expires = live.and_then(|e| e.expires);
            result = add_to_counter("memory", live.map(|e| &e.value[..]), delta);
            if let Ok(n) = result {
                let entry = Entry {
                    value: n.to_string().into_bytes(),
                    expires,
                };
                map.insert(key.to_owned(), entry);
            }
        });
        result
    }
}
