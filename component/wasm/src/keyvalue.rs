//! The core's `KeyValue` over `wasi:keyvalue@0.2.0-draft2` (store + atomics).

use crate::bindings::wasi::keyvalue::{atomics, store};
use entra_identity_core::shared_cache::{KeyValue, StoreError};

/// One opened bucket.
pub(super) struct WasiKeyValue {
    bucket: store::Bucket,
}

impl WasiKeyValue {
    pub(super) fn open(identifier: &str) -> Result<Self, StoreError> {
        store::open(identifier)
            .map(|bucket| WasiKeyValue { bucket })
            .map_err(error)
    }
}

fn error(e: store::Error) -> StoreError {
    StoreError(match e {
        store::Error::NoSuchStore => {
            "no such store; declare it in the host's key-value configuration".into()
        }
        store::Error::AccessDenied => "access denied by the host".into(),
        store::Error::Other(why) => why,
    })
}

impl KeyValue for WasiKeyValue {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.bucket.get(key).map_err(error)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.bucket.set(key, value).map_err(error)
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, StoreError> {
        // Draft2's CAS remembers the value it read; `swap` fails if it changed since.
        let cas = atomics::Cas::new(&self.bucket, key).map_err(error)?;
        if cas.current().map_err(error)?.as_deref() != expected {
            return Ok(false);
        }
        match atomics::swap(cas, new) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(e)) => Err(error(e)),
        }
    }
}
