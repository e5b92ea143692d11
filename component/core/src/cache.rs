//! The token cache: when a cached token may be used, when to refresh it, and a
//! small store trait so that a shared store can sit behind the in-instance one.

use crate::token::{AccessToken, TokenRequest};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;

/// Never hand out a token that expires within this many seconds: the caller needs
/// time to use it, and clocks drift.
pub const EXPIRY_BUFFER: u64 = 300;
/// Tokens living longer than this are refreshed at half their lifetime.
pub const HALF_LIFE_THRESHOLD: u64 = 2 * 3600;
/// Spread of proactive refreshes (±), so a fleet that fetched together does not
/// refresh together.
pub const REFRESH_JITTER: u64 = 300;
/// After a failed refresh, wait this long before trying again (the old token is
/// served meanwhile).
pub const REFRESH_RETRY_DELAY: u64 = 30;

/// How usable a cached token is at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Serve it.
    Fresh,
    /// Still valid, but time to fetch a new one; serve it if that fails.
    RefreshDue,
    /// Expired or about to: never serve it.
    Unusable,
}

/// Classifies `token` at `now` (Unix seconds).
pub fn freshness(token: &AccessToken, now: u64) -> Freshness {
    if token.expires_on() <= now.saturating_add(EXPIRY_BUFFER) {
        Freshness::Unusable
    } else if now >= token.refresh_on() {
        Freshness::RefreshDue
    } else {
        Freshness::Fresh
    }
}

/// When a token fetched at `now` should be refreshed: at the service's `refresh_in`
/// when given, else at half its lifetime (± jitter) when it lives over two hours,
/// else when it enters the expiry buffer.
pub fn refresh_on(now: u64, expires_on: u64, refresh_in: Option<u64>, random: u64) -> u64 {
    let latest = expires_on.saturating_sub(EXPIRY_BUFFER).max(now);
    let lifetime = expires_on.saturating_sub(now);
    let planned = match refresh_in {
        Some(r) => now.saturating_add(r),
        None if lifetime > HALF_LIFE_THRESHOLD => {
            let jitter = (random % (2 * REFRESH_JITTER + 1)) as i64 - REFRESH_JITTER as i64;
            (now + lifetime / 2).saturating_add_signed(jitter)
        }
        None => latest,
    };
    planned.min(latest)
}

/// The token with its next refresh pushed back after a failed refresh attempt.
pub fn defer_refresh(token: AccessToken, now: u64) -> AccessToken {
    let latest = token.expires_on().saturating_sub(EXPIRY_BUFFER);
    token.with_refresh_on((now + REFRESH_RETRY_DELAY).min(latest))
}

/// Identifies a cached token: who asked (credential identity and the fingerprint of
/// its proof), for what (scopes, sorted), in which tenant.
///
/// Claims are not part of it: a token fetched for a claims challenge replaces the
/// token the resource refused, so callers without claims stop getting the revoked one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key for `request` made by the credential identified by `identity`.
    pub fn new(identity: &str, request: &TokenRequest) -> Self {
        // Every call makes a key: one allocation for the usual single scope.
        let scopes = match request.scopes.as_slice() {
            [one] => Cow::Borrowed(one.as_str()),
            many => {
                let mut scopes: Vec<&str> = many.iter().map(String::as_str).collect();
                scopes.sort_unstable();
                scopes.dedup();
                Cow::Owned(scopes.join(" "))
            }
        };
        let tenant = request.tenant_id.as_deref().unwrap_or("");
        let mut key = String::with_capacity(identity.len() + scopes.len() + tenant.len() + 24);
        // Length-prefixed parts: no choice of values can make two keys collide.
        for part in [identity, &scopes, tenant] {
            let _ = write!(key, "{}:{part};", part.len());
        }
        CacheKey(key)
    }

    /// The key as text (for stores that need a string).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where tokens are kept between calls.
pub trait TokenStore {
    /// The token stored under `key`, if any.
    fn get(&self, key: &CacheKey) -> Option<AccessToken>;
    /// Stores `token` under `key`, replacing what was there.
    fn put(&mut self, key: CacheKey, token: AccessToken, now: u64);
}

/// The in-instance store: a map that drops expired tokens as it grows.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tokens: HashMap<CacheKey, AccessToken>,
}

/// Above this many entries, expired tokens are swept on insert.
const SWEEP_THRESHOLD: usize = 256;

impl TokenStore for MemoryStore {
    fn get(&self, key: &CacheKey) -> Option<AccessToken> {
        self.tokens.get(key).cloned()
    }

