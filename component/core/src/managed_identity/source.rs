//! Detecting the managed-identity source from environment variables, in the order
//! every Azure SDK and MSAL uses.

pub use entra_identity_types::ManagedIdentitySource;

/// The source the environment points at, or why the environment is contradictory.
///
/// Order: `IDENTITY_ENDPOINT` with `IDENTITY_HEADER` (Service Fabric when
/// `IDENTITY_SERVER_THUMBPRINT` is also set, else App Service) or with `IMDS_ENDPOINT`
/// (Arc); `MSI_ENDPOINT` with `MSI_SECRET` (Azure ML) or alone (Cloud Shell); else IMDS.
/// The Arc agent binary cannot be seen from inside a sandbox, so Arc is detected by
/// its environment variables only.
pub fn detect(env: &dyn Fn(&str) -> Option<String>) -> Result<ManagedIdentitySource, String> {
    let set = |name: &str| env(name).is_some();
    if set("IDENTITY_ENDPOINT") {
        return if set("IDENTITY_HEADER") {
            Ok(if set("IDENTITY_SERVER_THUMBPRINT") {
                ManagedIdentitySource::ServiceFabric
            } else {
                ManagedIdentitySource::AppService
            })
        } else if set("IMDS_ENDPOINT") {
            Ok(ManagedIdentitySource::AzureArc)
        } else {
            // Falling back to IMDS here would silently use another identity.
            Err("IDENTITY_ENDPOINT is set, but neither IDENTITY_HEADER (App Service) nor IMDS_ENDPOINT (Azure Arc) is; pass both variables through to the component, or unset IDENTITY_ENDPOINT to use IMDS".to_string())
        };
    }
    if set("MSI_ENDPOINT") {
        return Ok(if set("MSI_SECRET") {
            ManagedIdentitySource::AzureMl
        } else {
            ManagedIdentitySource::CloudShell
        });
    }
    Ok(ManagedIdentitySource::Imds)
}
