//! The services the emulator stands in for, each counted and faulted separately.

/// One emulated service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// Azure VM instance metadata service: `GET /metadata/identity/oauth2/token`.
    Imds,
    /// App Service / Functions / Container Apps identity endpoint: `GET /msi/token`.
    AppService,
    /// Entra's v2.0 token endpoint: `POST /{tenant}/oauth2/v2.0/token`.
    Token,
    /// OpenID Connect discovery documents, v1 and v2.0.
    OpenIdConfiguration,
    /// The signing keys, under every path Entra serves them at.
    Jwks,
    /// Azure Arc's identity endpoint (`IDENTITY_ENDPOINT` with `IMDS_ENDPOINT`):
    /// `GET /arc/metadata/identity/oauth2/token`.
    Arc,
    /// Cloud Shell's endpoint (`MSI_ENDPOINT` alone): `POST /cloudshell/oauth2/token`.
    CloudShell,
    /// Azure Machine Learning's endpoint (`MSI_ENDPOINT` with `MSI_SECRET`): `GET /ml/msi/token`.
    AzureMl,
    /// Service Fabric's endpoint, HTTPS only, on its own port: `GET /sf/metadata/identity/oauth2/token`.
    ServiceFabric,
    /// The Kubernetes-style OIDC issuer: its discovery document and JWKS under `/oidc`.
    OidcIssuer,
    /// Key Vault's secrets: `GET /secrets/{name}[/{version}]`, on both the plain and the HTTPS port.
    KeyVault,
    /// The AKS token proxy of identity binding, HTTPS only, on its own port with its own CA: any path; one
    /// ending in `/{tenant}/oauth2/v2.0/token` after the proxy's path is answered as the token endpoint would.
    AksProxy,
}
