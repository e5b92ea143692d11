//! The embedding API for tokens: an [`Identity`] runs the component's credential.

use crate::config::IdentityConfig;
use crate::credential::LiveCredential;
use crate::error::{Error, Result};
use crate::fresh::FreshTokens;
use crate::instance::Blueprint;
use crate::limits::InstanceStats;
use crate::outbound::Allowlist;
use crate::pool::{Pool, Pooled};
use crate::singleflight::SingleFlight;
use entra_identity_types::{AccessToken, TokenRequest};
use std::sync::Arc;

/// Tokens from the `entra-identity` component, running in wasmtime.
///
/// Cheap to clone; clones share one pool of component instances
/// ([`IdentityConfig::max_instances`]), and every instance shares the token cache in
/// the configured store ([`IdentityConfig::cache`]). Concurrent identical requests are
/// coalesced: one runs, all get its result, success or error. A token the component
/// returned is answered from the host until the component's `refresh_on`
/// ([`IdentityConfig::host_fast_path`]), without entering an instance.
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
    blueprint: Blueprint,
    /// `None` when [`IdentityConfig::host_fast_path`] is off.
    fresh: Option<FreshTokens>,
    pool: Pool<LiveCredential>,
    flights: SingleFlight<TokenRequest, Result<AccessToken>>,
}

impl Identity {
    /// Managed identity configured from this process's environment, the shared
    /// cache's `ENTRA_IDENTITY_CACHE_*` included.
    pub fn from_env() -> Result<Self> {
        Self::new(IdentityConfig::from_env()?)
    }

    /// An identity with an explicit configuration.
    ///
    /// Compiles the component (or loads it from the compile cache) and opens the
    /// cache's store; call it once and share the result.
    pub fn new(config: IdentityConfig) -> Result<Self> {
        let allowlist = outbound_policy(&config, &[])?;
        let pool = Pool::new(config.max_instances, config.reuse_instances);
        let fresh = (config.host_fast_path).then(|| FreshTokens::new(config.wall_clock.clone()));
        let blueprint = Blueprint::new(config, allowlist)?;
        tracing::debug!(allowed = ?blueprint.allowlist.authorities(), "identity component ready");
        Ok(Identity {
            inner: Arc::new(Inner {
                blueprint,
                fresh,
                pool,
                flights: SingleFlight::new(),
            }),
        })
    }

    /// A token for `scopes` (managed identity takes exactly one).
    pub async fn get_token<S: AsRef<str>>(&self, scopes: &[S]) -> Result<AccessToken> {
        self.get_token_for(TokenRequest::new(scopes)).await
    }

    /// A token for a full request (tenant, claims, force-refresh).
    pub async fn get_token_for(&self, request: TokenRequest) -> Result<AccessToken> {
        if let Some(token) = self.inner.fresh.as_ref().and_then(|f| f.get(&request)) {
            // Answering without awaiting anything would let a caller that loops on
            // `get_token` starve its runtime's other tasks; count it as tokio work.
            tokio::task::coop::consume_budget().await;
            return Ok(token);
        }
        let inner = self.inner.clone();
        let key = request.clone();
        self.inner
            .flights
            .run(
                key,
                move || async move {
                    let mut live = inner.live().await?;
                    let result = live.get_token(&request).await;
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
            .await
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
}

impl Inner {
    /// An instance with its credential, idle or new.
    async fn live(&self) -> Result<Pooled<'_, LiveCredential>> {
        self.pool
            .get(|| LiveCredential::start(&self.blueprint))
            .await
    }
}

/// What the component may reach: its configuration's endpoints (IMDS capped at its
/// documented concurrency, Service Fabric pinned), plus `extra` URLs (an app served
/// with it).
pub(crate) fn outbound_policy(config: &IdentityConfig, extra: &[String]) -> Result<Allowlist> {
    let urls = config.outbound_urls();
    let mut allowlist = Allowlist::from_urls(urls.iter().chain(extra).map(String::as_str));
    if let Some(imds) = config.imds_url() {
        allowlist = allowlist.with_concurrency_limit(&imds, crate::IMDS_MAX_CONCURRENT);
    }
    if let Some((endpoint, thumbprint)) = config.service_fabric_pin() {
        allowlist = allowlist
            .with_pinned_certificate(&endpoint, &thumbprint)
            .map_err(|why| Error::Config(format!("IDENTITY_SERVER_THUMBPRINT: {why}")))?;
    }
    Ok(allowlist)
}
