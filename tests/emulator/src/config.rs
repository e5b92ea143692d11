//! What an emulator serves: tenant, identities, secrets and token lifetime.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::apps::AppRegistration;
use crate::clock::{Clock, SystemClock};
use crate::identity::ManagedIdentity;

/// The tenant every emulator serves unless told otherwise.
pub const DEFAULT_TENANT_ID: &str = "7e57e000-0000-4000-8000-000000000001";

/// Settings for [`crate::Emulator::start`]. `Default` gives fixed, recognisable GUIDs so that test
/// expectations can be written as literals.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Where "now" comes from for every issued timestamp.
    pub clock: Arc<dyn Clock>,
    /// The tenant the token endpoint, metadata and tokens belong to.
    pub tenant_id: String,
    /// Lifetime of the tokens issued; managed identity tokens live 24 h in Azure.
    pub token_lifetime: Duration,
    /// The App Service secret a request must carry in `X-IDENTITY-HEADER` (the value of `IDENTITY_HEADER`).
    pub identity_header: String,
    /// The identity served when a managed identity request names none.
    pub system_assigned: ManagedIdentity,
    /// The identities a request may select by client id, object id or resource id.
    pub user_assigned: Vec<ManagedIdentity>,
    /// Apps registered from the start; [`crate::Emulator::register_app`] adds more. Only these can get tokens
    /// from the token endpoint. [`crate::Emulator::start`] panics if one has a certificate that is not PEM RSA.
    pub apps: Vec<AppRegistration>,
    /// Where Azure Arc's challenge writes its `.key` files. Created at start if missing, and then removed again
    /// when the emulator is dropped. Default: a fresh directory under the system temp dir.
    pub arc_token_dir: PathBuf,
    /// Makes Azure Arc ignore `client_id`/`object_id`/`msi_res_id` and answer for the system-assigned identity
    /// without echoing one, as legacy agents do (see also [`crate::Emulator::set_arc_legacy_ignores_user_assigned`]).
    pub arc_legacy_ignores_user_assigned: bool,
    /// The Azure ML secret (`MSI_SECRET`) a request must carry in its `secret` header. Default: random.
    pub ml_secret: String,
    /// TCP port on 127.0.0.1 for the Service Fabric HTTPS endpoint; 0 picks a free one.
    pub service_fabric_port: u16,
    /// TCP port of the AKS token proxy's HTTPS listener; 0 picks a free one.
    pub aks_proxy_port: u16,
    /// The name the AKS token proxy's certificate is issued for, and the only SNI name it answers.
    pub aks_proxy_sni_name: String,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            port: 0,
            clock: Arc::new(SystemClock),
            tenant_id: DEFAULT_TENANT_ID.to_owned(),
            token_lifetime: Duration::from_secs(24 * 60 * 60),
            // Random, like the platform's rotating value, so that a client cannot pass by hard-coding it.
            identity_header: uuid::Uuid::new_v4().to_string(),
            system_assigned: ManagedIdentity {
                client_id: "7e57e000-0000-4000-8000-00000000a001".to_owned(),
                object_id: "7e57e000-0000-4000-8000-00000000b001".to_owned(),
                resource_id: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/emulated-vm".to_owned(),
            },
            user_assigned: vec![ManagedIdentity {
                client_id: "7e57e000-0000-4000-8000-00000000a002".to_owned(),
                object_id: "7e57e000-0000-4000-8000-00000000b002".to_owned(),
                resource_id: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/emulated-uami".to_owned(),
            }],
            apps: Vec::new(),
            arc_token_dir: std::env::temp_dir().join(format!(
                "entra-emulator-arc-{}",
                uuid::Uuid::new_v4().simple()
            )),
            arc_legacy_ignores_user_assigned: false,
            ml_secret: uuid::Uuid::new_v4().to_string(),
            service_fabric_port: 0,
            aks_proxy_port: 0,
            aks_proxy_sni_name: "aks-proxy.emulator.invalid".to_owned(),
        }
    }
}
