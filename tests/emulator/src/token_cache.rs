//! A managed identity endpoint's own token cache, as Service Fabric keeps one: the same token for a resource while
//! it is valid, and a new one only when the client names the cached one as revoked (`token_sha256_to_refresh`).
//! Without that, a client that got a claims challenge for a revoked token would just get the revoked token back.

use std::collections::HashMap;
use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::token::Validity;

/// A token handed out, and when it stops being valid.
#[derive(Clone)]
pub(crate) struct CachedToken {
    pub(crate) access_token: String,
    pub(crate) validity: Validity,
}

/// The token never reaches `Debug` output.
impl fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedToken")
            .field("access_token", &"<redacted>")
            .field("validity", &self.validity)
            .finish()
    }
}

/// Tokens by resource, exactly as the request spelled it.
#[derive(Default)]
pub(crate) struct TokenCache {
    tokens: HashMap<String, CachedToken>,
}

impl TokenCache {
    /// The cached token for `resource` if it is still valid at `now` and its SHA-256 is not `refresh`; otherwise
    /// a new one from `mint`, which replaces it.
    pub(crate) fn get_or_mint(
        &mut self,
        resource: &str,
        now: u64,
        refresh: Option<&str>,
        mint: impl FnOnce() -> CachedToken,
    ) -> CachedToken {
        if let Some(cached) = self.tokens.get(resource) {
            let revoked = refresh.is_some_and(|hash| hash == sha256_hex(&cached.access_token));
            if now < cached.validity.expires_on && !revoked {
                return cached.clone();
            }
        }
        let fresh = mint();
        self.tokens.insert(resource.to_owned(), fresh.clone());
        fresh
    }
}

/// What MSAL sends as `token_sha256_to_refresh`: the SHA-256 of the token's UTF-8 bytes, lower-case hex.
pub(crate) fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 64 lower-case hex digits: the only shape of `token_sha256_to_refresh` the endpoint takes.
pub(crate) fn is_sha256_hex(value: &str) -> bool {
    value.len() == 64
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(name: &str, expires_on: u64) -> CachedToken {
        CachedToken {
            access_token: name.to_owned(),
            validity: Validity {
                issued_at: 0,
                expires_on,
            },
        }
    }

    #[test]
    fn same_token_until_expired_or_named_for_refresh() {
        let mut cache = TokenCache::default();
        let first = cache.get_or_mint("r", 0, None, || token("a", 10));
        assert_eq!(first.access_token, "a");
        let again = cache.get_or_mint("r", 5, Some(&sha256_hex("other")), || token("b", 10));
        assert_eq!(again.access_token, "a");
        let refreshed = cache.get_or_mint("r", 5, Some(&sha256_hex("a")), || token("c", 10));
        assert_eq!(refreshed.access_token, "c");
        assert_eq!(
            cache
                .get_or_mint("r", 10, None, || token("d", 20))
                .access_token,
            "d"
        );
        assert_eq!(
            cache
                .get_or_mint("s", 10, None, || token("e", 20))
                .access_token,
            "e"
        );
    }

    #[test]
    fn hashes_are_lower_case_hex() {
        let hash = sha256_hex("abc");
        assert_eq!(
            hash,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_sha256_hex(&hash));
        assert!(!is_sha256_hex(&hash.to_uppercase()));
        assert!(!is_sha256_hex(&hash[1..]));
        assert!(!is_sha256_hex(&format!("{}g", &hash[1..])));
    }
}
