//! A local emulator of the services Microsoft Entra ID tokens come from, for offline tests:
//!
//! * Azure VM IMDS (`GET /metadata/identity/oauth2/token`),
//! * the App Service managed identity endpoint (`GET /msi/token`),
//! * Entra's v2.0 token endpoint (`POST /{tenant}/oauth2/v2.0/token`, client credentials),
//! * OpenID Connect discovery and the JWKS.
//!
//! Responses follow the services' documented wire formats, tokens are real RS256 JWTs verifiable against the
//! served JWKS, time comes from an injectable [`Clock`], every request is recorded, and [`Fault`]s make any
//! endpoint fail the ways the real ones do.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use entra_emulator::{Emulator, EmulatorConfig, Endpoint, Fault};
//! let emulator = Emulator::start(EmulatorConfig::default()).await?;
//! emulator.push_faults(Endpoint::Imds, [Fault::Status(410), Fault::Status(410)]);
//! // point AZURE_POD_IDENTITY_AUTHORITY_HOST at emulator.base_url() ...
//! assert_eq!(emulator.count(Endpoint::Imds), 0);
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod aadsts;
mod clock;
mod config;
mod credentials;
mod emulator;
mod endpoint;
mod fault;
mod identity;
mod keys;
mod recording;
mod respond;
mod routes;
mod service;
mod state;
mod token;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{DEFAULT_TENANT_ID, EmulatorConfig};
pub use emulator::Emulator;
pub use endpoint::Endpoint;
pub use fault::Fault;
pub use identity::ManagedIdentity;
pub use recording::RecordedRequest;
