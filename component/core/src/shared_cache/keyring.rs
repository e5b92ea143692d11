//! The keys that seal shared-cache entries.

use crate::binding::BindingKey;
use crate::error::Error;
use base64::Engine;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use sha2::{Digest, Sha256};
use std::fmt;

/// Identifies a key without revealing it: the first bytes of a hash of the key.
pub type KeyId = [u8; 4];

/// One or more AEAD keys: the first seals new entries, every one opens old entries,
/// so keys can rotate without dropping the cache.
pub struct Keyring {
    keys: Vec<(KeyId, XChaCha20Poly1305)>,
    /// Derived from each key, the sealing key's first: credential fingerprints in
    /// cache keys, the older ones only to find entries written before a rotation.
    bindings: Vec<BindingKey>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = self.keys.iter().map(|(id, _)| hex(id)).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

fn key_id(key: &[u8; 32]) -> KeyId {
    let digest = Sha256::new()
        .chain_update(b"entra-identity cache key id\0")
        .chain_update(key)
        .finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

impl Keyring {
    /// Keys from raw bytes, the first one sealing.
    pub fn from_keys(keys: &[[u8; 32]]) -> Keyring {
        Keyring {
            keys: keys
                .iter()
                .map(|k| (key_id(k), XChaCha20Poly1305::new(k.into())))
                .collect(),
            bindings: keys.iter().map(BindingKey::derive).collect(),
        }
    }

    /// Keys from `ENTRA_IDENTITY_CACHE_KEY`: base64 of 32 bytes each, separated by
    /// commas. The error names the variable and the position, never the value.
    pub fn parse(text: &str, variable: &str) -> Result<Keyring, Error> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let mut keys = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let which = if parts.len() > 1 {
                format!("key {} of {}", i + 1, parts.len())
            } else {
                "the key".to_string()
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(part)
                .map_err(|_| {
                    Error::InvalidInput(format!(
                        "{variable}: {which} is not base64; generate one with `openssl rand -base64 32`"
                    ))
                })?;
            let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                Error::InvalidInput(format!(
                    "{variable}: {which} decodes to {} bytes, not 32; generate one with `openssl rand -base64 32`",
                    bytes.len()
                ))
            })?;
            keys.push(key);
        }
        Ok(Keyring::from_keys(&keys))
    }

    /// The key of credential fingerprints (see [`crate::binding`]): hosts sharing the
    /// sealing key share it, so they share cache entries for the same credential.
    pub fn binding_key(&self) -> BindingKey {
        self.bindings
            .first()
            .cloned()
            .unwrap_or_else(BindingKey::local)
    }

    /// The binding keys of the other (decrypt-only) keys: entries a host wrote before
    /// the sealing key rotated are found under them.
    pub fn older_binding_keys(&self) -> Vec<BindingKey> {
        self.bindings.iter().skip(1).cloned().collect()
    }

    /// The sealing key and its id.
    pub(crate) fn sealing(&self) -> (&KeyId, &XChaCha20Poly1305) {
        let (id, key) = &self.keys[0];
        (id, key)
    }

    /// The key with `id`, if this keyring has it.
    pub(crate) fn opening(&self, id: &KeyId) -> Option<&XChaCha20Poly1305> {
        self.keys.iter().find(|(k, _)| k == id).map(|(_, key)| key)
    }
}
