//! The embedding API for protecting an API: a [`Validator`] runs the component's
//! token validation.

use crate::bindings::wit_validation as wit;
use crate::config::IdentityConfig;
use crate::error::{Error, Result};
use crate::instance::{Blueprint, Instance};
use crate::outbound::Allowlist;
use crate::pool::Pool;
use entra_identity_core::validation::{Claims, ValidationError, ValidatorOptions};
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
/// let options = ValidatorOptions::new("my-tenant-id", vec!["api://my-api".into()]);
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
            .unwrap_or_else(|| vec![options.authority.clone()]);
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
            .and_then(|r| r.map(claims).map_err(|e| Error::Rejected(error(e))));
        live.finish(&result);
        result
    }
}

impl Inner {
    async fn start(&self) -> Result<(Instance, ResourceAny)> {
        let mut instance = Instance::start(&self.blueprint).await?;
        let options = wit::ValidatorOptions {
            tenant: self.options.tenant.clone(),
            allowed_tenants: self.options.allowed_tenants.clone(),
            audiences: self.options.audiences.clone(),
            leeway_seconds: u32::try_from(self.options.leeway).unwrap_or(u32::MAX),
            authority: Some(self.options.authority.clone()),
        };
        let (store, bindings) = instance.arm();
        let validator = bindings
            .entra_identity_validation()
            .validator()
            .call_create(store, &options)
            .await
            .map_err(Error::component)?
            .map_err(|e| Error::Rejected(error(e)))?;
        Ok((instance, validator))
    }
}

fn claims(c: wit::Claims) -> Claims {
    Claims {
        oid: c.oid,
        tid: c.tid,
        sub: c.sub,
        app_id: c.app_id,
        roles: c.roles,
        scopes: c.scopes,
        expires_on: c.expires_on,
        issued_at: c.issued_at,
        version: c.version,
        raw: c.raw,
    }
}

fn error(e: wit::ValidationError) -> ValidationError {
    use ValidationError as E;
    use wit::ValidationError as W;
    match e {
        W::TooLarge(size) => E::TooLarge {
            size: size as usize,
            limit: entra_identity_core::validation::MAX_TOKEN_BYTES,
        },
        W::Malformed(m) => E::Malformed(m),
        W::UnsupportedAlgorithm(a) => E::UnsupportedAlgorithm(a),
        W::UnknownKey(k) => E::UnknownKey(k),
        W::BadSignature => E::BadSignature,
        // The component reports the time it compared against only in its message.
        W::Expired(exp) => E::Expired { exp, now: 0 },
        W::NotYetValid(nbf) => E::NotYetValid { nbf, now: 0 },
        W::WrongAudience(a) => E::WrongAudience(a),
        W::WrongIssuer(i) => E::WrongIssuer(i),
        W::TenantNotAllowed(t) => E::TenantNotAllowed(t),
        W::MissingRole(r) => E::MissingRole(r),
        W::MissingScope(s) => E::MissingScope(s),
        W::KeysUnavailable(m) => E::KeysUnavailable(m),
        W::InvalidConfiguration(m) => E::InvalidConfiguration(m),
    }
}
