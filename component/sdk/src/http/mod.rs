//! `http` 1.x helpers, the types spin-sdk 7 and `wstd` use: put a token on an
//! outgoing request, take one off an incoming request, and answer a caller whose
//! token was refused the way Entra clients expect (RFC 6750 challenges).
//!
//! All of it is plain Rust, tested natively.

mod bearer;
mod challenge;
mod rejection;

pub use bearer::{BearerError, bearer_header, bearer_token, set_bearer};
pub use challenge::Challenge;
pub use rejection::Rejection;
