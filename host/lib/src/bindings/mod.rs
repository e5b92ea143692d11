//! Every `wasmtime::component::bindgen!` of the crate but one, so generated types stay
//! in this room and the rest of the crate reads plain Rust. The exception is
//! [`crate::keyvalue::bindings`], public because embedders link `wasi:keyvalue` with it.

pub(crate) mod config;
// From/TryFrom between the generated types and entra-identity-types: the one file of this boundary.
mod convert;
mod exports;
mod identity;
#[cfg(feature = "plugin")]
pub(crate) mod plugin;

pub(crate) use exports::{IdentityComponent, IdentityExports};
pub(crate) use identity::{wit, wit_validation};
