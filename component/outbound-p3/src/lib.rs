//! The outbound component for WASIp3 apps: composed in front of an app's
//! `wasi:http/client@0.3.x` import (what spin-sdk 7 and Spin's Python SDK 5 send
//! with), it gives each request whose destination a rule names a token from the
//! identity component (`entra:identity/tokens`), so the app carries no identity code
//! and never sees a token. Everything else goes out untouched.
//!
//! WASIp3 lifts the limits of the 0.2 outbound component: a request can be built
//! from parts and its body is a stream this component reads itself. So:
//!
//! * A request with a token is a NEW request: method, scheme, authority,
//!   path-with-query, options and a copy of the headers plus `authorization`; the
//!   app's body is read through.
//! * A body of at most [`MAX_REPLAYED_BODY`](entra_identity_core::attach::MAX_REPLAYED_BODY)
//!   bytes is kept, so that a 401 with a valid CAE claims challenge
//!   (`insufficient_claims`) gets one new token (`get-token-with-claims`) and one
//!   retry. A larger body is streamed through without being kept, and its 401
//!   reaches the app as the resource sent it.
//!
//! Custom rules come from the environment variable and `wasi:config` key
//! `ENTRA_IDENTITY_OUTBOUND_RULES` (`entra_identity_core::attach::load_rules`).
//! Which requests get a token and what a failure says are the core's
//! (`entra_identity_core::attach`), which 401 is retried the SDK's; `plan` (which body
//! is kept) is plain Rust, tested natively; the `client` export and `body` handling
//! are the WIT glue, compiled only for wasm.

// Natively only the tests use these; the wasm client is their caller.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod plan;

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
mod body;
#[cfg(target_arch = "wasm32")]
mod client;
