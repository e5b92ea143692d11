//! Detecting the managed-identity source from environment variables, in the order
//! every Azure SDK and MSAL uses.

use std::fmt;

/// A managed-identity source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// Instance Metadata Service (VMs, scale sets, AKS nodes).
    Imds,
    /// App Service, Functions, Container Apps.
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

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::Imds => "IMDS",
            SourceKind::AppService => "App Service",
            SourceKind::AzureArc => "Azure Arc",
            SourceKind::ServiceFabric => "Service Fabric",
            SourceKind::CloudShell => "Cloud Shell",
            SourceKind::AzureMl => "Azure ML",
        })
    }
}

/// The source the environment points at, or why the environment is contradictory.
///
/// Order: `IDENTITY_ENDPOINT` with `IDENTITY_HEADER` (Service Fabric when
/// `IDENTITY_SERVER_THUMBPRINT` is also set, else App Service) or with `IMDS_ENDPOINT`
/// (Arc); `MSI_ENDPOINT` with `MSI_SECRET` (Azure ML) or alone (Cloud Shell); else IMDS.
/// The Arc agent binary cannot be seen from inside a sandbox, so Arc is detected by
/// its environment variables only.
pub fn detect(env: &dyn Fn(&str) -> Option<String>) -> Result<SourceKind, String> {
    let set = |name: &str| env(name).is_some();
    if set("IDENTITY_ENDPOINT") {
        return if set("IDENTITY_HEADER") {
            Ok(if set("IDENTITY_SERVER_THUMBPRINT") {
                SourceKind::ServiceFabric
            } else {
                SourceKind::AppService
            })
        } else if set("IMDS_ENDPOINT") {
            Ok(SourceKind::AzureArc)
        } else {
            // Falling back to IMDS here would silently use another identity.
            Err("IDENTITY_ENDPOINT is set, but neither IDENTITY_HEADER (App Service) nor IMDS_ENDPOINT (Azure Arc) is; pass both variables through to the component, or unset IDENTITY_ENDPOINT to use IMDS".to_string())
        };
    }
    if set("MSI_ENDPOINT") {
        return Ok(if set("MSI_SECRET") {
            SourceKind::AzureMl
        } else {
            SourceKind::CloudShell
        });
    }
    Ok(SourceKind::Imds)
}
