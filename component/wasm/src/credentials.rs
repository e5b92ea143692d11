//! The `entra:identity/credentials` export: one resource over every credential kind.

use crate::bindings::exports::entra::identity::credentials as wit;
use crate::shared::shared_cache;
use crate::wasi_platform::{WasiPlatform, WasiTransport};
use entra_identity_core::cache::MemoryStore;
use entra_identity_core::chain::{self, ChainOptions, ChainedCredential};
use entra_identity_core::confidential;
use entra_identity_core::confidential::AppOptions;
use entra_identity_core::credential::{Credential, Flow, SharedStore};
use entra_identity_core::error::Error;
use entra_identity_core::managed_identity::{self, ManagedIdentityOptions, SourceSettings};
use entra_identity_core::token::{AccessToken, TokenRequest};
use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    /// One cache per instance, shared by every credential resource in it, so that a
    /// caller creating a credential per request still hits the cache.
    static STORE: SharedStore = Rc::new(RefCell::new(MemoryStore::default()));
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A credential over the wasi:http transport and the instance's caches (L1, and L2
/// when configured; constructors check its configuration first).
pub(super) fn credential(flow: Box<dyn Flow>) -> Credential {
    let credential = Credential::new(
        flow,
        Box::new(WasiTransport),
        Box::new(WasiPlatform),
        STORE.with(Rc::clone),
    );
    match shared_cache() {
        Ok(Some(shared)) => credential.with_shared_cache(shared),
        _ => credential,
    }
}

/// The managed identity whose token is an app's client assertion (managed identity
/// as a federated credential), with its own cache entries in the same caches.
fn managed_identity_credential(options: ManagedIdentityOptions) -> Result<Credential, Error> {
    let flow = managed_identity::flow_with(options, SourceSettings::default(), &env)?;
    Ok(credential(flow))
}

/// A malformed cache key fails every constructor, with what to fix.
fn check_cache_config() -> Result<(), wit::Error> {
    shared_cache().map(|_| ()).map_err(Into::into)
}

pub(super) enum CredentialResource {
    Single(Credential),
    Chain(ChainedCredential),
}

impl CredentialResource {
    fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, Error> {
        match self {
            CredentialResource::Single(c) => c.get_token(request),
            CredentialResource::Chain(c) => c.get_token(request),
        }
    }

    fn single(flow: Result<Box<dyn Flow>, Error>) -> Result<wit::Credential, wit::Error> {
        check_cache_config()?;
        let flow = flow?;
        Ok(wit::Credential::new(CredentialResource::Single(
            credential(flow),
        )))
    }
}

impl wit::GuestCredential for CredentialResource {
    fn managed_identity(
        options: wit::ManagedIdentityOptions,
    ) -> Result<wit::Credential, wit::Error> {
        Self::single(managed_identity::flow_with(
            options.into(),
            SourceSettings::default(),
            &env,
        ))
    }

    fn default_chain(options: wit::ManagedIdentityOptions) -> Result<wit::Credential, wit::Error> {
        check_cache_config()?;
        let options = ChainOptions {
            managed_identity: options.into(),
        };
        let chain = chain::default_chain(options, &env, &credential)?;
        Ok(wit::Credential::new(CredentialResource::Chain(chain)))
    }

    fn client_secret(app: wit::AppOptions, secret: String) -> Result<wit::Credential, wit::Error> {
        Self::single(confidential::client_secret(app.into(), secret, &env))
    }

    fn client_certificate(
        app: wit::AppOptions,
        certificate: wit::CertificateOptions,
    ) -> Result<wit::Credential, wit::Error> {
        Self::single(confidential::client_certificate(
            app.into(),
            certificate.into(),
            &env,
        ))
    }

    fn workload_identity(
        app: wit::AppOptions,
        token_file: Option<String>,
    ) -> Result<wit::Credential, wit::Error> {
        Self::single(confidential::workload_identity(
            app.into(),
            token_file,
            &env,
        ))
    }

    fn workload_identity_with_options(
        app: wit::AppOptions,
        options: wit::WorkloadIdentityOptions,
    ) -> Result<wit::Credential, wit::Error> {
        Self::single(confidential::workload_identity_with_options(
            app.into(),
            options.token_file,
            options.enable_azure_proxy,
            &env,
        ))
    }

    fn managed_identity_as_federated(
        app: wit::AppOptions,
        managed_identity: wit::ManagedIdentityOptions,
    ) -> Result<wit::Credential, wit::Error> {
        check_cache_config()?;
        let inner = managed_identity_credential(managed_identity.into())?;
        Self::single(confidential::managed_identity_as_federated_credential(
            app.into(),
            inner,
            None,
            &env,
        ))
    }

    fn on_behalf_of(
        app: wit::AppOptions,
        authentication: wit::ClientAuthentication,
        user_assertion: String,
    ) -> Result<wit::Credential, wit::Error> {
        check_cache_config()?;
        let app: AppOptions = app.into();
        let client = confidential::client_credential(
            authentication.into(),
            &app,
            &managed_identity_credential,
            &env,
        )?;
        Self::single(confidential::on_behalf_of(
            app,
            client,
            user_assertion,
            &env,
        ))
    }

    fn get_token(&self, request: wit::TokenRequest) -> Result<wit::AccessToken, wit::Error> {
        CredentialResource::get_token(self, &request.into())
            .map(Into::into)
            .map_err(Into::into)
    }

    fn describe(&self) -> String {
        match self {
            CredentialResource::Single(c) => c.describe(),
            CredentialResource::Chain(c) => c.describe(),
        }
    }
}
