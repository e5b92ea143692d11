//! An in-instance key-value store with the semantics `wasi:keyvalue@0.2.0-draft2`
//! promises: buckets by identifier, read-your-writes, `increment` on decimal text (as
//! wasmtime's own in-memory `wasi:keyvalue` stores it), and compare-and-swap that fails
//! when the key was written after the CAS handle read it.
//!
//! Every write gives the key a new version and a delete leaves a versioned tombstone, so
//! a swap detects any write in between, even one that restored the same bytes (ABA).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::rc::Rc;

/// Keys per `list-keys` page: enough for any bucket the identity component writes,
/// small enough that one answer stays a few hundred KiB at most.
pub(crate) const PAGE: usize = 1000;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Error {
    NoSuchStore,
    Other(String),
}

/// The buckets this instance has opened; opening an identifier again gives the same data.
#[derive(Default)]
pub(crate) struct Stores {
    buckets: HashMap<String, Bucket>,
}

impl Stores {
    /// Any non-empty identifier names a bucket, created empty on first use: there is no
    /// host configuration to declare buckets in, and nothing outlives the instance.
    pub(crate) fn open(&mut self, identifier: &str) -> Result<Bucket, Error> {
        if identifier.is_empty() {
            return Err(Error::NoSuchStore);
        }
        Ok(self
            .buckets
            .entry(identifier.to_string())
            .or_default()
            .clone())
    }
}

/// A handle on one bucket's data, shared by every handle opened with its identifier.
#[derive(Clone, Default)]
pub(crate) struct Bucket(Rc<RefCell<Data>>);

#[derive(Default)]
struct Data {
    slots: BTreeMap<String, Slot>,
    last_version: u64,
}

struct Slot {
    /// `None` is a deleted key, kept so that its version still moves on.
    value: Option<Vec<u8>>,
    version: u64,
}

impl Data {
    fn write(&mut self, key: &str, value: Option<Vec<u8>>) {
        self.last_version += 1;
        let version = self.last_version;
        match self.slots.get_mut(key) {
            Some(slot) => *slot = Slot { value, version },
            None => {
                self.slots.insert(key.to_string(), Slot { value, version });
            }
        }
    }

    fn value(&self, key: &str) -> Option<&Vec<u8>> {
        self.slots.get(key).and_then(|s| s.value.as_ref())
    }

    /// 0 for a key never written in this bucket.
    fn version(&self, key: &str) -> u64 {
        self.slots.get(key).map_or(0, |s| s.version)
    }
}

impl Bucket {
    pub(crate) fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.0.borrow().value(key).cloned()
    }

    pub(crate) fn set(&self, key: &str, value: Vec<u8>) {
        self.0.borrow_mut().write(key, Some(value));
    }

    pub(crate) fn delete(&self, key: &str) {
        let mut data = self.0.borrow_mut();
        if data.value(key).is_some() {
            data.write(key, None);
        }
    }

    pub(crate) fn exists(&self, key: &str) -> bool {
        self.0.borrow().value(key).is_some()
    }

    /// Up to [`PAGE`] keys after `cursor` in key order, and the cursor of the next page
    /// when there is one. The cursor is the last key returned, so a page stays correct
    /// when keys are added or deleted between calls.
    pub(crate) fn list_keys(&self, cursor: Option<&str>) -> (Vec<String>, Option<String>) {
        let data = self.0.borrow();
        let start = cursor.map_or(Bound::Unbounded, Bound::Excluded);
        let mut live = (data.slots.range::<str, _>((start, Bound::Unbounded)))
            .filter(|(_, slot)| slot.value.is_some())
            .map(|(key, _)| key);
        let keys: Vec<String> = live.by_ref().take(PAGE).cloned().collect();
        let next = match live.next() {
            Some(_) => keys.last().cloned(),
            None => None,
        };
        (keys, next)
    }

    /// Adds `delta` to the decimal integer at `key` (0 when absent) and stores the sum.
    pub(crate) fn increment(&self, key: &str, delta: i64) -> Result<i64, Error> {
        let mut data = self.0.borrow_mut();
        let current = match data.value(key) {
            None => 0,
            Some(bytes) => std::str::from_utf8(bytes)
                .ok()
                .and_then(|text| text.parse::<i64>().ok())
                .ok_or_else(|| {
                    // The value itself stays out of the message: it may be a secret.
                    Error::Other(format!(
                        "cannot increment key '{key}': its value is not a decimal 64-bit integer"
                    ))
                })?,
        };
        let sum = current.checked_add(delta).ok_or_else(|| {
            Error::Other(format!(
                "cannot increment key '{key}' by {delta}: the sum overflows a signed 64-bit integer"
            ))
        })?;
        data.write(key, Some(sum.to_string().into_bytes()));
        Ok(sum)
    }

    /// A compare-and-swap on `key`, remembering its value and version now.
    pub(crate) fn cas(&self, key: &str) -> Cas {
        let data = self.0.borrow();
        Cas {
            bucket: self.clone(),
            key: key.to_string(),
            version: data.version(key),
            value: data.value(key).cloned(),
        }
    }
}

/// A pending compare-and-swap (the draft's `cas` resource).
pub(crate) struct Cas {
    bucket: Bucket,
    key: String,
    version: u64,
    value: Option<Vec<u8>>,
}

impl Cas {
    /// The value when this handle was made: what the swap is conditional on.
    pub(crate) fn current(&self) -> Option<Vec<u8>> {
        self.value.clone()
    }

    /// Writes `value` if nothing wrote the key since this handle was made; otherwise
    /// gives back a handle on the key as it is now, for a retry.
    pub(crate) fn swap(self, value: Vec<u8>) -> Result<(), Cas> {
        let mut data = self.bucket.0.borrow_mut();
        if data.version(&self.key) != self.version {
            drop(data);
            return Err(self.bucket.cas(&self.key));
        }
        data.write(&self.key, Some(value));
        Ok(())
    }
}

#[cfg(test)]
mod tests;
