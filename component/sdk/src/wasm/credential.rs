//! `Credential`: a source of tokens inside the identity component.

use super::bindings::app::entra::identity::credentials as wit;
use crate::http::TokenSource;
use crate::{
    AccessToken, AppOptions, CertificateOptions, ClientAuthentication, Error,
    ManagedIdentityOptions, TokenRequest,
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
    /// The production chain, like the Azure SDKs' `DefaultAzureCredential`, built from
    /// the environment the identity component sees: environment (secret or
    /// certificate), then workload identity, then managed identity (user-assigned when
    /// `AZURE_CLIENT_ID` names one). `AZURE_TOKEN_CREDENTIALS` selects `prod` or one
    /// credential by name.
    pub fn from_environment() -> Result<Self, Error> {
        Self::default_chain(ManagedIdentityOptions::default())
    }

    /// The production chain, its managed identity configured by `options`.
    pub fn default_chain(options: ManagedIdentityOptions) -> Result<Self, Error> {
        Self::wrap(wit::Credential::default_chain(&options.into()))
    }

    /// Managed identity, configured from the environment and overridden by `options`.
    pub fn managed_identity(options: ManagedIdentityOptions) -> Result<Self, Error> {
        Self::wrap(wit::Credential::managed_identity(&options.into()))
    }

    /// An app registration with a client secret.
    pub fn client_secret(app: AppOptions, secret: &str) -> Result<Self, Error> {
        Self::wrap(wit::Credential::client_secret(&app.into(), secret))
    }

    /// An app registration with a certificate.
    pub fn client_certificate(
        app: AppOptions,
        certificate: CertificateOptions,
    ) -> Result<Self, Error> {
        Self::wrap(wit::Credential::client_certificate(
            &app.into(),
            &certificate.into(),
        ))
    }

    /// Workload identity federation (AKS, any OIDC issuer); the assertion is read from
    /// `token_file`, else `AZURE_FEDERATED_TOKEN_FILE`.
    pub fn workload_identity(app: AppOptions, token_file: Option<&str>) -> Result<Self, Error> {
        Self::wrap(wit::Credential::workload_identity(&app.into(), token_file))
    }

    /// Workload identity with AKS identity binding when `enable_azure_proxy` (default
    /// off in the Azure SDKs): the token request goes to `AZURE_KUBERNETES_TOKEN_PROXY`,
    /// and the host trusts it with `AZURE_KUBERNETES_CA_FILE`/`_CA_DATA` and
    /// `AZURE_KUBERNETES_SNI_NAME`.
    pub fn workload_identity_with_options(
        app: AppOptions,
        token_file: Option<&str>,
        enable_azure_proxy: bool,
    ) -> Result<Self, Error> {
        let options = wit::WorkloadIdentityOptions {
            token_file: token_file.map(str::to_string),
            enable_azure_proxy,
        };
        Self::wrap(wit::Credential::workload_identity_with_options(
            &app.into(),
            &options,
        ))
    }

    /// Managed identity as a federated credential of an app registration.
    pub fn managed_identity_as_federated(
        app: AppOptions,
        managed_identity: ManagedIdentityOptions,
    ) -> Result<Self, Error> {
        Self::wrap(wit::Credential::managed_identity_as_federated(
            &app.into(),
            &managed_identity.into(),
        ))
    }

    /// On-behalf-of: an API exchanges its caller's token for a token to a downstream
    /// API *as that user* (OAuth 2.0 OBO, Entra's v2.0 token endpoint).
    ///
    /// `user_assertion` is the bearer token the API received and validated (its
    /// audience is this API, `app`); `authentication` is how `app` proves itself.
    /// Tokens are cached per user assertion, under its SHA-256, never the token.
    /// When Entra needs the user to act (MFA, consent, a Conditional Access policy),
    /// `get_token` answers [`Error::InteractionRequired`]; turn it into the 401 the
    /// caller's client can act on with
    /// [`Challenge::interaction_required`](crate::http::Challenge::interaction_required).
    ///
    /// `client_capabilities` in `app` (`cp1`) declare that the API handles claims
    /// challenges of the downstream resource (see [`crate::http::send_with_token`]).
    pub fn on_behalf_of(
        app: AppOptions,
        authentication: ClientAuthentication,
        user_assertion: &str,
    ) -> Result<Self, Error> {
        Self::wrap(wit::Credential::on_behalf_of(
            &app.into(),
            &authentication.into(),
            user_assertion,
        ))
    }

    /// A token for `scopes`, from the cache when one is fresh enough.
    pub fn get_token<S: AsRef<str>>(&self, scopes: &[S]) -> Result<AccessToken, Error> {
        self.get_token_for(&TokenRequest::new(scopes))
    }

    /// A token for a request with a tenant, a claims challenge or a forced refresh.
    pub fn get_token_for(&self, request: &TokenRequest) -> Result<AccessToken, Error> {
        self.inner
            .get_token(&request.into())
            .map(Into::into)
            .map_err(Into::into)
    }

    /// Which source and endpoint this credential uses; never contains secrets.
    pub fn describe(&self) -> String {
        self.inner.describe()
    }

    fn wrap(created: Result<wit::Credential, wit::Error>) -> Result<Self, Error> {
        created
            .map(|inner| Credential { inner })
            .map_err(Into::into)
    }
}

/// [`crate::http::send_with_token`] with this credential's tokens.
impl TokenSource for Credential {
    fn token(&self, request: &TokenRequest) -> Result<AccessToken, Error> {
        self.get_token_for(request)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("source", &self.describe())
            .finish()
    }
}
