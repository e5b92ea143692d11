//! The virtual `wasi:http` of the inbound part: `wasi:http/types` and
//! `outgoing-handler` exported to the app over the host's (imported) ones.
//!
//! WASI 0.2 gives a guest no constructor for `incoming-request`, so the gate cannot
//! hand the app the host's request with the caller's principal headers added and
//! forged ones removed. Instead the app imports these types: every resource wraps the
//! host's and forwards each method, except the request the gate wraps through
//! `entra:inbound/bridge`, whose headers are the gate's list. `wasi:io` streams and
//! pollables are the host's own, shared by every component of the composition.
//!
//! Everything here is WIT glue; natively the crate is empty.

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
mod bridge;
#[cfg(target_arch = "wasm32")]
mod fields;
#[cfg(target_arch = "wasm32")]
mod types;

#[cfg(test)]
mod tests;
