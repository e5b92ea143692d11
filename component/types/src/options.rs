//! How a credential is configured, mirroring `entra:identity/credentials`. Each field
//! left `None` falls back to the environment the identity component sees.

use std::fmt;
use std::time::Duration;

/// A user-assigned managed identity; without one the system-assigned identity is used.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserAssignedId {
    /// The identity's client (application) id.
    ClientId(String),
    /// The identity's object (principal) id.
    ObjectId(String),
    /// The identity's Azure resource id (`/subscriptions/.../userAssignedIdentities/...`).
    ResourceId(String),
}

impl UserAssignedId {
    /// The id itself, whichever kind it is.
    pub fn value(&self) -> &str {
        match self {
            UserAssignedId::ClientId(v)
            | UserAssignedId::ObjectId(v)
            | UserAssignedId::ResourceId(v) => v,
        }
    }
}

impl fmt::Display for UserAssignedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserAssignedId::ClientId(v) => write!(f, "user-assigned identity with client id {v}"),
            UserAssignedId::ObjectId(v) => write!(f, "user-assigned identity with object id {v}"),
            UserAssignedId::ResourceId(v) => write!(f, "user-assigned identity {v}"),
        }
    }
}

/// Where managed-identity tokens come from. Detected from the environment unless set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ManagedIdentitySource {
    /// The Instance Metadata Service: VMs, scale sets, AKS nodes.
    Imds,
    /// App Service, Functions, Container Apps (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
    AppService,
    /// Azure Arc-enabled servers.
    AzureArc,
    /// Service Fabric.
    ServiceFabric,
    /// Azure Cloud Shell.
    CloudShell,
    /// Azure Machine Learning.
    AzureMl,
}

impl fmt::Display for ManagedIdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ManagedIdentitySource::Imds => "IMDS",
            ManagedIdentitySource::AppService => "App Service",
            ManagedIdentitySource::AzureArc => "Azure Arc",
            ManagedIdentitySource::ServiceFabric => "Service Fabric",
            ManagedIdentitySource::CloudShell => "Cloud Shell",
            ManagedIdentitySource::AzureMl => "Azure ML",
        })
    }
}

/// How a credential retries transient failures. Which statuses count as transient
/// stays the source's own; these are only the numbers.
///
/// `Default` is IMDS's policy: 5 retries, 1 s doubling to 10 s, 20 s per attempt,
/// 90 s in all, IMDS's 410 retried for 70 s. Other sources have tighter defaults of
/// their own, which any `RetryOptions` replaces as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryOptions {
    /// Retries after the first attempt (a 410 keeps retrying until `gone_retry` has passed).
    pub max_retries: u32,
    /// First backoff delay; it doubles each retry, with jitter.
    pub initial_delay: Duration,
    /// Cap on one backoff delay.
    pub max_delay: Duration,
    /// Total time budget across all attempts and delays.
    pub max_elapsed: Duration,
    /// Timeout of one attempt (connect, first byte, between bytes).
    pub attempt_timeout: Duration,
    /// How long to keep retrying IMDS's 410 ("updating, back within 70 s").
    pub gone_retry: Duration,
}

impl Default for RetryOptions {
    fn default() -> Self {
        RetryOptions {
            max_retries: 5,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(90),
            attempt_timeout: Duration::from_secs(20),
            gone_retry: Duration::from_secs(70),
        }
    }
}

impl RetryOptions {
    /// Sets the retries after the first attempt.
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets the first backoff delay.
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Sets the cap on one backoff delay.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets the total time budget.
    pub fn max_elapsed(mut self, budget: Duration) -> Self {
        self.max_elapsed = budget;
        self
    }

    /// Sets the timeout of one attempt.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Sets how long IMDS's 410 is retried.
    pub fn gone_retry(mut self, budget: Duration) -> Self {
        self.gone_retry = budget;
        self
    }
}

/// Managed identity settings; `Default` is the system-assigned identity of the
/// detected source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagedIdentityOptions {
    /// A user-assigned identity; `None` = system-assigned.
    pub user_assigned: Option<UserAssignedId>,
    /// Skip detection and use this source.
    pub source: Option<ManagedIdentitySource>,
    /// Override the endpoint: the IMDS base URL, or the identity endpoint URL.
    pub endpoint: Option<String>,
    /// Override the source's retry numbers.
    pub retry: Option<RetryOptions>,
    /// Where the Azure Arc agent writes its challenge keys (default
    /// `/var/opt/azcmagent/tokens`); the host must let the component read it.
    pub arc_token_directory: Option<String>,
    /// Client capabilities to declare, e.g. `cp1` (this client handles claims
    /// challenges, so Entra may issue long-lived CAE tokens). Sent only by sources
    /// that accept them; see [`AppOptions::client_capabilities`].
    pub client_capabilities: Vec<String>,
}

