//! The store boundary: what the shared cache needs from `wasi:keyvalue` (or a fake).

use std::fmt;

/// The store failed; the cache degrades to L1 and the token service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key-value store shared by instances. Values are opaque bytes.
pub trait KeyValue {
    /// The value under `key`, if any.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `value` under `key`, replacing what was there.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Writes `new` under `key` only if the value is still `expected` (`None`: absent).
    /// `Ok(false)`: someone else changed it first.
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, StoreError>;
}

/// A store in memory that several credentials can share, standing for instances over
/// one host store; it can be switched off to play a dead store.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct MemoryKeyValue {
    pub(crate) map: std::rc::Rc<std::cell::RefCell<std::collections::HashMap<String, Vec<u8>>>>,
    pub(crate) down: std::rc::Rc<std::cell::Cell<bool>>,
}

#[cfg(test)]
impl MemoryKeyValue {
    fn up(&self) -> Result<(), StoreError> {
        if self.down.get() {
            Err(StoreError("connection refused".into()))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
impl KeyValue for MemoryKeyValue {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.up()?;
        Ok(self.map.borrow().get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.up()?;
        self.map.borrow_mut().insert(key.into(), value.to_vec());
        Ok(())
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, StoreError> {
        self.up()?;
        let mut map = self.map.borrow_mut();
        if map.get(key).map(Vec::as_slice) != expected {
            return Ok(false);
        }
        map.insert(key.into(), new.to_vec());
        Ok(true)
    }
}
