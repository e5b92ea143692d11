//! The host's copy of tokens the component has just returned, served until the
//! component's own `refresh_on`. A cache hit through the component costs a call into
//! the instance (pool checkout, deadline, lifting strings, a task); this answers the
//! same hit with a map lookup. It decides nothing itself: what to fetch, when to
//! refresh, and what a failure means stay in the component, which every request past
//! `refresh_on` (and every claims or force-refresh request) still reaches.

use crate::runtime::clock::WallClock;
use entra_identity_core::cache::CacheKey;
use entra_identity_types::{AccessToken, TokenRequest};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// Distinct requests remembered; past this the map starts over. An identity asks
/// for a handful of scopes, so this only bounds a caller that makes up scopes.
const MAX_ENTRIES: usize = 1024;

/// Keyed as the component keys its own caches (scopes sorted and deduplicated, the
/// tenant; never claims), so an answer that replaces a token there replaces it here
/// too, whatever order the scopes came in. One map per `Identity`: the credential is
/// the same for every entry, so the key's identity part is empty.
pub(crate) struct FreshTokens {
    clock: Option<Arc<dyn WallClock>>,
    tokens: RwLock<HashMap<CacheKey, AccessToken>>,
}

impl FreshTokens {
    pub(crate) fn new(clock: Option<Arc<dyn WallClock>>) -> Self {
        FreshTokens {
            clock,
            tokens: RwLock::default(),
        }
    }

    /// The token the component last returned for `request`, while it is before its
    /// `refresh_on`.
    pub(crate) fn get(&self, request: &TokenRequest) -> Option<AccessToken> {
        if request.force_refresh || request.claims.is_some() {
            return None;
        }
        let tokens = self.tokens.read().unwrap_or_else(|e| e.into_inner());
        let token = tokens.get(&key(request))?;
        let now = self.now();
        (now < token.refresh_on() && now < token.expires_on()).then(|| token.clone())
    }

    /// Remembers what the component returned for `request`.
    pub(crate) fn put(&self, request: &TokenRequest, token: &AccessToken) {
        // A claims or forced answer replaces the token the resource refused, for
        // plain requests too: the key leaves claims and force-refresh out.
        let key = key(request);
        let mut tokens = self.tokens.write().unwrap_or_else(|e| e.into_inner());
        if tokens.len() >= MAX_ENTRIES && !tokens.contains_key(&key) {
            tokens.clear();
        }
        tokens.insert(key, token.clone());
    }

    fn now(&self) -> u64 {
        let now = match &self.clock {
            Some(clock) => clock.now(),
            None => SystemTime::now(),
        };
        now.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

fn key(request: &TokenRequest) -> CacheKey {
    CacheKey::new("", request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    struct Fixed(Mutex<SystemTime>);

    impl WallClock for Fixed {
        fn now(&self) -> SystemTime {
            *self.0.lock().unwrap()
        }
    }

    const NOW: u64 = 1_800_000_000;

    fn at(secs: u64) -> (Arc<Fixed>, FreshTokens) {
        let clock = Arc::new(Fixed(Mutex::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        )));
        (clock.clone(), FreshTokens::new(Some(clock)))
    }

    fn token(name: &str, refresh_on: u64, expires_on: u64) -> AccessToken {
        AccessToken::new(name, expires_on).with_refresh_on(refresh_on)
    }

    #[test]
    fn served_until_refresh_on_then_left_to_the_component() {
        let (clock, fresh) = at(NOW);
        let vault = TokenRequest::new(&["https://vault.azure.net/.default"]);
        assert_eq!(fresh.get(&vault), None);
        fresh.put(&vault, &token("a", NOW + 10, NOW + 20));
        assert_eq!(fresh.get(&vault).unwrap().secret(), "a");
        let other = TokenRequest::new(&["https://storage.azure.com/.default"]);
        assert_eq!(fresh.get(&other), None, "keyed by the whole request");
        *clock.0.lock().unwrap() += Duration::from_secs(10);
        assert_eq!(
            fresh.get(&vault),
            None,
            "due for refresh: the component decides"
        );
    }

    #[test]
    fn force_refresh_and_claims_always_reach_the_component() {
        let (_, fresh) = at(NOW);
        let forced = TokenRequest::new(&["s"]).force_refresh();
        fresh.put(&forced, &token("new", NOW + 10, NOW + 20));
        assert_eq!(fresh.get(&forced), None);
        assert_eq!(
            fresh.get(&TokenRequest::new(&["s"])).unwrap().secret(),
            "new",
            "a forced token replaces the old one for plain requests"
        );
        let claims = TokenRequest::new(&["c"]).claims("{}");
        fresh.put(
            &TokenRequest::new(&["c"]),
            &token("revoked", NOW + 10, NOW + 20),
        );
        fresh.put(&claims, &token("x", NOW + 10, NOW + 20));
        assert_eq!(fresh.get(&claims), None);
        assert_eq!(
            fresh.get(&TokenRequest::new(&["c"])).unwrap().secret(),
            "x",
            "a claims answer replaces the refused token"
        );
    }

    #[test]
    fn a_claims_answer_replaces_the_token_for_the_same_scopes_in_any_order() {
        let (_, fresh) = at(NOW);
        let ab = TokenRequest::new(&["a", "b"]);
        fresh.put(&ab, &token("revoked", NOW + 10, NOW + 20));
        let ba = TokenRequest::new(&["b", "a"]).claims("{}");
        fresh.put(&ba, &token("renewed", NOW + 10, NOW + 20));
        assert_eq!(fresh.get(&ab).unwrap().secret(), "renewed");
        let tenant = TokenRequest::new(&["a", "b"]).tenant("t2");
        assert_eq!(fresh.get(&tenant), None, "another tenant is another token");
    }

    #[test]
    fn a_token_past_its_expiry_is_never_served_whatever_its_refresh_on() {
        let (_, fresh) = at(NOW);
        let r = TokenRequest::new(&["s"]);
        fresh.put(&r, &token("stale", NOW + 100, NOW));
        assert_eq!(fresh.get(&r), None);
    }

    #[test]
    fn the_map_is_bounded() {
        let (_, fresh) = at(NOW);
        for i in 0..=MAX_ENTRIES {
            fresh.put(
                &TokenRequest::new(&[i.to_string()]),
                &token("t", NOW + 10, NOW + 20),
            );
        }
        assert!(fresh.tokens.read().unwrap().len() <= MAX_ENTRIES);
    }
}
