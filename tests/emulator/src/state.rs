//! What the server and the test-side handle share: configuration, keys, knobs, traffic and faults.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use crate::apps::{AppDirectory, AppRegistration, RegisteredApp};
use crate::arc_challenge::ArcChallenges;
use crate::clock::unix_seconds;
use crate::config::EmulatorConfig;
use crate::endpoint::Endpoint;
use crate::fault::{Fault, FaultPlan};
use crate::key_vault::SecretStore;
use crate::keys::{KeyRing, SigningKey};
use crate::recording::RecordedRequest;
use crate::revocation::Revocations;
use crate::service_account;
use crate::token::{self, Subject, Validity};
use crate::token_cache::{CachedToken, TokenCache};
use crate::user_token::{self, UserClaims, UserToken};

/// How far in the past [`Fault::ExpiredToken`] puts `exp`: beyond any usual clock-skew leeway.
const EXPIRED_BY: u64 = 300;

pub(crate) struct EmulatorState {
    pub(crate) config: Arc<EmulatorConfig>,
    pub(crate) base_url: String,
    /// `https://127.0.0.1:PORT`: the HTTPS listener, which serves the token endpoint too.
    pub(crate) https_base_url: String,
    keys: Mutex<KeyRing>,
    /// The Kubernetes-style OIDC issuer's key, which never rotates.
    oidc_key: SigningKey,
    apps: Mutex<AppDirectory>,
    pub(crate) arc: ArcChallenges,
    pub(crate) key_vault: SecretStore,
    knobs: Mutex<Knobs>,
    traffic: Mutex<Traffic>,
    /// Every access token issued, by `uti`, for Key Vault's continuous access evaluation.
    revocations: Mutex<Revocations>,
    /// Service Fabric's token cache: it hands out the same token for a resource until asked to refresh it.
    service_fabric_tokens: Mutex<TokenCache>,
    shutdown: watch::Receiver<bool>,
}

/// Settings a test may change while the server runs.
struct Knobs {
    token_lifetime: Duration,
    refresh_in: Option<u64>,
    arc_legacy_ignores_user_assigned: bool,
    /// Resources (scope prefixes) whose on-behalf-of tokens need a user who did multi-factor authentication.
    mfa_required: Vec<String>,
    /// Told of every access token minted (`Emulator::on_token_minted`).
    on_mint: Option<crate::mint_hook::MintHook>,
}

#[derive(Default)]
struct Traffic {
    received: HashMap<Endpoint, Vec<RecordedRequest>>,
    faults: HashMap<Endpoint, FaultPlan>,
    /// Requests being answered right now, and the most there ever were at once.
    in_flight: HashMap<Endpoint, (usize, usize)>,
}

/// Counts a request as in flight until dropped (also when its connection is dropped).
pub(crate) struct InFlight<'a> {
    state: &'a EmulatorState,
    endpoint: Endpoint,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some((now, _)) = lock(&self.state.traffic).in_flight.get_mut(&self.endpoint) {
            *now -= 1;
        }
    }
}

