//! The gate of the inbound part for WASI 0.2 apps: the host's
//! `wasi:http/incoming-handler`, which checks the caller's Entra access token before
//! the app's handler runs.
//!
//! What it decides is `entra-inbound-core`'s, shared with the WASIp3 gate
//! (`component/inbound/gate-p3`): a caller without a valid token gets 401 and a
//! `WWW-Authenticate` challenge, one without the required role or scope 403, and the
//! app never runs; a valid caller reaches the app with App Service Easy Auth's
//! principal headers, every `X-MS-CLIENT-PRINCIPAL*` header the caller sent removed
//! first. The app gets that request through `entra:inbound/bridge` of the virtual
//! `wasi:http` component (`component/virtual-http`), since WASI 0.2 has no way
//! to build an `incoming-request`. This crate is only that WIT glue, for wasm.

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
mod handler;
