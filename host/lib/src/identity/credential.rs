//! The component's `credential` resource in a live instance.

use super::config::IdentityConfig;
use super::credential_kind::{CertificateSource, CredentialKind};
use super::instance::{Blueprint, Instance};
use crate::bindings::wit;
use crate::error::{Error, Result};
use entra_identity_types::{AccessToken, CertificateOptions, TokenRequest};
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
        let mut mi = wit::ManagedIdentityOptions::from(&config.managed_identity);
        mi.arc_token_directory = config
            .arc_key_dir()
            .map(|d| d.to_string_lossy().into_owned());
        let (store, bindings) = instance.arm();
        let constructors = bindings.entra_identity_credentials().credential();
        let created = match &config.credential {
            CredentialKind::ManagedIdentity => constructors.call_managed_identity(store, &mi).await,
            CredentialKind::DefaultChain => constructors.call_default_chain(store, &mi).await,
            CredentialKind::ClientSecret { app, secret } => {
                constructors
                    .call_client_secret(store, &app.into(), secret)
                    .await
            }
            CredentialKind::ClientCertificate {
                app,
                certificate,
                send_certificate_chain,
                rs256,
            } => {
                let mut options = match certificate {
                    CertificateSource::Pem(p) => CertificateOptions::from_pem(p),
                    CertificateSource::Path(p) => CertificateOptions::from_path(p),
                }
                .rs256(*rs256);
                options.send_certificate_chain = *send_certificate_chain;
                constructors
                    .call_client_certificate(store, &app.into(), &options.into())
                    .await
            }
            CredentialKind::WorkloadIdentity {
                app,
                token_file,
                enable_azure_proxy: false,
            } => {
                constructors
                    .call_workload_identity(store, &app.into(), token_file.as_deref())
                    .await
            }
            CredentialKind::WorkloadIdentity {
                app,
                token_file,
                enable_azure_proxy: true,
            } => {
                let options = wit::WorkloadIdentityOptions {
                    token_file: token_file.clone(),
                    enable_azure_proxy: true,
                };
                constructors
                    .call_workload_identity_with_options(store, &app.into(), &options)
                    .await
            }
            CredentialKind::ManagedIdentityAsFederated { app } => {
                constructors
                    .call_managed_identity_as_federated(store, &app.into(), &mi)
                    .await
            }
        };
        let credential = created
            .map_err(Error::component)?
            .map_err(|e| Error::Token(e.into()))?;
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
            .call_get_token(store, self.credential, &request.into())
            .await
            .map_err(Error::component)?
            .map(Into::into)
            .map_err(|e| Error::Token(e.into()))
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
