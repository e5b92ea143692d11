//! Validating incoming Entra access tokens, for APIs protected with Entra ID.
//!
//! `jwt` holds the checks (RFC 8725: the algorithm is fixed by the key, never taken
//! from the token), `keys` the signing keys and when to fetch them again, and
//! [`Validator`] drives both, fetching OpenID metadata and keys through the same
//! [`Transport`] the credentials use.
//!
//! Only access tokens pass. An ID token signed in to the API's own app registration
//! has a valid signature, Entra's issuer, the client id as `aud` (often an accepted
//! audience) and can carry `roles`, so none of those tells the two apart. What does:
//! every Entra access token names the client that requested it (`appid` in v1.0,
//! `azp` in v2.0), and no ID token does; and only ID tokens carry the OpenID claims
//! `nonce`, `at_hash` or `c_hash`. A token lacking the first or having any of the
//! second is refused with [`ValidationError::NotAnAccessToken`].

mod error;
crate::parses_untrusted_input!(
    mod jwt;
);
crate::parses_untrusted_input!(
    mod keys;
);
mod montgomery;
mod options;
crate::parses_untrusted_input!(
    mod rs256;
);
mod seen;

pub use error::ValidationError;
pub use jwt::{Claims, MAX_TOKEN_BYTES};
pub use keys::{KEYS_TTL, KeyCache, MIN_REFRESH_INTERVAL};
pub use options::{ValidatorOptions, allows_tenant, metadata_url, names_domain};
pub use seen::SEEN_TOKENS_CAPACITY;

use crate::http::{Request, UrlParts};
use crate::platform::{MAX_RESPONSE_BODY, Platform, Transport, random_bytes};
use crate::shared_cache::{Blob, SharedCache};
use seen::SeenTokens;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// How long one metadata or key request may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Validates bearer tokens for one API configuration.
pub struct Validator {
    options: ValidatorOptions,
    keys: Rc<RefCell<KeyCache>>,
    transport: Box<dyn Transport>,
    platform: Box<dyn Platform>,
    shared: Option<Rc<SharedCache>>,
    /// Tokens this validator accepted, by hash: options differ per validator, so
    /// this cache is not shared the way the keys are.
    seen: RefCell<SeenTokens>,
}

/// What a validator's memory of accepted tokens holds: see [`Validator::validate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RememberedTokens {
    /// Tokens remembered (at most [`SEEN_TOKENS_CAPACITY`]).
    pub entries: usize,
    /// Validations answered from memory.
    pub hits: u64,
}

/// Metadata and keys as kept in the shared cache, so a fresh instance (one per request,
/// in Spin) validates without fetching them again; and the last attempt to fetch
/// them, so that the limit on refreshes holds across instances, not in each.
#[derive(Serialize, Deserialize)]
struct SharedKeys {
    issuer: String,
    jwks: String,
    fetched_at: u64,
    /// When an instance last set out to fetch them again (records written before
    /// this field: when they were fetched).
    #[serde(default)]
    attempted_at: u64,
}

impl Validator {
    /// A validator; `keys` may be shared by validators with the same authority and tenant.
    pub fn new(
        options: ValidatorOptions,
        keys: Rc<RefCell<KeyCache>>,
        transport: Box<dyn Transport>,
        platform: Box<dyn Platform>,
    ) -> Result<Self, ValidationError> {
        options::check(&options)?;
        let key = random_bytes::<32>(&*platform);
        Ok(Validator {
            options,
            keys,
            transport,
            platform,
            shared: None,
            seen: RefCell::new(SeenTokens::new(SEEN_TOKENS_CAPACITY, key)),
        })
    }

