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
        let (store, wasm, exports) = instance.arm();
        let created = match &config.credential {
            CredentialKind::ManagedIdentity => exports.managed_identity(store, wasm, &mi).await,
            CredentialKind::DefaultChain => exports.default_chain(store, wasm, &mi).await,
            CredentialKind::ClientSecret { app, secret } => {
                exports
                    .client_secret(store, wasm, &app.into(), secret)
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
                exports
                    .client_certificate(store, wasm, &app.into(), &options.into())
                    .await
            }
            CredentialKind::WorkloadIdentity {
                app,
                token_file,
                enable_azure_proxy: false,
            } => {
                exports
                    .workload_identity(store, wasm, &app.into(), token_file.as_deref())
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
                exports
                    .workload_identity_with_options(store, wasm, &app.into(), &options)
                    .await
            }
            CredentialKind::ManagedIdentityAsFederated { app } => {
                exports
                    .managed_identity_as_federated(store, wasm, &app.into(), &mi)
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
        let (store, wasm, exports) = self.instance.arm();
        exports
            .get_token(store, wasm, self.credential, &request.into())
            .await
            .map_err(Error::component)?
            .map(Into::into)
            .map_err(|e| Error::Token(e.into()))
    }

    pub(crate) async fn describe(&mut self) -> Result<String> {
        let (store, wasm, exports) = self.instance.arm();
        exports
            .describe(store, wasm, self.credential)
            .await
            .map_err(Error::component)
    }
}
