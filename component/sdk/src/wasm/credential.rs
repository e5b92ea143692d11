//! `Credential`: a source of tokens inside the identity component.

use super::bindings::app::entra::identity::credentials as wit;
use super::convert;
use crate::{
    AccessToken, AppOptions, CertificateOptions, Error, ManagedIdentityOptions, TokenRequest,
};
use std::fmt;

/// A source of Entra tokens, living in the identity component. Tokens are cached
/// there, shared by every credential of the instance; keep a credential around
/// rather than creating one per request only if your host reuses instances.
///
/// `Debug` shows which source it uses (`describe`), never a secret.
pub struct Credential {
    inner: wit::Credential,
}

impl Credential {
    /// The production chain, like the Azure SDKs' `DefaultAzureCredential`:
    /// environment (secret or certificate), then workload identity, then the
    /// system-assigned managed identity.
    #[allow(clippy::should_implement_trait)] // fallible, which `Default` cannot express
    pub fn default() -> Result<Self, Error> {
        Self::default_chain(ManagedIdentityOptions::default())
    }

    /// The production chain, its managed identity configured by `options`.
    pub fn default_chain(options: ManagedIdentityOptions) -> Result<Self, Error> {
        Self::wrap(wit::Credential::default_chain(&convert::managed_identity(
            options,
        )))
    }

    /// Managed identity, configured from the environment and overridden by `options`.
    pub fn managed_identity(options: ManagedIdentityOptions) -> Result<Self, Error> {
        Self::wrap(wit::Credential::managed_identity(
            &convert::managed_identity(options),
        ))
    }

    /// An app registration with a client secret.
    pub fn client_secret(app: AppOptions, secret: &str) -> Result<Self, Error> {
        Self::wrap(wit::Credential::client_secret(&convert::app(app), secret))
    }

    /// An app registration with a certificate.
    pub fn client_certificate(
        app: AppOptions,
        certificate: CertificateOptions,
    ) -> Result<Self, Error> {
        Self::wrap(wit::Credential::client_certificate(
            &convert::app(app),
            &convert::certificate(certificate),
        ))
    }

    /// Workload identity federation (AKS, any OIDC issuer); the assertion is read from
    /// `token_file`, else `AZURE_FEDERATED_TOKEN_FILE`.
    pub fn workload_identity(app: AppOptions, token_file: Option<&str>) -> Result<Self, Error> {
        Self::wrap(wit::Credential::workload_identity(
            &convert::app(app),
            token_file,
        ))
    }

    /// Managed identity as a federated credential of an app registration.
    pub fn managed_identity_as_federated(
        app: AppOptions,
        managed_identity: ManagedIdentityOptions,
    ) -> Result<Self, Error> {
        Self::wrap(wit::Credential::managed_identity_as_federated(
            &convert::app(app),
            &convert::managed_identity(managed_identity),
        ))
    }

    /// A token for `scopes`, from the cache when one is fresh enough.
    pub fn get_token<S: AsRef<str>>(&self, scopes: &[S]) -> Result<AccessToken, Error> {
        self.get_token_with(TokenRequest::new(scopes))
    }

    /// A token for a request with a tenant, a claims challenge or a forced refresh.
    pub fn get_token_with(&self, request: TokenRequest) -> Result<AccessToken, Error> {
        self.inner
            .get_token(&convert::request(request))
            .map(convert::token)
            .map_err(convert::error)
    }

    /// Which source and endpoint this credential uses; never contains secrets.
    pub fn describe(&self) -> String {
        self.inner.describe()
    }

    fn wrap(created: Result<wit::Credential, wit::Error>) -> Result<Self, Error> {
        created
            .map(|inner| Credential { inner })
            .map_err(convert::error)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("source", &self.describe())
            .finish()
    }
}
