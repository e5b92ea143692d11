//! RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 8017 §8.2.2) signature checks against
//! one key, with the key's arithmetic prepared once when the key set is read.

use super::montgomery::Modulus;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};
use sha2::{Digest, Sha256};

/// DER of `DigestInfo { sha256, NULL }` up to the digest (RFC 8017 §9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    0x05, 0x00, 0x04, 0x20,
];
/// Shorter keys are refused, as Microsoft.IdentityModel refuses them for verifying
/// (Entra's are 2048 bits). 512-bit RSA has been factored in hours.
const MIN_MODULUS_BITS: usize = 1024;

/// An RSA public key that checks RS256 signatures.
pub(super) struct Rs256Key {
    modulus: Modulus,
    exponent: u64,
}

impl Rs256Key {
    /// From a JWK's `n` and `e`, big-endian. `None` for what the `rsa` crate refuses
    /// as a public key (`e` out of range, above 4096 bits) and for a modulus below
    /// 1024 bits.
    pub(super) fn new(n: &[u8], e: &[u8]) -> Option<Self> {
        let key = RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e)).ok()?;
        let e = key.e().to_bytes_be();
        let exponent = (e.len() <= 8).then(|| e.iter().fold(0, |acc, &b| acc << 8 | u64::from(b)))?;
        if key.n().bits() < MIN_MODULUS_BITS {
            return None;
        }
        let modulus = Modulus::new(key.n())?;
        Some(Self { modulus, exponent })
    }

    /// Whether `signature` is this key's RS256 signature of `message`.
    pub(super) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Some(encoded) = self.modulus.pow(signature, self.exponent) else {
            return false;
        };
        encoded == expected_encoding(&Sha256::digest(message).into(), self.modulus.len_bytes())
    }
}

/// `00 01 FF…FF 00 || DigestInfo || H`, `len` bytes in all (EMSA-PKCS1-v1_5).
fn expected_encoding(digest: &[u8; 32], len: usize) -> Vec<u8> {
    // 00 01 .. 00, the digest info and the digest: what the FF padding leaves.
    const FRAMED: usize = 3 + SHA256_DIGEST_INFO.len() + 32;
    let padding = len.saturating_sub(FRAMED);
    let mut encoded = Vec::with_capacity(len);
    encoded.extend_from_slice(&[0, 1]);
    encoded.resize(padding.saturating_add(2), 0xff);
    encoded.push(0);
    encoded.extend_from_slice(&SHA256_DIGEST_INFO);
    encoded.extend_from_slice(digest);
    encoded
}

#[cfg(test)]
#[path = "rs256_tests.rs"]
mod tests;
