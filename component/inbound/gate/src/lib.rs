//! The gate of the inbound part: the host's `wasi:http/incoming-handler`, which checks
//! the caller's Entra access token before the app's handler runs.
//!
//! A caller without a valid token for the configured tenant and audience gets 401 and
//! a `WWW-Authenticate` challenge, one without the required role or scope 403, and the
//! app never runs. A valid caller reaches the app with App Service Easy Auth's
//! principal headers ([`principal`]), every `X-MS-CLIENT-PRINCIPAL*` header the caller
//! sent removed first. The app gets that request through `entra:inbound/bridge` of the
//! virtual `wasi:http` component (`component/virtual-http`), since WASI 0.2 has
//! no way to build an `incoming-request`.
//!
//! [`settings`], [`principal`] and [`baked`] are plain Rust, tested natively and used
//! by the host's composer; `handler` is the WIT glue, compiled only for wasm.

pub mod baked;
pub mod principal;
pub mod settings;

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
mod handler;
