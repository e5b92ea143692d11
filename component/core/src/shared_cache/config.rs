//! Whether the shared cache is on, from the component's environment.

use super::entry::Protection;
use super::keyring::Keyring;
use crate::error::Error;

/// The AEAD keys, base64 of 32 bytes each, comma-separated; the first seals.
pub const KEY_VAR: &str = "ENTRA_IDENTITY_CACHE_KEY";
/// `true`: store entries in clear when no key is given.
pub const PLAINTEXT_VAR: &str = "ENTRA_IDENTITY_CACHE_PLAINTEXT";
/// The `wasi:keyvalue` store to open.
pub const BUCKET_VAR: &str = "ENTRA_IDENTITY_CACHE_BUCKET";
/// `off`: no shared cache.
pub const SWITCH_VAR: &str = "ENTRA_IDENTITY_CACHE";

/// What the environment asks of the shared cache.
#[derive(Debug)]
pub enum SharedCacheConfig {
    /// Use the store `bucket`, protecting entries as given.
    On {
        /// The `wasi:keyvalue` store identifier.
        bucket: String,
        /// Encrypted, or (explicitly allowed) in clear.
        protection: Protection,
    },
    /// No shared cache. `why` is the one line to log, if any.
    Off {
        /// What to tell the operator; `None` when they switched it off themselves.
        why: Option<String>,
    },
}

/// Reads the shared-cache settings. A key that is set but malformed is an error
/// (the operator meant to encrypt); a missing key turns the cache off with a reason.
pub fn cache_config(env: &dyn Fn(&str) -> Option<String>) -> Result<SharedCacheConfig, Error> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if set(SWITCH_VAR).is_some_and(|v| v.eq_ignore_ascii_case("off")) {
        return Ok(SharedCacheConfig::Off { why: None });
    }
    let bucket = set(BUCKET_VAR).unwrap_or_else(|| "default".into());
    if let Some(keys) = set(KEY_VAR) {
        let protection = Protection::Encrypted(Keyring::parse(&keys, KEY_VAR)?);
        return Ok(SharedCacheConfig::On { bucket, protection });
    }
    match set(PLAINTEXT_VAR).map(|v| v.to_ascii_lowercase()) {
        Some(v) if v == "true" || v == "1" => Ok(SharedCacheConfig::On {
            bucket,
            protection: Protection::Plaintext,
        }),
        Some(v) if v == "false" || v == "0" => Ok(off_without_key()),
        Some(_) => Err(Error::InvalidInput(format!(
            "{PLAINTEXT_VAR} must be true or false"
        ))),
        None => Ok(off_without_key()),
    }
}

fn off_without_key() -> SharedCacheConfig {
    SharedCacheConfig::Off {
        why: Some(format!(
            "shared token cache is off: {KEY_VAR} is not set, so tokens are cached only inside \
             this instance. Set it to base64 of 32 random bytes (`openssl rand -base64 32`) to \
             share encrypted tokens through wasi:keyvalue, or set {PLAINTEXT_VAR}=true for a \
             store that never leaves the host's memory."
        )),
    }
}
