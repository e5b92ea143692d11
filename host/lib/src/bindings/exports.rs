//! The identity component's exports that the host calls, as typed functions: found once
//! per compilation, type-checked on first use, and then taken from each new instance
//! without checking again.
//!
//! The generated `IdentityPre::instantiate_async` type-checks all sixteen exported
//! functions against their Rust signatures for every instance it makes
//! (`GuestIndices::load`): ~5% of a fresh instance's time in a profile, although a
//! fresh instance calls two of them. Here the check is made once per export, because
//! every instance is of the same component.

use super::identity::{wit, wit_validation};
use crate::runtime::state::HostState;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wasmtime::component::{
    ComponentExportIndex, ComponentNamedList, Instance, InstancePre, Lift, Lower, ResourceAny,
    TypedFunc,
};
use wasmtime::{Result, Store, format_err};

const CREDENTIALS: &str = "entra:identity/credentials@0.1.0";
const VALIDATION: &str = "entra:identity/validation@0.1.0";

/// The identity component linked with the host's imports, and its exports: made once
/// per runtime; each new instance is made from a clone.
#[derive(Clone)]
pub(crate) struct IdentityComponent {
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) exports: Arc<IdentityExports>,
}

impl IdentityComponent {
    pub(crate) fn new(pre: InstancePre<HostState>) -> Result<Self> {
        // Every export against the WIT's signatures, once, as the generated bindings
        // check them: a component that does not match fails when it is linked, not at
        // its first call. Each export is still checked against the signature it is
        // called with on first use, which is what makes the unchecked calls sound.
        super::identity::IdentityPre::new(pre.clone())?;
        let exports = Arc::new(IdentityExports::find(&pre)?);
        Ok(IdentityComponent { pre, exports })
    }
}

/// One exported function: where it is in the component, and whether its signature
/// has been checked.
struct Export {
    index: ComponentExportIndex,
    name: &'static str,
    checked: AtomicBool,
}

impl Export {
    fn find(pre: &InstancePre<HostState>, interface: &str, name: &'static str) -> Result<Self> {
        let component = pre.component();
        let index = component
            .get_export_index(None, interface)
            .and_then(|i| component.get_export_index(Some(&i), name))
            .ok_or_else(|| format_err!("the identity component exports no `{interface}#{name}`"))?;
        Ok(Export {
            index,
            name,
            checked: AtomicBool::new(false),
        })
    }

    /// The function in `instance` as `TypedFunc<P, R>`. Private, and called by exactly
    /// one method of [`IdentityExports`] per export, so each export is only ever read
    /// with the one signature that method names.
    fn typed<P, R>(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
    ) -> Result<TypedFunc<P, R>>
    where
        P: ComponentNamedList + Lower,
        R: ComponentNamedList + Lift,
    {
        if !self.checked.load(Ordering::Acquire) {
            let func = instance.get_typed_func::<P, R>(&mut *store, self.index)?;
            self.checked.store(true, Ordering::Release);
            return Ok(func);
        }
        // An index only resolves in instances of the component it was found in.
        let func = instance
            .get_func(&mut *store, self.index)
            .ok_or_else(|| format_err!("`{}` is not in this instance", self.name))?;
        // SAFETY: `func` is this export of the same component (the lookup above fails
        // for any other), and the branch above checked it as `TypedFunc<P, R>`: the one
        // caller of `typed` for this export always names the same `P` and `R`.
        Ok(unsafe { TypedFunc::new_unchecked(func) })
    }
}

/// Calls `$export` with `$args` and returns its one result.
macro_rules! call {
    ($self:ident . $export:ident ($store:ident, $instance:ident) as fn($($ty:ty),*) -> $ret:ty; $($arg:expr),*) => {{
        let func = $self.$export.typed::<($($ty,)*), ($ret,)>($store, $instance)?;
        let (ret,) = func.call_async(&mut *$store, ($($arg,)*)).await?;
        Ok(ret)
    }};
}

type Created = std::result::Result<ResourceAny, wit::Error>;

/// The exports the host calls: the `credential` resource's constructors and methods
/// and the `validator` resource's.
pub(crate) struct IdentityExports {
    managed_identity: Export,
    default_chain: Export,
    client_secret: Export,
    client_certificate: Export,
    workload_identity: Export,
    workload_identity_with_options: Export,
    managed_identity_as_federated: Export,
    get_token: Export,
    describe: Export,
    validator_create: Export,
    validator_validate: Export,
}

