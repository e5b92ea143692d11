//! The embedding API for protecting an API: a [`Validator`] runs the component's
//! token validation.

use crate::bindings::wit_validation as wit;
use crate::error::{Error, Result};
use crate::identity::InstanceLimits;
use crate::identity::instance::{Blueprint, Instance, Sandbox};
use crate::identity::pool::Pool;
use crate::outbound::{Allowlist, TlsRoots};
use crate::runtime::Runtime;
use crate::runtime::clock::WallClock;
use crate::shared_cache::CacheConfig;
use entra_identity_types::{Claims, ValidationError, ValidatorOptions};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use wasmtime::component::ResourceAny;

/// How a [`Validator`] runs, besides its [`ValidatorOptions`]: what it may reach, the
/// clock it sees, where it keeps signing keys, and its instances' limits.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct ValidatorConfig {
    /// The URLs the validator may reach. `None`: the options' authority alone.
    pub allowed_urls: Option<Vec<String>>,
    /// The wall clock the component sees (tests move it; production leaves `None`).
    pub wall_clock: Option<Arc<dyn WallClock>>,
    /// The shared cache, which keeps the authority's signing keys between instances.
    pub cache: CacheConfig,
    /// Memory, deadline and number of the instances.
    pub limits: InstanceLimits,
    /// Which certificate authorities the key fetches trust: the system's store
    /// (default) or the built-in web PKI roots only.
    pub tls_roots: TlsRoots,
}

impl ValidatorConfig {
    /// Sets [`Self::allowed_urls`].
    pub fn with_allowed_urls(mut self, urls: Option<Vec<String>>) -> Self {
        self.allowed_urls = urls;
        self
    }

    /// Sets [`Self::wall_clock`].
    pub fn with_wall_clock(mut self, clock: Option<Arc<dyn WallClock>>) -> Self {
        self.wall_clock = clock;
        self
    }

    /// Sets [`Self::cache`].
    pub fn with_cache(mut self, cache: CacheConfig) -> Self {
        self.cache = cache;
        self
    }

    /// Sets [`Self::limits`].
    pub fn with_limits(mut self, limits: InstanceLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets [`Self::tls_roots`].
    pub fn with_tls_roots(mut self, roots: TlsRoots) -> Self {
        self.tls_roots = roots;
        self
    }
}

impl fmt::Debug for ValidatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatorConfig")
            .field("allowed_urls", &self.allowed_urls)
            .field("cache", &self.cache)
            .field("limits", &self.limits)
            .field("tls_roots", &self.tls_roots)
            .finish_non_exhaustive()
    }
}

/// Validates incoming Entra access tokens inside the component.
///
/// The only host it reaches is the authority, for OpenID metadata and signing keys
/// (cached for 24 h; an unknown `kid` refreshes them at most once per 5 minutes, for
/// all instances on one shared cache together: the last attempt is kept there with
/// the keys, so fresh instances do not each refresh).
///
/// ```no_run
/// # async fn run(bearer: &str) -> entra_identity_host::Result<()> {
/// use entra_identity_host::{Validator, ValidatorConfig, ValidatorOptions};
/// let options = ValidatorOptions::new("my-tenant-id", &["api://my-api"]);
/// let validator = Validator::new(options, ValidatorConfig::default())?;
/// let claims = validator.validate(bearer).await?;
/// entra_identity_host::require_role(&claims, "Secrets.Read")?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

struct Inner {
    blueprint: Blueprint,
    options: ValidatorOptions,
    /// Each instance with its `validator` resource, created once per instance.
    pool: Pool<(Instance, ResourceAny)>,
}

impl Validator {
    /// A validator for `options`, on the process's shared [`Runtime`].
    pub fn new(options: ValidatorOptions, config: ValidatorConfig) -> Result<Self> {
        Self::with_runtime(&Runtime::shared()?, options, config)
    }

    /// [`Self::new`] on `runtime`: its engine, compiled component and epoch ticker.
    pub fn with_runtime(
        runtime: &Runtime,
        options: ValidatorOptions,
        config: ValidatorConfig,
    ) -> Result<Self> {
        let urls = config
            .allowed_urls
            .clone()
            .unwrap_or_else(|| vec![options.authority_host().to_string()]);
        let allowlist =
            Allowlist::from_urls(urls.iter().map(String::as_str)).with_tls_roots(config.tls_roots);
        let pool = Pool::new(config.limits.max_instances, config.limits.reuse_instances);
        runtime.identity_component()?;
        // The component sees no environment: a validator has no credential.
        let env = BTreeMap::new();
        let sandbox = Sandbox {
            env: &env,
            readable_dirs: Vec::new(),
            wall_clock: config.wall_clock,
            cache: &config.cache,
            limits: config.limits,
            allowlist,
        };
        Ok(Validator {
            inner: Arc::new(Inner {
                blueprint: Blueprint::new(runtime, sandbox)?,
                options,
                pool,
            }),
        })
    }

    /// The runtime its instances run on.
    pub fn runtime(&self) -> &Runtime {
        &self.inner.blueprint.runtime
    }

    /// Validates `bearer` (with or without `Bearer `). A rejected token is
    /// [`Error::Rejected`] with the check that failed.
    pub async fn validate(&self, bearer: &str) -> Result<Claims> {
        let mut live = self.inner.pool.get(|| self.inner.start()).await?;
        let (instance, validator) = &mut *live;
        let (store, wasm, exports) = instance.arm();
        let result = exports
            .validator_validate(store, wasm, *validator, bearer)
            .await
            .map_err(Error::component)
            .and_then(|r| {
                r.map(Claims::from)
                    .map_err(|e| Error::Rejected(ValidationError::from(e)))
            });
        live.finish(&result);
        result
    }
}

impl Inner {
    async fn start(&self) -> Result<(Instance, ResourceAny)> {
        let mut instance = Instance::start(&self.blueprint).await?;
        let options = wit::ValidatorOptions::from(&self.options);
        let (store, wasm, exports) = instance.arm();
        let validator = exports
            .validator_create(store, wasm, &options)
            .await
            .map_err(Error::component)?
            .map_err(|e| Error::Rejected(e.into()))?;
        Ok((instance, validator))
    }
}
