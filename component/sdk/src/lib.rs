//! Microsoft Entra ID tokens for Spin apps, `wasi:http` components and plugins.
//!
//! This crate carries the `entra:identity` WIT and generates its import bindings, so
//! an app depends on it like any other crate: no `generate!`, no vendored WIT. The
//! imports are satisfied by the `entra-identity` component, wired in by Spin
//! (`[component.<app>.dependencies]`), by `wac plug`, or by a plugin host.
//!
//! ```ignore
//! // An app acquiring its own token (imports `entra:identity/credentials`):
//! let token = entra_identity_sdk::Credential::from_environment()?
//!     .get_token(&["https://vault.azure.net/.default"])?;
//! entra_identity_sdk::http::set_bearer(&mut request, &token)?;
//!
//! // A CAE resource's claims challenge answered with one new token and one retry:
//! let response = entra_identity_sdk::http::send_with_token(&credential, &[KEY_VAULT], async |token| {
//!     /* build the request, set_bearer(&mut request, token)?, send it */
//! }).await;
//!
//! // An API calling downstream as its caller (on-behalf-of):
//! let obo = Credential::on_behalf_of(app, ClientAuthentication::Secret(secret), bearer)?;
//!
//! // A plugin, whose host picked the identity (imports `entra:identity/tokens`):
//! let token = entra_identity_sdk::tokens::get_token(&["https://vault.azure.net/.default"])?;
//!
//! // An API validating callers (imports `entra:identity/validation`):
//! let validator = Validator::new(ValidatorOptions::new(tenant, &["api://my-api"]))?;
//! match validator.validate_request(&request) {
//!     Ok(claims) => { /* claims.require_role("Secrets.Read")? */ }
//!     Err(rejection) => return validator.challenge().respond(&rejection), // 401/403
//! }
//! ```
//!
//! `Credential`, `Validator` and `tokens` exist only on `wasm32` (they call imports);
//! everything else — tokens, options, claims, errors (the `entra-identity-types` the
//! identity component and its host use too) and the [`http`] helpers — is plain Rust
//! on every target, so an app can unit-test its request handling natively.
//! The crate generates no `wasi:*` bindings, so it works in WASIp2 components and in
//! spin-sdk 7 (WASIp3) apps alike.
#![deny(missing_docs)]

pub mod http;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use entra_identity_types::{
    AccessToken, AppOptions, CertificateOptions, Claims, ClientAuthentication, Error,
    ManagedIdentityOptions, ManagedIdentitySource, RetryOptions, ServiceError, TokenRequest,
    UserAssignedId, ValidationError, ValidatorOptions,
};

#[cfg(target_arch = "wasm32")]
pub use wasm::{credential::Credential, tokens, validator::Validator};
