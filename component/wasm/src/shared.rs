//! The instance's shared cache (L2), opened once from the environment.

use crate::bindings::wasi::config::store;
use crate::keyvalue::WasiKeyValue;
use crate::wasi_platform::WasiPlatform;
use entra_identity_core::error::Error;
use entra_identity_core::platform::Platform;
use entra_identity_core::shared_cache::{SharedCache, SharedCacheConfig, cache_config};
use std::cell::OnceCell;
use std::rc::Rc;

thread_local! {
    // Boxed so that the empty cell is all zero bytes: the static then sits in `.bss`,
    // on a page the allocator touches anyway, instead of in `.data`, where filling it
    // costs each fresh instance a copy-on-write fault of its own.
    static SHARED: OnceCell<Box<Result<Option<Rc<SharedCache>>, Error>>> = const { OnceCell::new() };
}

/// The shared cache, or `None` when it is off (said once, on stderr). A malformed
/// key is the caller's error: they meant to encrypt and must fix it.
pub(super) fn shared_cache() -> Result<Option<Rc<SharedCache>>, Error> {
    SHARED.with(|cell| (**cell.get_or_init(|| Box::new(open()))).clone())
}

/// A setting from the environment, else from the host's `wasi:config` variable of the
/// same name in lower case (`entra_identity_cache_key`): Spin variables, which can come
/// from a secret store, are lower case. A config error reads as unset. The
/// entra-identity host always writes the switch, the bucket and plaintext into the
/// environment, so a served app's variables can supply a key, never plaintext.
fn setting(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .or_else(|| store::get(&name.to_ascii_lowercase()).ok().flatten())
}

fn open() -> Result<Option<Rc<SharedCache>>, Error> {
    match cache_config(&setting)? {
        SharedCacheConfig::Off { why } => {
            if let Some(why) = why {
                WasiPlatform.warn(&why);
            }
            Ok(None)
        }
        SharedCacheConfig::On { bucket, protection } => match WasiKeyValue::open(&bucket) {
            Ok(store) => Ok(Some(Rc::new(SharedCache::new(
                Box::new(store),
                protection,
                &WasiPlatform,
            )))),
            Err(e) => {
                WasiPlatform.warn(&format!(
                    "shared token cache is off: cannot open key-value store '{bucket}' ({e})"
                ));
                Ok(None)
            }
        },
    }
}