/// Every lock guards plain data that no panic can leave half-updated, so a poisoned lock is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl EmulatorState {
    pub(crate) fn new(
        config: Arc<EmulatorConfig>,
        base_url: String,
        https_base_url: String,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let knobs = Knobs {
            token_lifetime: config.token_lifetime,
            refresh_in: None,
            arc_legacy_ignores_user_assigned: config.arc_legacy_ignores_user_assigned,
            mfa_required: Vec::new(),
            on_mint: None,
        };
        let mut apps = AppDirectory::default();
        for app in &config.apps {
            apps.register(RegisteredApp::new(app.clone()));
        }
        Self {
            arc: ArcChallenges::new(config.arc_token_dir.clone()),
            key_vault: SecretStore::default(),
            config,
            base_url,
            https_base_url,
            keys: Mutex::new(KeyRing::shipped()),
            oidc_key: service_account::signing_key(),
            apps: Mutex::new(apps),
            knobs: Mutex::new(knobs),
            traffic: Mutex::default(),
            revocations: Mutex::default(),
            service_fabric_tokens: Mutex::default(),
            shutdown,
        }
    }

    /// Records a request and hands out the fault it must suffer, in one step so that concurrent requests each
    /// consume their own queued fault.
    pub(crate) fn admit(&self, endpoint: Endpoint, request: RecordedRequest) -> Option<Fault> {
        let mut traffic = lock(&self.traffic);
        traffic.received.entry(endpoint).or_default().push(request);
        traffic.faults.get_mut(&endpoint).and_then(FaultPlan::next)
    }

    pub(crate) fn requests(&self, endpoint: Endpoint) -> Vec<RecordedRequest> {
        lock(&self.traffic)
            .received
            .get(&endpoint)
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn enter(&self, endpoint: Endpoint) -> InFlight<'_> {
        let mut traffic = lock(&self.traffic);
        let (now, max) = traffic.in_flight.entry(endpoint).or_default();
        *now += 1;
        *max = (*max).max(*now);
        InFlight {
            state: self,
            endpoint,
        }
    }

    pub(crate) fn max_in_flight(&self, endpoint: Endpoint) -> usize {
        lock(&self.traffic)
            .in_flight
            .get(&endpoint)
            .map_or(0, |(_, max)| *max)
    }

    pub(crate) fn count(&self, endpoint: Endpoint) -> usize {
        lock(&self.traffic)
            .received
            .get(&endpoint)
            .map_or(0, Vec::len)
    }

    pub(crate) fn forget_requests(&self) {
        lock(&self.traffic).received.clear();
    }

    pub(crate) fn push_faults(&self, endpoint: Endpoint, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.traffic)
            .faults
            .entry(endpoint)
            .or_default()
            .push(faults);
    }

    pub(crate) fn set_persistent_fault(&self, endpoint: Endpoint, fault: Option<Fault>) {
        lock(&self.traffic)
            .faults
            .entry(endpoint)
            .or_default()
            .set_persistent(fault);
    }

    pub(crate) fn clear_faults(&self, endpoint: Endpoint) {
        lock(&self.traffic).faults.remove(&endpoint);
    }

    pub(crate) fn set_token_lifetime(&self, lifetime: Duration) {
        lock(&self.knobs).token_lifetime = lifetime;
    }

    pub(crate) fn token_lifetime(&self) -> Duration {
        lock(&self.knobs).token_lifetime
    }

    pub(crate) fn set_refresh_in(&self, secs: Option<u64>) {
        lock(&self.knobs).refresh_in = secs;
    }

    pub(crate) fn refresh_in(&self) -> Option<u64> {
        lock(&self.knobs).refresh_in
    }

    /// Adds `refresh_in` when a test set one, as a string: how managed-identity
    /// endpoints write numbers.
    pub(crate) fn add_refresh_in(&self, body: &mut serde_json::Value) {
        if let Some(refresh_in) = self.refresh_in() {
            body["refresh_in"] = serde_json::Value::String(refresh_in.to_string());
        }
    }

    pub(crate) fn set_arc_legacy_ignores_user_assigned(&self, legacy: bool) {
        lock(&self.knobs).arc_legacy_ignores_user_assigned = legacy;
    }

    pub(crate) fn arc_legacy_ignores_user_assigned(&self) -> bool {
        lock(&self.knobs).arc_legacy_ignores_user_assigned
    }

    pub(crate) fn require_mfa_for(&self, resource: &str) {
        lock(&self.knobs).mfa_required.push(resource.to_owned());
    }

    /// The MFA-requiring resource that one of `scopes` falls under, if any.
    pub(crate) fn mfa_required_for(&self, scopes: &str) -> Option<String> {
        let knobs = lock(&self.knobs);
        knobs
            .mfa_required
            .iter()
            .find(|resource| {
                scopes
                    .split_whitespace()
                    .any(|scope| scope.starts_with(resource.as_str()))
            })
            .cloned()
    }

    /// Service Fabric's cached token for `resource`, or a new one from `mint` (see [`TokenCache::get_or_mint`]).
    pub(crate) fn service_fabric_token(
        &self,
        resource: &str,
        now: u64,
        refresh: Option<&str>,
        mint: impl FnOnce() -> CachedToken,
    ) -> CachedToken {
        lock(&self.service_fabric_tokens).get_or_mint(resource, now, refresh, mint)
    }

    pub(crate) fn revoke_issued_tokens(&self) {
        let now = self.now();
        lock(&self.revocations).revoke_all(now);
    }

    /// When the token with this `uti` was issued before a revocation, that revocation's time.
    pub(crate) fn revoked(&self, uti: &str) -> Option<u64> {
        lock(&self.revocations).revoked(uti)
    }

    pub(crate) fn register_app(&self, app: AppRegistration) {
        let app = RegisteredApp::new(app);
        lock(&self.apps).register(app);
    }

    pub(crate) fn app(&self, client_id: &str) -> Option<Arc<RegisteredApp>> {
        lock(&self.apps).find(client_id)
    }

    /// The public key of an Entra signing key, for tokens the emulator issued that come back as assertions.
    pub(crate) fn entra_decoding_key(&self, kid: &str) -> Option<jsonwebtoken::DecodingKey> {
        lock(&self.keys).by_kid(kid).map(SigningKey::decoding)
    }

    /// `<base_url>/oidc`: the Kubernetes-style issuer of service account tokens.
    pub(crate) fn oidc_issuer(&self) -> String {
        format!("{}/oidc", self.base_url)
    }

    pub(crate) fn oidc_key(&self) -> &SigningKey {
        &self.oidc_key
    }

    pub(crate) fn oidc_decoding_key(&self) -> jsonwebtoken::DecodingKey {
        self.oidc_key.decoding()
    }

    pub(crate) fn mint_service_account_token(
        &self,
        namespace: &str,
        service_account: &str,
        lifetime: Duration,
    ) -> String {
        service_account::mint(
            &self.oidc_key,
            &self.oidc_issuer(),
            namespace,
            service_account,
            self.now(),
            lifetime.as_secs(),
        )
    }

    /// Now, in Unix seconds, by the configured clock.
    pub(crate) fn now(&self) -> u64 {
        unix_seconds(self.config.clock.now())
    }

    /// The validity of a token issued now: the configured lifetime, or one that ended a while ago.
    pub(crate) fn validity(&self, now: u64, expired: bool) -> Validity {
        let lifetime = self.token_lifetime().as_secs();
        let expires_on = if expired {
            now.saturating_sub(EXPIRED_BY)
        } else {
            now + lifetime
        };
        Validity {
            issued_at: expires_on.saturating_sub(lifetime).min(now),
            expires_on,
        }
    }

    /// Signs an app token with the current key; the token counts as issued for [`Self::revoke_issued_tokens`].
    pub(crate) fn mint(&self, subject: &Subject<'_>, audience: &str, validity: Validity) -> String {
        let uti = self.new_token_id();
        let token = token::mint(
            lock(&self.keys).current(),
            &self.config.tenant_id,
            subject,
            audience,
            validity,
            &uti,
        );
        let hook = lock(&self.knobs).on_mint.clone();
        if let Some(hook) = hook {
            hook(&crate::mint_hook::MintedToken {
                audience,
                object_id: subject.object_id,
                access_token: &token,
            });
        }
        token
    }

    /// Sets the hook told of every access token minted from now on.
    pub(crate) fn set_mint_hook(&self, hook: Option<crate::mint_hook::MintHook>) {
        lock(&self.knobs).on_mint = hook;
    }

    /// Signs a delegated token with the current key; `claims.uti` must come from [`Self::new_token_id`].
    pub(crate) fn sign_user_claims(&self, claims: &UserClaims<'_>) -> String {
        token::sign(lock(&self.keys).current(), claims)
    }

    /// A fresh `uti`, remembered as issued before the token carrying it is even signed, so that no token can be
    /// handed out without a revocation catching it.
    pub(crate) fn new_token_id(&self) -> String {
        let uti = token::unique_token_id();
        lock(&self.revocations).issued(&uti);
        uti
    }

    /// A user's token as [`UserToken`] describes it, valid from now.
    pub(crate) fn mint_user_token(&self, user: &UserToken) -> String {
        let now = self.now();
        let lifetime = user.lifetime.unwrap_or_else(|| self.token_lifetime());
        let tenant = user.tenant.as_deref().unwrap_or(&self.config.tenant_id);
        let uti = self.new_token_id();
        let sub = user_token::subject_of(&user.oid);
        let claims = UserClaims {
            aud: &user.audience,
            iss: crate::routes::v2_issuer(tenant),
            iat: now,
            nbf: now,
            exp: now + lifetime.as_secs(),
            amr: &user.amr,
            azp: user_token::CLIENT_APP_ID,
            azpacr: "0",
            oid: &user.oid,
            scp: user.scopes.join(" "),
            sub: &sub,
            tid: tenant,
            uti: &uti,
            ver: "2.0",
            xms_cc: &[],
        };
        self.sign_user_claims(&claims)
    }

    pub(crate) fn jwks(&self, issuer: &str) -> Value {
        lock(&self.keys).jwks(issuer)
    }

    pub(crate) fn rotate_signing_key(&self) {
        lock(&self.keys).rotate();
    }

    pub(crate) fn announce_next_signing_key(&self) {
        lock(&self.keys).announce_next();
    }

    /// Resolves once the emulator is shutting down, so that long waits (delays, stalled bodies) end with it.
    pub(crate) fn shutting_down(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut shutdown = self.shutdown.clone();
        async move {
            // A dropped sender means the handle is gone: that is a shutdown too.
            let _ = shutdown.wait_for(|&down| down).await;
        }
    }
}
