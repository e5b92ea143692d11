//! The gate of the inbound part for WASIp3 apps: composed in front of an app's
//! `wasi:http/handler@0.3.x` export (spin-sdk 7, Spin's Python SDK 5), it checks each
//! caller's Entra access token before the app runs, as the 0.2 gate does
//! (`component/inbound/gate`), with the same decision (`entra-inbound-core`).
//!
//! WASIp3 can build a request, so no virtual `wasi:http` is needed: a valid caller's
//! request reaches the app as a NEW request with the caller's method, scheme,
//! authority, path, options, body and trailers, and a copy of its headers without any
//! `X-MS-CLIENT-PRINCIPAL*` the caller sent, with the gate's. The app's report on the
//! body goes back to the host. This crate is only that WIT glue, for wasm.

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
mod handler;
