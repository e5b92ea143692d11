//! Embed the `entra-identity` component in wasmtime and get Microsoft Entra ID tokens.
//!
//! # Where to start
//!
//! * [`Identity`] — tokens: build once with an [`IdentityConfig`], call
//!   [`get_token`](Identity::get_token) or [`get_token_for`](Identity::get_token_for).
//! * [`Validator`] — validate incoming Entra tokens ([`ValidatorOptions`],
//!   [`ValidatorConfig`]), for APIs protected with Entra ID.
//! * [`Runtime`] — the one wasmtime engine (compile cache, epoch ticker, allocator) that
//!   every identity, validator, plugin host and served app of a process shares;
//!   [`Runtime::shared`] unless you build one with a [`RuntimeConfig`].
//! * [`CacheConfig`] — the token cache every instance shares through `wasi:keyvalue`,
//!   encrypted with [`CacheKey`]s; its stores are in [`keyvalue`].
//!
//! # The rooms of this crate
//!
//! | Module | Concern |
//! |---|---|
//! | `identity` | [`Identity`] and what stands in front of the component: [`IdentityConfig`], [`CredentialKind`], [`InstanceLimits`], the host's fast path, single flight, the instance pool |
//! | [`validator`](Validator) | [`Validator`] and [`ValidatorConfig`] |
//! | `runtime` | [`Runtime`]: the engine, compile cache and epoch ticker; what each store holds, its memory limits ([`InstanceStats`]), the guest's log, the [`WallClock`] it sees |
//! | `outbound` | the sandbox's edge: the [`Allowlist`], the [`Resolver`], the checked connection, pinned TLS, per-endpoint caps ([`IMDS_MAX_CONCURRENT`]) |
//! | `shared_cache`, [`keyvalue`] | the shared cache ([`CacheConfig`]) and its `wasi:keyvalue` stores |
//! | `bindings` | every generated `bindgen!` type but `wasi:keyvalue`'s |
// The feature-gated rooms link only when built (a link to a missing module is an error
// under `RUSTDOCFLAGS=-D warnings`).
#![cfg_attr(
    feature = "plugin",
    doc = "| [`plugin`] | feature `plugin`: run untrusted plugin components under a policy, answered by one [`Identity`] |"
)]
#![cfg_attr(
    not(feature = "plugin"),
    doc = "| `plugin` | feature `plugin` (off in this build): run untrusted plugin components under a policy |"
)]
#![cfg_attr(
    feature = "serve",
    doc = "| [`serve`] | feature `serve`: serve a `wasi:http` app with the identity component plugged in |"
)]
#![cfg_attr(
    not(feature = "serve"),
    doc = "| `serve` | feature `serve` (off in this build): serve a `wasi:http` app with the identity component plugged in |"
)]
#![cfg_attr(
    feature = "dev-tools",
    doc = "| [`dev_tools`] | feature `dev-tools`: the developer's Azure CLI (or PowerShell, azd) sign-in as a loopback managed-identity endpoint |"
)]
#![cfg_attr(
    not(feature = "dev-tools"),
    doc = "| `dev_tools` | feature `dev-tools` (off in this build): the developer's Azure CLI sign-in as a loopback managed-identity endpoint |"
)]
#![cfg_attr(
    feature = "azure-core",
    doc = "| [`azure_core`] | feature `azure-core`: an [`Identity`] as an Azure SDK for Rust `TokenCredential` |"
)]
#![cfg_attr(
    not(feature = "azure-core"),
    doc = "| `azure_core` | feature `azure-core` (off in this build): an [`Identity`] as an Azure SDK for Rust `TokenCredential` |"
)]
//!
//! How a token request travels through these rooms, and what each file holds, is in
//! the repository's `ARCHITECTURE.md`; it is the one home of those tables.
//!
//! # Features
//!
//! `serve`, `plugin`, `redis` and `disk` are on by default; `azure-core` is off. With
//! `default-features = false` the crate is [`Identity`] and [`Validator`] with the
//! process-memory cache store: no HTTP server, no composition, no policy parser, no
//! Redis client, no database.
#![deny(missing_docs)]

#[cfg(feature = "azure-core")]
pub mod azure_core;
mod bindings;
#[cfg(feature = "dev-tools")]
pub mod dev_tools;
mod error;
mod identity;
pub mod keyvalue;
mod outbound;
#[cfg(feature = "plugin")]
pub mod plugin;
mod runtime;
#[cfg(feature = "serve")]
pub mod serve;
mod shared_cache;
mod telemetry;
mod validator;

pub use error::{Error, Result, TokenError};
pub use identity::{
    AppOptions, CertificateSource, CredentialKind, IDENTITY_ENV_VARS, Identity, IdentityConfig,
    InstanceLimits,
};
pub use keyvalue::{KeyValueConfig, SharedStore};
pub use outbound::{Allowlist, IMDS_MAX_CONCURRENT, Resolver, TlsRoots};
pub use runtime::clock::WallClock;
pub use runtime::engine::COMPONENT_WASM;
pub use runtime::limits::InstanceStats;
pub use runtime::{PoolingConfig, Runtime, RuntimeConfig};
pub use shared_cache::{CACHE_ENV_VARS, CacheConfig, CacheKey};
pub use telemetry::Telemetry;
pub use validator::{Validator, ValidatorConfig};

pub use entra_identity_core::validation::{MAX_TOKEN_BYTES, require_role, require_scope};
pub use entra_identity_types::{
    AccessToken, CertificateOptions, Claims, ManagedIdentityOptions, ManagedIdentitySource,
    RetryOptions, ServiceError, TokenRequest, UserAssignedId, ValidationError, ValidatorOptions,
};
