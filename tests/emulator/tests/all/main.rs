//! End-to-end tests: the emulator on loopback, driven by a raw HTTP/1.1 client.

mod app_service;
mod arc;
mod azure_ml;
mod cae;
mod client_assertions;
mod cloud_shell;
mod discovery;
mod faults;
mod federation;
mod imds;
mod key_vault;
mod oidc_issuer;
mod on_behalf_of;
mod service_fabric;
mod signing;
mod support;
mod token_endpoint;
mod token_endpoint_https;

use entra_emulator::{Emulator, EmulatorConfig};

pub const MANAGEMENT: &str = "https://management.azure.com/";

pub async fn start() -> Emulator {
    start_with(EmulatorConfig::default()).await
}

pub async fn start_with(config: EmulatorConfig) -> Emulator {
    Emulator::start(config).await.expect("emulator starts")
}

/// The IMDS request every SDK sends, for the system-assigned identity unless `selector` names another.
pub fn imds_target(selector: &str) -> String {
    let resource = form_urlencoded::byte_serialize(MANAGEMENT.as_bytes()).collect::<String>();
    format!("/metadata/identity/oauth2/token?api-version=2018-02-01&resource={resource}{selector}")
}

pub const METADATA: (&str, &str) = ("Metadata", "true");
