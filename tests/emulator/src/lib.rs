//! A local emulator of the services Microsoft Entra ID tokens come from, for offline tests:
//!
//! * Azure VM IMDS (`GET /metadata/identity/oauth2/token`),
//! * the App Service managed identity endpoint (`GET /msi/token`),
//! * Entra's v2.0 token endpoint (`POST /{tenant}/oauth2/v2.0/token`, client credentials and on-behalf-of, with
//!   `claims` on every grant),
//! * OpenID Connect discovery and the JWKS,
//! * Azure Arc (`GET /arc/metadata/identity/oauth2/token`, with its key-file challenge),
//! * Cloud Shell (`POST /cloudshell/oauth2/token`) and Azure Machine Learning (`GET /ml/msi/token`),
//! * Service Fabric (`GET /sf/metadata/identity/oauth2/token`), over HTTPS with a self-signed certificate,
//! * a Kubernetes-style OIDC issuer (`/oidc`) whose service account tokens federate with registered apps,
//! * Key Vault's secrets (`GET /secrets/{name}`), which check the bearer token as the vault does, including
//!   continuous access evaluation's revocation ([`Emulator::revoke_issued_tokens`]).
//!
//! The token endpoint only serves registered apps ([`AppRegistration`]), with their client secret, a client
//! assertion signed by one of their certificates, or a federated token one of their [`FederatedCredential`]s
//! trusts (a service account token, or a managed identity token the emulator issued). An API's app exchanges a
//! user's token ([`UserToken`], [`Emulator::mint_user_token`]) on-behalf-of the user the same ways.
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
mod apps;
mod arc_challenge;
mod assertion;
mod certificate;
mod claims_request;
mod clock;
mod config;
mod credentials;
mod emulator;
mod endpoint;
mod fault;
mod identity;
mod key_vault;
mod keys;
mod mint_hook;
mod on_behalf_of;
mod recording;
mod respond;
mod revocation;
mod routes;
mod service;
mod service_account;
mod state;
mod tls;
mod token;
mod token_cache;
mod user_token;

pub use apps::{AppRegistration, FederatedCredential, TOKEN_EXCHANGE_AUDIENCE};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{DEFAULT_TENANT_ID, EmulatorConfig};
pub use emulator::Emulator;
pub use endpoint::Endpoint;
pub use fault::{Fault, Hold};
pub use identity::ManagedIdentity;
pub use mint_hook::MintedToken;
pub use recording::RecordedRequest;
pub use user_token::UserToken;