impl IdentityExports {
    pub(crate) fn find(pre: &InstancePre<HostState>) -> Result<Self> {
        let cred = |name| Export::find(pre, CREDENTIALS, name);
        let val = |name| Export::find(pre, VALIDATION, name);
        Ok(IdentityExports {
            managed_identity: cred("[static]credential.managed-identity")?,
            default_chain: cred("[static]credential.default-chain")?,
            client_secret: cred("[static]credential.client-secret")?,
            client_certificate: cred("[static]credential.client-certificate")?,
            workload_identity: cred("[static]credential.workload-identity")?,
            workload_identity_with_options: cred(
                "[static]credential.workload-identity-with-options",
            )?,
            managed_identity_as_federated: cred(
                "[static]credential.managed-identity-as-federated",
            )?,
            get_token: cred("[method]credential.get-token")?,
            describe: cred("[method]credential.describe")?,
            validator_create: val("[static]validator.create")?,
            validator_validate: val("[method]validator.validate")?,
        })
    }

    pub(crate) async fn managed_identity(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        options: &wit::ManagedIdentityOptions,
    ) -> Result<Created> {
        call!(self.managed_identity(store, instance) as fn(&wit::ManagedIdentityOptions) -> Created; options)
    }

    pub(crate) async fn default_chain(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        options: &wit::ManagedIdentityOptions,
    ) -> Result<Created> {
        call!(self.default_chain(store, instance) as fn(&wit::ManagedIdentityOptions) -> Created; options)
    }

    pub(crate) async fn client_secret(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        app: &wit::AppOptions,
        secret: &str,
    ) -> Result<Created> {
        call!(self.client_secret(store, instance) as fn(&wit::AppOptions, &str) -> Created; app, secret)
    }

    pub(crate) async fn client_certificate(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        app: &wit::AppOptions,
        certificate: &wit::CertificateOptions,
    ) -> Result<Created> {
        call!(self.client_certificate(store, instance)
            as fn(&wit::AppOptions, &wit::CertificateOptions) -> Created; app, certificate)
    }

    pub(crate) async fn workload_identity(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        app: &wit::AppOptions,
        token_file: Option<&str>,
    ) -> Result<Created> {
        call!(self.workload_identity(store, instance)
            as fn(&wit::AppOptions, Option<&str>) -> Created; app, token_file)
    }

    pub(crate) async fn workload_identity_with_options(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        app: &wit::AppOptions,
        options: &wit::WorkloadIdentityOptions,
    ) -> Result<Created> {
        call!(self.workload_identity_with_options(store, instance)
            as fn(&wit::AppOptions, &wit::WorkloadIdentityOptions) -> Created; app, options)
    }

    pub(crate) async fn managed_identity_as_federated(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        app: &wit::AppOptions,
        managed_identity: &wit::ManagedIdentityOptions,
    ) -> Result<Created> {
        call!(self.managed_identity_as_federated(store, instance)
            as fn(&wit::AppOptions, &wit::ManagedIdentityOptions) -> Created; app, managed_identity)
    }

    pub(crate) async fn get_token(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        credential: ResourceAny,
        request: &wit::TokenRequest,
    ) -> Result<std::result::Result<wit::AccessToken, wit::Error>> {
        call!(self.get_token(store, instance)
            as fn(ResourceAny, &wit::TokenRequest) -> std::result::Result<wit::AccessToken, wit::Error>;
            credential, request)
    }

    pub(crate) async fn describe(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        credential: ResourceAny,
    ) -> Result<String> {
        call!(self.describe(store, instance) as fn(ResourceAny) -> String; credential)
    }

    pub(crate) async fn validator_create(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        options: &wit_validation::ValidatorOptions,
    ) -> Result<std::result::Result<ResourceAny, wit_validation::ValidationError>> {
        call!(self.validator_create(store, instance)
            as fn(&wit_validation::ValidatorOptions)
                -> std::result::Result<ResourceAny, wit_validation::ValidationError>;
            options)
    }

    pub(crate) async fn validator_validate(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        validator: ResourceAny,
        bearer: &str,
    ) -> Result<std::result::Result<wit_validation::Claims, wit_validation::ValidationError>> {
        call!(self.validator_validate(store, instance)
            as fn(ResourceAny, &str)
                -> std::result::Result<wit_validation::Claims, wit_validation::ValidationError>;
            validator, bearer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::component::{Component, Linker};

    #[test]
    fn a_component_without_an_export_is_refused_naming_it() {
        let engine = wasmtime::Engine::default();
        // The smallest component there is: the magic, version 0x0d, layer 1.
        let component = Component::new(&engine, b"\0asm\x0d\0\x01\0").unwrap();
        let pre = Linker::<HostState>::new(&engine)
            .instantiate_pre(&component)
            .unwrap();
        let err = IdentityExports::find(&pre).err().unwrap().to_string();
        assert!(
            err.contains("entra:identity/credentials@0.1.0#[static]credential.managed-identity"),
            "{err}"
        );
    }
}
