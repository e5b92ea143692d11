//! Whatever bytes a shared store holds under a token's key — tampered, truncated,
//! foreign — reading them never panics and never yields a token: nothing but an
//! entry sealed with our key authenticates.
#![no_main]

use entra_identity_core::cache::CacheKey;
use entra_identity_core::platform::Platform;
use entra_identity_core::shared_cache::{KeyValue, Keyring, Protection, SharedCache, StoreError};
use entra_identity_core::token::TokenRequest;
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use std::time::Duration;

const NOW: u64 = 1_800_000_000;

struct Fixed;

impl Platform for Fixed {
    fn now_unix(&self) -> u64 {
        NOW
    }
    fn monotonic(&self) -> Duration {
        Duration::ZERO
    }
    fn sleep(&self, _: Duration) {}
    fn random_u64(&self) -> u64 {
        7
    }
}

/// A store whose every key holds the fuzzer's bytes.
struct Hostile(RefCell<Vec<u8>>);

impl KeyValue for Hostile {
    fn get(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(Some(self.0.borrow().clone()))
    }
    fn set(&self, _: &str, value: &[u8]) -> Result<(), StoreError> {
        *self.0.borrow_mut() = value.to_vec();
        Ok(())
    }
    fn compare_and_swap(&self, _: &str, _: Option<&[u8]>, _: &[u8]) -> Result<bool, StoreError> {
        Ok(false)
    }
}

fuzz_target!(|data: &[u8]| {
    let key = CacheKey::new(
        "imds|system",
        &TokenRequest::new(&["https://vault.azure.net/.default"]),
    );
    let encrypted = SharedCache::new(
        Box::new(Hostile(RefCell::new(data.to_vec()))),
        Protection::Encrypted(Keyring::from_keys(&[[9; 32]])),
        &Fixed,
    );
    assert_eq!(encrypted.token(&key, NOW, &Fixed).unwrap(), None);
    let _ = encrypted.failure(&key, NOW, &Fixed);
    let _ = encrypted.try_lease(&key, NOW, 30, None, &Fixed);
    // In clear (a memory-only store), bytes may hold a token, but never an expired one.
    let plain = SharedCache::new(
        Box::new(Hostile(RefCell::new(data.to_vec()))),
        Protection::Plaintext,
        &Fixed,
    );
    if let Ok(Some(token)) = plain.token(&key, NOW, &Fixed) {
        assert!(token.expires_on() > NOW && token.refresh_on() <= token.expires_on());
    }
});
