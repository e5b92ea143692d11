//! `http` 1.x helpers, the types spin-sdk 7 and `wstd` use: put a token on an
//! outgoing request ([`set_bearer`]), answer a resource's claims challenge once
//! ([`send_with_token`], [`claims_challenge`]), take a token off an incoming request
//! ([`bearer_token`]), and answer a caller whose token was refused, or whose user
//! must act, the way Entra clients expect ([`Challenge`], RFC 6750 challenges).
//!
//! All of it is plain Rust, tested natively; only the [`TokenSource`]s that call the
//! identity component need `wasm32`.

mod bearer;
mod challenge;
mod rejection;
mod retry;
mod www_authenticate;

pub use bearer::{BearerError, bearer_header, bearer_token, set_bearer};
pub use challenge::Challenge;
pub use rejection::Rejection;
pub use retry::{SendError, TokenSource, send_with_token};
pub use www_authenticate::{claims_challenge, claims_to_retry, claims_to_retry_in_fields};
