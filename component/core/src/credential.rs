//! The credential: cache first, then the token flow with retries, old token on failure.
//!
//! A [`Flow`] knows one protocol (which request to send, what a refusal means); the
//! [`Credential`] owns everything that is the same for every flow: the cache rules,
//! the retry loop, and keeping secrets out of errors.

use crate::binding::{BindingKey, Proof};
use crate::cache::{self, CacheKey, Freshness, TokenStore};
use crate::error::{Error, ServiceError};
use crate::http::{Request, Response, UrlParts};
use crate::platform::{MAX_RESPONSE_BODY, Platform, Transport, TransportError};
use crate::response::{parse_error, parse_token, retry_after};
use crate::retry::{Attempt, Decision, RetryPolicy};
use crate::shared_cache::SharedCache;
use crate::token::{AccessToken, TokenRequest};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// One way of obtaining tokens from a token service.
pub trait Flow {
    /// Who this flow authenticates as, for cache keys (`imds|client_id=...`).
    fn identity(&self) -> String;
    /// What proves that identity: the secret, the certificate's key, where an
    /// assertion comes from, the endpoint and its secret header. Cache keys carry a
    /// keyed fingerprint of it (see [`crate::binding`]), so a token or a failure is
    /// only ever served to a configuration that proves the identity the same way.
    /// `platform` is for proofs that must be read (a certificate file).
    fn proof(&self, platform: &dyn Platform) -> Result<Proof, Error>;
    /// One line for people: source, endpoint, identity. No secrets.
    fn describe(&self) -> String;
    /// The retry policy for this flow's endpoint.
    fn retry_policy(&self) -> &RetryPolicy;
    /// The HTTP request for `request`; `platform` gives the clock and files (token
    /// files, certificates) a flow may need.
    fn build_request(
        &self,
        request: &FlowRequest<'_>,
        platform: &dyn Platform,
    ) -> Result<Request, Error>;
    /// Turns a final refusal into an error that says what was asked and what to check.
    fn refusal(&self, error: ServiceError) -> Error;
    /// Secret values that must never appear in an error. Asked after the request, so
    /// secrets the flow only learned while running (a key file, an assertion) count.
    fn secrets(&self) -> Vec<String>;

    /// A second request answering a refusal, sent at once and without counting as a
    /// retry: Arc's `401` key-file challenge, or a re-read federated token after
    /// Entra said the old one expired. `None` lets the refusal go to the retry policy.
    fn challenge(
        &self,
        request: &FlowRequest<'_>,
        response: &Response,
        platform: &dyn Platform,
    ) -> Option<Result<Request, Error>> {
        let _ = (request, response, platform);
        None
    }

    /// Checks a success body before its token is used, e.g. that the endpoint issued
    /// the identity that was asked for.
    fn accept(&self, body: &[u8]) -> Result<(), Error> {
        let _ = body;
        Ok(())
    }

    /// A request to send once, before the first real one, with its timeout: any HTTP
    /// answer means the endpoint exists; no answer means the flow is unavailable.
    /// Answered probes are reported through [`Flow::probe_answered`].
    fn probe(&self) -> Option<(Request, Duration)> {
        None
    }

    /// The probe got an HTTP answer; do not probe again.
    fn probe_answered(&self) {}

    /// Whether [`FlowRequest::revoked_token_sha256`] is wanted: the endpoint can be
    /// told which token a claims challenge refused (Service Fabric). The credential
    /// then looks the cached token up even though a claims request is not served
    /// from the cache.
    fn sends_revoked_token_hash(&self) -> bool {
        false
    }

    /// The SHA-1 thumbprint (40 upper-case hex digits) the endpoint's TLS certificate
    /// must have, for endpoints with self-signed certificates (Service Fabric). The
    /// transport, not the core, must enforce it.
    fn pinned_thumbprint(&self) -> Option<String> {
        None
    }
}

/// What a [`Flow`] is asked for: the caller's [`TokenRequest`] (it derefs to it), and
/// what the credential knows beyond it.
#[derive(Clone, Copy, Debug)]
pub struct FlowRequest<'a> {
    /// The caller's request.
    pub request: &'a TokenRequest,
    /// Lower-case hex SHA-256 of the UTF-8 token that this request's claims challenge
    /// refused, when the credential had it cached and the flow
    /// [sends it](Flow::sends_revoked_token_hash). Not a secret; the token is, and
    /// never goes anywhere but into this hash.
    pub revoked_token_sha256: Option<&'a str>,
}

