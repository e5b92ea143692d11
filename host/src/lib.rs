//! Embed the `entra-identity` component in wasmtime and get Microsoft Entra ID tokens.
//!
//! * [`Identity`] — the embedding API: build once, call `get_token`.
//! * [`IdentityConfig`] — what the component sees (environment, options) and the
//!   limits it runs under (memory, call deadline, outbound allowlist).
//! * [`Validator`] — validate incoming Entra tokens, for APIs protected with Entra ID.
//! * [`WallClock`] — the time the component sees, injectable for tests.
//!
//! Inside: the component is compiled once and cached on disk (`engine`), every
//! outbound request passes an allowlist (`outbound`), each store has a memory limit
//! and an epoch deadline (`instance`), and concurrent identical requests share one
//! flight (`singleflight`).
#![deny(missing_docs)]

mod bindings;
mod clock;
mod concurrency;
mod config;
mod convert;
mod credential;
mod credential_kind;
mod engine;
mod error;
mod identity;
mod instance;
pub mod keyvalue;
mod outbound;
mod pinned_tls;
mod runtime;
mod singleflight;
mod state;
mod validator;

pub use clock::WallClock;
pub use concurrency::IMDS_MAX_CONCURRENT;
pub use config::{IDENTITY_ENV_VARS, IdentityConfig};
pub use credential_kind::{AppOptions, CertificateSource, CredentialKind};
pub use engine::COMPONENT_WASM;
pub use error::{Error, Result, TokenError};
pub use identity::Identity;
pub use outbound::Allowlist;
pub use validator::Validator;

pub use entra_identity::managed_identity::{ManagedIdentityOptions, SourceKind, UserAssignedId};
pub use entra_identity::retry::RetryPolicy;
pub use entra_identity::validation::{
    Claims, MAX_TOKEN_BYTES, ValidationError, ValidatorOptions, require_role, require_scope,
};
pub use entra_identity::{AccessToken, ServiceError, TokenRequest};