impl ManagedIdentityOptions {
    /// The user-assigned identity with this client id.
    pub fn client_id(id: impl Into<String>) -> Self {
        Self::default().user_assigned(UserAssignedId::ClientId(id.into()))
    }

    /// The user-assigned identity with this object id.
    pub fn object_id(id: impl Into<String>) -> Self {
        Self::default().user_assigned(UserAssignedId::ObjectId(id.into()))
    }

    /// The user-assigned identity with this Azure resource id.
    pub fn resource_id(id: impl Into<String>) -> Self {
        Self::default().user_assigned(UserAssignedId::ResourceId(id.into()))
    }

    /// Uses the user-assigned identity `id`.
    pub fn user_assigned(mut self, id: UserAssignedId) -> Self {
        self.user_assigned = Some(id);
        self
    }

    /// Uses `source` instead of detecting one.
    pub fn source(mut self, source: ManagedIdentitySource) -> Self {
        self.source = Some(source);
        self
    }

    /// Uses `endpoint` instead of the source's.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Retries with these numbers instead of the source's.
    pub fn retry(mut self, retry: RetryOptions) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Reads Azure Arc challenge keys from `directory`.
    pub fn arc_token_directory(mut self, directory: impl Into<String>) -> Self {
        self.arc_token_directory = Some(directory.into());
        self
    }

    /// Declares client capabilities (`cp1`).
    pub fn client_capabilities<S: AsRef<str>>(mut self, capabilities: &[S]) -> Self {
        self.client_capabilities = capabilities
            .iter()
            .map(|c| c.as_ref().to_string())
            .collect();
        self
    }
}

/// Which app registration, in which tenant and cloud. Each field left out falls back
/// to the environment (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_AUTHORITY_HOST`,
/// `AZURE_ADDITIONALLY_ALLOWED_TENANTS`) where that credential reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppOptions {
    /// The app registration's client (application) id; else `AZURE_CLIENT_ID`.
    pub client_id: Option<String>,
    /// The app's home tenant; else `AZURE_TENANT_ID`.
    pub tenant_id: Option<String>,
    /// `https://login.microsoftonline.com` (default), `.us`, `.chinacloudapi.cn`, ...
    pub authority_host: Option<String>,
    /// Tenants a request's `tenant_id` may name besides the app's; `*` allows any.
    pub additionally_allowed_tenants: Option<Vec<String>>,
    /// Client capabilities to declare on every token request, e.g. `cp1`: this
    /// client handles claims challenges, so Entra may issue long-lived CAE tokens
    /// that a resource can revoke. Sent as `{"access_token":{"xms_cc":{"values":[..]}}}`
    /// in `claims`, merged with a challenge's claims: objects merge recursively,
    /// arrays under the same key are unioned (so both sides' `xms_cc` values are kept),
    /// and on any other clash the challenge wins.
    pub client_capabilities: Vec<String>,
}

impl AppOptions {
    /// The app registration `client_id` in `tenant_id`.
    pub fn new(tenant_id: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self::default().tenant_id(tenant_id).client_id(client_id)
    }

    /// Sets the client id.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Sets the home tenant.
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// Sets the authority host (another cloud, or an emulator).
    pub fn authority_host(mut self, authority_host: impl Into<String>) -> Self {
        self.authority_host = Some(authority_host.into());
        self
    }

    /// Sets the tenants a request may name besides the app's (`*` for any).
    pub fn additionally_allowed_tenants<S: AsRef<str>>(mut self, tenants: &[S]) -> Self {
        self.additionally_allowed_tenants =
            Some(tenants.iter().map(|t| t.as_ref().to_string()).collect());
        self
    }

    /// Declares client capabilities (`cp1`).
    pub fn client_capabilities<S: AsRef<str>>(mut self, capabilities: &[S]) -> Self {
        self.client_capabilities = capabilities
            .iter()
            .map(|c| c.as_ref().to_string())
            .collect();
        self
    }
}

