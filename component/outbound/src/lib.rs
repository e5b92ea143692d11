//! The outbound component: composed in front of an app's `wasi:http/outgoing-handler`
//! import, it gives each request whose destination a rule names a token from the
//! identity component (`entra:identity/tokens`), so the app carries no identity code
//! and never sees a token. Everything else goes out untouched.
//!
//! `decide` (which requests get a token, and what a failure says) is plain Rust, tested
//! natively, over the core's rules (`entra_identity_core::attach`: where custom rules
//! come from too); `handler` is the `wasi:http` glue, compiled only for wasm.
//!
//! What a `wasi:http` 0.2 middleware can and cannot do, and so what this one does:
//!
//! * A request's headers are immutable once it is constructed (the host's
//!   `outgoing-request.headers()` is an immutable child), so a token means a NEW
//!   request: method, path-with-query, scheme, authority and a copy of the headers,
//!   plus `authorization`.
//! * A guest cannot read an `outgoing-body` back, nor move one to another request. A
//!   request whose body the app took (`outgoing-request.body()`) can therefore not be
//!   copied: when it needs a token it fails with `internal-error` saying so, rather
//!   than reaching the resource without one. Body-less requests (the reads: GET,
//!   HEAD, DELETE) are carried.
//! * No CAE retry, and so no `cp1`: learning that a response is a 401 with a claims
//!   challenge means consuming its `future-incoming-response`, and a guest cannot
//!   create a new one to hand the app the response it consumed. Answering challenges
//!   needs `wasi:http/types` virtualized for the app (or wasi:http 0.3). Declaring
//!   `cp1` without answering them would get long-lived CAE tokens whose revocation
//!   the app could not recover from, so the identity component's `tokens` export,
//!   which declares no capability, is right as it is. A WASIp3 app gets both bodies
//!   and the claims retry from `component/outbound-p3`, which `compose --outbound`
//!   uses when the app imports `wasi:http/client@0.3`.

use entra_identity_core::attach;
// Natively only the tests use these; the wasm handler is their caller.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod decide;

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
mod handler;
