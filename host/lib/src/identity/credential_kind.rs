//! Which credential the component runs, and what each one needs from the host.

pub use entra_identity_types::AppOptions;
use std::fmt;

/// The credential an [`Identity`](crate::Identity) asks the component for. The
/// managed-identity options of [`IdentityConfig`](crate::IdentityConfig) apply to
/// every kind that includes managed identity.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum CredentialKind {
    /// Managed identity of the source the environment (or the options) names.
    #[default]
    ManagedIdentity,
    /// Environment (secret or certificate) -> workload identity -> managed identity.
    DefaultChain,
    /// An app registration with a client secret.
    ClientSecret {
        /// The app.
        app: AppOptions,
        /// The secret. Never printed.
        secret: String,
    },
    /// An app registration with a certificate.
    ClientCertificate {
        /// The app.
        app: AppOptions,
        /// PEM text or a path the component may read.
        certificate: CertificateSource,
        /// Send `x5c`; `None` reads `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN`.
        send_certificate_chain: Option<bool>,
        /// RS256 instead of PS256.
        rs256: bool,
    },
    /// Workload identity federation with a projected token file.
    WorkloadIdentity {
        /// The app.
        app: AppOptions,
        /// The token file; `None` reads `AZURE_FEDERATED_TOKEN_FILE`.
        token_file: Option<String>,
        /// AKS identity binding (default off, as in the Azure SDKs): when
        /// `AZURE_KUBERNETES_TOKEN_PROXY` is set, the token request goes to that proxy,
        /// over TLS that trusts only `AZURE_KUBERNETES_CA_FILE`/`AZURE_KUBERNETES_CA_DATA`
        /// with `AZURE_KUBERNETES_SNI_NAME` as the server name. Off: those variables
        /// are ignored.
        enable_azure_proxy: bool,
    },
    /// Managed identity as a federated credential of `app`.
    ManagedIdentityAsFederated {
        /// The app that trusts the managed identity.
        app: AppOptions,
    },
}

/// Where a client certificate comes from.
#[derive(Clone)]
pub enum CertificateSource {
    /// PEM text (certificate and private key). Never printed.
    Pem(String),
    /// A PEM file; its directory is opened read-only to the component.
    Path(String),
}

impl fmt::Debug for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets and PEM text stay out; the rest says what runs.
        match self {
            CredentialKind::ManagedIdentity => f.write_str("ManagedIdentity"),
            CredentialKind::DefaultChain => f.write_str("DefaultChain"),
            CredentialKind::ClientSecret { app, .. } => {
                write!(f, "ClientSecret {{ app: {app:?}, secret: <redacted> }}")
            }
            CredentialKind::ClientCertificate {
                app, certificate, ..
            } => {
                let source = match certificate {
                    CertificateSource::Pem(_) => "<pem>".to_string(),
                    CertificateSource::Path(p) => p.clone(),
                };
                write!(
                    f,
                    "ClientCertificate {{ app: {app:?}, certificate: {source} }}"
                )
            }
            CredentialKind::WorkloadIdentity {
                app,
                token_file,
                enable_azure_proxy,
            } => {
                write!(
                    f,
                    "WorkloadIdentity {{ app: {app:?}, token_file: {token_file:?}, enable_azure_proxy: {enable_azure_proxy} }}"
                )
            }
            CredentialKind::ManagedIdentityAsFederated { app } => {
                write!(f, "ManagedIdentityAsFederated {{ app: {app:?} }}")
            }
        }
    }
}

impl CredentialKind {
    /// Whether managed identity is (or may be) part of this credential.
    pub(crate) fn uses_managed_identity(&self) -> bool {
        matches!(
            self,
            CredentialKind::ManagedIdentity
                | CredentialKind::DefaultChain
                | CredentialKind::ManagedIdentityAsFederated { .. }
        )
    }

    /// Declares client capabilities (`cp1`: this client answers claims challenges,
    /// so Entra may issue it revocable CAE tokens) on the kind's app registration.
    /// Kinds without one ([`ManagedIdentity`](Self::ManagedIdentity),
    /// [`DefaultChain`](Self::DefaultChain)) take them from the managed-identity
    /// options: [`IdentityConfig::with_client_capabilities`](crate::IdentityConfig::with_client_capabilities)
    /// sets both.
    pub fn with_client_capabilities<S: AsRef<str>>(mut self, capabilities: &[S]) -> Self {
        if let Some(app) = self.app_mut() {
            app.client_capabilities = capabilities
                .iter()
                .map(|c| c.as_ref().to_string())
                .collect();
        }
        self
    }

    fn app_mut(&mut self) -> Option<&mut AppOptions> {
        match self {
            CredentialKind::ClientSecret { app, .. }
            | CredentialKind::ClientCertificate { app, .. }
            | CredentialKind::WorkloadIdentity { app, .. }
            | CredentialKind::ManagedIdentityAsFederated { app } => Some(app),
            CredentialKind::ManagedIdentity | CredentialKind::DefaultChain => None,
        }
    }

    /// The app options, for kinds that talk to Entra's token endpoint.
    pub(crate) fn app(&self) -> Option<&AppOptions> {
        match self {
            CredentialKind::ClientSecret { app, .. }
            | CredentialKind::ClientCertificate { app, .. }
            | CredentialKind::WorkloadIdentity { app, .. }
            | CredentialKind::ManagedIdentityAsFederated { app } => Some(app),
            CredentialKind::ManagedIdentity | CredentialKind::DefaultChain => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_land_on_the_app_of_kinds_that_have_one() {
        let kind = CredentialKind::ClientSecret {
            app: AppOptions::new("t", "c"),
            secret: "s".into(),
        }
        .with_client_capabilities(&["cp1"]);
        assert_eq!(kind.app().unwrap().client_capabilities, ["cp1"]);
        let fic = CredentialKind::ManagedIdentityAsFederated {
            app: AppOptions::default(),
        }
        .with_client_capabilities(&["cp1", "cp2"]);
        assert_eq!(fic.app().unwrap().client_capabilities, ["cp1", "cp2"]);
        assert!(
            CredentialKind::DefaultChain
                .with_client_capabilities(&["cp1"])
                .app()
                .is_none()
        );
    }
}
