//! Tokens already validated, so a caller reusing its token (for up to an hour, as
//! most do) is not verified again on every request.
//!
//! An entry is keyed by a keyed BLAKE3 hash of the token and holds only what
//! validation returned plus the times it was judged by; the token itself is never
//! kept, so a memory dump of the cache yields no usable bearer token, and, the key
//! being random per validator, nothing that tells whether a given token was seen.
//! BLAKE3 rather than SHA-256: equally collision-resistant, and in wasm (no SHA
//! instructions) about three times faster, which is most of a seen token's cost.
//! Entries answer only while the same time checks validation makes still pass, and
//! all of them go when the key set they were verified under changes.

use entra_identity_types::Claims;
use std::collections::HashMap;

/// How many validated tokens one validator remembers. An API sees far fewer distinct
/// live tokens than this in an hour; beyond it the soonest to expire make room.
pub const SEEN_TOKENS_CAPACITY: usize = 1024;

/// The keyed hash of a token: all the cache ever holds of it.
pub(super) type TokenHash = [u8; 32];

struct Seen {
    claims: Claims,
    exp: u64,
    nbf: Option<u64>,
}

/// Validated tokens of one validator, for one generation of its signing keys.
pub(super) struct SeenTokens {
    /// This validator's hash key, random: never leaves the instance.
    key: [u8; 32],
    entries: HashMap<TokenHash, Seen>,
    /// The [`KeyCache`](super::KeyCache) generation the entries were verified under.
    keys_generation: u64,
    capacity: usize,
    hits: u64,
}

impl SeenTokens {
    /// An empty memory of `capacity` tokens, hashing under `key`.
    pub(super) fn new(capacity: usize, key: [u8; 32]) -> Self {
        SeenTokens {
            key,
            entries: HashMap::new(),
            keys_generation: 0,
            capacity,
            hits: 0,
        }
    }

    /// What the memory keys `token` by.
    pub(super) fn hash(&self, token: &str) -> TokenHash {
        *blake3::keyed_hash(&self.key, token.as_bytes()).as_bytes()
    }

    /// The claims of the token hashed to `hash` if it was validated under the current
    /// keys and is still within `exp` and `nbf` (each with `leeway`) at `now`. An
    /// entry that no longer passes is dropped, so full validation reports why.
    pub(super) fn get(
        &mut self,
        hash: &TokenHash,
        keys_generation: u64,
        now: u64,
        leeway: u64,
    ) -> Option<Claims> {
        self.follow_keys(keys_generation);
        let seen = self.entries.get(hash)?;
        let current = now <= seen.exp.saturating_add(leeway)
            && seen.nbf.is_none_or(|nbf| nbf <= now.saturating_add(leeway));
        if !current {
            self.entries.remove(hash);
            return None;
        }
        self.hits += 1;
        Some(seen.claims.clone())
    }

    /// Remembers a token that has just passed validation.
    pub(super) fn insert(
        &mut self,
        hash: TokenHash,
        claims: &Claims,
        nbf: Option<u64>,
        keys_generation: u64,
        now: u64,
        leeway: u64,
    ) {
        self.follow_keys(keys_generation);
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&hash) {
            self.entries
                .retain(|_, seen| now <= seen.exp.saturating_add(leeway));
        }
        if self.entries.len() >= self.capacity
            && !self.entries.contains_key(&hash)
            && let Some(soonest) = self
                .entries
                .iter()
                .min_by_key(|(_, seen)| seen.exp)
                .map(|(hash, _)| *hash)
        {
            self.entries.remove(&soonest);
        }
        self.entries.insert(
            hash,
            Seen {
                claims: claims.clone(),
                exp: claims.expires_on,
                nbf,
            },
        );
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn hits(&self) -> u64 {
        self.hits
    }

    /// Drops every entry when the keys changed since they were verified: a token
    /// signed by a key the authority withdrew must be checked again.
    fn follow_keys(&mut self, keys_generation: u64) {
        if self.keys_generation != keys_generation {
            self.entries.clear();
            self.keys_generation = keys_generation;
        }
    }

    /// Everything the cache holds, as text, for tests that look for what it must not.
    #[cfg(test)]
    pub(super) fn dump(&self) -> String {
        self.entries
            .iter()
            .map(|(hash, seen)| {
                let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
                format!("{hex} {:?} {} {:?}\n", seen.claims, seen.exp, seen.nbf)
            })
            .collect()
    }
}
