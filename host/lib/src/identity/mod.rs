//! The identity room: [`Identity`], the embedding API for tokens, and what stands
//! between a caller and the component's credential: the configuration
//! ([`IdentityConfig`]) and credential kinds, the host's fast path (`fresh`), one flight
//! per identical request (`singleflight`), the instance pool (`pool`), one instance and
//! its blueprint (`instance`), and the live `credential` resource (`credential`).

pub(crate) mod config;
pub(crate) mod credential;
pub(crate) mod credential_kind;
#[cfg(feature = "dev-tools")]
mod developer;
pub(crate) mod fresh;
pub(crate) mod instance;
pub(crate) mod pool;
pub(crate) mod redis_tokens;
pub(crate) mod singleflight;

pub use config::{IDENTITY_ENV_VARS, IdentityConfig, InstanceLimits};
pub use credential_kind::{AppOptions, CertificateSource, CredentialKind};

use crate::error::{Error, Result};
use crate::outbound::Allowlist;
use crate::runtime::Runtime;
use crate::runtime::limits::InstanceStats;
use credential::LiveCredential;
use entra_identity_types::{AccessToken, TokenRequest};
use fresh::FreshTokens;
use instance::{Blueprint, Sandbox};
use pool::{Pool, Pooled};
use singleflight::SingleFlight;
use std::sync::Arc;

/// Tokens from the `entra-identity` component, running in wasmtime.
///
/// Cheap to clone; clones share one pool of component instances
/// ([`InstanceLimits::max_instances`]), and every instance shares the token cache in
/// the configured store ([`IdentityConfig::cache`]). Concurrent identical requests are
/// coalesced: one runs, all get its result, success or error. A token the component
/// returned is answered from the host until the component's `refresh_on`
/// ([`IdentityConfig::host_fast_path`]), without entering an instance. Instances run on
/// a [`Runtime`]: [`Runtime::shared`] unless [`Identity::with_runtime`] names one.
///
/// ```no_run
/// # async fn run() -> entra_identity_host::Result<()> {
/// let identity = entra_identity_host::Identity::from_env()?;
/// let token = identity.get_token(&["https://vault.azure.net/.default"]).await?;
/// println!("expires at {}", token.expires_on());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Identity {
    inner: Arc<Inner>,
}

struct Inner {
    config: IdentityConfig,
    blueprint: Blueprint,
    /// `None` when [`IdentityConfig::host_fast_path`] is off.
    fresh: Option<FreshTokens>,
    pool: Pool<LiveCredential>,
    flights: SingleFlight<TokenRequest, Result<AccessToken>>,
    telemetry: crate::telemetry::Recorder,
    /// Serves the developer's tokens to the component while this identity lives.
    #[cfg(feature = "dev-tools")]
    _developer: Option<crate::dev_tools::DevEndpoint>,
}

impl Identity {
    /// Managed identity configured from this process's environment, the shared
    /// cache's `ENTRA_IDENTITY_CACHE_*` included.
    pub fn from_env() -> Result<Self> {
        Self::new(IdentityConfig::from_env()?)
    }

    /// An identity with an explicit configuration, on the process's shared
    /// [`Runtime`].
    ///
    /// Compiles the component unless the runtime already has (or loads it from the
    /// compile cache) and opens the cache's store; call it once and share the result.
    pub fn new(config: IdentityConfig) -> Result<Self> {
        Self::with_runtime(&Runtime::shared()?, config)
    }

    /// [`Self::new`] on `runtime`: its engine, compiled component and epoch ticker.
    pub fn with_runtime(runtime: &Runtime, config: IdentityConfig) -> Result<Self> {
        // A Redis cache with Entra authentication gets its tokens from this identity's
        // configuration, cached in memory only.
        // First, so that the Redis identity below reaches the same developer endpoint.
        #[cfg(feature = "dev-tools")]
        let (config, developer) = developer::attach(config)?;
        let config = redis_tokens::attach(runtime, config)?;
        let allowlist = outbound_policy(&config, &[])?;
        let limits = &config.limits;
        let pool = Pool::new(limits.max_instances, limits.reuse_instances);
        let fresh = (config.host_fast_path).then(|| FreshTokens::new(config.wall_clock.clone()));
        // Compile now, so a component that cannot run fails here, not at the first call.
        runtime.identity_component()?;
        let blueprint = Blueprint::new(runtime, sandbox(&config, allowlist))?;
        tracing::debug!(allowed = ?blueprint.allowlist.authorities(), "identity component ready");
        let telemetry = crate::telemetry::Recorder::new(&config);
        Ok(Identity {
            inner: Arc::new(Inner {
                config,
                blueprint,
                fresh,
                pool,
                flights: SingleFlight::new(),
                telemetry,
                #[cfg(feature = "dev-tools")]
                _developer: developer,
            }),
        })
    }

