//! `AZURE_TOKEN_CREDENTIALS=dev` (or one developer tool's credential name) in the
//! default chain. A component cannot run the developer's tools, so this process does:
//! it serves their tokens on a loopback App Service endpoint
//! ([`DevEndpoint`](crate::dev_tools::DevEndpoint)) for as long as the identity lives,
//! and the component reaches it on its unchanged managed-identity path.

use super::IdentityConfig;
use super::credential_kind::CredentialKind;
use crate::dev_tools::{DevEndpoint, DeveloperTool};
use crate::error::{Error, Result};
use entra_identity_core::managed_identity::ManagedIdentitySource;

const SELECTION: &str = "AZURE_TOKEN_CREDENTIALS";
/// What the component's chain runs instead: the one member that reaches the endpoint.
const MANAGED_IDENTITY: &str = "ManagedIdentityCredential";
/// Variables that would pick another managed-identity source or a user-assigned
/// identity, which the developer's own sign-in cannot be.
const OTHER_SOURCES: [&str; 7] = [
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "AZURE_CLIENT_ID",
    "DEFAULT_IDENTITY_CLIENT_ID",
];

/// `config`, pointed at a developer endpoint when its default chain selects developer
/// tools, and that endpoint (the identity keeps it; dropped, it stops).
pub(crate) fn attach(mut config: IdentityConfig) -> Result<(IdentityConfig, Option<DevEndpoint>)> {
    if !matches!(config.credential, CredentialKind::DefaultChain) {
        return Ok((config, None));
    }
    let Some(value) = config.env.get(SELECTION).cloned() else {
        return Ok((config, None));
    };
    let Some(tools) = DeveloperTool::selected_by(&value) else {
        return Ok((config, None));
    };
    let options = config.developer_tools.clone();
    let tools = options.tools.iter().copied().filter(|t| tools.contains(t));
    let endpoint = DevEndpoint::start(options.clone().tools(tools), 0)
        .map_err(|e| Error::Config(format!("{SELECTION}={value}: {e}")))?;
    for name in OTHER_SOURCES {
        config.env.remove(name);
    }
    config.env.extend(
        endpoint
            .env()
            .map(|(name, value)| (name.to_string(), value)),
    );
    config.env.insert(SELECTION.into(), MANAGED_IDENTITY.into());
    config.managed_identity.source = Some(ManagedIdentitySource::AppService);
    config.managed_identity.user_assigned = None;
    config.managed_identity.endpoint = None;
    if let Some(allowed) = &mut config.allowed_urls {
        allowed.push(endpoint.url());
    }
    tracing::info!(selection = %value, endpoint = %endpoint.url(), "developer tools answer this identity");
    Ok((config, Some(endpoint)))
}
