//! The instance's shared cache (L2), opened once from the environment.

use super::keyvalue::WasiKeyValue;
use super::wasi_platform::WasiPlatform;
use crate::error::Error;
use crate::platform::Platform;
use crate::shared_cache::{SharedCache, SharedCacheConfig, cache_config};
use std::cell::OnceCell;
use std::rc::Rc;

thread_local! {
    static SHARED: OnceCell<Result<Option<Rc<SharedCache>>, Error>> = const { OnceCell::new() };
}

/// The shared cache, or `None` when it is off (said once, on stderr). A malformed
/// key is the caller's error: they meant to encrypt and must fix it.
pub(super) fn shared_cache() -> Result<Option<Rc<SharedCache>>, Error> {
    SHARED.with(|cell| cell.get_or_init(open).clone())
}

fn open() -> Result<Option<Rc<SharedCache>>, Error> {
    let env = |name: &str| std::env::var(name).ok();
    match cache_config(&env)? {
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