    /// A token for `scopes` (managed identity takes exactly one).
    pub async fn get_token(&self, scopes: &[impl AsRef<str>]) -> Result<AccessToken> {
        self.get_token_for(&TokenRequest::new(scopes)).await
    }

    /// A token for a full request (tenant, claims, force-refresh).
    pub async fn get_token_for(&self, request: &TokenRequest) -> Result<AccessToken> {
        if let Some(token) = self.inner.fresh.as_ref().and_then(|f| f.get(request)) {
            // Answering without awaiting anything would let a caller that loops on
            // `get_token` starve its runtime's other tasks; count it as tokio work.
            tokio::task::coop::consume_budget().await;
            self.inner.telemetry.fast_path();
            return Ok(token);
        }
        let inner = self.inner.clone();
        let (key, request) = (request.clone(), request.clone());
        let led = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let leader = led.clone();
        let result = self
            .inner
            .flights
            .run(
                key,
                move || async move {
                    leader.store(true, std::sync::atomic::Ordering::Relaxed);
                    let mut live = inner.live().await?;
                    let result = inner.telemetry.call(live.get_token(&request)).await;
                    live.finish(&result);
                    if result.is_ok() && (request.claims.is_some() || request.force_refresh) {
                        // The component replaced the token in the shared cache; other
                        // instances may still hold the old one in theirs.
                        inner.pool.retire_all();
                    }
                    if let (Some(fresh), Ok(token)) = (&inner.fresh, &result) {
                        fresh.put(&request, token);
                    }
                    result
                },
                || Err(Error::Component("the token task panicked".into())),
            )
            .await;
        if !led.load(std::sync::atomic::Ordering::Relaxed) {
            self.inner.telemetry.coalesced(&result);
        }
        result
    }

    /// Its metrics recorder (plugin denials are counted against the plugin's identity).
    #[cfg_attr(not(feature = "plugin"), allow(dead_code))]
    pub(crate) fn telemetry(&self) -> &crate::telemetry::Recorder {
        &self.inner.telemetry
    }

    /// Which source and endpoint the component uses. Never contains secrets.
    pub async fn describe(&self) -> Result<String> {
        let mut live = self.inner.live().await?;
        let result = live.describe().await;
        live.finish(&result);
        result
    }

    /// The authorities (`host:port`) the component may reach.
    pub fn allowed_authorities(&self) -> &[String] {
        self.inner.blueprint.allowlist.authorities()
    }

    /// How many instances are alive and the linear memory they hold.
    pub fn instance_stats(&self) -> InstanceStats {
        self.inner.blueprint.memory.stats()
    }

    /// The runtime its instances run on.
    pub fn runtime(&self) -> &Runtime {
        &self.inner.blueprint.runtime
    }

    /// What it was built from (named plugin identities start from the host's).
    #[cfg_attr(not(feature = "plugin"), allow(dead_code))]
    pub(crate) fn config(&self) -> &IdentityConfig {
        &self.inner.config
    }
}

impl Inner {
    /// An instance with its credential, idle or new.
    async fn live(&self) -> Result<Pooled<'_, LiveCredential>> {
        self.pool
            .get(|| LiveCredential::start(&self.blueprint, &self.config))
            .await
    }
}

/// An identity's sandbox: its environment, the directories its credential reads, its
/// clock, cache and limits, and `allowlist`.
pub(crate) fn sandbox(config: &IdentityConfig, allowlist: Allowlist) -> Sandbox<'_> {
    Sandbox {
        env: &config.env,
        readable_dirs: config.readable_dirs(),
        wall_clock: config.wall_clock.clone(),
        cache: &config.cache,
        limits: config.limits.clone(),
        allowlist,
    }
}

/// What the component may reach: its configuration's endpoints (IMDS capped at its
/// documented concurrency, Service Fabric pinned), plus `extra` URLs (an app served
/// with it).
pub(crate) fn outbound_policy(config: &IdentityConfig, extra: &[String]) -> Result<Allowlist> {
    let urls = config.outbound_urls();
    let mut allowlist = Allowlist::from_urls(urls.iter().chain(extra).map(String::as_str))
        .with_tls_roots(config.tls_roots);
    if let Some(imds) = config.imds_url() {
        allowlist = allowlist.with_concurrency_limit(&imds, crate::outbound::IMDS_MAX_CONCURRENT);
    }
    if let Some((endpoint, thumbprint)) = config.service_fabric_pin() {
        allowlist = allowlist
            .with_pinned_certificate(&endpoint, &thumbprint)
            .map_err(|why| Error::Config(format!("IDENTITY_SERVER_THUMBPRINT: {why}")))?;
    }
    if let Some(proxy) = config.aks_token_proxy() {
        allowlist = allowlist
            .with_token_proxy(&proxy)
            .map_err(|why| Error::Config(format!("AKS identity binding: {why}")))?;
    }
    Ok(allowlist)
}
