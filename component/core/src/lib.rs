//! The protocol core of entra-identity: Microsoft Entra ID and managed-identity token
//! acquisition and validation with **no I/O in it**.
//!
//! Choosing a managed-identity source, building each HTTP request, parsing each
//! response, deciding whether and when to retry, the cache policy and token
//! validation are plain values and functions. The core compiles and is tested
//! natively; the `entra-identity` crate (`component/wasm`) drives it over `wasi:http`
//! as the `entra:identity` WASI 0.2 component, and tests drive it with fakes.
//!
//! How a token request flows:
//!
//! * [`Credential::get_token`] binds the request to the credential that asks
//!   ([`binding`]) and looks in the instance's memory store ([`cache::MemoryStore`],
//!   [`cache::freshness`]) and then the shared cache ([`shared_cache::SharedCache`]).
//! * On a miss its [`credential::Flow`] — a managed-identity source
//!   ([`managed_identity::flow`]), an app registration ([`confidential`]) or the
//!   default chain ([`chain::default_chain`]) — builds an [`http::Request`].
//! * A [`platform::Transport`] sends it: `wasi:http` in the component, a fake in tests.
//! * [`response::parse_token`] / [`response::parse_error`] read the answer, and
//!   [`retry::RetryPolicy`] decides: done, wait and retry, or give up.
//! * The token is stored in both caches with its refresh time ([`cache::refresh_on`]).
//!
//! A claims challenge (CAE) skips the cache and its answer replaces the refused token;
//! declared client capabilities (`cp1`) and the challenge travel as [`claims`].
//!
//! Incoming tokens are checked by [`validation::Validator`], over the same transport.
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

parses_untrusted_input!(
    pub mod attach;
);
pub mod binding;
pub mod cache;
pub mod chain;
parses_untrusted_input!(
    pub mod claims;
);
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