impl<'a> FlowRequest<'a> {
    /// `request`, with nothing more known.
    pub fn new(request: &'a TokenRequest) -> Self {
        FlowRequest {
            request,
            revoked_token_sha256: None,
        }
    }
}

impl std::ops::Deref for FlowRequest<'_> {
    type Target = TokenRequest;
    fn deref(&self) -> &TokenRequest {
        self.request
    }
}

/// Lower-case hex SHA-256 of `token`'s UTF-8 bytes, as MSAL computes
/// `token_sha256_to_refresh`.
pub fn token_sha256_hex(token: &str) -> String {
    use sha2::{Digest, Sha256};
    base16ct::lower::encode_string(&Sha256::digest(token.as_bytes()))
}

/// The per-instance cache shared by every credential in the instance.
pub type SharedStore = Rc<RefCell<dyn TokenStore>>;

/// A token source with a cache.
pub struct Credential {
    flow: Box<dyn Flow>,
    transport: Box<dyn Transport>,
    platform: Box<dyn Platform>,
    store: SharedStore,
    shared: Option<Rc<SharedCache>>,
    /// The flow's identity with the fingerprints of its proof, computed once.
    bound: RefCell<Option<Rc<Bound>>>,
}

/// A credential's cache identities: under the sealing key's binding, and under the
/// older keys' (to find tokens written before a rotation).
struct Bound {
    current: String,
    older: Vec<String>,
}

impl Credential {
    /// A credential running `flow` over `transport`, caching in `store`.
    pub fn new(
        flow: Box<dyn Flow>,
        transport: Box<dyn Transport>,
        platform: Box<dyn Platform>,
        store: SharedStore,
    ) -> Self {
        Credential {
            flow,
            transport,
            platform,
            store,
            shared: None,
            bound: RefCell::new(None),
        }
    }

    /// Also keeps tokens in `shared` (L2), and coordinates fetches with the other
    /// instances using it: one fetches, the others wait for its outcome.
    pub fn with_shared_cache(mut self, shared: Rc<SharedCache>) -> Self {
        self.shared = Some(shared);
        *self.bound.get_mut() = None;
        self
    }

    /// What proves this credential: its identity and its flow's proof. A credential
    /// used as another's assertion source (managed identity as a federated
    /// credential) is part of the outer one's proof.
    pub fn proof(&self) -> Result<Proof, Error> {
        let inner = self.flow.proof(&*self.platform)?;
        Ok(Proof::new("credential")
            .with(self.flow.identity())
            .with_proof(&inner))
    }

    /// The identity part of this credential's cache keys: the flow's identity and the
    /// fingerprint of its proof under the shared cache's binding key.
    #[cfg(test)]
    pub(crate) fn bound_identity(&self) -> Result<String, Error> {
        Ok(self.bound()?.current.clone())
    }

    /// This credential's cache identities under the shared cache's older keys: where
    /// a token written before the sealing key rotated is found.
    pub(crate) fn older_identities(&self) -> Result<Vec<String>, Error> {
        Ok(self.bound()?.older.clone())
    }

    /// Both, computed once: the proof may need a file read, and every call needs them.
    fn bound(&self) -> Result<Rc<Bound>, Error> {
        if let Some(bound) = self.bound.borrow().as_ref() {
            return Ok(Rc::clone(bound));
        }
        let proof = self.proof()?;
        let identity = self.flow.identity();
        let under = |key: &BindingKey| format!("{identity}|bound={}", key.fingerprint(&proof));
        let bound = match &self.shared {
            Some(shared) => Bound {
                current: under(&shared.binding_key()),
                older: shared.older_binding_keys().iter().map(under).collect(),
            },
            None => Bound {
                current: under(&BindingKey::local()),
                older: Vec::new(),
            },
        };
        let bound = Rc::new(bound);
        *self.bound.borrow_mut() = Some(Rc::clone(&bound));
        Ok(bound)
    }

    /// What this credential uses, for people.
    pub fn describe(&self) -> String {
        self.flow.describe()
    }

    /// The TLS certificate thumbprint the transport must pin for this credential's
    /// endpoint, if it has one (see [`Flow::pinned_thumbprint`]).
    pub fn pinned_thumbprint(&self) -> Option<String> {
        self.flow.pinned_thumbprint()
    }

