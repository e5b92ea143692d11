//! What the inbound gates decide, whichever `wasi:http` they stand in front of: the
//! 0.2 gate (`component/inbound/gate`, the host's `incoming-handler`) and the WASIp3
//! one (`component/inbound/gate-p3`, `wasi:http/handler@0.3.0`) are WIT glue around
//! this crate, and the host's composer takes the setting names from it.
//!
//! * [`settings`]: what a gate accepts, each setting named once, read from the
//!   environment (where `compose --inbound` bakes them) or `wasi:config`.
//! * [`decision`]: a caller's `Authorization` header checked (token, role, scope) into
//!   the caller's claims, or the 401/403 answer with its `WWW-Authenticate` challenge.
//! * [`principal`]: the caller as App Service Easy Auth hands it to an app, every
//!   `X-MS-CLIENT-PRINCIPAL*` header the caller sent removed first.
//!
//! All of it is plain Rust, tested natively; only `check_caller` (one gate per
//! instance, over the identity component's validator) needs `wasm32`.

pub mod decision;
pub mod principal;
pub mod settings;

#[cfg(target_arch = "wasm32")]
mod instance;

pub use decision::{Gate, Headers, SetupError, header_list, misconfigured};
#[cfg(target_arch = "wasm32")]
pub use instance::check_caller;
