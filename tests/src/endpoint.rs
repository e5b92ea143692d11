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
}