    /// A token for `request`: cached while fresh, refreshed when due (the old token is
    /// returned if that fails), fetched with retries when missing or unusable.
    pub fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, Error> {
        self.get_token_inner(request).map_err(|e| self.scrub(e))
    }

    fn scrub(&self, error: Error) -> Error {
        let secrets = self.flow.secrets();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        crate::error::scrub(error, &secrets)
    }

    fn probe(&self) -> Result<(), Error> {
        let Some((probe, timeout)) = self.flow.probe() else {
            return Ok(());
        };
        match self.transport.send(&probe, timeout, MAX_RESPONSE_BODY) {
            Ok(_) | Err(TransportError::BodyTooLarge { .. }) => {
                self.flow.probe_answered();
                Ok(())
            }
            Err(why) => Err(Error::Unavailable(format!(
                "no answer from {} within {} ms ({why:?}); {}",
                endpoint(&probe),
                timeout.as_millis(),
                "this does not look like an Azure VM with IMDS"
            ))),
        }
    }

    fn get_token_inner(&self, request: &TokenRequest) -> Result<AccessToken, Error> {
        let key = CacheKey::new(&self.bound()?.current, request);
        // A claims challenge or a forced refresh says the cached token is no good: its
        // answer replaces that token (the key has no claims in it) for every caller.
        let bypass = request.force_refresh || request.claims.is_some();
        let now = self.platform.now_unix();
        // The claims say the cached token was refused, so its hash goes with them even
        // on a forced refresh (MSAL.NET lets a forced refresh drop it).
        let revoked = match &request.claims {
            Some(_) if self.flow.sends_revoked_token_hash() => self.revoked_token_hash(&key),
            _ => None,
        };
        let request = &FlowRequest {
            request,
            revoked_token_sha256: revoked.as_deref(),
        };
        let cached = if bypass {
            None
        } else {
            self.store.borrow().get(&key)
        };
        let old = match cached.map(|t| (cache::freshness(&t, now), t)) {
            Some((Freshness::Fresh, token)) => return Ok(token),
            Some((Freshness::RefreshDue, old)) => Some(old),
            _ => None,
        };
        match &self.shared {
            Some(shared) if !bypass => self.through_shared(shared, request, key, old),
            _ => self.refresh_here(request, key, old),
        }
    }

    /// The hash of the token cached under `key` (L1, else L2), which the claims
    /// challenge being answered refused.
    fn revoked_token_hash(&self, key: &CacheKey) -> Option<String> {
        let platform = &*self.platform;
        let token = self.store.borrow().get(key).or_else(|| {
            let shared = self.shared.as_ref()?;
            shared
                .token(key, platform.now_unix(), platform)
                .ok()
                .flatten()
        })?;
        Some(token_sha256_hex(token.secret()))
    }

    /// Without a shared cache: refresh a due token with one attempt (keeping the old
    /// one if that fails), or fetch a missing one with retries.
    fn refresh_here(
        &self,
        request: &FlowRequest<'_>,
        key: CacheKey,
        old: Option<AccessToken>,
    ) -> Result<AccessToken, Error> {
        let policy = self.flow.retry_policy();
        match old {
            Some(old) => match self.fetch(request, &policy.single_attempt()) {
                Ok(token) => Ok(self.keep(key, token)),
                Err(_) => Ok(self.defer(key, old)),
            },
            None => {
                let token = self.fetch(request, policy)?;
                Ok(self.keep(key, token))
            }
        }
    }

    /// Keeps a new token in L1 and, when there is one, L2.
    fn keep(&self, key: CacheKey, token: AccessToken) -> AccessToken {
        let now = self.platform.now_unix();
        if let Some(shared) = &self.shared
            && let Err(e) = shared.put_token(&key, &token, &*self.platform)
        {
            shared.store_failed(&*self.platform, &e);
        }
        self.store.borrow_mut().put(key, token.clone(), now);
        token
    }

    /// Serves `old` after a failed refresh, and tries again a little later.
    fn defer(&self, key: CacheKey, old: AccessToken) -> AccessToken {
        let now = self.platform.now_unix();
        self.store
            .borrow_mut()
            .put(key, cache::defer_refresh(old.clone(), now), now);
        old
    }

