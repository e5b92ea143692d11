//! The virtual `wasi:http`: `wasi:http/types` and `outgoing-handler` exported to an
//! app over the host's (imported) ones. Every resource wraps the host's; `wasi:io`
//! streams and pollables are the host's own, shared by every component of the
//! composition (the app writes a request's body straight into the host's stream).
//! Built twice, from this one source:
//!
//! * **Inbound** (`entra-inbound-virtual-http`, `entra_inbound_virtual_http.wasm`):
//!   WASI 0.2 gives a guest no constructor for `incoming-request`, so the gate cannot
//!   hand the app the host's request with the caller's principal headers added and
//!   forged ones removed. Through these types it can: the request the gate wraps
//!   through `entra:inbound/bridge` has the gate's headers. The app's own requests go
//!   out as it built them; this build attaches no token, ever.
//! * **Outbound** (`component/outbound`: `entra-identity-outbound`,
//!   `entra_identity_outbound.wasm`, the `outbound` feature): also each request the
//!   app sends to a destination a rule names (`entra_identity_core::attach`; custom
//!   rules from the environment variable and `wasi:config` key
//!   `ENTRA_IDENTITY_OUTBOUND_RULES`) gets a token from the identity component
//!   (`entra:identity/tokens`), so the app carries no identity code and never sees a
//!   token. `compose --outbound` plugs it in front of a WASIp2 app, and with
//!   `--inbound` this same instance is also the gate's bridge, so that the app's
//!   types come from one place.
//!
//! What owning the app's request, body and response future makes possible (`outgoing`,
//! `response`), which a `wasi:http` 0.2 middleware in front of the handler alone
//! cannot do:
//!
//! * **Bodies.** Where a request goes, and with which token, is decided when the app
//!   first takes its body's stream (`outgoing-body.write`) or at `handle`: then a
//!   request with a token becomes a copy with `authorization` (headers are immutable
//!   once a request is built), whose host body the app writes into. The app's own
//!   request and its `headers()` never hold the token. After that, a setter that would
//!   change the scheme or authority fails: a token only ever goes to the resource it
//!   was issued for. A request that already has `authorization` goes out untouched.
//! * **CAE.** A request with a token whose body is known to be empty (the app never
//!   took the body, or finished it without taking its stream) and whose answer is a
//!   401 with a valid `insufficient_claims` challenge gets exactly one new token
//!   (`get-token-with-claims`) and one resend, inside `future-incoming-response.get`;
//!   the app gets the resend's answer. A body streamed through the host cannot be
//!   read back to send again, so such a request's 401 reaches the app unchanged (a
//!   WASIp3 app gets the replay of bodies up to 64 KiB from `component/outbound-p3`).
//!   Like `component/outbound-p3`, this component declares no client capability
//!   itself: `entra:identity/tokens` carries none, and whether the identity's tokens
//!   are CAE tokens (`cp1`) is the identity component's configuration.
//! * **Errors** are the app's request's `error-code`: `internal-error` naming the
//!   destination, the scope and the identity component's reason, never a secret.
//!
//! `body` (when a request can be sent again) is plain Rust, tested natively; which
//! requests get a token is the core's (`entra_identity_core::attach`), which answer is
//! retried the SDK's (`claims_to_retry_in_fields`); the rest is WIT glue, compiled only
//! for wasm.

// Natively only the tests use these; the wasm glue is their caller.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod body;

#[cfg(target_arch = "wasm32")]
mod attach;
#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
mod bridge;
#[cfg(target_arch = "wasm32")]
mod fields;
#[cfg(target_arch = "wasm32")]
mod outgoing;
#[cfg(target_arch = "wasm32")]
mod response;
#[cfg(target_arch = "wasm32")]
mod types;

#[cfg(test)]
mod tests;
