//! Microsoft Entra ID tokens for code that runs inside WebAssembly sandboxes.
//!
//! This crate is two things:
//!
//! * **A protocol core with no I/O in it.** Choosing a managed-identity source,
//!   building each HTTP request, parsing each response, deciding whether and when to
//!   retry, and the cache policy are plain values and functions. They compile and are
//!   tested natively.
//! * **The `entra:identity` WASI 0.2 component** (built for `wasm32-wasip2`), which
//!   drives that core over `wasi:http` and exports `entra:identity/credentials`.
//!   The WIT glue lives in the private `component` module; nothing else knows it exists.
//!
//! How a token request flows:
//!
//! ```text
//! credential::Credential::get_token
//!   -> cache::TokenCache (fresh? done)
//!   -> managed_identity::Source builds an http::Request
//!   -> platform::Transport sends it (wasi:http in the component, a fake in tests)
//!   -> response::parse_token / response::parse_error
//!   -> retry::RetryPolicy decides: done, sleep and retry, or give up
//!   -> cache::TokenCache stores the token with its refresh time
//! ```
#![deny(missing_docs)]

/// Declares a module that parses what arrives from outside (responses, headers,
/// challenges, tokens, cache entries): no input may panic or overflow there, so the
/// lints that catch indexing, unwraps and unchecked arithmetic are errors in it.
/// Test builds are exempt (tests index and unwrap freely); clippy's library build of
/// the same code, native and wasm, is not.
macro_rules! parses_untrusted_input {
    ($(#[$attr:meta])* $vis:vis mod $name:ident;) => {
        $(#[$attr])*
        #[cfg_attr(not(test), deny(
            clippy::indexing_slicing,
            clippy::unwrap_used,
            clippy::expect_used,
            clippy::arithmetic_side_effects,
            clippy::string_slice
        ))]
        $vis mod $name;
    };
}
pub(crate) use parses_untrusted_input;

pub mod binding;
pub mod cache;
pub mod chain;
pub mod confidential;
pub mod credential;
pub mod error;
pub mod http;
pub mod managed_identity;
pub mod platform;
parses_untrusted_input!(
    pub mod response;
);
parses_untrusted_input!(
    pub mod retry;
);
parses_untrusted_input!(
    mod scrub;
);
pub mod shared_cache;
pub mod token;
pub mod validation;

#[cfg(test)]
mod testing;

pub use credential::Credential;
pub use error::{Error, ServiceError};
pub use token::{AccessToken, TokenRequest};
