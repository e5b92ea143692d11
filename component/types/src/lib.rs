//! The value types of `entra-identity`, defined once.
//!
//! The sans-I/O core (`entra-identity`), the wasmtime host (`entra-identity-host`) and
//! the guest SDK (`entra-identity-sdk`) all re-export these, and each converts them to
//! and from the generated `entra:identity` WIT types in one file of its own. Nothing
//! here does I/O; everything compiles natively and for `wasm32-wasip2`.
//!
//! * Tokens: [`AccessToken`] (the token reachable only through
//!   [`AccessToken::secret`]) and [`TokenRequest`].
//! * Why no token came back: [`Error`], with the token service's refusal as
//!   [`ServiceError`].
//! * Credential configuration: [`ManagedIdentityOptions`] (with [`UserAssignedId`],
//!   [`ManagedIdentitySource`] and [`RetryOptions`]), [`AppOptions`] and
//!   [`CertificateOptions`].
//! * Validating incoming tokens: [`ValidatorOptions`] in, [`Claims`] or a
//!   [`ValidationError`] out.
#![deny(missing_docs)]

mod claims;
mod error;
mod options;
mod token;
mod validation_error;
mod validator_options;

pub use claims::Claims;
pub use error::{Error, ServiceError};
pub use options::{
    AppOptions, CertificateOptions, ClientAuthentication, ManagedIdentityOptions,
    ManagedIdentitySource, RetryOptions, UserAssignedId,
};
pub use token::{AccessToken, TokenRequest};
pub use validation_error::ValidationError;
pub use validator_options::{DEFAULT_AUTHORITY, ValidatorOptions};
