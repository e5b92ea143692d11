//! The authority's signing keys, and when fetching them again is allowed.

use super::ValidationError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use super::rs256::Rs256Key;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;

/// Keys are fetched again after this long.
pub const KEYS_TTL: u64 = 24 * 3600;
/// An unknown `kid` triggers at most one refresh per this many seconds, so that
/// tokens with made-up key ids cannot make the validator hammer the authority.
pub const MIN_REFRESH_INTERVAL: u64 = 300;
/// While no key has ever been fetched, a failed fetch is retried this often.
const COLD_RETRY_INTERVAL: u64 = 10;
/// Where an issuer template takes the token's tenant id.
pub(super) const TENANT_PLACEHOLDER: &str = "{tenantid}";
/// Entra's v2 issuer, when metadata does not say otherwise.
const DEFAULT_ISSUER: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

pub(super) struct SigningKey {
    /// Built once per key set, not per token.
    pub(super) key: Rs256Key,
    /// The `alg` the JWK declares, if any.
    pub(super) alg: Option<String>,
}

/// Signing keys of one authority and tenant, with their fetch history.
#[derive(Default)]
pub struct KeyCache {
    keys: HashMap<String, SigningKey>,
    issuer: Option<String>,
    fetched_at: Option<u64>,
    last_attempt: Option<u64>,
    /// What the key set was, and how many times it has changed: tokens validated
    /// under one generation are not trusted from memory under the next.
    fingerprint: [u8; 32],
    generation: u64,
}

impl KeyCache {
    /// Whether a token naming `kid` at `now` warrants fetching the keys.
    pub fn should_fetch(&self, kid: &str, now: u64) -> bool {
        let wanted = match self.fetched_at {
            None => true,
            Some(at) => now >= at.saturating_add(KEYS_TTL) || !self.keys.contains_key(kid),
        };
        let interval = if self.keys.is_empty() {
            COLD_RETRY_INTERVAL
        } else {
            MIN_REFRESH_INTERVAL
        };
        wanted
            && self
                .last_attempt
                .is_none_or(|at| now >= at.saturating_add(interval))
    }

    /// Records an attempt to fetch at `at`, by this instance or (through the shared
    /// cache) another one; the latest counts.
    pub(super) fn note_attempt(&mut self, at: u64) {
        self.last_attempt = self.last_attempt.max(Some(at));
    }

    /// When the keys held were fetched (by this instance or the one that shared them).
    pub(super) fn fetched_at(&self) -> Option<u64> {
        self.fetched_at
    }

    /// Counts the changes of the key set (a refresh that returns the same keys is
    /// not one).
    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    pub(super) fn has_keys(&self) -> bool {
        !self.keys.is_empty()
    }

    pub(super) fn key(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.get(kid)
    }