    /// Also keeps the authority's keys in `shared` (L2) for other instances.
    pub fn with_shared_cache(mut self, shared: Rc<SharedCache>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// The options this validator was built with.
    pub fn options(&self) -> &ValidatorOptions {
        &self.options
    }

    /// Validates `bearer` (with or without the `Bearer ` prefix) and returns its claims.
    /// A token this validator accepted before is answered from memory while its `exp`
    /// and `nbf` still pass and the signing keys have not changed.
    pub fn validate(&self, bearer: &str) -> Result<Claims, ValidationError> {
        let token = strip_bearer(bearer);
        // Before hashing: an oversized token costs nothing but its refusal.
        jwt::check_size(token)?;
        let now = self.platform.now_unix();
        let leeway = self.options.leeway.as_secs();
        let hash = self.seen.borrow().hash(token);
        let generation = self.keys.borrow().generation();
        if let Some(claims) = self.seen.borrow_mut().get(&hash, generation, now, leeway) {
            return Ok(claims);
        }
        let (claims, nbf) = self.validate_new(token, now)?;
        let generation = self.keys.borrow().generation();
        self.seen
            .borrow_mut()
            .insert(hash, &claims, nbf, generation, now, leeway);
        Ok(claims)
    }

    /// How many validated tokens are remembered, and how many validations they
    /// answered.
    pub fn remembered_tokens(&self) -> RememberedTokens {
        let seen = self.seen.borrow();
        RememberedTokens {
            entries: seen.len(),
            hits: seen.hits(),
        }
    }

    /// The full checks on a token not answered from memory; also its `nbf`.
    fn validate_new(
        &self,
        token: &str,
        now: u64,
    ) -> Result<(Claims, Option<u64>), ValidationError> {
        // Everything about the token's shape is checked before any key is fetched, so
        // garbage cannot make the validator call the authority.
        let parsed = jwt::parse(token)?;
        let kid = &parsed.header.kid;
        if self.keys.borrow().should_fetch(kid, now) {
            let shared = self.load_shared_keys(now);
            if self.keys.borrow().should_fetch(kid, now) && self.claim_refresh(shared, now) {
                self.refresh_keys(now)?;
            }
        }
        let keys = self.keys.borrow();
        let key = keys.key(&parsed.header.kid).ok_or_else(|| {
            if keys.has_keys() {
                ValidationError::UnknownKey(parsed.header.kid.clone())
            } else {
                ValidationError::KeysUnavailable(format!(
                    "no signing keys yet from {}; the last fetch failed",
                    self.options.authority_host()
                ))
            }
        })?;
        let home = self.home_tenant(&keys)?;
        jwt::check(
            &parsed,
            key,
            &self.options,
            &keys.issuer_template(),
            home,
            now,
        )
    }

    /// The API's tenant id: as configured, or for a domain, the one its metadata's
    /// issuer names (tokens carry ids, never domains).
    fn home_tenant<'a>(&'a self, keys: &'a KeyCache) -> Result<&'a str, ValidationError> {
        if !names_domain(&self.options) {
            return Ok(&self.options.tenant);
        }
        keys.issuer_tenant().ok_or_else(|| {
            ValidationError::InvalidConfiguration(format!(
                "the OpenID metadata of {} names no tenant id in its issuer ({}), so the tenant of that domain is unknown; pass the tenant id (a GUID) instead of the domain",
                self.options.tenant,
                keys.issuer_template()
            ))
        })
    }

    /// Fetches metadata and keys; a failure keeps any keys already held.
    fn refresh_keys(&self, now: u64) -> Result<(), ValidationError> {
        self.keys.borrow_mut().note_attempt(now);
        match self.fetch() {
            Ok((issuer, jwks)) => {
                self.keys.borrow_mut().replace(&jwks, issuer.clone(), now)?;
                self.share_keys(issuer, jwks, now);
                Ok(())
            }
            // Stale keys still verify the tokens they signed; rotation is slow.
            Err(_) if self.keys.borrow().has_keys() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Takes keys another instance fetched, if they are newer than ours, and the last
    /// attempt any instance made to fetch them. Returns what was read, for
    /// [`Self::claim_refresh`]; `None` without a shared cache or when the store
    /// failed (this instance then limits only itself).
    fn load_shared_keys(&self, now: u64) -> Option<SharedRead> {
        let shared = self.shared.as_ref()?;
        let blob = match shared.blob(&metadata_url(&self.options), now, &*self.platform) {
            Ok(blob) => blob,
            Err(e) => {
                shared.store_failed(&*self.platform, &e);
                return None;
            }
        };
        let stored = blob
            .payload
            .as_deref()
            .and_then(|payload| serde_json::from_slice::<SharedKeys>(payload).ok());
        if let Some(stored) = &stored {
            let mut keys = self.keys.borrow_mut();
            let ours_as_new = keys.fetched_at().is_some_and(|at| at >= stored.fetched_at);
            let usable = now < stored.fetched_at.saturating_add(KEYS_TTL)
                && (ours_as_new
                    || keys
                        .replace(
                            stored.jwks.as_bytes(),
                            stored.issuer.clone(),
                            stored.fetched_at,
                        )
                        .is_ok());
            // An attempt whose keys we cannot use is no reason to wait for the next; one
            // in our future (another host's clock) counts as now, never as later.
            if usable {
                keys.note_attempt(stored.attempted_at.max(stored.fetched_at).min(now));
            }
        }
        Some(SharedRead { blob, stored })
    }

    /// Whether this instance may refresh: it records its attempt in the shared
    /// record first, atomically, so that of instances (and hosts) deciding at once
    /// only one refreshes. One that loses takes what the winner left.
    fn claim_refresh(&self, read: Option<SharedRead>, now: u64) -> bool {
        let (Some(shared), Some(read)) = (&self.shared, read) else {
            return true;
        };
        // Nothing usable recorded yet: there is no key set to keep an attempt with.
        let Some(mut stored) = read.stored else {
            return true;
        };
        stored.attempted_at = now;
        let Ok(payload) = serde_json::to_vec(&stored) else {
            return true;
        };
        let name = metadata_url(&self.options);
        let expiry = stored.fetched_at.saturating_add(KEYS_TTL);
        match shared.replace_blob(&name, &read.blob, expiry, &payload, &*self.platform) {
            Ok(true) => true,
            Ok(false) => {
                self.load_shared_keys(now);
                false
            }
            Err(e) => {
                shared.store_failed(&*self.platform, &e);
                true
            }
        }
    }

    fn share_keys(&self, issuer: String, jwks: Vec<u8>, now: u64) {
        let (Some(shared), Ok(jwks)) = (&self.shared, String::from_utf8(jwks)) else {
            return;
        };
        let stored = SharedKeys {
            issuer,
            jwks,
            fetched_at: now,
            attempted_at: now,
        };
        let Ok(payload) = serde_json::to_vec(&stored) else {
            return;
        };
        let name = metadata_url(&self.options);
        if let Err(e) = shared.put_blob(&name, now + KEYS_TTL, &payload, &*self.platform) {
            shared.store_failed(&*self.platform, &e);
        }
    }

    fn fetch(&self) -> Result<(String, Vec<u8>), ValidationError> {
        let metadata_url = metadata_url(&self.options);
        let metadata = self.get(&metadata_url)?;
        let (issuer, jwks_uri) = keys::parse_metadata(&metadata)?;
        let same_origin = |a: &str, b: &str| match (UrlParts::parse(a), UrlParts::parse(b)) {
            (Ok(a), Ok(b)) => {
                a.scheme.eq_ignore_ascii_case(b.scheme)
                    && a.authority.eq_ignore_ascii_case(b.authority)
            }
            _ => false,
        };
        if !same_origin(&jwks_uri, self.options.authority_host()) {
            return Err(ValidationError::KeysUnavailable(format!(
                "the metadata at {metadata_url} names keys at another origin ({jwks_uri}); refusing to fetch keys from there"
            )));
        }
        Ok((issuer, self.get(&jwks_uri)?))
    }

    fn get(&self, url: &str) -> Result<Vec<u8>, ValidationError> {
        let unavailable =
            |why: String| ValidationError::KeysUnavailable(format!("GET {url}: {why}"));
        let response = self
            .transport
            .send(&Request::get(url), FETCH_TIMEOUT, MAX_RESPONSE_BODY)
            .map_err(|e| unavailable(format!("{e:?}")))?;
        if response.status != 200 {
            return Err(unavailable(format!("HTTP {}", response.status)));
        }
        Ok(response.body)
    }
}

/// The shared record as [`Validator::load_shared_keys`] found it.
struct SharedRead {
    blob: Blob,
    /// Its payload, when it is a record of ours.
    stored: Option<SharedKeys>,
}

fn strip_bearer(bearer: &str) -> &str {
    let trimmed = bearer.trim();
    match (trimmed.get(..7), trimmed.get(7..)) {
        (Some(prefix), Some(rest)) if prefix.eq_ignore_ascii_case("bearer ") => rest.trim_start(),
        _ => trimmed,
    }
}

/// Requires an app role (`roles` claim): how an app-only caller, such as a managed
/// identity, is authorised.
pub fn require_role(claims: &Claims, role: &str) -> Result<(), ValidationError> {
    claims.require_role(role)
}

/// Requires a delegated scope (`scp` claim): how a signed-in user's app is authorised.
pub fn require_scope(claims: &Claims, scope: &str) -> Result<(), ValidationError> {
    claims.require_scope(scope)
}

#[cfg(test)]
mod seen_tests;
#[cfg(test)]
mod tests;