/// How an app registration proves itself when it exchanges a user's token
/// (on-behalf-of).
///
/// `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuthentication {
    /// A client secret.
    Secret(String),
    /// A certificate that signs a client assertion.
    Certificate(CertificateOptions),
    /// A managed identity's token as the client assertion (managed identity as a
    /// federated identity credential of the app).
    ManagedIdentity(ManagedIdentityOptions),
}

impl fmt::Debug for ClientAuthentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAuthentication::Secret(_) => f.write_str("Secret(<redacted>)"),
            ClientAuthentication::Certificate(c) => f.debug_tuple("Certificate").field(c).finish(),
            ClientAuthentication::ManagedIdentity(m) => {
                f.debug_tuple("ManagedIdentity").field(m).finish()
            }
        }
    }
}

/// A certificate (PEM: certificate and RSA private key) and how to present it.
/// Exactly one of `pem` and `path` must be set.
///
/// `Debug` hides the PEM text: it holds the private key.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateOptions {
    /// The PEM text itself ...
    pub pem: Option<String>,
    /// ... or a path the host lets the identity component read.
    pub path: Option<String>,
    /// Send the chain as `x5c`; `None` reads `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN`.
    pub send_certificate_chain: Option<bool>,
    /// Sign with RS256 instead of PS256 (for authorities that need it).
    pub rs256: bool,
}

impl CertificateOptions {
    /// A certificate given as PEM text.
    pub fn from_pem(pem: impl Into<String>) -> Self {
        CertificateOptions {
            pem: Some(pem.into()),
            ..Default::default()
        }
    }

    /// A certificate read from `path` by the identity component.
    pub fn from_path(path: impl Into<String>) -> Self {
        CertificateOptions {
            path: Some(path.into()),
            ..Default::default()
        }
    }

    /// Sends (or not) the certificate chain as `x5c`.
    pub fn send_certificate_chain(mut self, send: bool) -> Self {
        self.send_certificate_chain = Some(send);
        self
    }

    /// Signs with RS256 instead of PS256.
    pub fn rs256(mut self, rs256: bool) -> Self {
        self.rs256 = rs256;
        self
    }
}

impl fmt::Debug for CertificateOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateOptions")
            .field("pem", &self.pem.as_ref().map(|_| "<redacted>"))
            .field("path", &self.path)
            .field("send_certificate_chain", &self.send_certificate_chain)
            .field("rs256", &self.rs256)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_authentication_debug_hides_the_secret() {
        let shown = format!(
            "{:?}",
            ClientAuthentication::Secret("hunter2-secret".into())
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn certificate_debug_hides_the_key() {
        let cert = CertificateOptions::from_pem("-----BEGIN PRIVATE KEY-----\nMIIEv...");
        let shown = format!("{cert:?}");
        assert!(!shown.contains("MIIEv"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn user_assigned_shorthands() {
        assert_eq!(
            ManagedIdentityOptions::client_id("c").user_assigned,
            Some(UserAssignedId::ClientId("c".into()))
        );
        assert_eq!(ManagedIdentityOptions::default().user_assigned, None);
        assert_eq!(UserAssignedId::ObjectId("o".into()).value(), "o");
    }

    #[test]
    fn builders_set_each_field() {
        let mi = ManagedIdentityOptions::resource_id("/r")
            .source(ManagedIdentitySource::AzureArc)
            .endpoint("http://e")
            .retry(RetryOptions::default().max_retries(1))
            .arc_token_directory("/d");
        assert_eq!(mi.source, Some(ManagedIdentitySource::AzureArc));
        assert_eq!(mi.endpoint.as_deref(), Some("http://e"));
        assert_eq!(mi.retry.map(|r| r.max_retries), Some(1));
        assert_eq!(mi.arc_token_directory.as_deref(), Some("/d"));
        let app = AppOptions::new("t", "c")
            .authority_host("https://h")
            .additionally_allowed_tenants(&["*"]);
        assert_eq!(
            (app.tenant_id.as_deref(), app.client_id.as_deref()),
            (Some("t"), Some("c"))
        );
        assert_eq!(app.additionally_allowed_tenants, Some(vec!["*".into()]));
        let cert = CertificateOptions::from_path("/c.pem")
            .send_certificate_chain(true)
            .rs256(true);
        assert_eq!(cert.send_certificate_chain, Some(true));
        assert!(cert.rs256 && cert.pem.is_none());
    }
}
