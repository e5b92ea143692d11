//! Embed the `entra-identity` component in wasmtime and get Microsoft Entra ID tokens.
//!
//! * [`Identity`] — the embedding API: build once, call `get_token`.
//! * [`IdentityConfig`] — what the component sees (environment, options) and the
//!   limits it runs under (memory, call deadline, outbound allowlist).
//! * [`Validator`] — validate incoming Entra tokens, for APIs protected with Entra ID.
//! * [`WallClock`] — the time the component sees, injectable for tests.
//! * [`CacheConfig`] — the token cache every instance shares through `wasi:keyvalue`
//!   (process memory, a redb file, or Redis), encrypted with [`CacheKey`]s.
//! * [`plugin`] — run plugin components that import `entra:identity/tokens`, each
//!   under its own policy (scopes, outbound hosts, rate, memory, deadline), all
//!   answered by one shared [`Identity`].
//!
//! Inside: the component is compiled once and cached on disk (`engine`), every
//! outbound request passes an allowlist (`outbound`), each store has a memory limit
//! and an epoch deadline (`instance`), instances are pooled (`pool`), the component's
//! stderr becomes `tracing` events (`guest_log`), concurrent identical requests
//! share one flight (`singleflight`), and a token the component returned is served
//! from the host until the component's `refresh_on` (`fresh`).
#![deny(missing_docs)]

#[cfg(feature = "azure-core")]
pub mod azure_core;
mod bindings;
mod clock;
mod concurrency;
mod config;
mod config_store;
mod convert;
mod credential;
mod credential_kind;
mod engine;
mod error;
mod fresh;
mod guest_log;
mod identity;
mod instance;
pub mod keyvalue;
mod limits;
mod outbound;
mod pinned_tls;
pub mod plugin;
mod pool;
mod runtime;
pub mod serve;
mod shared_cache;
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
pub use keyvalue::{KeyValueConfig, SharedStore};
pub use limits::InstanceStats;
pub use outbound::{Allowlist, Resolver};
pub use shared_cache::{CACHE_ENV_VARS, CacheConfig, CacheKey};
pub use validator::Validator;

pub use entra_identity::validation::{MAX_TOKEN_BYTES, require_role, require_scope};
pub use entra_identity_types::{
    AccessToken, CertificateOptions, Claims, ManagedIdentityOptions, ManagedIdentitySource,
    RetryOptions, ServiceError, TokenRequest, UserAssignedId, ValidationError, ValidatorOptions,
};
