//! How a credential is configured, mirroring `entra:identity/credentials`. Each field
//! left `None` falls back to the environment the identity component sees.

use std::fmt;

/// A user-assigned managed identity; without one the system-assigned identity is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserAssignedId {
    /// The identity's client (application) id.
    ClientId(String),
    /// The identity's object (principal) id.
    ObjectId(String),
    /// The identity's Azure resource id (`/subscriptions/.../userAssignedIdentities/...`).
    ResourceId(String),
}

/// Where managed-identity tokens come from. Detected from the environment unless set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagedIdentitySource {
    /// The Instance Metadata Service: VMs, scale sets, AKS nodes.
    Imds,
    /// App Service, Functions, Container Apps.
    AppService,
    /// Azure Arc-enabled servers.
    AzureArc,
    /// Service Fabric.
    ServiceFabric,
    /// Cloud Shell.
    CloudShell,
    /// Azure Machine Learning.
    AzureMl,
}

/// How a credential retries transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryOptions {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff delay; it doubles each retry, with jitter.
    pub initial_delay_ms: u32,
    /// Cap on one backoff delay.
    pub max_delay_ms: u32,
    /// Total time budget across all attempts and delays.
    pub max_elapsed_ms: u32,
    /// Timeout of one attempt.
    pub attempt_timeout_ms: u32,
    /// How long to keep retrying IMDS's 410.
    pub gone_retry_ms: u32,
}

/// Managed identity settings; `Default` is the system-assigned identity, detected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagedIdentityOptions {
    /// A user-assigned identity; `None` = system-assigned.
    pub user_assigned: Option<UserAssignedId>,
    /// Skip detection and use this source.
    pub source: Option<ManagedIdentitySource>,
    /// The IMDS base URL, or the identity endpoint URL.
    pub endpoint: Option<String>,
    /// Override the source's retry policy.
    pub retry: Option<RetryOptions>,
    /// Where the Azure Arc agent writes its challenge keys.
    pub arc_token_directory: Option<String>,
}

impl ManagedIdentityOptions {
    /// The user-assigned identity with this client id.
    pub fn client_id(id: impl Into<String>) -> Self {
        Self::user_assigned(UserAssignedId::ClientId(id.into()))
    }

    /// The user-assigned identity with this object id.
    pub fn object_id(id: impl Into<String>) -> Self {
        Self::user_assigned(UserAssignedId::ObjectId(id.into()))
    }

    /// The user-assigned identity with this Azure resource id.
    pub fn resource_id(id: impl Into<String>) -> Self {
        Self::user_assigned(UserAssignedId::ResourceId(id.into()))
    }

    fn user_assigned(id: UserAssignedId) -> Self {
        ManagedIdentityOptions {
            user_assigned: Some(id),
            ..Default::default()
        }
    }
}

/// Which app registration, in which tenant and cloud.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppOptions {
    /// Else `AZURE_CLIENT_ID`.
    pub client_id: Option<String>,
    /// Else `AZURE_TENANT_ID`.
    pub tenant_id: Option<String>,
    /// `https://login.microsoftonline.com` (default), `.us`, `.chinacloudapi.cn`, ...
    pub authority_host: Option<String>,
    /// Tenants a request's tenant may name besides the app's; `*` allows any.
    pub additionally_allowed_tenants: Option<Vec<String>>,
}

impl AppOptions {
    /// The app registration `client_id` in `tenant_id`.
    pub fn new(tenant_id: impl Into<String>, client_id: impl Into<String>) -> Self {
        AppOptions {
            client_id: Some(client_id.into()),
            tenant_id: Some(tenant_id.into()),
            ..Default::default()
        }
    }
}

/// A certificate (PEM: certificate and RSA private key) and how to present it.
///
/// `Debug` hides the PEM text: it holds the private key.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CertificateOptions {
    /// The PEM text itself ...
    pub pem: Option<String>,
    /// ... or a path the host lets the identity component read.
    pub path: Option<String>,
    /// Send the chain as `x5c`; `None` reads `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN`.
    pub send_certificate_chain: Option<bool>,
    /// Sign with RS256 instead of PS256.
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
    }
}
