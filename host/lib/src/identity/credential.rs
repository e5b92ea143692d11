//! The component's `credential` resource in a live instance.

use super::config::IdentityConfig;
use super::convert;
use super::credential_kind::{CertificateSource, CredentialKind};
use super::instance::{Blueprint, Instance};
use crate::bindings::wit;
use crate::error::{Error, Result};
use entra_identity_core::{AccessToken, TokenRequest};
use wasmtime::component::ResourceAny;

pub(crate) struct LiveCredential {
    instance: Instance,
    credential: ResourceAny,
}

impl LiveCredential {
    /// Instantiates the component and constructs the configured credential, once per
    /// instance.
    pub(crate) async fn start(blueprint: &Blueprint, config: &IdentityConfig) -> Result<Self> {
        let mut instance = Instance::start(blueprint).await?;
        let mi = convert::options(&config.managed_identity, config.arc_token_dir.as_deref());
        let (store, bindings) = instance.arm();
        let constructors = bindings.entra_identity_credentials().credential();
        let created = match &config.credential {
            CredentialKind::ManagedIdentity => constructors.call_managed_identity(store, &mi).await,
            CredentialKind::DefaultChain => constructors.call_default_chain(store, &mi).await,
            CredentialKind::ClientSecret { app, secret } => {
                constructors
                    .call_client_secret(store, &convert::app(app), secret)
                    .await
            }
            CredentialKind::ClientCertificate {
                app,
                certificate,
                send_certificate_chain,
                rs256,
            } => {
                let (pem, path) = match certificate {
                    CertificateSource::Pem(p) => (Some(p.clone()), None),
                    CertificateSource::Path(p) => (None, Some(p.clone())),
                };
                let options = wit::CertificateOptions {
                    pem,
                    path,
                    send_certificate_chain: *send_certificate_chain,
                    rs256: *rs256,
                };
                constructors
                    .call_client_certificate(store, &convert::app(app), &options)
                    .await
            }
            CredentialKind::WorkloadIdentity { app, token_file } => {
                constructors
                    .call_workload_identity(store, &convert::app(app), token_file.as_deref())
                    .await
            }
            CredentialKind::ManagedIdentityAsFederated { app } => {
                constructors
                    .call_managed_identity_as_federated(store, &convert::app(app), &mi)
                    .await
            }
        };
        let credential = created
            .map_err(Error::component)?
            .map_err(|e| Error::Token(convert::error(e)))?;
        Ok(LiveCredential {
            instance,
            credential,
        })
    }

    pub(crate) async fn get_token(&mut self, request: &TokenRequest) -> Result<AccessToken> {
        let (store, bindings) = self.instance.arm();
        bindings
            .entra_identity_credentials()
            .credential()
            .call_get_token(store, self.credential, &convert::request(request))
            .await
            .map_err(Error::component)?
            .map(convert::token)
            .map_err(|e| Error::Token(convert::error(e)))
    }

    pub(crate) async fn describe(&mut self) -> Result<String> {
        let (store, bindings) = self.instance.arm();
        bindings
            .entra_identity_credentials()
            .credential()
            .call_describe(store, self.credential)
            .await
            .map_err(Error::component)
    }
}