    fn put(&mut self, key: CacheKey, token: AccessToken, now: u64) {
        if self.tokens.len() >= SWEEP_THRESHOLD {
            self.tokens.retain(|_, t| t.expires_on() > now);
        }
        self.tokens.insert(key, token);
    }
}

impl MemoryStore {
    /// Number of tokens held.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether no token is held.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn token(expires_on: u64, refresh_on: u64) -> AccessToken {
        AccessToken::new("t", expires_on).with_refresh_on(refresh_on)
    }

    #[test]
    fn five_minute_buffer() {
        let t = token(NOW + 3600, NOW + 1800);
        assert_eq!(freshness(&t, NOW), Freshness::Fresh);
        assert_eq!(freshness(&t, NOW + 1800), Freshness::RefreshDue);
        assert_eq!(freshness(&t, NOW + 3299), Freshness::RefreshDue);
        assert_eq!(freshness(&t, NOW + 3300), Freshness::Unusable);
        assert_eq!(freshness(&token(NOW + 300, NOW), NOW), Freshness::Unusable);
        assert_eq!(freshness(&token(NOW + 301, NOW + 1), NOW), Freshness::Fresh);
    }

    #[test]
    fn refresh_in_wins_when_given() {
        assert_eq!(
            refresh_on(NOW, NOW + 86_400, Some(43_200), 99),
            NOW + 43_200
        );
        // ... but never later than the expiry buffer.
        assert_eq!(refresh_on(NOW, NOW + 3600, Some(86_400), 0), NOW + 3300);
    }

    #[test]
    fn long_tokens_refresh_at_half_life_with_bounded_jitter() {
        let day = 86_400;
        let all: Vec<u64> = (0..1000)
            .map(|r| refresh_on(NOW, NOW + day, None, r))
            .collect();
        assert!(
            all.iter()
                .all(|r| r.abs_diff(NOW + day / 2) <= REFRESH_JITTER)
        );
        assert!(all.iter().any(|r| *r < NOW + day / 2) && all.iter().any(|r| *r > NOW + day / 2));
    }

    #[test]
    fn short_tokens_refresh_at_the_buffer() {
        // Exactly two hours is not "over two hours".
        assert_eq!(refresh_on(NOW, NOW + 7200, None, 5), NOW + 6900);
        assert_eq!(refresh_on(NOW, NOW + 3600, None, 5), NOW + 3300);
        assert_eq!(refresh_on(NOW, NOW + 100, None, 5), NOW);
    }

    #[test]
    fn failed_refresh_is_retried_later_but_not_past_the_buffer() {
        let t = defer_refresh(token(NOW + 3600, NOW), NOW);
        assert_eq!(t.refresh_on(), NOW + REFRESH_RETRY_DELAY);
        let t = defer_refresh(token(NOW + 310, NOW), NOW);
        assert_eq!(t.refresh_on(), NOW + 10);
    }

    #[test]
    fn keys_separate_identity_scopes_and_tenant_but_not_claims() {
        let r = |scopes: &[&str], tenant: Option<&str>, claims: Option<&str>| {
            let mut v = TokenRequest::new(scopes);
            v.tenant_id = tenant.map(Into::into);
            v.claims = claims.map(Into::into);
            v
        };
        let base = CacheKey::new("imds|system", &r(&["a", "b"], None, None));
        assert_eq!(
            base,
            CacheKey::new("imds|system", &r(&["b", "a"], None, None))
        );
        assert_ne!(
            base,
            CacheKey::new("imds|client_id=x", &r(&["a", "b"], None, None))
        );
        assert_ne!(base, CacheKey::new("imds|system", &r(&["a"], None, None)));
        assert_ne!(
            base,
            CacheKey::new("imds|system", &r(&["a", "b"], Some("t"), None))
        );
        assert_eq!(
            base,
            CacheKey::new("imds|system", &r(&["a", "b"], None, Some("c"))),
            "a claims answer replaces the token it was asked for"
        );
        // No separator trick makes different inputs collide.
        assert_ne!(
            CacheKey::new("a;", &r(&["b"], None, None)),
            CacheKey::new("a", &r(&[";b"], None, None))
        );
    }

    #[test]
    fn memory_store_sweeps_expired_tokens_when_large() {
        let mut s = MemoryStore::default();
        for i in 0..SWEEP_THRESHOLD {
            s.put(CacheKey(format!("old{i}")), token(NOW - 1, NOW - 2), NOW);
        }
        s.put(CacheKey("new".into()), token(NOW + 3600, NOW + 1800), NOW);
        assert_eq!(s.len(), 1);
        assert!(s.get(&CacheKey("new".into())).is_some());
    }
}
