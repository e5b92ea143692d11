//! Managed identity: which source this environment has, and each source's protocol.

mod app_service;
mod arc;
crate::parses_untrusted_input!(
    pub mod arc_key;
);
mod azure_ml;
mod cloud_shell;
mod imds;
mod service_fabric;
mod source;
mod unsupported;

pub use app_service::protocol as app_service_protocol;
pub use imds::PROBE_TIMEOUT;
pub use service_fabric::normalize_thumbprint;
pub use source::{ManagedIdentitySource, detect};

use crate::claims::Capabilities;
use crate::credential::Flow;
use crate::error::Error;
use crate::http::UrlParts;
use crate::retry::RetryPolicy;
use entra_identity_types::RetryOptions;

pub use entra_identity_types::{ManagedIdentityOptions, UserAssignedId};

/// The query parameter that selects `id`; sources disagree on how the resource-id one
/// is spelled.
fn query_param<'a>(
    id: &'a UserAssignedId,
    resource_id_name: &'static str,
) -> (&'static str, &'a str) {
    match id {
        UserAssignedId::ClientId(v) => ("client_id", v),
        UserAssignedId::ObjectId(v) => ("object_id", v),
        UserAssignedId::ResourceId(v) => (resource_id_name, v),
    }
}

/// The identity part of cache keys: `system` or `client_id=...`.
fn cache_identity(id: Option<&UserAssignedId>, resource_id_name: &'static str) -> String {
    id.map_or("system".into(), |id| {
        let (k, v) = query_param(id, resource_id_name);
        format!("{k}={v}")
    })
}

/// How to describe "which identity" in messages.
fn identity_name(id: Option<&UserAssignedId>) -> String {
    id.map_or_else(
        || "the system-assigned identity".to_string(),
        ToString::to_string,
    )
}

/// Every source but Service Fabric says so in its description: no merged MSAL sends
/// a claims challenge or capabilities to them, and nobody has established that they
/// accept either. A claims request still skips the cache and fetches a new token,
/// which replaces the refused one.
const NO_CLAIMS: &str = "; cannot pass claims challenges or client capabilities: a claims request fetches a new token without them";

/// What a caller of the core decides beyond the [`ManagedIdentityOptions`] a user gives.
#[derive(Clone, Debug, Default)]
pub struct SourceSettings {
    /// Before the first IMDS request, probe once (1 s, no `Metadata`, no retries) and
    /// answer *unavailable* quickly if nothing is there. For credential chains: alone,
    /// a credential should just try.
    pub probe_imds: bool,
}

/// The retry policy for non-IMDS managed-identity endpoints, with the caller's numbers.
fn mi_retry(custom: Option<RetryOptions>) -> RetryPolicy {
    let policy = RetryPolicy::managed_identity();
    match custom {
        Some(numbers) => policy.with_numbers(&numbers),
        None => policy,
    }
}

/// Builds the flow for this environment: `env` reads an environment variable.
///
/// Errors only for input that can never work (a malformed endpoint or id, a missing
/// secret for an explicitly chosen source). A source this version cannot speak yields
/// a flow that answers *unavailable*, so a chain of credentials can move on.
pub fn flow(
    options: ManagedIdentityOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Flow>, Error> {
    flow_with(options, SourceSettings::default(), env)
}

/// [`flow`] with [`SourceSettings`].
///
/// Environment variables read, by source: IMDS `AZURE_POD_IDENTITY_AUTHORITY_HOST`;
/// App Service `IDENTITY_ENDPOINT`, `IDENTITY_HEADER`; Service Fabric those and
/// `IDENTITY_SERVER_THUMBPRINT`; Arc `IDENTITY_ENDPOINT` (`IMDS_ENDPOINT` only to
/// detect it); Azure ML `MSI_ENDPOINT`, `MSI_SECRET`, `DEFAULT_IDENTITY_CLIENT_ID`;
/// Cloud Shell `MSI_ENDPOINT`.
pub fn flow_with(
    options: ManagedIdentityOptions,
    settings: SourceSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Flow>, Error> {
    let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(id) = &options.user_assigned {
        let v = id.value();
        if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::InvalidInput(format!(
                "{id:?} is empty or contains whitespace; pass the identity's id as shown in the Azure portal"
            )));
        }
    }
    if let Some(endpoint) = &options.endpoint {
        UrlParts::parse(endpoint)?;
    }
    // Checked for every source, so a bad value fails wherever the code runs.
    let capabilities = Capabilities::new(&options.client_capabilities)?;
    let kind = match options.source {
        Some(kind) => kind,
        None => match detect(&env) {
            Ok(kind) => kind,
            Err(why) => return Ok(Box::new(unsupported::Unsupported::misconfigured(why))),
        },
    };
    match kind {
        ManagedIdentitySource::Imds => Ok(Box::new(imds::Imds::new(
            options,
            settings.probe_imds,
            &env,
        ))),
        ManagedIdentitySource::AppService => {
            Ok(Box::new(app_service::AppService::new(options, &env)?))
        }
        ManagedIdentitySource::AzureArc => Ok(Box::new(arc::Arc::new(options, &env))),
        ManagedIdentitySource::CloudShell => {
            Ok(Box::new(cloud_shell::CloudShell::new(options, &env)?))
        }
        ManagedIdentitySource::AzureMl => Ok(Box::new(azure_ml::AzureMl::new(options, &env)?)),
        ManagedIdentitySource::ServiceFabric => Ok(Box::new(service_fabric::ServiceFabric::new(
            options,
            capabilities,
            &env,
        )?)),
    }
}

#[cfg(test)]
mod tests;
