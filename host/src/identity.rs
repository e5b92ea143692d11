//! The embedding API: an [`Identity`] runs the component and hands out tokens.

use crate::bindings::IdentityPre;
use crate::config::IdentityConfig;
use crate::engine::{self, EpochTicker};
use crate::error::{Error, Result};
use crate::instance::Live;
use crate::outbound::Allowlist;
use crate::singleflight::SingleFlight;
use crate::state::HostState;
use entra_identity::{AccessToken, TokenRequest};
use std::sync::Arc;
use wasmtime::Engine;
use wasmtime::component::Linker;

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
    engine: Engine,
    pre: IdentityPre<HostState>,
    config: IdentityConfig,
    allowlist: Allowlist,
    live: tokio::sync::Mutex<Option<Live>>,
    flights: SingleFlight<TokenRequest, Result<AccessToken>>,
    _ticker: EpochTicker,
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
        let engine = engine::new_engine().map_err(Error::component)?;
        let component = engine::load_component(
            &engine,
            engine::COMPONENT_WASM,
            config.compile_cache_dir.as_deref(),
        )
        .map_err(Error::component)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(Error::component)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(Error::component)?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(IdentityPre::new)
            .map_err(Error::component)?;
        let allowlist = Allowlist::from_urls(config.outbound_urls().iter().map(String::as_str));
        tracing::debug!(allowed = ?allowlist.authorities(), "identity component ready");
        Ok(Identity {
            inner: Arc::new(Inner {
                _ticker: EpochTicker::start(&engine),
                engine,
                pre,
                config,
                allowlist,
                live: tokio::sync::Mutex::new(None),
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
                    Inner::restart_on_failure(&mut slot, &result);
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
        Inner::restart_on_failure(&mut slot, &result);
        result
    }

    /// The authorities (`host:port`) the component may reach.
    pub fn allowed_authorities(&self) -> &[String] {
        self.inner.allowlist.authorities()
    }
}

impl Inner {
    /// The live instance, started if there is none.
    async fn live(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Live>>> {
        let mut slot = self.live.lock().await;
        if slot.is_none() {
            *slot =
                Some(Live::start(&self.engine, &self.pre, &self.config, &self.allowlist).await?);
        }
        Ok(slot)
    }

    /// An instance that failed (trap, deadline, memory) is dropped, so the next call
    /// starts afresh.
    fn restart_on_failure<T>(slot: &mut Option<Live>, result: &Result<T>) {
        if let Err(Error::Component(e)) = result {
            tracing::warn!(error = %e, "identity component failed; it will be restarted");
            *slot = None;
        }
    }
}