    /// Asks the token service, retrying as `policy` says.
    fn fetch(&self, request: &FlowRequest<'_>, policy: &RetryPolicy) -> Result<AccessToken, Error> {
        self.probe()?;
        let platform = &*self.platform;
        let started = platform.monotonic();
        let mut retries = 0;
        loop {
            let mut http = self.flow.build_request(request, platform)?;
            let mut sent = self
                .transport
                .send(&http, policy.attempt_timeout, MAX_RESPONSE_BODY);
            if let Ok(response) = &sent
                && !(200..300).contains(&response.status)
                && let Some(next) = self.flow.challenge(request, response, platform)
            {
                http = next?;
                sent = self
                    .transport
                    .send(&http, policy.attempt_timeout, MAX_RESPONSE_BODY);
            }
            let (attempt, refusal) = match sent {
                Ok(response) if (200..300).contains(&response.status) => {
                    self.flow.accept(&response.body)?;
                    let now = self.platform.now_unix();
                    let parsed = parse_token(&response.body, now)?;
                    let refresh_on = cache::refresh_on(
                        now,
                        parsed.expires_on,
                        parsed.refresh_in,
                        self.platform.random_u64(),
                    );
                    return Ok(AccessToken::new(parsed.access_token, parsed.expires_on)
                        .with_token_type(parsed.token_type)
                        .with_refresh_on(refresh_on));
                }
                Ok(response) => {
                    let now = self.platform.now_unix();
                    let after = retry_after(response.header("retry-after"), now);
                    let refusal =
                        parse_error(response.status, &response.body, &self.flow.secrets());
                    let status = response.status;
                    (
                        Attempt::Status {
                            status,
                            retry_after: after,
                        },
                        Some(refusal),
                    )
                }
                Err(TransportError::Timeout) => (Attempt::Timeout, None),
                Err(other) => return Err(self.transport_error(&http, other)),
            };
            let elapsed = self.platform.monotonic().saturating_sub(started);
            match policy.decide(retries, elapsed, attempt, self.platform.random_u64()) {
                Decision::RetryAfter(delay) => {
                    self.platform.sleep(delay);
                    retries += 1;
                }
                Decision::GiveUp => {
                    return Err(self.give_up(&http, attempt, refusal, retries + 1, elapsed));
                }
            }
        }
    }

    fn give_up(
        &self,
        http: &Request,
        attempt: Attempt,
        refusal: Option<ServiceError>,
        attempts: u32,
        elapsed: Duration,
    ) -> Error {
        let tries = if attempts > 1 {
            format!(" after {attempts} attempts over {} s", elapsed.as_secs())
        } else {
            String::new()
        };
        match (attempt, refusal) {
            (
                Attempt::Status {
                    status: 429,
                    retry_after,
                },
                _,
            ) => Error::Throttled {
                retry_after: retry_after.unwrap_or(5),
                message: format!("{} answered 429 Too Many Requests{tries}", endpoint(http)),
            },
            (_, Some(refusal)) => match self.flow.refusal(refusal) {
                Error::AuthenticationFailed(mut e) if !tries.is_empty() => {
                    e.context = format!("{} (gave up{tries})", e.context);
                    Error::AuthenticationFailed(e)
                }
                other => other,
            },
            (_, None) => Error::Transport(format!(
                "no answer from {} within {} s{tries}",
                endpoint(http),
                self.flow.retry_policy().attempt_timeout.as_secs()
            )),
        }
    }

    fn transport_error(&self, http: &Request, error: TransportError) -> Error {
        let at = endpoint(http);
        match error {
            TransportError::Connect(why) => Error::Unavailable(format!(
                "cannot connect to {at} ({why}); {}",
                "is this workload running where that endpoint exists?"
            )),
            TransportError::Denied => Error::Transport(format!(
                "the host's outbound policy denied the request to {at}; allow that host in the host configuration"
            )),
            TransportError::BodyTooLarge { limit } => Error::InvalidResponse(format!(
                "{at} sent a response body over {limit} bytes; a token response is a few KiB"
            )),
            TransportError::Timeout => Error::Transport(format!("{at} timed out")),
            TransportError::Other(why) => {
                Error::Transport(format!("request to {at} failed: {why}"))
            }
        }
    }
}

/// `scheme://authority` of a request, for messages: never the query, which may name
/// identities, nor headers, which may hold secrets.
fn endpoint(http: &Request) -> String {
    match UrlParts::parse(&http.url) {
        Ok(p) => format!("{}://{}", p.scheme, p.authority),
        Err(_) => "the endpoint".to_string(),
    }
}

mod shared;

pub use shared::FAILURE_MEMORY;

#[cfg(test)]
mod tests;
