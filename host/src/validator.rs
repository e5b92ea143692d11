//! The embedding API for protecting an API: a [`Validator`] runs the component's
//! token validation.

use crate::bindings::wit_validation as wit;
use crate::config::IdentityConfig;
use crate::error::{Error, Result};
use crate::instance::{Blueprint, Instance};
use crate::outbound::Allowlist;
use crate::pool::Pool;
use entra_identity_types::{Claims, ValidationError, ValidatorOptions};
use std::sync::Arc;
use wasmtime::component::ResourceAny;

/// Validates incoming Entra access tokens inside the component.
///
/// The only host it reaches is the authority, for OpenID metadata and signing keys
/// (cached for 24 h; an unknown `kid` refreshes them at most once per 5 minutes).
///
/// ```no_run
/// # async fn run(bearer: &str) -> entra_identity_host::Result<()> {
/// use entra_identity_host::{IdentityConfig, Validator, ValidatorOptions};
/// let options = ValidatorOptions::new("my-tenant-id", &["api://my-api"]);
/// let validator = Validator::new(options, IdentityConfig::default())?;
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
    /// A validator for `options`. From `config` only the runtime settings are used
    /// (compile cache, clock, limits, instances, the shared cache that keeps signing
    /// keys, and `allowed_urls` if set); the allowlist is otherwise the authority alone.
    pub fn new(options: ValidatorOptions, mut config: IdentityConfig) -> Result<Self> {
        config.env.clear();
        let urls = config
            .allowed_urls
            .clone()
            .unwrap_or_else(|| vec![options.authority_host().to_string()]);
        let allowlist = Allowlist::from_urls(urls.iter().map(String::as_str));
        let pool = Pool::new(config.max_instances, config.reuse_instances);
        Ok(Validator {
            inner: Arc::new(Inner {
                blueprint: Blueprint::new(config, allowlist)?,
                options,
                pool,
            }),
        })
    }

    /// Validates `bearer` (with or without `Bearer `). A rejected token is
    /// [`Error::Rejected`] with the check that failed.
    pub async fn validate(&self, bearer: &str) -> Result<Claims> {
        let mut live = self.inner.pool.get(|| self.inner.start()).await?;
        let (instance, validator) = &mut *live;
        let (store, bindings) = instance.arm();
        let result = bindings
            .entra_identity_validation()
            .validator()
            .call_validate(store, *validator, bearer)
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
        let (store, bindings) = instance.arm();
        let validator = bindings
            .entra_identity_validation()
            .validator()
            .call_create(store, &options)
            .await
            .map_err(Error::component)?
            .map_err(|e| Error::Rejected(e.into()))?;
        Ok((instance, validator))
    }
}
