//! The bytes of one stored entry.
//!
//! ```text
//! "EIC1" | expiry: u64 BE | kind: u8 | sealing: u8 | key id: [u8; 4] | nonce: [u8; 24] | ciphertext+tag
//! ```
//!
//! The header is in clear so a store can expire the entry without a key
//! ([`value_expiry`]); it is also associated data, with the storage key, so neither
//! can be changed without the entry failing to open.

use super::keyring::{KeyId, Keyring};
use chacha20poly1305::XNonce;
use chacha20poly1305::aead::{Aead, Payload};
use std::fmt;

const MAGIC: &[u8; 4] = b"EIC1";
const HEADER: usize = 4 + 8 + 1 + 1 + 4;
const NONCE: usize = 24;
const PLAIN: u8 = 0;
const XCHACHA: u8 = 1;

/// How entries are protected.
#[derive(Debug)]
pub enum Protection {
    /// Sealed with the keyring's first key; opened with any of its keys.
    Encrypted(Keyring),
    /// Stored in clear: only for a store that never leaves the host's memory, and
    /// only when the configuration says so.
    Plaintext,
}

/// Why stored bytes were not accepted. None of these is the caller's problem: the
/// entry is ignored and replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryError {
    /// Shorter than its header says, or not one of our entries at all.
    Malformed,
    /// Sealed with a key this instance does not have (another deployment, or a key
    /// rotated out).
    UnknownKey,
    /// Failed authentication: changed after it was written, or moved from another key.
    Tampered,
    /// In clear where entries must be encrypted (or the reverse).
    WrongProtection,
    /// An entry of another kind under this key.
    WrongKind,
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryError::Malformed => "it is truncated or not an entra-identity entry",
            EntryError::UnknownKey => "it was sealed with a key not in ENTRA_IDENTITY_CACHE_KEY",
            EntryError::Tampered => "it failed authentication (changed or moved)",
            EntryError::WrongProtection => "it is in clear but entries here must be encrypted",
            EntryError::WrongKind => "it holds another kind of record",
        })
    }
}

/// The Unix-seconds expiry in an entry's clear header, for stores that expire keys.
/// `None` when the bytes are not one of our entries.
pub fn value_expiry(bytes: &[u8]) -> Option<u64> {
    split_header(bytes).map(|h| h.expiry)
}

/// Whether `bytes` is one of our entries stored in clear, for a host to refuse it where
/// the store leaves its process.
pub fn value_in_clear(bytes: &[u8]) -> bool {
    split_header(bytes).is_some_and(|h| h.sealing == PLAIN)
}

/// An entry's clear header, taken apart without trusting any length in `bytes`.
struct Header<'a> {
    expiry: u64,
    kind: u8,
    sealing: u8,
    key_id: KeyId,
    /// The header's bytes, authenticated as associated data.
    clear: &'a [u8],
    /// Everything after the header.
    body: &'a [u8],
}

fn split_header(bytes: &[u8]) -> Option<Header<'_>> {
    let (clear, body) = bytes.split_at_checked(HEADER)?;
    let (magic, rest) = clear.split_first_chunk::<4>()?;
    let (expiry, rest) = rest.split_first_chunk::<8>()?;
    let (&[kind, sealing], key_id) = rest.split_first_chunk::<2>()?;
    (magic == MAGIC).then_some(())?;
    Some(Header {
        expiry: u64::from_be_bytes(*expiry),
        kind,
        sealing,
        key_id: key_id.try_into().ok()?,
        clear,
        body,
    })
}

fn header(expiry: u64, kind: u8, sealing: u8, key_id: &KeyId) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER + NONCE);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&expiry.to_be_bytes());
    h.push(kind);
    h.push(sealing);
    h.extend_from_slice(key_id);
    h
}

fn aad(header: &[u8], storage_key: &str) -> Vec<u8> {
    [header, storage_key.as_bytes()].concat()
}

/// Seals `payload` as an entry of `kind` living until `expiry`, for `storage_key`.
pub(crate) fn seal(
    protection: &Protection,
    kind: u8,
    storage_key: &str,
    expiry: u64,
    payload: &[u8],
    nonce: [u8; NONCE],
) -> Vec<u8> {
    match protection {
        Protection::Plaintext => {
            let mut out = header(expiry, kind, PLAIN, &[0; 4]);
            out.extend_from_slice(payload);
            out
        }
        Protection::Encrypted(keys) => {
            let (id, cipher) = keys.sealing();
            let mut out = header(expiry, kind, XCHACHA, id);
            let aad = aad(&out, storage_key);
            let sealed = cipher
                .encrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: payload,
                        aad: &aad,
                    },
                )
                // Only fails for inputs beyond 256 GiB.
                .unwrap_or_default();
            out.extend_from_slice(&nonce);
            out.extend_from_slice(&sealed);
            out
        }
    }
}

/// An opened entry.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Opened {
    pub(crate) expiry: u64,
    pub(crate) payload: Vec<u8>,
}

/// Opens `bytes` stored under `storage_key`, which must be an entry of `kind`.
pub(crate) fn open(
    protection: &Protection,
    kind: u8,
    storage_key: &str,
    bytes: &[u8],
) -> Result<Opened, EntryError> {
    let header = split_header(bytes).ok_or(EntryError::Malformed)?;
    let expiry = header.expiry;
    if header.kind != kind {
        return Err(EntryError::WrongKind);
    }
    match (protection, header.sealing) {
        (Protection::Plaintext, PLAIN) => Ok(Opened {
            expiry,
            payload: header.body.to_vec(),
        }),
        (Protection::Encrypted(keys), XCHACHA) => {
            let (nonce, sealed) = header
                .body
                .split_first_chunk::<NONCE>()
                .filter(|(_, sealed)| sealed.len() >= 16)
                .ok_or(EntryError::Malformed)?;
            let cipher = keys.opening(&header.key_id).ok_or(EntryError::UnknownKey)?;
            let aad = aad(header.clear, storage_key);
            let payload = cipher
                .decrypt(
                    &XNonce::from(*nonce),
                    Payload {
                        msg: sealed,
                        aad: &aad,
                    },
                )
                .map_err(|_| EntryError::Tampered)?;
            Ok(Opened { expiry, payload })
        }
        (Protection::Plaintext, XCHACHA) => Err(EntryError::UnknownKey),
        (Protection::Encrypted(_), PLAIN) => Err(EntryError::WrongProtection),
        _ => Err(EntryError::Malformed),
    }
}
