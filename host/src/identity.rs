//! The embedding API for tokens: an [`Identity`] runs the component's credential.

use crate::config::IdentityConfig;
use crate::credential::LiveCredential;
use crate::error::{Error, Result};
use crate::instance::drop_on_failure;
use crate::outbound::Allowlist;
use crate::runtime::Runtime;
use crate::singleflight::SingleFlight;
use entra_identity::{AccessToken, TokenRequest};
use std::sync::Arc;
use tokio::sync::{Mutex, MutexGuard};

/// Tokens from the `entra-identity` component, running in wasmtime.
///
/// Cheap to clone; clones share one component instance and its token cache.
/// Concurrent identical requests are coalesced: one runs, all get its result,
/// success or error.
///
/// ```no_run
/// # async fn run() -> entra_identity_host::Result<()> {
/// let identity = entra_identity_host::Identity::from_env()?;
/// let token = identity.get_token(&["https://vault.azure.net/.default"]).await?;
/// println!("expires at {}", token.expires_on);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Identity {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Runtime,
    config: IdentityConfig,
    allowlist: Allowlist,
    live: Mutex<Option<LiveCredential>>,
    flights: SingleFlight<TokenRequest, Result<AccessToken>>,
}

impl Identity {
    /// Managed identity configured from this process's environment.
    pub fn from_env() -> Result<Self> {
        Self::new(IdentityConfig {
            env: IdentityConfig::env_from_process(),
            ..Default::default()
        })
    }

    /// An identity with an explicit configuration.
    ///
    /// Compiles the component (or loads it from the compile cache); call it once and
    /// share the result.
    pub fn new(config: IdentityConfig) -> Result<Self> {
        let runtime = Runtime::new(config.compile_cache_dir.as_deref())?;
        let mut allowlist = Allowlist::from_urls(config.outbound_urls().iter().map(String::as_str));
        if let Some(imds) = config.imds_url() {
            allowlist = allowlist.with_concurrency_limit(&imds, crate::IMDS_MAX_CONCURRENT);
        }
        if let Some((endpoint, thumbprint)) = config.service_fabric_pin() {
            allowlist = allowlist
                .with_pinned_certificate(&endpoint, &thumbprint)
                .map_err(|why| Error::Config(format!("IDENTITY_SERVER_THUMBPRINT: {why}")))?;
        }
        tracing::debug!(allowed = ?allowlist.authorities(), "identity component ready");
        Ok(Identity {
            inner: Arc::new(Inner {
                runtime,
                config,
                allowlist,
                live: Mutex::new(None),
                flights: SingleFlight::new(),
            }),
        })
    }

    /// A token for `scopes` (managed identity takes exactly one).
    pub async fn get_token(&self, scopes: &[&str]) -> Result<AccessToken> {
        self.get_token_for(TokenRequest {
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .await
    }

    /// A token for a full request (tenant, claims, force-refresh).
    pub async fn get_token_for(&self, request: TokenRequest) -> Result<AccessToken> {
        let inner = self.inner.clone();
        let key = request.clone();
        self.inner
            .flights
            .run(
                key,
                move || async move {
                    let mut slot = inner.live().await?;
                    let result = slot.as_mut().expect("started").get_token(&request).await;
                    drop_on_failure(&mut slot, &result);
                    result
                },
                || Err(Error::Component("the token task panicked".into())),
            )
            .await
    }

    /// Which source and endpoint the component uses. Never contains secrets.
    pub async fn describe(&self) -> Result<String> {
        let mut slot = self.inner.live().await?;
        let result = slot.as_mut().expect("started").describe().await;
        drop_on_failure(&mut slot, &result);
        result
    }

    /// The authorities (`host:port`) the component may reach.
    pub fn allowed_authorities(&self) -> &[String] {
        self.inner.allowlist.authorities()
    }
}

impl Inner {
    /// The live credential, started if there is none.
    async fn live(&self) -> Result<MutexGuard<'_, Option<LiveCredential>>> {
        let mut slot = self.live.lock().await;
        if slot.is_none() {
            *slot =
                Some(LiveCredential::start(&self.runtime, &self.config, &self.allowlist).await?);
        }
        Ok(slot)
    }
}
