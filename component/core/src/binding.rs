//! Binding cached tokens and failures to the credential that earned them.
//!
//! A flow's [`identity`](crate::credential::Flow::identity) names an identity as
//! configured ("app X in tenant T", "system-assigned on IMDS"): anybody can claim it.
//! Keyed by that alone, a configuration with the right app id and a *wrong* secret
//! would be answered from the cache with another configuration's token, and a
//! configuration pointed at a rogue endpoint could plant tokens for everybody.
//!
//! So every cache key also carries a fingerprint of what *proves* the identity (a
//! [`Proof`]: the secret, the certificate's key, where an assertion comes from, the
//! endpoint that answers and its secret header). The fingerprint is an HMAC-SHA256
//! under a [`BindingKey`] derived from the shared cache's sealing key. The store only
//! ever sees SHA-256 of the whole cache key, and without the sealing key nobody can
//! test a guessed secret against it offline.
//!
//! Records that belong to no credential (an authority's signing keys) are bound to the
//! sealing key alone: their names carry the fingerprint of an empty proof, so
//! deployments that share a store but not its key keep one record each instead of
//! replacing each other's.
//!
//! Without a sealing key (no shared cache, or the plaintext memory store), the HMAC
//! key is a fixed one: those keys never leave the host's memory, where whoever can
//! read them can read the tokens as well.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// What proves an identity, as length-prefixed parts, so that no choice of values
/// makes two proofs equal. `Debug` never shows it: it may hold a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Proof(Vec<u8>);

impl Proof {
    /// A proof of the kind `kind` (e.g. `"secret"`, `"imds"`), with no parts yet.
    pub fn new(kind: &str) -> Self {
        Proof(Vec::new()).with(kind)
    }

    /// Adds one part.
    pub fn with(mut self, part: impl AsRef<[u8]>) -> Self {
        let part = part.as_ref();
        self.0
            .extend_from_slice(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_le_bytes());
        self.0.extend_from_slice(part);
        self
    }

    /// Adds another proof as one part (a credential inside a credential).
    pub fn with_proof(self, inner: &Proof) -> Self {
        self.with(&inner.0)
    }
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Proof(redacted)")
    }
}

/// The HMAC key of credential fingerprints.
#[derive(Clone, PartialEq, Eq)]
pub struct BindingKey([u8; 32]);

/// Domain separation: this key is never used to seal anything.
const LABEL: &[u8] = b"entra-identity/v1 credential binding";

impl BindingKey {
    /// For caches that never leave the host's memory (see the module docs).
    pub fn local() -> Self {
        BindingKey(*b"entra-identity/v1 local binding!")
    }

    /// Derived from a shared cache's sealing key: hosts that share a store and its key
    /// compute the same fingerprints; nobody without the key can.
    pub fn derive(sealing_key: &[u8; 32]) -> Self {
        BindingKey(hmac(sealing_key, LABEL))
    }

    /// The fingerprint of `proof`: 32 hex digits.
    pub fn fingerprint(&self, proof: &Proof) -> String {
        let mac = hmac(&self.0, &proof.0);
        base16ct::lower::encode_string(&mac[..16])
    }
}

impl fmt::Debug for BindingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BindingKey(redacted)")
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_separate_proofs_and_keys() {
        let key = BindingKey::derive(&[7; 32]);
        let right = Proof::new("secret").with("s3cret-value");
        let wrong = Proof::new("secret").with("wrong-value");
        assert_eq!(key.fingerprint(&right), key.fingerprint(&right.clone()));
        assert_ne!(key.fingerprint(&right), key.fingerprint(&wrong));
        assert_ne!(
            key.fingerprint(&right),
            BindingKey::derive(&[8; 32]).fingerprint(&right),
            "another sealing key, another fingerprint"
        );
        assert_ne!(
            key.fingerprint(&right),
            BindingKey::local().fingerprint(&right)
        );
        assert_eq!(key.fingerprint(&right).len(), 32);
    }

    #[test]
    fn parts_cannot_be_shifted_into_each_other() {
        let key = BindingKey::local();
        let a = Proof::new("x").with("ab").with("c");
        let b = Proof::new("x").with("a").with("bc");
        assert_ne!(key.fingerprint(&a), key.fingerprint(&b));
    }

    #[test]
    fn neither_shows_in_debug_nor_in_the_fingerprint() {
        let proof = Proof::new("secret").with("s3cret-value");
        assert_eq!(format!("{proof:?}"), "Proof(redacted)");
        let key = BindingKey::derive(&[7; 32]);
        assert_eq!(format!("{key:?}"), "BindingKey(redacted)");
        assert!(!key.fingerprint(&proof).contains("s3cret"));
    }
}
