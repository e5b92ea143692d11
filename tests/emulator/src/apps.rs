//! App registrations: the applications the token endpoint knows, and the credentials each one accepts.

use crate::certificate::ClientCertificate;

/// The audience Entra expects in federated tokens unless a federated credential says otherwise (public cloud).
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// An application registered in the emulated tenant. A client authenticates as it with any one of the credentials
/// listed; an app with none of them can get no token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppRegistration {
    /// The application (client) id clients send as `client_id`.
    pub client_id: String,
    /// The client secret, if the app has one.
    pub client_secret: Option<String>,
    /// PEM certificates (`-----BEGIN CERTIFICATE-----`) whose private keys may sign client assertions.
    pub certificates: Vec<String>,
    /// Trusted external (or managed identity) issuers whose tokens the app accepts as client assertions.
    pub federated_credentials: Vec<FederatedCredential>,
    /// The app's identifier URIs (app id URIs, e.g. `api://spin-protected-api`) when it exposes an API: a user
    /// token for it may carry one of these as `aud` instead of the client id.
    pub identifier_uris: Vec<String>,
}

impl AppRegistration {
    /// An app with no credential yet; add some with the builder methods or by setting the fields.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            ..Self::default()
        }
    }

    /// Adds a client secret.
    pub fn with_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Adds a PEM certificate whose key may sign client assertions.
    pub fn with_certificate(mut self, pem: impl Into<String>) -> Self {
        self.certificates.push(pem.into());
        self
    }

    /// Adds a federated identity credential.
    pub fn with_federated_credential(mut self, credential: FederatedCredential) -> Self {
        self.federated_credentials.push(credential);
        self
    }

    /// Adds an identifier URI (app id URI), such as `api://spin-protected-api`.
    pub fn with_identifier_uri(mut self, uri: impl Into<String>) -> Self {
        self.identifier_uris.push(uri.into());
        self
    }

    /// Whether a token with this `aud` was issued for this app: its client id (a GUID, any case) or one of its
    /// identifier URIs (exactly).
    pub(crate) fn is_audience(&self, aud: &str) -> bool {
        self.client_id.eq_ignore_ascii_case(aud)
            || self.identifier_uris.iter().any(|uri| uri == aud)
    }
}

/// A federated identity credential: "tokens from `issuer` about `subject` for `audience` prove this app".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedCredential {
    /// The token issuer, compared exactly with the assertion's `iss`, except that the emulated tenant's v1
    /// (`https://sts.windows.net/{tenant}/`) and v2.0 (`https://login.microsoftonline.com/{tenant}/v2.0`)
    /// issuers count as one: the emulator issues managed identity tokens as v1, Entra as v2.0.
    pub issuer: String,
    /// Compared exactly with the assertion's `sub`.
    pub subject: String,
    /// Must be one of the assertion's `aud` values; usually [`TOKEN_EXCHANGE_AUDIENCE`].
    pub audience: String,
}

impl FederatedCredential {
    /// A credential for `issuer` and `subject` with the default [`TOKEN_EXCHANGE_AUDIENCE`].
    pub fn new(issuer: impl Into<String>, subject: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            subject: subject.into(),
            audience: TOKEN_EXCHANGE_AUDIENCE.to_owned(),
        }
    }
}

/// A registration with its certificates parsed once, when it is registered.
pub(crate) struct RegisteredApp {
    pub(crate) registration: AppRegistration,
    pub(crate) certificates: Vec<ClientCertificate>,
}

impl RegisteredApp {
    /// # Panics
    ///
    /// If a certificate is not a PEM RSA certificate: that is a bug in the test that registered it.
    pub(crate) fn new(registration: AppRegistration) -> Self {
        let certificates = registration
            .certificates
            .iter()
            .map(|pem| {
                ClientCertificate::from_pem(pem).unwrap_or_else(|error| {
                    panic!(
                        "app {}: certificate is not a PEM RSA certificate: {error}",
                        registration.client_id
                    )
                })
            })
            .collect();
        Self {
            registration,
            certificates,
        }
    }
}

/// Every registered app, newest registration of a client id winning.
#[derive(Default)]
pub(crate) struct AppDirectory {
    apps: Vec<std::sync::Arc<RegisteredApp>>,
}

impl AppDirectory {
    /// Takes an already parsed app, so that a bad certificate panics before any lock is held.
    pub(crate) fn register(&mut self, app: RegisteredApp) {
        self.apps.retain(|known| {
            !known
                .registration
                .client_id
                .eq_ignore_ascii_case(&app.registration.client_id)
        });
        self.apps.push(std::sync::Arc::new(app));
    }

    /// Client ids are GUIDs, which Entra compares case-insensitively.
    pub(crate) fn find(&self, client_id: &str) -> Option<std::sync::Arc<RegisteredApp>> {
        self.apps
            .iter()
            .find(|app| app.registration.client_id.eq_ignore_ascii_case(client_id))
            .cloned()
    }
}