    /// The v2 issuer with a `{tenantid}` placeholder, where every tenant's v2 tokens
    /// name their own tenant. Multi-tenant metadata gives it so; a tenant's own
    /// metadata (for its id or a domain) names that tenant's id in its place.
    pub(super) fn issuer_template(&self) -> Cow<'_, str> {
        let Some(issuer) = self.issuer.as_deref() else {
            return Cow::Borrowed(DEFAULT_ISSUER);
        };
        match TenantIssuer::parse(issuer) {
            Some(tenant) => Cow::Owned(tenant.template()),
            None => Cow::Borrowed(issuer),
        }
    }

    /// The tenant id in the metadata's issuer
    /// (`https://login.microsoftonline.com/{id}/v2.0`), when it names one rather than
    /// the `{tenantid}` template of multi-tenant metadata.
    pub(super) fn issuer_tenant(&self) -> Option<&str> {
        Some(TenantIssuer::parse(self.issuer.as_deref()?)?.id)
    }

    /// Replaces the keys with those of `jwks`.
    pub(super) fn replace(
        &mut self,
        jwks: &[u8],
        issuer: String,
        now: u64,
    ) -> Result<(), ValidationError> {
        let unavailable = |why: &str| ValidationError::KeysUnavailable(why.to_string());
        let value: Value =
            serde_json::from_slice(jwks).map_err(|_| unavailable("the key set is not JSON"))?;
        let keys = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| unavailable("the key set has no keys array"))?;
        let mut parsed = HashMap::new();
        let mut usable_keys = Vec::new();
        for jwk in keys {
            let field = |k: &str| jwk.get(k).and_then(Value::as_str);
            let usable = field("kty") == Some("RSA") && field("use").is_none_or(|u| u == "sig");
            let (Some(kid), Some(n), Some(e)) = (field("kid"), field("n"), field("e")) else {
                continue;
            };
            if !usable {
                continue;
            }
            if let Some(key) = rsa_key(n, e) {
                let alg = field("alg").map(str::to_string);
                usable_keys.push([kid, n, e, field("alg").unwrap_or("")]);
                parsed.insert(kid.to_string(), SigningKey { key, alg });
            }
        }
        if parsed.is_empty() {
            return Err(unavailable("the key set has no RSA signing keys"));
        }
        usable_keys.sort_unstable();
        let mut fingerprint = Sha256::new();
        for field in usable_keys.iter().flatten() {
            fingerprint.update((field.len() as u64).to_be_bytes());
            fingerprint.update(field.as_bytes());
        }
        let fingerprint: [u8; 32] = fingerprint.finalize().into();
        if fingerprint != self.fingerprint {
            self.fingerprint = fingerprint;
            self.generation = self.generation.wrapping_add(1);
        }
        self.keys = parsed;
        self.issuer = Some(issuer);
        self.fetched_at = Some(now);
        Ok(())
    }
}

/// An Entra issuer taken apart around its tenant id, the first path segment:
/// `{scheme}://{host}/{id}` and what follows (`/v2.0`).
struct TenantIssuer<'a> {
    origin: (&'a str, &'a str),
    id: &'a str,
    rest: Option<&'a str>,
}

impl<'a> TenantIssuer<'a> {
    /// `None` unless the first path segment is a tenant id (GUID-shaped).
    fn parse(issuer: &'a str) -> Option<Self> {
        let (scheme, after_scheme) = issuer.split_once("://")?;
        let (host, path) = after_scheme.split_once('/')?;
        let (id, rest) = match path.split_once('/') {
            Some((id, rest)) => (id, Some(rest)),
            None => (path, None),
        };
        let guid_shaped = id.len() == 36
            && id.char_indices().all(|(i, c)| {
                matches!(i, 8 | 13 | 18 | 23) == (c == '-') && (c == '-' || c.is_ascii_hexdigit())
            });
        guid_shaped.then_some(TenantIssuer {
            origin: (scheme, host),
            id,
            rest,
        })
    }

    /// The same issuer with the placeholder where the id was.
    fn template(&self) -> String {
        let (scheme, host) = self.origin;
        let tenant = format!("{scheme}://{host}/{TENANT_PLACEHOLDER}");
        match self.rest {
            Some(rest) => format!("{tenant}/{rest}"),
            None => tenant,
        }
    }
}

/// An RS256 verifier from a JWK's base64url `n` and `e`; `None` for anything the
/// `rsa` crate refuses (an even modulus, more than 4096 bits, a tiny exponent).
fn rsa_key(n: &str, e: &str) -> Option<Rs256Key> {
    Rs256Key::new(&URL_SAFE_NO_PAD.decode(n).ok()?, &URL_SAFE_NO_PAD.decode(e).ok()?)
}

/// `issuer` and `jwks_uri` from OpenID metadata.
pub(super) fn parse_metadata(body: &[u8]) -> Result<(String, String), ValidationError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| ValidationError::KeysUnavailable("the OpenID metadata is not JSON".into()))?;
    let field = |k: &str| {
        value
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ValidationError::KeysUnavailable(format!("the OpenID metadata has no {k}"))
            })
    };
    Ok((field("issuer")?, field("jwks_uri")?))
}
