//! The standalone adapter: a component that exports `wasi:keyvalue/{store,atomics}`
//! (`0.2.0-draft2`) and `wasi:config/store` (`0.2.0-draft-2024-09-27`) for hosts that
//! have neither, such as the stock `wasmtime serve`. `entra-identity compose
//! --standalone` plugs it into the identity component (and into an app that imports
//! them), so the identity component stays one artifact for every host.
//!
//! `store` holds the key-value semantics and `config` the mapping from environment
//! variables; both are plain Rust so they are tested natively. `exports` is the WIT
//! glue, compiled only for wasm.

// Natively only the tests use these; the wasm exports are their callers.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod config;
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod store;

#[cfg(target_arch = "wasm32")]
mod exports;
